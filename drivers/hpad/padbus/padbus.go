// Package padbus is the master of one HPAD-1 line (RS-485, several pads): it
// polls the pads round-robin, hands their events to the hall and acknowledges
// each only after the hall says it is durable, and keeps every pad's screen
// in step with what the hall wants it to show.
//
// Screens are level-triggered: the hall sets the desired Display of a pad at
// any time; the master sends what differs from what the pad last
// acknowledged, and sends everything again when a lost pad comes back (a pad
// that lost power has forgotten its screen).
package padbus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"halld/drivers/device"
	"halld/drivers/hpad"
	"halld/drivers/serialport"
)

// Pad is one pad on the line.
type Pad struct {
	ID   string // device id
	Addr byte
}

// Display is what a pad should show.
type Display struct {
	Staff  hpad.SetStaff
	Ticket hpad.SetTicket
	State  hpad.SetState
	Prompt hpad.Prompt // sent when it changes; empty = none
}

// EventHandler takes one pad event. It returns nil once the event is durable
// (or permanently refused): only then is the pad sent ACK_EVT. An error means
// "try again later": the event stays on the pad and comes back at the next POLL.
type EventHandler func(padID string, ev hpad.Event) error

// Options tune the master; zero values take docs/protocols.md's numbers.
type Options struct {
	Timeout   time.Duration // reply timeout (200 ms)
	Retries   int           // retries after the first try (2)
	LostEvery int           // a lost pad is tried once every N cycles (5), so it does not slow the line
	// MinCycle is the shortest poll cycle (20 ms): a fast link (a pty, a short
	// line at high baud) would otherwise poll flat out for nothing — a person
	// cannot press faster than this matters.
	MinCycle time.Duration
	// IdleCycle is the poll cycle of a quiet line (100 ms): after IdleAfter
	// (5 s) without a pad event, an acknowledgement or a screen to send, the
	// line is polled this often rather than every MinCycle, until the next
	// event or screen change (a screen change goes round at once). The
	// first press after a quiet spell waits up to IdleCycle more; the
	// protocol's own 16 pads at 9600 baud make a ~400 ms cycle.
	IdleCycle time.Duration
	IdleAfter time.Duration
	Clock     func() time.Time
}

// Stats are counters for the monitor.
type Stats struct {
	Cycles, Polls, Retries, Timeouts, Events, Acks uint64
	LastCycle                                      time.Duration
	Decoder                                        hpad.Stats
}

type padState struct {
	Pad
	seq        byte
	lost       bool
	misses     int
	skip       int
	want       Display
	have       *Display // nil: unknown (never sent, or the pad came back)
	hello      *hpad.HelloReply
	lastSeen   time.Time
	reported   string
	timeSynced bool
	// doneVisit is the visit the pad last reported rated or timed out: a RATE
	// screen for it (from a hall view not yet updated) is never sent again.
	doneVisit uint32
	inflight  chan handled // events of the last POLL being made durable
}

// Bus is the master of one line.
type Bus struct {
	id     string
	opts   Options
	handle EventHandler
	onPad  func(padID string, r device.Report)
	mu     sync.Mutex
	pads   []*padState
	byID   map[string]*padState
	stats  Stats
	wake   chan struct{}
}

var _ device.Driver = (*Bus)(nil)

// New makes the master of line id. onPad hears each pad's state (ready when
// it answers, offline when lost).
func New(id string, pads []Pad, handle EventHandler, onPad func(string, device.Report), opts Options) *Bus {
	if opts.Timeout <= 0 {
		opts.Timeout = 200 * time.Millisecond
	}
	if opts.Retries <= 0 {
		opts.Retries = 2
	}
	if opts.LostEvery <= 0 {
		opts.LostEvery = 5
	}
	if opts.MinCycle <= 0 {
		opts.MinCycle = 20 * time.Millisecond
	}
	if opts.IdleCycle <= 0 {
		opts.IdleCycle = 100 * time.Millisecond
	}
	opts.IdleCycle = max(opts.IdleCycle, opts.MinCycle)
	if opts.IdleAfter <= 0 {
		opts.IdleAfter = 5 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	b := &Bus{id: id, opts: opts, handle: handle, onPad: onPad, byID: map[string]*padState{}, wake: make(chan struct{}, 1)}
	for _, p := range pads {
		ps := &padState{Pad: p}
		b.pads = append(b.pads, ps)
		b.byID[p.ID] = ps
	}
	return b
}

// SetDisplay sets what a pad should show; the master sends the difference
// at its next turn.
func (b *Bus) SetDisplay(padID string, d Display) {
	b.mu.Lock()
	ps, ok := b.byID[padID]
	if !ok || ps.want == d {
		// Screens are recomputed after every commit; most do not change,
		// and waking the line for nothing costs a cycle.
		b.mu.Unlock()
		return
	}
	ps.want = d
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Stats returns the counters.
func (b *Bus) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// PadInfo is what a pad said of itself (HELLO).
func (b *Bus) PadInfo(padID string) (hpad.HelloReply, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ps, ok := b.byID[padID]
	if !ok || ps.hello == nil {
		return hpad.HelloReply{}, false
	}
	return *ps.hello, true
}

// errNoReply: the pad did not answer after the retries.
var errNoReply = errors.New("no reply")

// conn is one connection's transaction state.
type conn struct {
	port    device.Port
	dec     hpad.Decoder
	b       *Bus
	screens uint64 // frames sent other than POLL and HELLO (screens, time, acks)
}

// waiting: some pad has events being made durable (its ACK is due).
func (c *conn) waiting(pads []*padState) bool {
	for _, ps := range pads {
		if ps.inflight != nil {
			return true
		}
	}
	return false
}

// Run drives the line over one connection until the link dies or ctx ends.
func (b *Bus) Run(ctx context.Context, port device.Port, report func(device.Report)) error {
	c := &conn{port: port, b: b}
	b.mu.Lock()
	for _, ps := range b.pads {
		ps.have, ps.timeSynced, ps.misses, ps.skip = nil, false, 0, 0
	}
	b.mu.Unlock()
	report(device.Report{State: device.StateReady, Detail: map[string]any{"pads": len(b.pads)}, Seen: true})
	defer func() {
		for _, ps := range b.pads {
			b.setPadState(ps, device.StateOffline, "line_down")
		}
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	lastBusy := time.Now()
	var seen [3]uint64 // events, acks, screen frames at the last cycle's end
	for {
		start := time.Now()
		for _, ps := range b.pads {
			select {
			case <-ctx.Done():
				return nil
			case <-port.Dead():
				return port.Err()
			default:
			}
			if ps.lost {
				ps.skip++
				if ps.skip < b.opts.LostEvery {
					continue
				}
				ps.skip = 0
			}
			if err := c.serve(ps); err != nil && !errors.Is(err, errNoReply) {
				if port.Err() != nil {
					return port.Err()
				}
			}
		}
		b.mu.Lock()
		b.stats.Cycles++
		b.stats.LastCycle = time.Since(start)
		b.stats.Decoder = c.dec.Stats()
		now := [3]uint64{b.stats.Events, b.stats.Acks, c.screens}
		b.mu.Unlock()
		if now != seen || c.waiting(b.pads) {
			seen, lastBusy = now, time.Now()
		}
		cycle := b.opts.MinCycle
		if time.Since(lastBusy) >= b.opts.IdleAfter {
			cycle = b.opts.IdleCycle
		}
		rest := cycle - time.Since(start)
		if len(b.pads) == 0 {
			rest = time.Second
		}
		if rest > 0 {
			timer.Reset(rest)
			select {
			case <-ctx.Done():
				return nil
			case <-port.Dead():
				return port.Err()
			case <-b.wake: // a screen to update: go round now
				lastBusy = time.Now()
			case <-timer.C:
			}
			timer.Stop()
		}
	}
}

// serve gives one pad its turn: bring its screen up to date, then poll.
func (c *conn) serve(ps *padState) error {
	b := c.b
	if ps.hello == nil || ps.lost {
		var h hpad.HelloReply
		if err := c.transact(ps, hpad.CmdHello, nil, &h); err != nil {
			return err
		}
		b.mu.Lock()
		ps.hello = &h
		b.mu.Unlock()
	}
	if !ps.timeSynced {
		now := b.opts.Clock()
		_, off := now.Zone()
		if err := c.send(ps, hpad.SetTime{Unix: uint32(now.Unix()), TzMin: int16(off / 60)}); err != nil {
			return err
		}
		ps.timeSynced = true
	}
	if err := c.sync(ps); err != nil {
		return err
	}
	// Events being made durable: ACK them once they are; until then do not
	// POLL this pad again (it would repeat them). Other pads go on meanwhile,
	// so one slow fsync never stalls the line.
	if ps.inflight != nil {
		select {
		case res := <-ps.inflight:
			ps.inflight = nil
			if res.movedOn {
				// The pad moves on by itself after a rating (THANKS, then
				// IDLE) or a timeout (IDLE): it no longer shows what we sent.
				b.mu.Lock()
				if ps.have != nil {
					ps.have.State = hpad.SetState{State: hpad.StateIdle}
				}
				ps.doneVisit = res.doneVisit
				b.mu.Unlock()
			}
			if res.handled {
				if err := c.send(ps, hpad.AckEvt{EvtSeq: res.upTo}); err != nil {
					return err
				}
				b.mu.Lock()
				b.stats.Acks++
				b.mu.Unlock()
			}
		default:
			return nil
		}
	}
	var poll hpad.PollReply
	if err := c.transact(ps, hpad.CmdPoll, nil, &poll); err != nil {
		return err
	}
	b.mu.Lock()
	b.stats.Polls++
	b.stats.Events += uint64(len(poll.Events))
	b.mu.Unlock()
	if len(poll.Events) > 0 {
		ps.inflight = make(chan handled, 1)
		go b.deliver(ps, poll.Events, ps.inflight)
	}
	return nil
}

// handled is the outcome of delivering one POLL's events.
type handled struct {
	upTo      uint16
	handled   bool
	movedOn   bool   // a rating or timeout: the pad left RATE by itself
	doneVisit uint32 // the visit it was for
}

// deliver hands events to the hall in order, stopping at the first that is
// not durable (it and those after it stay on the pad for the next POLL).
func (b *Bus) deliver(ps *padState, events []hpad.Event, out chan<- handled) {
	var res handled
	for _, ev := range events {
		if err := b.handle(ps.ID, ev); err != nil {
			break
		}
		res.upTo, res.handled = ev.EvtSeq, true
		if ev.Type == hpad.EventRating || ev.Type == hpad.EventTimeout {
			res.movedOn, res.doneVisit = true, ev.Visit
		}
	}
	out <- res
}

// sync sends what differs between the wanted and the acknowledged screen:
// staff, ticket, prompt, then state (RATE needs the ticket first).
func (c *conn) sync(ps *padState) error {
	b := c.b
	b.mu.Lock()
	want := ps.want
	have := ps.have
	if want.State.State == hpad.StateRate && want.Ticket.Visit == ps.doneVisit && ps.doneVisit != 0 {
		want.State = hpad.SetState{State: hpad.StateIdle}
	}
	b.mu.Unlock()
	if have == nil {
		have = &Display{Staff: hpad.SetStaff{StaffID: "\x00"}, Ticket: hpad.SetTicket{Visit: ^uint32(0)},
			State: hpad.SetState{State: 0xFF}}
	}
	next := *have
	if want.Staff != have.Staff {
		if err := c.send(ps, want.Staff); err != nil {
			return err
		}
		next.Staff = want.Staff
	}
	if want.Ticket != have.Ticket && (want.Ticket.Visit != 0 || want.Ticket.TicketNo != "") {
		if err := c.send(ps, want.Ticket); err != nil {
			return err
		}
		next.Ticket = want.Ticket
	}
	if want.Prompt != have.Prompt && want.Prompt.Text != "" {
		if err := c.send(ps, want.Prompt); err != nil {
			return err
		}
		next.Prompt = want.Prompt
	}
	if want.State != have.State {
		err := c.send(ps, want.State)
		var code hpad.ErrorCode
		if errors.As(err, &code) && code == hpad.ErrNotAllowed {
			// RATE without a ticket the pad knows: resend the ticket next turn.
			next.Ticket = hpad.SetTicket{Visit: ^uint32(0)}
		} else if err != nil {
			return err
		} else {
			next.State = want.State
		}
	}
	b.mu.Lock()
	ps.have = &next
	b.mu.Unlock()
	return nil
}

// send runs a command that has an empty reply.
func (c *conn) send(ps *padState, p hpad.Payload) error {
	body, err := p.MarshalBinary()
	if err != nil {
		return fmt.Errorf("%s: pad %s: %w", c.b.id, ps.ID, err)
	}
	c.b.mu.Lock()
	c.screens++ // the line is busy: keep the fast cycle
	c.b.mu.Unlock()
	return c.transact(ps, p.Cmd(), body, nil)
}

type unmarshaler interface{ UnmarshalBinary([]byte) error }

// transact sends one request and waits for its reply, retrying with the same
// SEQ (the pad answers a retry from its cache, never executing twice).
func (c *conn) transact(ps *padState, cmd byte, body []byte, reply unmarshaler) error {
	b := c.b
	ps.seq++
	frame := hpad.Encode(hpad.Frame{Addr: ps.Addr, Seq: ps.seq, Cmd: cmd, Payload: body})
	for try := 0; try <= b.opts.Retries; try++ {
		if try > 0 {
			b.mu.Lock()
			b.stats.Retries++
			b.mu.Unlock()
		}
		c.port.Discard()
		if _, err := c.port.Write(frame); err != nil {
			return err
		}
		f, err := c.await(ps.Addr, ps.seq)
		if errors.Is(err, serialport.ErrTimeout) {
			b.mu.Lock()
			b.stats.Timeouts++
			b.mu.Unlock()
			continue
		}
		if err != nil {
			return err
		}
		c.b.alive(ps)
		if f.Cmd == hpad.CmdError {
			var e hpad.ErrorReply
			if err := e.UnmarshalBinary(f.Payload); err != nil {
				return fmt.Errorf("%s: pad %s: bad error reply: %w", b.id, ps.ID, err)
			}
			if e.Code == hpad.ErrBusy {
				continue
			}
			return fmt.Errorf("%s: pad %s: %s: %w", b.id, ps.ID, hpad.CmdName(cmd), e.Code)
		}
		if f.Cmd != hpad.ReplyCmd(cmd) {
			return fmt.Errorf("%s: pad %s: reply %s to %s", b.id, ps.ID, hpad.CmdName(f.Cmd), hpad.CmdName(cmd))
		}
		if reply != nil {
			if err := reply.UnmarshalBinary(f.Payload); err != nil {
				return fmt.Errorf("%s: pad %s: %w", b.id, ps.ID, err)
			}
		}
		return nil
	}
	b.missed(ps)
	return errNoReply
}

// await reads until the reply to (addr, seq) arrives or the timeout passes.
func (c *conn) await(addr, seq byte) (hpad.Frame, error) {
	deadline := time.Now().Add(c.b.opts.Timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			c.dec.Flush() // a false frame start must not hold back the next reply
			return hpad.Frame{}, serialport.ErrTimeout
		}
		chunk, err := c.port.Read(left)
		if errors.Is(err, serialport.ErrTimeout) {
			continue
		}
		if err != nil {
			return hpad.Frame{}, err
		}
		for _, f := range c.dec.Feed(chunk) {
			if f.Addr == addr && f.Seq == seq && hpad.IsReply(f.Cmd) {
				return f, nil
			}
			// A stale reply (to an earlier try) or another node's frame: skip.
		}
	}
}

func (b *Bus) alive(ps *padState) {
	b.mu.Lock()
	ps.misses = 0
	ps.lastSeen = b.opts.Clock()
	wasLost := ps.lost
	ps.lost = false
	if wasLost {
		// It may have lost power: send it everything again.
		ps.have, ps.hello, ps.timeSynced = nil, nil, false
	}
	b.mu.Unlock()
	b.setPadState(ps, device.StateReady, "")
}

func (b *Bus) missed(ps *padState) {
	b.mu.Lock()
	ps.misses++
	ps.lost = true
	b.mu.Unlock()
	b.setPadState(ps, device.StateOffline, "no_reply")
}

func (b *Bus) setPadState(ps *padState, state, reason string) {
	key := state + "/" + reason
	b.mu.Lock()
	changed := ps.reported != key
	ps.reported = key
	seen := ps.lastSeen
	b.mu.Unlock()
	if b.onPad != nil && (changed || state == device.StateReady) {
		detail := map[string]any{"addr": int(ps.Addr)}
		b.onPad(ps.ID, device.Report{State: state, Reason: reason, Detail: detail, Seen: state == device.StateReady && !seen.IsZero()})
	}
}
