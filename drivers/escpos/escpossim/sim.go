package escpossim

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"halld/drivers/escpos"
	"halld/drivers/escpos/internal/bigfont"
	"halld/drivers/vport"
)

// Ticket is one printed slip as the simulator saw it.
type Ticket struct {
	Lines    []string // non-empty text lines as printed; images as their big text (A001) or "[image WxH]"
	QR       []string // QR payloads, in order
	Cut      bool     // ended by the cutter, not torn off
	Started  time.Time
	Finished time.Time // when the ticket's last byte was read
	Raw      int       // bytes of the ticket, status queries excluded
}

// Simulator is a ticket printer on the other end of a port.
type Simulator struct {
	prof escpos.Profile

	mu       sync.Mutex
	paper    escpos.Paper
	cover    bool
	offline  bool
	mute     bool
	tickets  []Ticket
	onTicket func(Ticket)

	// Owned by Serve.
	dec     Decoder
	cur     Ticket
	started bool      // cur has bytes
	content bool      // cur has printed something
	span    int       // bytes read since the last Item
	spanAt  time.Time // when the first of them was read
	last    time.Time // when cur's last byte was read
}

// New returns an idle printer with paper, cover closed, online.
func New(p escpos.Profile) *Simulator {
	return &Simulator{prof: p, paper: escpos.PaperOK}
}

// SetPaper sets the roll: near_end, end, or anything else for a full roll.
func (s *Simulator) SetPaper(p escpos.Paper) { s.mu.Lock(); s.paper = p; s.mu.Unlock() }

// SetCoverOpen opens or closes the cover.
func (s *Simulator) SetCoverOpen(open bool) { s.mu.Lock(); s.cover = open; s.mu.Unlock() }

// SetOffline takes the printer offline (or back), as an error would.
func (s *Simulator) SetOffline(off bool) { s.mu.Lock(); s.offline = off; s.mu.Unlock() }

// SetMute stops answering status queries, like a model that answers none
// over USB.
func (s *Simulator) SetMute(mute bool) { s.mu.Lock(); s.mute = mute; s.mu.Unlock() }

// Tickets returns the completed tickets so far.
func (s *Simulator) Tickets() []Ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ticket(nil), s.tickets...)
}

// OnTicket sets a callback run (on Serve's goroutine) as each ticket completes.
func (s *Simulator) OnTicket(f func(Ticket)) { s.mu.Lock(); s.onTicket = f; s.mu.Unlock() }

// Serve plays the printer on rw: it decodes what the host writes and
// answers each DLE EOT n with one byte from the current state. It returns
// rw's read or write error (e.g. io.EOF, a closed pty) or ctx's error. A
// Read blocked when ctx ends is left to return when the caller closes rw.
// Serve calls must not overlap; printer state carries over between them.
func (s *Simulator) Serve(ctx context.Context, rw io.ReadWriter) error {
	chunks, stop := vport.ReadChunks(rw)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case c := <-chunks:
			if err := s.consume(c.B, c.At, rw); err != nil {
				return err
			}
			if c.Err != nil {
				return c.Err
			}
		}
	}
}

// consume feeds the decoder a byte at a time, so each Item is tied to the
// bytes and read time that produced it.
func (s *Simulator) consume(b []byte, at time.Time, w io.Writer) error {
	for i := range b {
		if s.span == 0 {
			s.spanAt = at
		}
		s.span++
		for _, it := range s.dec.Feed(b[i : i+1]) {
			if err := s.handle(it, at, w); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Simulator) handle(it Item, at time.Time, w io.Writer) error {
	if it.Kind == KindStatusQuery {
		s.span = max(0, s.span-3)
		if b, ok := s.reply(it.N); ok {
			if _, err := w.Write([]byte{b}); err != nil {
				return err
			}
		}
		return nil
	}
	if s.stopped() {
		// A stopped printer prints nothing; the slip in progress is spoiled.
		s.cur, s.started, s.content, s.span = Ticket{}, false, false, 0
		return nil
	}
	tears := s.prof.Cutter == escpos.CutterNone
	if it.Kind == KindInit && tears && s.content {
		s.complete(false) // the next job starts: the last one was torn off
	}
	if !s.started {
		s.cur.Started, s.started = s.spanAt, true
	}
	s.cur.Raw += s.span
	s.span, s.last = 0, at
	switch it.Kind {
	case KindText:
		if it.Text != "" {
			s.cur.Lines, s.content = append(s.cur.Lines, it.Text), true
		}
	case KindRaster:
		line, ok := bigfont.Read(it.Raw, it.W/8, it.H)
		if !ok {
			line = fmt.Sprintf("[image %dx%d]", it.W, it.H)
		}
		s.cur.Lines, s.content = append(s.cur.Lines, line), true
	case KindQR:
		s.cur.QR, s.content = append(s.cur.QR, it.Text), true
	case KindCut:
		if !tears { // a printer without a cutter ignores GS V
			s.complete(true)
		}
	case KindFeed:
		if tears && it.N >= 3 && s.content {
			s.complete(false)
		}
	}
	return nil
}

func (s *Simulator) complete(cut bool) {
	t := s.cur
	t.Cut, t.Finished = cut, s.last
	s.cur, s.started, s.content = Ticket{}, false, false
	s.mu.Lock()
	s.tickets = append(s.tickets, t)
	f := s.onTicket
	s.mu.Unlock()
	if f != nil {
		f(t)
	}
}

// stopped: paper out, cover open or offline all stop printing.
func (s *Simulator) stopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paper == escpos.PaperEnd || s.cover || s.offline
}

// reply computes the DLE EOT n answer (docs/protocols.md §1.4). A printer that
// stopped for paper end or an open cover also reports itself offline.
func (s *Simulator) reply(n int) (byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mute || !s.prof.Status {
		return 0, false
	}
	end := s.paper == escpos.PaperEnd
	b := byte(0x12)
	switch n {
	case 1:
		if s.offline || s.cover || end {
			b |= 0x08
		}
	case 2:
		if s.cover {
			b |= 0x04
		}
		if end {
			b |= 0x20
		}
	case 4:
		switch s.paper {
		case escpos.PaperNearEnd:
			b = 0x1E
		case escpos.PaperEnd:
			b = 0x72
		}
	}
	return b, true
}
