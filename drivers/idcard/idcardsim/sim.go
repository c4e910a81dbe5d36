// Package idcardsim is the reader's side of the SAM protocol (docs/protocols.md
// §2): a simulated ID card reader answering a host on one io.ReadWriter.
// Tests place and remove cards of the four kinds, switch the SAM's state and
// inject line and card faults; vport puts a Reader behind a real pty for the
// daemon.
//
// The card rules follow §2.2: find card (20 01) answers 9F for a card in
// the field until it has been read (30 01); after that it answers 80 until
// the card is taken off and placed again (WS: 身份证成功读取后必须移出机具).
// A card still in the field can be selected again (20 02 → 90), which is how
// a host tells "read and still there" from "gone" (81).
package idcardsim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"sync"
	"time"

	"halld/drivers/idcard"
	"halld/drivers/vport"
)

// Gap is how long the line must stay quiet before the reader gives up on a
// host frame cut short.
const Gap = 50 * time.Millisecond

// SAM is the state of the simulated security module.
type SAM int

const (
	SAMReady          SAM = iota // answers 90 to SAM status
	SAMSelfTestFailed            // 60 to every command
	SAMUnauthorised              // 66 to every command but read SAM id
)

// DefaultSAMID is the id data a Reader starts with:
// "05.01-20240101-000012345-678901234".
var DefaultSAMID = [idcard.SAMIDLen]byte{0x05, 0x00, 0x01, 0x00, 0xE5, 0xD6, 0x34, 0x01, 0x39, 0x30, 0x00, 0x00, 0xF2, 0x35, 0x77, 0x28}

// slot is the card in the field.
type slot struct {
	number      string // for the MID
	text, photo []byte
	fingerprint []byte
	extra       []byte // 追加住址 entries, 70 bytes each
	found       bool   // answered find since it was placed (or since power-up)
	selected    bool
	read        bool // read whole: find answers 80 until it is placed again
}

type fault struct {
	cmd idcard.Command
	sw3 idcard.Status
}

// Reader is one simulated reader. Its methods are safe to call from tests
// while it serves.
type Reader struct {
	mu      sync.Mutex
	sam     SAM
	samID   [idcard.SAMIDLen]byte
	card    *slot
	refind  bool
	rfFrame byte
	faults  []fault
	slow    time.Duration
	garbage int
	badSum  int
	damage  []idcard.Command
	counts  map[[2]byte]int
	stats   idcard.Stats // host frames, over all connections
}

// New returns a reader with a working SAM and no card.
func New() *Reader {
	return &Reader{samID: DefaultSAMID, counts: map[[2]byte]int{}}
}

// Place puts a card on the reader (taking off any card there). It fails if
// the card cannot be written as a text block of its kind.
func (r *Reader) Place(c idcard.Card) error {
	text, err := EncodeText(c)
	if err != nil {
		return fmt.Errorf("idcardsim: place: %w", err)
	}
	s := &slot{number: c.Number, text: text, photo: Photo(c)}
	if len(c.Fingerprint) > 0 {
		s.fingerprint = append([]byte(nil), c.Fingerprint...)
	}
	r.mu.Lock()
	r.card = s
	r.mu.Unlock()
	return nil
}

// Remove takes the card off the reader.
func (r *Reader) Remove() { r.mu.Lock(); r.card = nil; r.mu.Unlock() }

// SetExtraAddress gives the card on the reader up to four 追加住址 entries
// (read extra address, 30 03).
func (r *Reader) SetExtraAddress(addrs ...string) error {
	if len(addrs) > idcard.MaxExtraAddrs {
		return fmt.Errorf("idcardsim: %d extra addresses, at most %d", len(addrs), idcard.MaxExtraAddrs)
	}
	var b []byte
	for _, a := range addrs {
		w := &textWriter{b: make([]byte, idcard.ExtraAddrLen)}
		for i := 0; i < len(w.b); i += 2 {
			w.b[i] = ' '
		}
		w.str("extra address", 0, idcard.ExtraAddrLen, a)
		if w.err != nil {
			return w.err
		}
		b = append(b, w.b...)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.card == nil {
		return fmt.Errorf("idcardsim: no card on the reader")
	}
	r.card.extra = b
	return nil
}

// SetSAM sets the SAM's state.
func (r *Reader) SetSAM(s SAM) { r.mu.Lock(); r.sam = s; r.mu.Unlock() }

// SetSAMID sets the data of the read SAM id reply.
func (r *Reader) SetSAMID(id [idcard.SAMIDLen]byte) { r.mu.Lock(); r.samID = id; r.mu.Unlock() }

// SetRefind makes find card answer 9F for a card that was read and is still
// in the field, as some readers may do: a host must not read it twice.
func (r *Reader) SetRefind(on bool) { r.mu.Lock(); r.refind = on; r.mu.Unlock() }

// FailNext makes the next command like cmd (same CMD and PARA; find and
// select share CMD 20) fail with sw3, without being executed. Calls queue.
func (r *Reader) FailNext(cmd idcard.Command, sw3 idcard.Status) {
	r.mu.Lock()
	r.faults = append(r.faults, fault{cmd, sw3})
	r.mu.Unlock()
}

// SetSlow delays every reply by d (0: answer at once).
func (r *Reader) SetSlow(d time.Duration) { r.mu.Lock(); r.slow = d; r.mu.Unlock() }

// SetGarbage sends n bytes of line noise before the next reply. The noise
// holds pieces of the preamble (never a whole one), so a host must resync.
func (r *Reader) SetGarbage(n int) { r.mu.Lock(); r.garbage = n; r.mu.Unlock() }

// BadChecksumNext sends the next reply with a wrong checksum, as line noise
// would (the command is executed: only the reply is damaged).
func (r *Reader) BadChecksumNext() { r.mu.Lock(); r.badSum++; r.mu.Unlock() }

// DamageNext sends the next reply to a command like cmd with a wrong
// checksum (the command is executed). Calls queue.
func (r *Reader) DamageNext(cmd idcard.Command) {
	r.mu.Lock()
	r.damage = append(r.damage, cmd)
	r.mu.Unlock()
}

// Count is how many good frames of command cmd (CMD and PARA) the reader
// received, failed ones included.
func (r *Reader) Count(cmd idcard.Command) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[[2]byte{cmd.Cmd, cmd.Para}]
}

// RFFrame is the last RF frame size set (61 FF n), 0 if none.
func (r *Reader) RFFrame() byte { r.mu.Lock(); defer r.mu.Unlock(); return r.rfFrame }

// Stats is what the reader's receiver made of the host's bytes so far.
func (r *Reader) Stats() idcard.Stats { r.mu.Lock(); defer r.mu.Unlock(); return r.stats }

// Serve plays the reader on rw until rw fails or ctx ends. Each Serve is a
// power-up (a reader on USB loses power when unplugged): the SAM keeps its
// state, a card left on the reader must be found again. It returns rw's read
// or write error (io.EOF, a closed pty) or ctx's error; a Read blocked when
// ctx ends returns when the caller closes rw. Serve calls must not overlap.
func (r *Reader) Serve(ctx context.Context, rw io.ReadWriter) error {
	r.mu.Lock()
	if r.card != nil {
		r.card.found, r.card.selected, r.card.read = false, false, false
	}
	r.mu.Unlock()
	var dec idcard.RequestDecoder
	var base idcard.Stats
	r.mu.Lock()
	base = r.stats
	r.mu.Unlock()

	chunks, stop := vport.ReadChunks(rw)
	defer stop()
	gap := time.NewTimer(Gap)
	gap.Stop()
	defer gap.Stop()
	for {
		var reqs []idcard.Request
		var rerr error
		select {
		case <-ctx.Done():
			return ctx.Err()
		case c := <-chunks:
			reqs, rerr = dec.Feed(c.B), c.Err
			if dec.Buffered() > 0 {
				gap.Reset(Gap)
			} else {
				gap.Stop()
			}
		case <-gap.C:
			reqs = dec.Flush()
		}
		r.mu.Lock()
		r.stats = base.Add(dec.Stats())
		r.mu.Unlock()
		for _, q := range reqs {
			if err := r.answer(ctx, q, rw); err != nil {
				return err
			}
		}
		if rerr != nil {
			return fmt.Errorf("idcardsim: read: %w", rerr)
		}
	}
}

// answer executes one request and writes the reply, with any injected
// noise, delay or damage.
func (r *Reader) answer(ctx context.Context, q idcard.Request, w io.Writer) error {
	r.mu.Lock()
	var rsp idcard.Response
	switch {
	case q.Status != idcard.OK:
		// A broken host frame is answered with its code, never executed.
		rsp = status(q.Status)
	default:
		r.counts[[2]byte{q.Cmd, q.Para}]++
		if f, ok := r.takeFault(q.Command); ok {
			rsp = status(f)
		} else {
			rsp = r.exec(q.Command)
		}
	}
	reply := idcard.EncodeResponse(rsp)
	clear(rsp.Data)
	damaged := false
	if q.Status == idcard.OK {
		for i, d := range r.damage {
			if d.Is(q.Command) {
				r.damage = append(r.damage[:i:i], r.damage[i+1:]...)
				damaged = true
				break
			}
		}
	}
	if !damaged && r.badSum > 0 {
		r.badSum--
		damaged = true
	}
	if damaged {
		reply[len(reply)-1] ^= 0xFF
	}
	noise := garbage(r.garbage)
	r.garbage = 0
	delay := r.slow
	r.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	if len(noise) > 0 {
		if _, err := w.Write(noise); err != nil {
			return fmt.Errorf("idcardsim: write: %w", err)
		}
	}
	_, err := w.Write(reply)
	clear(reply)
	if err != nil {
		return fmt.Errorf("idcardsim: write: %w", err)
	}
	return nil
}

// takeFault pops the first injected fault for cmd. Call with mu held.
func (r *Reader) takeFault(cmd idcard.Command) (idcard.Status, bool) {
	for i, f := range r.faults {
		if f.cmd.Is(cmd) {
			r.faults = append(r.faults[:i:i], r.faults[i+1:]...)
			return f.sw3, true
		}
	}
	return 0, false
}

func status(s idcard.Status) idcard.Response { return idcard.Response{SW3: byte(s)} }

func ok(data ...[]byte) idcard.Response {
	return idcard.Response{SW3: byte(idcard.OK), Data: bytes.Join(data, nil)}
}

// exec carries out one command. Call with mu held.
func (r *Reader) exec(cmd idcard.Command) idcard.Response {
	switch {
	case cmd.Is(idcard.SAMStatus()):
		switch r.sam {
		case SAMSelfTestFailed:
			return status(idcard.SelfTestFailed)
		case SAMUnauthorised:
			return status(idcard.SAMUnauthorised)
		}
		return ok()
	case cmd.Is(idcard.ReadSAMID()):
		// An unauthorised SAM still tells its id: hall IT needs it to have
		// the SAM authorised.
		if r.sam == SAMSelfTestFailed {
			return status(idcard.SelfTestFailed)
		}
		return ok(r.samID[:])
	case r.sam == SAMSelfTestFailed:
		return status(idcard.SelfTestFailed)
	case r.sam == SAMUnauthorised:
		return status(idcard.SAMUnauthorised)
	}
	c := r.card
	switch {
	case cmd.Is(idcard.ResetSAM()):
		if c != nil {
			c.found, c.selected = false, false
		}
		return ok()
	case cmd.Is(idcard.SetMaxRFFrame(0)):
		if len(cmd.Data) != 1 {
			return status(idcard.BadCommand)
		}
		r.rfFrame = cmd.Data[0]
		return ok()
	case cmd.Is(idcard.FindCard()):
		if c == nil || c.read && !r.refind {
			return status(idcard.NoCard)
		}
		c.found = true
		return idcard.Response{SW3: byte(idcard.FindOK), Data: make([]byte, 4)}
	case cmd.Is(idcard.SelectCard()):
		if c == nil || !c.found {
			return status(idcard.SelectFailed)
		}
		c.selected = true
		return ok(make([]byte, 8))
	case cmd.Is(idcard.ReadCard()):
		if c == nil || !c.selected {
			return status(idcard.ReadFailed)
		}
		c.read = true
		return ok(lengths(len(c.text), len(c.photo)), c.text, c.photo)
	case cmd.Is(idcard.ReadCardFingerprint()):
		if c == nil || !c.selected {
			return status(idcard.ReadFailed)
		}
		c.read = true
		return ok(lengths(len(c.text), len(c.photo), len(c.fingerprint)), c.text, c.photo, c.fingerprint)
	case cmd.Is(idcard.ReadExtraAddress()):
		if c == nil || !c.selected {
			return status(idcard.ReadFailed)
		}
		if len(c.extra) == 0 {
			return status(idcard.NoContent)
		}
		return ok(c.extra)
	case cmd.Is(idcard.ReadMID()):
		if c == nil || !c.selected {
			return status(idcard.ReadFailed)
		}
		mid := sha256.Sum256([]byte("idcardsim MID " + c.number))
		return ok(mid[:24]) // chip serial (8) and card serial (16)
	}
	return status(idcard.BadCommand)
}

// lengths are the big-endian length fields of a read reply.
func lengths(ns ...int) []byte {
	var b []byte
	for _, n := range ns {
		b = append(b, byte(n>>8), byte(n))
	}
	return b
}

// noisePattern holds preamble pieces (AA AA 96 69) but, repeated or cut
// anywhere, never a whole preamble.
var noisePattern = []byte{0xAA, 0xAA, 0x96, 0x69, 0x00, 0x55, 0xFF, 0x5A}

func garbage(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = noisePattern[i%len(noisePattern)]
	}
	return b
}
