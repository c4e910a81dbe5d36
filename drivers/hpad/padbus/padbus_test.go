package padbus_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"halld/drivers/device"
	"halld/drivers/hpad"
	"halld/drivers/hpad/hpadsim"
	"halld/drivers/hpad/padbus"
	"halld/drivers/serialport"
	"halld/drivers/vport"
	"halld/internal/ptytest"
)

type rig struct {
	sim    *hpadsim.Bus
	vp     *vport.Port
	bus    *padbus.Bus
	mu     sync.Mutex
	events map[string][]hpad.Event
	states map[string]string
	fail   bool // the handler says "not durable"
	cancel context.CancelFunc
	done   chan error
}

func newRig(t *testing.T, n int) *rig {
	t.Helper()
	return newRigOpts(t, n, padbus.Options{Timeout: 60 * time.Millisecond})
}

func newRigOpts(t *testing.T, n int, opts padbus.Options) *rig {
	t.Helper()
	r := &rig{sim: hpadsim.NewBus(), events: map[string][]hpad.Event{}, states: map[string]string{}}
	var pads []padbus.Pad
	for i := 1; i <= n; i++ {
		p := r.sim.AddPad(byte(i), hpadsim.PadInfo{Model: "HP-1", FW: "1.0", Serial: fmt.Sprintf("SN%03d", i)})
		p.SetThanksDelay(50 * time.Millisecond)
		pads = append(pads, padbus.Pad{ID: fmt.Sprintf("pad-%d", i), Addr: byte(i)})
	}
	vp := ptytest.Device(t, "line", r.sim.Serve)
	r.vp = vp
	r.bus = padbus.New("line-1", pads, func(id string, ev hpad.Event) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail {
			return errors.New("journal down")
		}
		r.events[id] = append(r.events[id], ev)
		return nil
	}, func(id string, rep device.Report) {
		r.mu.Lock()
		r.states[id] = rep.State
		r.mu.Unlock()
	}, opts)
	return r
}

func (r *rig) start(t *testing.T) {
	t.Helper()
	port, err := serialport.Open(context.Background(), "line-1", serialport.Spec{Path: r.vp.Path(), Baud: 115200}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- r.bus.Run(ctx, port, func(device.Report) {}); port.Close() }()
	t.Cleanup(func() { cancel(); <-r.done })
}

func eventually(t *testing.T, what string, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("not within %v: %s", within, what)
}

func TestSixteenPadsEventsAndScreens(t *testing.T) {
	r := newRig(t, 16)
	r.start(t)
	eventually(t, "all pads ready", 5*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		n := 0
		for _, s := range r.states {
			if s == device.StateReady {
				n++
			}
		}
		return n == 16
	})
	// Screens: staff and ticket, then RATE on pad 7.
	r.bus.SetDisplay("pad-7", padbus.Display{
		Staff:  hpad.SetStaff{StaffID: "S001", Name: "张敏", Title: "综合受理员", Window: "1号窗口"},
		Ticket: hpad.SetTicket{TicketNo: "A001", Business: "企业开办", Visit: 42},
		State:  hpad.SetState{State: hpad.StateRate, TimeoutS: 30},
	})
	p7 := r.sim.Pad(7)
	eventually(t, "pad 7 in RATE with the ticket", 3*time.Second, func() bool {
		tk, ok := p7.Ticket()
		return p7.State() == hpad.StateRate && ok && tk.Visit == 42 && p7.Staff().Name == "张敏"
	})
	if err := p7.Press(hpad.RatingVerySatisfied, 0); err != nil {
		t.Fatal(err)
	}
	r.sim.Pad(3).Key(hpad.KeyCallNext)
	eventually(t, "rating and key delivered and acknowledged", 3*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.events["pad-7"]) == 1 && len(r.events["pad-3"]) == 1 && len(p7.Events()) == 0 && len(r.sim.Pad(3).Events()) == 0
	})
	ev := r.events["pad-7"][0]
	if ev.Type != hpad.EventRating || ev.Visit != 42 || ev.Value != hpad.RatingVerySatisfied {
		t.Fatalf("rating event %+v", ev)
	}
	st := r.bus.Stats()
	t.Logf("16 pads: poll cycle %v, %d polls, %d retries", st.LastCycle, st.Polls, st.Retries)
}

func TestNoAckUntilDurable(t *testing.T) {
	r := newRig(t, 2)
	r.mu.Lock()
	r.fail = true
	r.mu.Unlock()
	r.start(t)
	p := r.sim.Pad(1)
	p.Key(hpad.KeyFinish)
	time.Sleep(300 * time.Millisecond) // several polls
	if len(p.Events()) != 1 {
		t.Fatalf("event dropped from the pad although the hall could not store it: %d left", len(p.Events()))
	}
	r.mu.Lock()
	r.fail = false
	r.mu.Unlock()
	eventually(t, "delivered once the hall recovers", 3*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(p.Events()) == 0 && len(r.events["pad-1"]) == 1
	})
}

func TestLostPadReturnsAndGetsItsScreenBack(t *testing.T) {
	r := newRig(t, 3)
	r.start(t)
	d := padbus.Display{Staff: hpad.SetStaff{StaffID: "S002", Name: "李强"}, State: hpad.SetState{State: hpad.StatePaused}}
	r.bus.SetDisplay("pad-2", d)
	p := r.sim.Pad(2)
	eventually(t, "pad 2 paused", 3*time.Second, func() bool { return p.State() == hpad.StatePaused })
	p.SetMute(true)
	eventually(t, "pad 2 lost", 3*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.states["pad-2"] == device.StateOffline
	})
	// The others keep being served while pad 2 is lost.
	r.sim.Pad(3).Key(hpad.KeyRecall)
	eventually(t, "pad 3 served meanwhile", 3*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.events["pad-3"]) == 1
	})
	p.PowerCycle() // it lost power too: back to IDLE, screen forgotten
	p.SetMute(false)
	eventually(t, "pad 2 back, its screen restored", 5*time.Second, func() bool {
		r.mu.Lock()
		ready := r.states["pad-2"] == device.StateReady
		r.mu.Unlock()
		return ready && p.State() == hpad.StatePaused && p.Staff().Name == "李强"
	})
}

func TestGarbageOnTheLine(t *testing.T) {
	r := newRig(t, 2)
	r.start(t)
	p := r.sim.Pad(1)
	p.SetCorruptReplies(3)
	p.SetTruncateReplies(2)
	p.Key(hpad.KeyPause)
	eventually(t, "event through corrupt and truncated replies", 5*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.events["pad-1"]) == 1
	})
	st := r.bus.Stats()
	if st.Decoder.BadCRC == 0 || st.Retries == 0 {
		t.Fatalf("corruption not counted: %+v", st)
	}
}

// A quiet line is polled every IdleCycle, not every MinCycle: the hall idle
// costs a fifth of the wakeups. (Only an upper bound on the polls: a slow
// machine polls less, never more.)
func TestQuietLinePollsSlower(t *testing.T) {
	r := newRigOpts(t, 2, padbus.Options{Timeout: 60 * time.Millisecond, MinCycle: 20 * time.Millisecond,
		IdleCycle: 100 * time.Millisecond, IdleAfter: 300 * time.Millisecond})
	r.start(t)
	time.Sleep(600 * time.Millisecond) // hello, time, screens, then quiet
	c0 := r.bus.Stats().Cycles
	time.Sleep(time.Second)
	if n := r.bus.Stats().Cycles - c0; n > 15 {
		t.Fatalf("%d poll cycles in 1 s on a quiet line, want ~10 (IdleCycle 100 ms)", n)
	}
}
