package watcher

import (
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type msg struct {
	topic    string
	payload  string
	retained bool
}

func (m msg) Duplicate() bool   { return false }
func (m msg) Qos() byte         { return 1 }
func (m msg) Retained() bool    { return m.retained }
func (m msg) Topic() string     { return m.topic }
func (m msg) MessageID() uint16 { return 0 }
func (m msg) Payload() []byte   { return []byte(m.payload) }
func (m msg) Ack()              {}

// TestMappingFakeClock drives the watcher with injected messages and a fake
// clock: the state mapping and heartbeat staleness, at 3 a.m.
func TestMappingFakeClock(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 26, 3, 0, 0, 0, time.FixedZone("CST", 8*3600))}
	type ch struct{ state, reason string }
	var got []ch
	w, err := New(Options{URL: "tcp://unused:1", Hall: "h", Terminals: []string{"t1"}, Clock: clk,
		OnState: func(term, state, reason string, _ map[string]any) { got = append(got, ch{state, reason}) }})
	if err != nil {
		t.Fatal(err)
	}
	w.started = clk.Now()
	last := func() ch {
		if len(got) == 0 {
			return ch{}
		}
		return got[len(got)-1]
	}
	status := func(p string, retained bool) {
		w.onMessage(nil, msg{"hall/h/t1/dev/t1/status", p, retained})
	}
	ok := `{"peripherals":{"printer":"ok","card_reader":"ok","scanner":"ok","camera":"ok"},"disk":{"free_pct":42},"uptime":1,"door":"closed"}`
	w.onMessage(nil, msg{"hall/h/t1/$state", "ready", true})
	status(ok, true) // retained: not a heartbeat
	if len(got) != 0 {
		t.Fatalf("reported before any live status: %v", got)
	}
	status(ok, false)
	if last() != (ch{Ready, ""}) {
		t.Fatalf("got %v", got)
	}
	for _, c := range []struct {
		payload, state, reason string
	}{
		{`{"peripherals":{"printer":"paper_low","card_reader":"ok"},"door":"closed"}`, Degraded, "printer paper_low"},
		{`{"peripherals":{"printer":"ok","camera":"fault"},"door":"closed"}`, Degraded, "camera fault"},
		{`{"peripherals":{"printer":"ok","scanner":"fault"},"door":"open"}`, Degraded, "scanner fault; door open"},
		{`{"peripherals":{"printer":"fault"},"door":"closed"}`, Fault, "printer fault"},
		{`{"peripherals":{"card_reader":"fault","camera":"fault"},"door":"open"}`, Fault, "card_reader fault; camera fault; door open"},
		{`{"peripherals":{"printer":"ok"},"disk":{"free_pct":5},"door":"closed"}`, Degraded, "disk 5% free"},
		{ok, Ready, ""},
	} {
		status(c.payload, false)
		if last() != (ch{c.state, c.reason}) {
			t.Fatalf("%s: got %v, want %s %q", c.payload, last(), c.state, c.reason)
		}
	}
	n := len(got)
	status(ok, false) // no change: no report
	if len(got) != n {
		t.Fatalf("reported without change: %v", got[n:])
	}
	// Staleness: 3 × 60 s.
	clk.Add(179 * time.Second)
	w.Check()
	if last().state != Ready {
		t.Fatalf("offline too early: %v", last())
	}
	clk.Add(2 * time.Second)
	w.Check()
	if last().state != Offline {
		t.Fatalf("not offline after 181 s: %v", last())
	}
	n = len(got)
	clk.Add(10 * time.Minute)
	w.Check()
	if len(got) != n {
		t.Fatalf("offline reported again: %v", got[n:])
	}
	status(ok, false)
	if last().state != Ready {
		t.Fatalf("not back: %v", last())
	}
	w.onMessage(nil, msg{"hall/h/t1/$state", "alert", false})
	if last() != (ch{Degraded, "terminal reports alert"}) {
		t.Fatalf("alert: %v", last())
	}
	w.onMessage(nil, msg{"hall/h/t1/$state", "lost", false})
	if last().state != Offline {
		t.Fatalf("lost: %v", last())
	}
	// Faults: deduped on id; other terminals ignored.
	var faults []string
	w.opts.OnFault = func(term, id, code, message string) { faults = append(faults, term+"/"+id+"/"+code) }
	ev := `{"id":"e1","ts":"2026-11-26T03:00:00.000+08:00","type":"fault","data":{"code":"E1","message":"m"}}`
	w.onMessage(nil, msg{"hall/h/t1/dev/t1/event", ev, false})
	w.onMessage(nil, msg{"hall/h/t1/dev/t1/event", ev, false})
	w.onMessage(nil, msg{"hall/h/t9/dev/t9/event", ev, false})
	if len(faults) != 1 || faults[0] != "t1/e1/E1" {
		t.Fatalf("faults %v", faults)
	}
}

// A terminal configured with its own heartbeat goes offline after three of
// its own intervals; the others keep the default.
func TestHeartbeatPerTerminal(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 26, 3, 0, 0, 0, time.FixedZone("CST", 8*3600))}
	state := map[string]string{}
	w, err := New(Options{URL: "tcp://unused:1", Hall: "h", Terminals: []string{"t1", "t2"}, Clock: clk,
		HeartbeatOf: map[string]time.Duration{"t1": 10 * time.Second},
		OnState:     func(term, st, _ string, _ map[string]any) { state[term] = st }})
	if err != nil {
		t.Fatal(err)
	}
	if w.opts.Poll > 10*time.Second/4 {
		t.Fatalf("poll %v is too slow for a 10 s heartbeat", w.opts.Poll)
	}
	w.started = clk.Now()
	ok := `{"peripherals":{"printer":"ok"},"door":"closed"}`
	for _, id := range []string{"t1", "t2"} {
		w.onMessage(nil, msg{"hall/h/" + id + "/dev/" + id + "/status", ok, false})
	}
	clk.Add(31 * time.Second)
	w.Check()
	if state["t1"] != Offline || state["t2"] != Ready {
		t.Fatalf("after 31 s: %v (t1 beats every 10 s, t2 every 60 s)", state)
	}
	clk.Add(150 * time.Second)
	w.Check()
	if state["t2"] != Offline {
		t.Fatalf("t2 after 181 s: %v", state)
	}
}
