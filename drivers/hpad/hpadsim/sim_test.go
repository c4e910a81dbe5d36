package hpadsim

import (
	"context"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"halld/drivers/hpad"
)

// master is the daemon's end of an in-memory line to a Bus, built on the
// codec only: what a real master does, minus the retries.
type master struct {
	w      io.Writer
	chunks chan []byte
	dec    hpad.Decoder
	got    []hpad.Frame // decoded, not yet consumed
	seq    map[byte]byte
	done   chan error
}

type rw struct {
	io.Reader
	io.Writer
}

func start(t *testing.T, b *Bus) *master {
	t.Helper()
	simIn, masterOut := io.Pipe()
	masterIn, simOut := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	m := &master{w: masterOut, chunks: make(chan []byte, 64), seq: map[byte]byte{}, done: make(chan error, 1)}
	go func() { m.done <- b.Serve(ctx, rw{simIn, simOut}) }()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := masterIn.Read(buf)
			if err != nil {
				return
			}
			m.chunks <- append([]byte(nil), buf[:n]...)
		}
	}()
	t.Cleanup(func() {
		cancel()
		masterOut.Close()
		masterIn.Close()
		<-m.done
	})
	return m
}

// timeout is the master's reply timeout from docs/protocols.md §3.1.
const timeout = 200 * time.Millisecond

func (m *master) write(t *testing.T, b []byte) {
	t.Helper()
	if _, err := m.w.Write(b); err != nil {
		t.Fatal(err)
	}
}

// next is the next SEQ for addr.
func (m *master) next(addr byte) byte { m.seq[addr]++; return m.seq[addr] }

// exchange sends f and waits for the reply with its SEQ; ok is false after
// the timeout. On a timeout the decoder is flushed, as a master must, so a
// cut-off reply cannot hold up the next one.
func (m *master) exchange(t *testing.T, f hpad.Frame, wait time.Duration) (hpad.Frame, bool) {
	t.Helper()
	m.write(t, hpad.Encode(f))
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		for len(m.got) > 0 {
			r := m.got[0]
			m.got = m.got[1:]
			if hpad.IsReply(r.Cmd) && r.Seq == f.Seq && (r.Addr == f.Addr || f.Addr == hpad.AddrAny) {
				return r, true
			}
		}
		select {
		case c := <-m.chunks:
			m.got = append(m.got, m.dec.Feed(c)...)
		case <-deadline.C:
			m.got = append(m.got, m.dec.Flush()...)
			return hpad.Frame{}, false
		}
	}
}

// call sends a request with a fresh SEQ and returns the reply.
func (m *master) call(t *testing.T, addr, cmd byte, p hpad.Payload) hpad.Frame {
	t.Helper()
	f := hpad.Frame{Addr: addr, Seq: m.next(addr), Cmd: cmd}
	if p != nil {
		var err error
		if f, err = hpad.NewFrame(addr, f.Seq, p); err != nil {
			t.Fatal(err)
		}
	}
	r, ok := m.exchange(t, f, timeout)
	if !ok {
		t.Fatalf("no reply to %v", f)
	}
	return r
}

// ok sends a request that must succeed with an empty reply.
func (m *master) ok(t *testing.T, addr byte, p hpad.Payload) {
	t.Helper()
	r := m.call(t, addr, p.Cmd(), p)
	if r.Cmd != hpad.ReplyCmd(p.Cmd()) || len(r.Payload) != 0 {
		t.Fatalf("%T: reply %v", p, r)
	}
}

// fails sends a request that must get error reply code.
func (m *master) fails(t *testing.T, addr, cmd byte, p hpad.Payload, code hpad.ErrorCode) {
	t.Helper()
	r := m.call(t, addr, cmd, p)
	var e hpad.ErrorReply
	if r.Cmd != hpad.CmdError || e.UnmarshalBinary(r.Payload) != nil || e.Code != code {
		t.Fatalf("%s: reply %v, want error %d", hpad.CmdName(cmd), r, code)
	}
}

func (m *master) poll(t *testing.T, addr byte) []hpad.Event {
	t.Helper()
	r := m.call(t, addr, hpad.CmdPoll, nil)
	var pr hpad.PollReply
	if r.Cmd != hpad.ReplyCmd(hpad.CmdPoll) {
		t.Fatalf("POLL: reply %v", r)
	}
	if err := pr.UnmarshalBinary(r.Payload); err != nil {
		t.Fatal(err)
	}
	return pr.Events
}

// silent checks that nothing at all comes back within d.
func (m *master) silent(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case c := <-m.chunks:
		t.Fatalf("unexpected bytes % X", c)
	case <-time.After(d):
	}
}

func waitState(t *testing.T, p *Pad, s hpad.State, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for p.State() != s {
		if time.Now().After(deadline) {
			t.Fatalf("pad %02X is %s, want %s", p.Addr(), p.State(), s)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var info = PadInfo{Model: "HP-8", FW: "1.0.3", Serial: "SN-0001", Caps: hpad.CapScreen | hpad.CapReasons}

func TestHello(t *testing.T) {
	b := NewBus()
	b.AddPad(1, info)
	m := start(t, b)
	r := m.call(t, 1, hpad.CmdHello, nil)
	var h hpad.HelloReply
	if r.Cmd != 0x81 || r.Addr != 1 || h.UnmarshalBinary(r.Payload) != nil {
		t.Fatalf("reply %v", r)
	}
	want := hpad.HelloReply{Proto: hpad.ProtoVersion, Model: "HP-8", FW: "1.0.3", Serial: "SN-0001", Caps: 9}
	if h != want {
		t.Fatalf("HELLO %+v, want %+v", h, want)
	}
}

func TestRatingFlow(t *testing.T) {
	b := NewBus()
	p := b.AddPad(5, info)
	p.SetThanksDelay(50 * time.Millisecond)
	m := start(t, b)

	m.ok(t, 5, hpad.SetStaff{StaffID: "0042", Name: "李娜", Title: "受理员", Window: "12号窗口", Stars: 48})
	m.ok(t, 5, hpad.SetTicket{TicketNo: "A001", Business: "社保卡补办", Visit: 0x12345678})
	m.ok(t, 5, hpad.SetState{State: hpad.StateServing})
	if err := p.Press(5, 0); !errors.Is(err, ErrNotRating) {
		t.Fatalf("press while SERVING: %v", err)
	}
	m.ok(t, 5, hpad.SetState{State: hpad.StateRate, TimeoutS: 30})
	if p.State() != hpad.StateRate || p.Staff().Name != "李娜" {
		t.Fatalf("state %s, staff %+v", p.State(), p.Staff())
	}
	for _, bad := range [][2]byte{{0, 0}, {6, 0}, {2, 0}, {1, 0}} {
		if err := p.Press(bad[0], bad[1]); !errors.Is(err, ErrRating) {
			t.Fatalf("press %d reasons %d: %v", bad[0], bad[1], err)
		}
	}
	if err := p.Press(hpad.RatingDissatisfied, 0b101); err != nil {
		t.Fatal(err)
	}
	if p.State() != hpad.StateThanks {
		t.Fatalf("after a rating: %s", p.State())
	}
	want := []hpad.Event{{Type: hpad.EventRating, EvtSeq: 1, Visit: 0x12345678, Value: 2, Reasons: 0b101}}
	if got := m.poll(t, 5); !reflect.DeepEqual(got, want) {
		t.Fatalf("POLL %+v, want %+v", got, want)
	}
	m.ok(t, 5, hpad.AckEvt{EvtSeq: 1})
	if got := m.poll(t, 5); len(got) != 0 {
		t.Fatalf("POLL after ACK: %+v", got)
	}
	// THANKS goes IDLE by itself, and IDLE forgets the ticket.
	waitState(t, p, hpad.StateIdle, time.Second)
	if _, ok := p.Ticket(); ok {
		t.Fatal("ticket kept after IDLE")
	}
	p.Key(hpad.KeyCallNext)
	if got := p.Events(); len(got) != 1 || got[0].Visit != 0 || got[0].EvtSeq != 2 {
		t.Fatalf("key in IDLE: %+v", got)
	}
}

func TestRateNeedsTicket(t *testing.T) {
	b := NewBus()
	p := b.AddPad(1, info)
	m := start(t, b)
	m.fails(t, 1, hpad.CmdSetState, hpad.SetState{State: hpad.StateRate}, hpad.ErrNotAllowed)
	m.ok(t, 1, hpad.SetTicket{TicketNo: "B002", Visit: 7})
	m.ok(t, 1, hpad.SetState{State: hpad.StatePaused})
	m.ok(t, 1, hpad.SetState{State: hpad.StateRate}) // PAUSED keeps the ticket
	m.ok(t, 1, hpad.SetState{State: hpad.StateIdle})
	m.fails(t, 1, hpad.CmdSetState, hpad.SetState{State: hpad.StateRate}, hpad.ErrNotAllowed)
	if p.State() != hpad.StateIdle {
		t.Fatalf("state %s", p.State())
	}
}

func TestTimeout(t *testing.T) {
	b := NewBus()
	p := b.AddPad(1, info)
	p.SetTimeoutUnit(20 * time.Millisecond)
	m := start(t, b)
	m.ok(t, 1, hpad.SetTicket{TicketNo: "A002", Visit: 99})
	m.ok(t, 1, hpad.SetState{State: hpad.StateRate, TimeoutS: 3})
	waitState(t, p, hpad.StateIdle, time.Second)
	want := []hpad.Event{{Type: hpad.EventTimeout, EvtSeq: 1, Visit: 99}}
	if got := m.poll(t, 1); !reflect.DeepEqual(got, want) {
		t.Fatalf("POLL %+v, want %+v", got, want)
	}
	// timeout_s 0 waits for ever; another state cancels the timer.
	m.ok(t, 1, hpad.SetTicket{TicketNo: "A003", Visit: 100})
	m.ok(t, 1, hpad.SetState{State: hpad.StateRate})
	p.SetTimeoutUnit(50 * time.Millisecond)
	m.ok(t, 1, hpad.SetState{State: hpad.StateRate, TimeoutS: 4})
	m.ok(t, 1, hpad.SetState{State: hpad.StateServing})
	time.Sleep(300 * time.Millisecond)
	if p.State() != hpad.StateServing || len(p.Events()) != 1 {
		t.Fatalf("state %s, events %+v", p.State(), p.Events())
	}
}

func TestRetryFromCache(t *testing.T) {
	b := NewBus()
	p := b.AddPad(1, info)
	m := start(t, b)
	m.ok(t, 1, hpad.SetTicket{TicketNo: "A001", Visit: 1})
	rate, _ := hpad.NewFrame(1, m.next(1), hpad.SetState{State: hpad.StateRate})
	first, ok := m.exchange(t, rate, timeout)
	if !ok {
		t.Fatal("no reply")
	}
	if err := p.Press(4, 0); err != nil {
		t.Fatal(err)
	}
	n := p.Executed()
	// The master missed the reply and retries: same answer, not executed
	// again (or the pad would be back in RATE and the rating open twice).
	again, ok := m.exchange(t, rate, timeout)
	if !ok || !reflect.DeepEqual(again, first) || p.State() != hpad.StateThanks || p.Executed() != n {
		t.Fatalf("retry: %v %v, state %s, executed %d→%d", again, ok, p.State(), n, p.Executed())
	}
	// The same SEQ with another request is a master that lost count: executed.
	idle, _ := hpad.NewFrame(1, rate.Seq, hpad.SetState{State: hpad.StateIdle})
	if _, ok := m.exchange(t, idle, timeout); !ok || p.State() != hpad.StateIdle {
		t.Fatalf("same SEQ, new request: state %s", p.State())
	}
	// Error replies are not cached: a retry runs again.
	p.SetBusy(1)
	poll := hpad.Frame{Addr: 1, Seq: m.next(1), Cmd: hpad.CmdPoll}
	r, _ := m.exchange(t, poll, timeout)
	if r.Cmd != hpad.CmdError || r.Payload[0] != byte(hpad.ErrBusy) {
		t.Fatalf("busy: %v", r)
	}
	if r, _ := m.exchange(t, poll, timeout); r.Cmd != hpad.ReplyCmd(hpad.CmdPoll) {
		t.Fatalf("retry after busy: %v", r)
	}
	m.fails(t, 1, hpad.CmdSetState, hpad.SetState{State: hpad.StateRate}, hpad.ErrNotAllowed)
	n = p.Executed()
	m.seq[1]-- // the same request, the same SEQ
	m.fails(t, 1, hpad.CmdSetState, hpad.SetState{State: hpad.StateRate}, hpad.ErrNotAllowed)
	if p.Executed() != n+1 {
		t.Fatalf("error reply answered from cache")
	}
}

func TestErrorsAndSilence(t *testing.T) {
	b := NewBus()
	p := b.AddPad(1, info)
	m := start(t, b)
	m.fails(t, 1, 0x55, nil, hpad.ErrUnknownCmd)
	m.fails(t, 1, hpad.CmdSetState, rawPayload{hpad.CmdSetState, []byte{2}}, hpad.ErrBadPayload)
	m.fails(t, 1, hpad.CmdSetState, rawPayload{hpad.CmdSetState, []byte{9, 0}}, hpad.ErrBadPayload)
	m.fails(t, 1, hpad.CmdHello, rawPayload{hpad.CmdHello, []byte{0}}, hpad.ErrBadPayload)
	m.fails(t, 1, hpad.CmdPrompt, rawPayload{hpad.CmdPrompt, []byte{1, 2, 0xC0, 0xAF}}, hpad.ErrBadPayload)

	// No reply: absent address, bad CRC, a reply heard on the bus, a muted pad.
	bad := hpad.Encode(hpad.Frame{Addr: 1, Seq: m.next(1), Cmd: hpad.CmdPoll})
	bad[len(bad)-2] ^= 1
	m.write(t, bad)
	m.write(t, hpad.Encode(hpad.Frame{Addr: 2, Seq: 1, Cmd: hpad.CmdPoll}))
	m.write(t, hpad.Encode(hpad.Frame{Addr: 1, Seq: 1, Cmd: hpad.ReplyCmd(hpad.CmdPoll), Payload: []byte{0}}))
	m.write(t, hpad.Encode(hpad.Frame{Addr: 1, Seq: 1, Cmd: hpad.CmdError, Payload: []byte{1}}))
	p.SetMute(true)
	m.write(t, hpad.Encode(hpad.Frame{Addr: 1, Seq: m.next(1), Cmd: hpad.CmdHello}))
	m.silent(t, timeout)
	if s := b.Stats(); s.BadCRC != 1 || s.Frames < 9 {
		t.Fatalf("bus stats %+v", s)
	}
	p.SetMute(false)
	m.call(t, 1, hpad.CmdHello, nil)

	// AddrAny reaches a lone pad, which answers with its own address.
	r, ok := m.exchange(t, hpad.Frame{Addr: hpad.AddrAny, Seq: 1, Cmd: hpad.CmdHello}, timeout)
	if !ok || r.Addr != 1 || r.Cmd != 0x81 {
		t.Fatalf("FE: %v %v", r, ok)
	}
	b.AddPad(2, info)
	m.write(t, hpad.Encode(hpad.Frame{Addr: hpad.AddrAny, Seq: 2, Cmd: hpad.CmdHello}))
	m.silent(t, timeout)
}

// rawPayload sends arbitrary payload bytes as cmd.
type rawPayload struct {
	cmd byte
	b   []byte
}

func (r rawPayload) Cmd() byte                      { return r.cmd }
func (r rawPayload) MarshalBinary() ([]byte, error) { return r.b, nil }

func TestPowerCycle(t *testing.T) {
	b := NewBus()
	p := b.AddPad(1, info)
	m := start(t, b)
	m.ok(t, 1, hpad.SetTicket{TicketNo: "C003", Visit: 3})
	m.ok(t, 1, hpad.SetStaff{Name: "张三"})
	p.Key(hpad.KeyCallNext)
	p.Key(hpad.KeyFinish)
	p.Fault(0x81)
	m.ok(t, 1, hpad.AckEvt{EvtSeq: 1})
	paused, _ := hpad.NewFrame(1, m.next(1), hpad.SetState{State: hpad.StatePaused})
	if _, ok := m.exchange(t, paused, timeout); !ok {
		t.Fatal("no reply")
	}

	p.PowerCycle()
	if _, ok := p.Ticket(); ok || p.State() != hpad.StateIdle || p.Staff().Name != "" {
		t.Fatalf("after power cycle: %s, staff %+v", p.State(), p.Staff())
	}
	// The SEQ cache is gone: the master's retry of its last request is
	// executed again (from the cache the pad would stay IDLE).
	if _, ok := m.exchange(t, paused, timeout); !ok || p.State() != hpad.StatePaused {
		t.Fatalf("retry after power cycle: state %s", p.State())
	}
	want := []hpad.Event{
		{Type: hpad.EventKey, EvtSeq: 2, Visit: 3, Value: hpad.KeyFinish},
		{Type: hpad.EventFault, EvtSeq: 3, Visit: 3, Value: 0x81},
	}
	if got := m.poll(t, 1); !reflect.DeepEqual(got, want) {
		t.Fatalf("POLL %+v, want %+v", got, want)
	}
	p.Key(hpad.KeyRecall) // the counter survived too: evtSeq does not repeat
	if got := p.Events(); len(got) != 3 || got[2].EvtSeq != 4 || got[2].Visit != 0 {
		t.Fatalf("after power cycle: %+v", got)
	}
}

func TestEventSlots(t *testing.T) {
	b := NewBus()
	p := b.AddPad(1, info)
	m := start(t, b)
	for i := range Slots + 8 {
		p.Key(byte(i))
	}
	if len(p.Events()) != Slots || p.Dropped() != 8 {
		t.Fatalf("%d events, %d dropped", len(p.Events()), p.Dropped())
	}
	got := m.poll(t, 1)
	if len(got) != hpad.MaxEvents || got[0].EvtSeq != 9 || got[15].EvtSeq != 24 {
		t.Fatalf("POLL: %d events, %+v … %+v", len(got), got[0], got[len(got)-1])
	}
	m.ok(t, 1, hpad.AckEvt{EvtSeq: 24})
	got = m.poll(t, 1)
	if len(got) != hpad.MaxEvents || got[0].EvtSeq != 25 {
		t.Fatalf("POLL after ACK: %+v", got)
	}
}

func TestAckWrapAround(t *testing.T) {
	b := NewBus()
	p := b.AddPad(1, info)
	p.nextSeq = 0xFFFE
	m := start(t, b)
	for range 4 {
		p.Key(hpad.KeyCallNext) // evtSeq FFFE, FFFF, 0000, 0001
	}
	m.ok(t, 1, hpad.AckEvt{EvtSeq: 0})
	if got := p.Events(); len(got) != 1 || got[0].EvtSeq != 1 {
		t.Fatalf("after ACK 0: %+v", got)
	}
	m.ok(t, 1, hpad.AckEvt{EvtSeq: 0xFFFF}) // an old ACK, a retry's late twin: drops nothing
	if got := p.Events(); len(got) != 1 {
		t.Fatalf("after ACK FFFF: %+v", got)
	}
}

func TestSixteenPads(t *testing.T) {
	b := NewBus()
	pads := map[byte]*Pad{}
	for a := byte(1); a <= 16; a++ {
		i := info
		i.Serial = "SN-" + string(rune('A'+a))
		pads[a] = b.AddPad(a, i)
	}
	m := start(t, b)
	for a := byte(1); a <= 16; a++ {
		m.ok(t, a, hpad.SetTicket{TicketNo: "A", Visit: uint32(a) * 1000})
		m.ok(t, a, hpad.SetState{State: hpad.StateRate})
	}
	if err := pads[7].Press(5, 0); err != nil {
		t.Fatal(err)
	}
	for a := byte(1); a <= 16; a++ {
		r := m.call(t, a, hpad.CmdHello, nil)
		var h hpad.HelloReply
		if r.Addr != a || h.UnmarshalBinary(r.Payload) != nil || h.Serial != "SN-"+string(rune('A'+a)) {
			t.Fatalf("pad %d: %v %+v", a, r, h)
		}
		ev := m.poll(t, a)
		if a == 7 && (len(ev) != 1 || ev[0].Visit != 7000) || a != 7 && len(ev) != 0 {
			t.Fatalf("pad %d events %+v", a, ev)
		}
	}
	m.write(t, hpad.Encode(hpad.Frame{Addr: 17, Seq: 1, Cmd: hpad.CmdHello}))
	m.silent(t, 50*time.Millisecond)
}

func TestBroadcast(t *testing.T) {
	b := NewBus()
	var pads []*Pad
	for a := byte(1); a <= 3; a++ {
		pads = append(pads, b.AddPad(a, info))
	}
	pads[2].SetMute(true)
	m := start(t, b)
	f, _ := hpad.NewFrame(hpad.AddrBroadcast, 1, hpad.SetTime{Unix: 1795570201, TzMin: 480})
	m.write(t, hpad.Encode(f))
	f, _ = hpad.NewFrame(hpad.AddrBroadcast, 2, hpad.SetState{State: hpad.StateOff})
	m.write(t, hpad.Encode(f))
	m.silent(t, timeout)
	for _, p := range pads[:2] {
		c, ok := p.Clock()
		if _, off := c.Zone(); !ok || off != 8*3600 || c.Unix() < 1795570201 || c.Unix() > 1795570203 || p.State() != hpad.StateOff {
			t.Fatalf("pad %d: clock %v %v, state %s", p.Addr(), c, ok, p.State())
		}
	}
	if _, ok := pads[2].Clock(); ok || pads[2].State() != hpad.StateIdle {
		t.Fatal("a muted pad executed a broadcast")
	}
	// A broadcast does not fill the SEQ cache: a unicast request with the
	// same SEQ is no retry.
	n := pads[0].Executed()
	m.write(t, hpad.Encode(hpad.Frame{Addr: 0, Seq: 3, Cmd: hpad.CmdHello}))
	if r, ok := m.exchange(t, hpad.Frame{Addr: 1, Seq: 3, Cmd: hpad.CmdHello}, timeout); !ok || r.Cmd != 0x81 {
		t.Fatalf("HELLO: %v", r)
	}
	if pads[0].Executed() != n+2 {
		t.Fatalf("executed %d, want %d", pads[0].Executed(), n+2)
	}
}

func TestPrompt(t *testing.T) {
	b := NewBus()
	p := b.AddPad(1, info)
	m := start(t, b)
	m.ok(t, 1, hpad.SetState{State: hpad.StatePaused})
	m.ok(t, 1, hpad.Prompt{VoiceID: 2, Text: "临时外出，14:30 回来"})
	if got := p.Prompts(); len(got) != 1 || got[0].Text != "临时外出，14:30 回来" || got[0].VoiceID != 2 {
		t.Fatalf("prompts %+v", got)
	}
}

// Line faults: the master's timeout, flush and retry get the reply through.
func TestInjectedFaults(t *testing.T) {
	b := NewBus()
	p := b.AddPad(2, info) // 02 as ADDR: a cut-off reply holds a false STX
	m := start(t, b)
	p.Key(hpad.KeyPause)
	want := p.Events()
	for _, tc := range []struct {
		name   string
		inject func()
		seen   hpad.Stats // what the master's decoder made of the first reply
	}{
		// The bad frame's ADDR 02 then claims 256 bytes, until the Flush.
		{"corrupt", func() { p.SetCorruptReplies(1) }, hpad.Stats{BadCRC: 1, JunkBytes: 19}},
		{"truncate", func() { p.SetTruncateReplies(1) }, hpad.Stats{JunkBytes: 9}},
		{"slow", func() { p.SetSlow(timeout + 50*time.Millisecond) }, hpad.Stats{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				// Start the next case clean; a slow twin may still be on its way.
				time.Sleep(100 * time.Millisecond)
				for len(m.chunks) > 0 {
					<-m.chunks
				}
				m.got, m.dec = nil, hpad.Decoder{}
			}()
			tc.inject()
			poll := hpad.Frame{Addr: 2, Seq: m.next(2), Cmd: hpad.CmdPoll}
			if r, ok := m.exchange(t, poll, timeout); ok {
				t.Fatalf("first try answered: %v", r)
			}
			s := m.dec.Stats()
			s.Truncated = 0 // depends on how many 02s the SEQ and CRC hold
			if s != tc.seen {
				t.Fatalf("master decoder %+v, want %+v", s, tc.seen)
			}
			p.SetSlow(0)
			r, ok := m.exchange(t, poll, timeout+100*time.Millisecond)
			var pr hpad.PollReply
			if !ok || pr.UnmarshalBinary(r.Payload) != nil || !reflect.DeepEqual(pr.Events, want) {
				t.Fatalf("retry: %v %v", r, ok)
			}
		})
	}
}

func TestServeEnds(t *testing.T) {
	b := NewBus()
	b.AddPad(1, info)
	in, out := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx, rw{in, io.Discard}) }()
	out.Close()
	if err := <-done; !errors.Is(err, io.EOF) {
		t.Fatalf("Serve after EOF: %v", err)
	}
	in2, out2 := io.Pipe()
	defer out2.Close()
	go func() { done <- b.Serve(ctx, rw{in2, io.Discard}) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve after cancel: %v", err)
	}
}

func TestAddPadPanics(t *testing.T) {
	b := NewBus()
	b.AddPad(1, info)
	for _, a := range []byte{0, 1, 0xF8, hpad.AddrAny} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AddPad(%02X) did not panic", a)
				}
			}()
			b.AddPad(a, info)
		}()
	}
}
