package hpadsim

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"time"

	"halld/drivers/hpad"
)

// Slots is how many unacknowledged events a pad keeps (the spec asks for at
// least 16); beyond it the oldest is dropped and counted. More than
// hpad.MaxEvents, so a POLL can leave events behind.
const Slots = 32

// DefaultThanks is how long a pad shows THANKS before going IDLE by itself.
const DefaultThanks = 3 * time.Second

// PadInfo is what a pad says about itself in its HELLO reply.
type PadInfo struct {
	Proto             byte // 0 means hpad.ProtoVersion
	Model, FW, Serial string
	Caps              uint16 // hpad.Cap* bits
}

// Pad is one simulated evaluation pad on a Bus. Its methods are safe to
// call from tests while the bus serves.
type Pad struct {
	addr byte
	info hpad.HelloReply

	mu       sync.Mutex
	state    hpad.State
	ticket   hpad.SetTicket
	ticketOK bool // a SET_TICKET since the last IDLE
	staff    hpad.SetStaff
	prompts  []hpad.Prompt
	clock    *hpad.SetTime
	clockAt  time.Time // when clock was set
	events   []hpad.Event
	nextSeq  uint16
	dropped  int
	executed int

	timer  *time.Timer
	gen    int // bumped on every state change, so a stale timer does nothing
	thanks time.Duration
	second time.Duration // one timeout_s unit

	// The reply to the last request, for a retry with the same SEQ.
	lastReq   []byte // SEQ, CMD, payload
	lastReply []byte

	mute              bool
	corrupt, truncate int
	busy              int
	slow              time.Duration
}

func newPad(addr byte, info PadInfo) *Pad {
	if info.Proto == 0 {
		info.Proto = hpad.ProtoVersion
	}
	return &Pad{
		addr:    addr,
		info:    hpad.HelloReply{Proto: info.Proto, Model: info.Model, FW: info.FW, Serial: info.Serial, Caps: info.Caps},
		nextSeq: 1,
		thanks:  DefaultThanks,
		second:  time.Second,
	}
}

// Addr is the pad's bus address.
func (p *Pad) Addr() byte { return p.addr }

// State is what the pad shows now.
func (p *Pad) State() hpad.State { p.mu.Lock(); defer p.mu.Unlock(); return p.state }

// Staff is the last SET_STAFF (zero after a power cycle).
func (p *Pad) Staff() hpad.SetStaff { p.mu.Lock(); defer p.mu.Unlock(); return p.staff }

// Ticket is the ticket set since the last IDLE; ok is false if none.
func (p *Pad) Ticket() (t hpad.SetTicket, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ticket, p.ticketOK
}

// Prompts lists every PROMPT the pad has received, oldest first. It is a
// log for tests, so it survives PowerCycle.
func (p *Pad) Prompts() []hpad.Prompt {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]hpad.Prompt(nil), p.prompts...)
}

// Clock is the pad's time, running since the last SET_TIME; ok is false if
// it was never set since power-up.
func (p *Pad) Clock() (t time.Time, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.clock == nil {
		return time.Time{}, false
	}
	zone := time.FixedZone(fmt.Sprintf("UTC%+d min", p.clock.TzMin), int(p.clock.TzMin)*60)
	return time.Unix(int64(p.clock.Unix), 0).Add(time.Since(p.clockAt)).In(zone), true
}

// Events lists the unacknowledged events, oldest first.
func (p *Pad) Events() []hpad.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]hpad.Event(nil), p.events...)
}

// Dropped counts events lost because more than Slots were unacknowledged.
func (p *Pad) Dropped() int { p.mu.Lock(); defer p.mu.Unlock(); return p.dropped }

// Executed counts requests the pad executed, failed ones and broadcasts
// included; answers from the SEQ cache and injected busy replies are not.
func (p *Pad) Executed() int { p.mu.Lock(); defer p.mu.Unlock(); return p.executed }

// SetThanksDelay sets how long THANKS lasts before IDLE.
func (p *Pad) SetThanksDelay(d time.Duration) { p.mu.Lock(); p.thanks = d; p.mu.Unlock() }

// SetTimeoutUnit sets the length of one timeout_s second, so tests need not
// wait whole seconds for a TIMEOUT. It applies to the next RATE.
func (p *Pad) SetTimeoutUnit(d time.Duration) { p.mu.Lock(); p.second = d; p.mu.Unlock() }

// SetMute cuts the pad off the bus: it neither executes nor answers, so the
// master marks it lost. Its screen and keys still work and events queue up.
func (p *Pad) SetMute(mute bool) { p.mu.Lock(); p.mute = mute; p.mu.Unlock() }

// SetCorruptReplies sends the next n replies with a bad CRC. A retry is
// answered from the cache with a good one, as line noise would allow.
func (p *Pad) SetCorruptReplies(n int) { p.mu.Lock(); p.corrupt = n; p.mu.Unlock() }

// SetTruncateReplies sends only the first half of the next n replies.
func (p *Pad) SetTruncateReplies(n int) { p.mu.Lock(); p.truncate = n; p.mu.Unlock() }

// SetSlow delays every reply by d (0: answer at once).
func (p *Pad) SetSlow(d time.Duration) { p.mu.Lock(); p.slow = d; p.mu.Unlock() }

// SetBusy answers the next n requests with error 3 (busy) without
// executing them.
func (p *Pad) SetBusy(n int) { p.mu.Lock(); p.busy = n; p.mu.Unlock() }

// Errors from the pad's own controls.
var (
	ErrNotRating = errors.New("hpadsim: pad is not in RATE")
	ErrRating    = errors.New("hpadsim: bad rating")
)

// Press is a citizen's rating: value 1–5, reasons a bitmap that a value of
// 2 or less requires. The pad records a RATING, then shows THANKS and goes
// IDLE after the thanks delay.
func (p *Pad) Press(value, reasons byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.state != hpad.StateRate:
		return fmt.Errorf("press %d in %s: %w", value, p.state, ErrNotRating)
	case value < hpad.RatingVeryDissatisfied || value > hpad.RatingVerySatisfied:
		return fmt.Errorf("press %d: value must be 1-5: %w", value, ErrRating)
	case hpad.ReasonsRequired(value) && reasons == 0:
		return fmt.Errorf("press %d: a rating of 2 or less needs reasons: %w", value, ErrRating)
	}
	p.emit(hpad.EventRating, value, reasons)
	p.setState(hpad.StateThanks, 0)
	return nil
}

// Key is a staff key press (hpad.Key*); it does not change the state, the
// master decides what it means.
func (p *Pad) Key(code byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.emit(hpad.EventKey, code, 0)
}

// Fault reports a vendor fault code.
func (p *Pad) Fault(code byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.emit(hpad.EventFault, code, 0)
}

// PowerCycle is a power loss and restart: the pad comes back IDLE with no
// ticket, staff or clock and an empty SEQ cache, but keeps its unacked
// events and its event counter (they are in flash), so evtSeq never repeats
// across a restart. Injected faults and the mute switch stay as they were.
func (p *Pad) PowerCycle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setState(hpad.StateIdle, 0)
	p.staff, p.clock = hpad.SetStaff{}, nil
	p.lastReq, p.lastReply = nil, nil
}

// emit queues an event tagged with the current ticket. Call with mu held.
func (p *Pad) emit(t hpad.EventType, value, reasons byte) {
	var visit uint32
	if p.ticketOK {
		visit = p.ticket.Visit
	}
	p.events = append(p.events, hpad.Event{Type: t, EvtSeq: p.nextSeq, Visit: visit, Value: value, Reasons: reasons})
	p.nextSeq++
	if len(p.events) > Slots {
		p.events = append(p.events[:0], p.events[1:]...)
		p.dropped++
	}
}

// setState switches the screen and arms the timer the new state needs.
// Entering IDLE forgets the ticket. Call with mu held.
func (p *Pad) setState(s hpad.State, timeoutS byte) {
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.gen++
	p.state = s
	var after time.Duration
	switch s {
	case hpad.StateIdle:
		p.ticket, p.ticketOK = hpad.SetTicket{}, false
	case hpad.StateRate:
		after = time.Duration(timeoutS) * p.second
	case hpad.StateThanks:
		after = p.thanks
	}
	if after > 0 {
		gen := p.gen
		p.timer = time.AfterFunc(after, func() { p.expire(gen) })
	}
}

// expire ends a timed state: RATE times out (TIMEOUT, then IDLE), THANKS
// goes IDLE.
func (p *Pad) expire(gen int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if gen != p.gen {
		return // the state changed since the timer was armed
	}
	if p.state == hpad.StateRate {
		p.emit(hpad.EventTimeout, 0, 0)
	}
	p.setState(hpad.StateIdle, 0)
}

// request serves a frame addressed to this pad. It returns the bytes to
// send (nil: none) and how long to wait first.
func (p *Pad) request(f hpad.Frame) ([]byte, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mute {
		return nil, 0
	}
	key := append([]byte{f.Seq, f.Cmd}, f.Payload...)
	var reply []byte
	switch {
	case p.lastReq != nil && bytes.Equal(key, p.lastReq):
		// A retry: the master missed our answer. Same bytes, no re-execution.
		reply = p.lastReply
	case p.busy > 0:
		p.busy--
		p.lastReq, p.lastReply = nil, nil
		reply = errorReply(p.addr, f.Seq, hpad.ErrBusy)
	default:
		payload, err := p.exec(f)
		if err != nil {
			var code hpad.ErrorCode
			if !errors.As(err, &code) {
				code = hpad.ErrBadPayload
			}
			// Error replies are not cached: a retry is executed again.
			p.lastReq, p.lastReply = nil, nil
			reply = errorReply(p.addr, f.Seq, code)
		} else {
			reply = hpad.Encode(hpad.Frame{Addr: p.addr, Seq: f.Seq, Cmd: hpad.ReplyCmd(f.Cmd), Payload: payload})
			p.lastReq, p.lastReply = key, reply
		}
	}
	return p.damage(reply), p.slow
}

// broadcast executes a frame sent to address 00: no reply, no SEQ cache
// (broadcast SEQs come from another counter and must not pass for a retry).
func (p *Pad) broadcast(f hpad.Frame) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.mute {
		_, _ = p.exec(f)
	}
}

// damage applies injected line faults to a copy of what is sent.
func (p *Pad) damage(b []byte) []byte {
	switch {
	case p.corrupt > 0:
		p.corrupt--
		b = bytes.Clone(b)
		b[len(b)-3] ^= 0xFF // CRC low byte
	case p.truncate > 0:
		p.truncate--
		b = b[:len(b)/2]
	}
	return b
}

func errorReply(addr, seq byte, code hpad.ErrorCode) []byte {
	return hpad.Encode(hpad.Frame{Addr: addr, Seq: seq, Cmd: hpad.CmdError, Payload: []byte{byte(code)}})
}

// exec carries out one request and returns the reply payload. An error that
// is an hpad.ErrorCode becomes that error reply; any other (a payload that
// does not decode) becomes ErrBadPayload. Call with mu held.
func (p *Pad) exec(f hpad.Frame) ([]byte, error) {
	p.executed++
	switch f.Cmd {
	case hpad.CmdHello:
		if len(f.Payload) != 0 {
			return nil, hpad.ErrBadPayload
		}
		return p.info.MarshalBinary()
	case hpad.CmdPoll:
		if len(f.Payload) != 0 {
			return nil, hpad.ErrBadPayload
		}
		r := hpad.PollReply{Events: p.events[:min(len(p.events), hpad.MaxEvents)]}
		return r.MarshalBinary()
	case hpad.CmdAckEvt:
		var a hpad.AckEvt
		if err := a.UnmarshalBinary(f.Payload); err != nil {
			return nil, err
		}
		kept := p.events[:0]
		for _, e := range p.events {
			if int16(e.EvtSeq-a.EvtSeq) > 0 { // e is after the ack, in serial-number order
				kept = append(kept, e)
			}
		}
		p.events = kept
		return nil, nil
	case hpad.CmdSetState:
		var s hpad.SetState
		if err := s.UnmarshalBinary(f.Payload); err != nil {
			return nil, err
		}
		if s.State == hpad.StateRate && !p.ticketOK {
			return nil, hpad.ErrNotAllowed
		}
		p.setState(s.State, s.TimeoutS)
		return nil, nil
	case hpad.CmdSetStaff:
		return nil, p.staff.UnmarshalBinary(f.Payload)
	case hpad.CmdSetTicket:
		var t hpad.SetTicket
		if err := t.UnmarshalBinary(f.Payload); err != nil {
			return nil, err
		}
		p.ticket, p.ticketOK = t, true
		return nil, nil
	case hpad.CmdPrompt:
		var pr hpad.Prompt
		if err := pr.UnmarshalBinary(f.Payload); err != nil {
			return nil, err
		}
		p.prompts = append(p.prompts, pr)
		return nil, nil
	case hpad.CmdSetTime:
		var t hpad.SetTime
		if err := t.UnmarshalBinary(f.Payload); err != nil {
			return nil, err
		}
		p.clock, p.clockAt = &t, time.Now()
		return nil, nil
	}
	return nil, hpad.ErrUnknownCmd
}
