package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// fakeToken is an mqtt.Token completed by the test.
type fakeToken struct {
	once sync.Once
	ch   chan struct{}
	err  error
}

func newFakeToken() *fakeToken { return &fakeToken{ch: make(chan struct{})} }

func (f *fakeToken) complete(err error) { f.once.Do(func() { f.err = err; close(f.ch) }) }
func (f *fakeToken) Wait() bool         { <-f.ch; return true }
func (f *fakeToken) WaitTimeout(d time.Duration) bool {
	select {
	case <-f.ch:
		return true
	case <-time.After(d):
		return false
	}
}
func (f *fakeToken) Done() <-chan struct{} { return f.ch }
func (f *fakeToken) Error() error          { return f.err }

var _ mqtt.Token = (*fakeToken)(nil)

// With several in flight, an ack for 10 before 9 must not move the cursor
// past 8.
func TestCursorAdvancesOverContiguousAcksOnly(t *testing.T) {
	u, err := New(openJournal(t), Options{URL: "tcp://127.0.0.1:1", ClientID: "x", Hall: "h", Node: "n"})
	if err != nil {
		t.Fatal(err)
	}
	ob := &outbox{cursor: 8}
	ob.reset(11) // 9..11 are the replay lane
	toks := map[uint64]*fakeToken{}
	for seq := uint64(9); seq <= 11; seq++ {
		toks[seq] = newFakeToken()
		ob.replay.inflight = append(ob.replay.inflight, flight{seq: seq, tok: toks[seq], sent: time.Now()})
	}
	ob.replay.last = 11
	step := func(complete uint64, want uint64) {
		t.Helper()
		toks[complete].complete(nil)
		if _, err := u.collect(ob); err != nil {
			t.Fatal(err)
		}
		if ob.cursor != want {
			t.Fatalf("after ack %d: cursor %d, want %d", complete, ob.cursor, want)
		}
		if st := u.Status(); st.Cursor != want {
			t.Fatalf("Status().Cursor %d, want %d", st.Cursor, want)
		}
	}
	step(10, 8)
	step(9, 10)
	toks[11].complete(errors.New("connection lost before Publish completed"))
	if _, err := u.collect(ob); err == nil || ob.cursor != 10 {
		t.Fatalf("failed publish: err %v, cursor %d; want an error and cursor 10", err, ob.cursor)
	}
}

// Live events overtake the backlog on the wire, but the cursor moves only
// over what is acknowledged contiguously: a live ack past a replay still in
// flight does not move it.
func TestCursorWaitsForReplayLane(t *testing.T) {
	u, err := New(openJournal(t), Options{URL: "tcp://127.0.0.1:1", ClientID: "x", Hall: "h", Node: "n"})
	if err != nil {
		t.Fatal(err)
	}
	ob := &outbox{cursor: 4}
	ob.reset(6) // replay 5..6, live 7..
	toks := map[uint64]*fakeToken{}
	for seq := uint64(5); seq <= 8; seq++ {
		toks[seq] = newFakeToken()
		l := &ob.replay
		if seq > 6 {
			l = &ob.live
		}
		l.inflight = append(l.inflight, flight{seq: seq, tok: toks[seq], sent: time.Now()})
		l.last = seq
	}
	for _, step := range []struct{ ack, want uint64 }{{7, 4}, {8, 4}, {5, 5}, {6, 8}} {
		toks[step.ack].complete(nil)
		if _, err := u.collect(ob); err != nil {
			t.Fatal(err)
		}
		if ob.cursor != step.want {
			t.Fatalf("after ack %d: cursor %d, want %d", step.ack, ob.cursor, step.want)
		}
	}
	if got := string(replayBody([]byte(`{"id":"a","seq":5}`))); got != `{"replay":true,"id":"a","seq":5}` {
		t.Fatalf("replay body %s", got)
	}
}

// Full jitter with a connection budget: never more than
// MaxConnectsPerMinute connections in a window.
func TestConnectBudget(t *testing.T) {
	u, err := New(openJournal(t), Options{URL: "tcp://127.0.0.1:1", ClientID: "x", Hall: "h", Node: "n", MaxConnectsPerMinute: 3})
	if err != nil {
		t.Fatal(err)
	}
	u.connectWindow = 300 * time.Millisecond
	start := time.Now()
	for range 3 {
		if !u.connectBudget(context.Background()) {
			t.Fatal("budget refused")
		}
		u.noteConnect()
	}
	if el := time.Since(start); el > 100*time.Millisecond {
		t.Fatalf("3 connects within the budget of 3 waited %v", el)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if u.connectBudget(ctx) {
		t.Fatal("a 4th connect within the window was allowed")
	}
}

func TestBucket(t *testing.T) {
	b := newBucket(100, 10)
	now := time.Now()
	for i := range 10 {
		if w := b.take(now); w != 0 {
			t.Fatalf("burst token %d: wait %v", i, w)
		}
	}
	if w := b.take(now); w < 5*time.Millisecond || w > 15*time.Millisecond {
		t.Fatalf("empty bucket: wait %v, want ~10ms", w)
	}
	if w := b.take(now.Add(10 * time.Millisecond)); w != 0 {
		t.Fatalf("after 10ms: wait %v", w)
	}
	if w := newBucket(-1, 10).take(now); w != 0 {
		t.Fatalf("unlimited: wait %v", w)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	j := openJournal(t)
	for _, o := range []Options{
		{URL: "tcp://h:1883", ClientID: "", Hall: "h", Node: "n"},
		{URL: "tcp://h:1883", ClientID: "c", Hall: "H/#", Node: "n"},
		{URL: "ws://h:80", ClientID: "c", Hall: "h", Node: "n"},
		{URL: "tcp://h:1883", ClientID: "c", Hall: "h", Node: "n", CAFile: "/nonexistent"},
		{URL: "ssl://h:8883", ClientID: "c", Hall: "h", Node: "n", CAFile: "/nonexistent"},
		{URL: "ssl://h:8883", ClientID: "c", Hall: "h", Node: "n", CertFile: "/x"},
		{URL: "tcp://h:1883", ClientID: "c", Hall: "h", Node: "n", Password: "p"},
	} {
		if _, err := New(j, o); err == nil {
			t.Errorf("New(%+v) = nil error", o)
		}
	}
}

// 2,000 events written while the uplink runs arrive complete and in order.
func TestDeliversInOrder(t *testing.T) {
	b := startBroker(t, "")
	s := newSub(t, b.url(), "central-inorder")
	j := openJournal(t)
	r := startUplink(t, j, testOptions(t, b.url(), "halld-inorder"))

	const n = 2000
	start := time.Now()
	for written := 0; written < n; {
		k := min(1+written%20, n-written) // batches of 1..20, as the engine's group commits
		if err := appendBatch(j, k); err != nil {
			t.Fatal(err)
		}
		written += k
	}
	s.waitEvents(n, 30*time.Second)
	t.Logf("%d events delivered in %v (%d messages, %d duplicates)", n, time.Since(start).Round(time.Millisecond), s.total, s.dups)
	s.check(n)
	waitUntil(t, 10*time.Second, "cursor at head", func() bool { st := r.Status(); return st.Cursor == n && st.Lag == 0 })
	if st := r.Status(); !st.Connected || st.Head != n || st.OldestUnsent != 0 {
		t.Errorf("status %+v", st)
	}

	// Rewind: the last 500 again, as duplicates. Counted from what had
	// arrived before it: a loaded machine redelivers some of the first 2,000
	// too (QoS 1), and a count from n would pass before the rewind applied.
	var before int
	s.wait(time.Second, "a count before Rewind", func(s *sub) bool { before = s.total; return true })
	r.Rewind(n - 500)
	s.wait(15*time.Second, "500 events again after Rewind", func(s *sub) bool { return s.total >= before+500 })
	waitUntil(t, 10*time.Second, "cursor back at head", func() bool { return r.Status().Cursor == n })
	r.stop(t)
	if v, _, _ := j.Meta(CursorKey); v != "2000" {
		t.Errorf("persisted cursor %q, want 2000", v)
	}
	s.wait(10*time.Second, "$state disconnected", func(s *sub) bool {
		return len(s.states) > 0 && s.states[len(s.states)-1] == "disconnected"
	})
	if s.info == nil || !strings.Contains(string(s.info), `"fw":"test"`) {
		t.Errorf("$info %q", s.info)
	}
}

// The broker goes away while events keep being written, comes back with
// its persistence: everything arrives, in order.
func TestBrokerOutage(t *testing.T) {
	b := startBroker(t, "")
	s := newSub(t, b.url(), "central-outage")
	j := openJournal(t)
	r := startUplink(t, j, testOptions(t, b.url(), "halld-outage"))

	const n = 4000
	writerDone := make(chan error, 1)
	go func() {
		var err error
		for j.Head() < n && err == nil {
			err = appendBatch(j, int(min(10, n-j.Head())))
			time.Sleep(2 * time.Millisecond) // a steady stream, ~3,000/s at most
		}
		writerDone <- err
	}()
	s.waitEvents(500, 30*time.Second)
	h0 := j.Head()
	b.stop()
	stoppedAt := time.Now()
	waitUntil(t, 10*time.Second, "uplink notices the outage", func() bool { return !r.Status().Connected })
	waitUntil(t, 30*time.Second, "1,500 more events written during the outage", func() bool { return j.Head() >= min(n, h0+1500) })
	st := r.Status()
	t.Logf("outage: broker stopped at head %d; now head %d, cursor %d, lag %d, oldest unsent %v, last error %q",
		h0, st.Head, st.Cursor, st.Lag, st.OldestUnsent.Round(time.Millisecond), st.LastError)
	if st.Lag == 0 || st.OldestUnsent <= 0 {
		t.Errorf("during the outage: lag %d, oldest unsent %v; want both > 0", st.Lag, st.OldestUnsent)
	}
	b.start()
	restartedAt := time.Now()
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	s.waitEvents(n, 45*time.Second)
	t.Logf("outage of %v; all %d events in %v after the restart (%d messages, %d duplicates, %d connects)",
		restartedAt.Sub(stoppedAt).Round(time.Millisecond), n, time.Since(restartedAt).Round(time.Millisecond), s.total, s.dups, r.Status().Connects)
	s.check(n)
}

// Malformed commands and unknown ones get an error result; the uplink stays
// connected and keeps delivering. Also $info and device status.
func TestCommands(t *testing.T) {
	b := startBroker(t, "")
	s := newSub(t, b.url(), "central-cmd")
	j := openJournal(t)
	u, err := New(j, testOptions(t, b.url(), "halld-cmd"))
	if err != nil {
		t.Fatal(err)
	}
	u.cmdTimeout = 500 * time.Millisecond
	u.OnCommand(func(dev, name string, args []byte) (any, error) {
		switch {
		case dev == "" && name == "ping":
			var a map[string]any
			if err := json.Unmarshal(args, &a); err != nil {
				return nil, err
			}
			return map[string]any{"pong": a["x"]}, nil
		case dev == "printer-1" && name == "panic":
			panic("handler bug")
		case dev == "printer-1" && name == "hang":
			select {}
		case dev == "printer-1" && name == "fail":
			return nil, errors.New("paper out")
		}
		return nil, ErrUnknownCommand
	})
	u.PublishDeviceStatus("printer-1", map[string]any{"state": "ready", "paper": "ok"}) // before Run: sent on connect
	r := runUplink(t, u)
	r.waitConnected(t, 15*time.Second)
	s.wait(10*time.Second, "device status", func(s *sub) bool { return strings.Contains(string(s.status["printer-1"]), `"paper":"ok"`) })

	pub := func(topic, payload string) {
		t.Helper()
		if tok := s.c.Publish(testRoot+"/"+topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	cases := []struct {
		topic, payload string
		ok             bool
		id, errHas     string
	}{
		{"dev/printer-1/cmd/reboot", `{not json`, false, "", "malformed"},
		{"dev/printer-1/cmd/reboot", ``, false, "", "malformed"},
		{"dev/printer-1/cmd/reboot", `null`, false, "", "malformed"},
		{"dev/printer-1/cmd/reboot", `[1,2]`, false, "", "malformed"},
		{"dev/printer-1/cmd/reboot", `{"id":"c0"} trailing`, false, "c0", "malformed"},
		{"dev/printer-1/cmd/reboot", `{"args":{}}`, false, "", "no id"},
		{"dev/printer-1/cmd/nosuch", `{"id":"c1","args":{}}`, false, "c1", "unknown command"},
		{"dev/printer-1/cmd/panic", `{"id":"c2"}`, false, "c2", "handler bug"},
		{"dev/printer-1/cmd/fail", `{"id":"c3"}`, false, "c3", "paper out"},
		{"dev/printer-1/cmd/hang", `{"id":"c4"}`, false, "c4", "timed out"},
		{"dev/printer-1/cmd/fail", `{"id":"c5","deadline":"2001-01-01T00:00:00Z"}`, false, "c5", "deadline"},
		{"cmd/ping", `{"id":"c6","args":{"x":7}}`, true, "c6", ""},
		{"cmd/ping", `{"id":"c7","args":"x"}`, false, "c7", "cannot unmarshal"},
	}
	for _, c := range cases {
		pub(c.topic, c.payload)
	}
	want := map[string]int{}
	for _, c := range cases {
		want[c.topic]++
	}
	s.wait(20*time.Second, "all command results", func(s *sub) bool {
		for topic, n := range want {
			if len(s.results[topic]) < n {
				return false
			}
		}
		return true
	})
	s.mu.Lock()
	got := map[string][][]byte{}
	for k, v := range s.results {
		got[k] = v
	}
	s.mu.Unlock()
	for _, c := range cases {
		var res struct {
			ID     string          `json:"id"`
			OK     bool            `json:"ok"`
			Error  *string         `json:"error"`
			Result json.RawMessage `json:"result"`
		}
		raw := got[c.topic][0]
		got[c.topic] = got[c.topic][1:]
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Errorf("%s %q: result %q: %v", c.topic, c.payload, raw, err)
			continue
		}
		if res.ID != c.id || res.OK != c.ok || (c.ok != (res.Error == nil)) ||
			(res.Error != nil && !strings.Contains(*res.Error, c.errHas)) {
			t.Errorf("%s %q: result %s; want id %q ok %v error containing %q", c.topic, c.payload, raw, c.id, c.ok, c.errHas)
		}
		if c.ok && string(res.Result) != `{"pong":7}` {
			t.Errorf("ping result %s", res.Result)
		}
	}

	// Still the first connection, still delivering.
	appendN(t, j, 100, 10)
	s.waitEvents(100, 15*time.Second)
	s.check(100)
	if st := r.Status(); !st.Connected || st.Connects != 1 {
		t.Errorf("after the commands: connected %v, %d connects; want connected, 1", st.Connected, st.Connects)
	}
	u.PublishDeviceStatus("printer-1", json.RawMessage(`{"state":"fault","paper":"end"}`))
	s.wait(10*time.Second, "device status update", func(s *sub) bool { return strings.Contains(string(s.status["printer-1"]), `"paper":"end"`) })
	if got := retained(t, b.url(), testRoot+"/dev/printer-1/status"); !strings.Contains(got, `"paper":"end"`) {
		t.Errorf("retained status %q", got)
	}

	// A command sent while halld is away waits in its persistent session
	// and is answered once it is back.
	r.stop(t)
	pub("cmd/ping", `{"id":"c8","args":{"x":8}}`)
	runUplink(t, u)
	s.wait(15*time.Second, "the result of a command sent while away", func(s *sub) bool {
		for _, raw := range s.results["cmd/ping"] {
			if strings.Contains(string(raw), `"c8"`) && strings.Contains(string(raw), `"pong":8`) {
				return true
			}
		}
		return false
	})
}

// The catch-up rate is bounded by MaxRate.
func TestRateLimit(t *testing.T) {
	b := startBroker(t, "")
	s := newSub(t, b.url(), "central-rate")
	j := openJournal(t)
	appendN(t, j, 1500, 500)
	o := testOptions(t, b.url(), "halld-rate")
	o.MaxRate = 1000
	start := time.Now()
	startUplink(t, j, o)
	s.waitEvents(1500, 30*time.Second)
	el := time.Since(start)
	t.Logf("1,500 events at MaxRate 1000/s (burst 100): %v", el.Round(time.Millisecond))
	if el < 1300*time.Millisecond {
		t.Errorf("1,500 events in %v: faster than MaxRate 1000/s allows (≥ 1.4 s)", el)
	}
	s.check(1500)
}

// With LiveFirst, events appended while a backlog is replayed at MaxRate go
// out at once, ahead of it, and only the replayed ones say "replay": true.
func TestLiveFirstDuringCatchUp(t *testing.T) {
	b := startBroker(t, "")
	s := newSub(t, b.url(), "central-livefirst")
	j := openJournal(t)
	appendN(t, j, 2000, 500)
	o := testOptions(t, b.url(), "halld-livefirst")
	o.MaxRate, o.LiveFirst = 1000, true // the backlog takes ~2 s
	startUplink(t, j, o)
	s.wait(10*time.Second, "the first replayed event", func(s *sub) bool { return s.replays > 0 })
	appendN(t, j, 10, 1)
	s.wait(10*time.Second, "the live events", func(s *sub) bool { return s.lastLive >= 2010 })
	s.mu.Lock()
	replayed := s.replays
	s.mu.Unlock()
	if replayed >= 2000 {
		t.Errorf("the live events came after the whole backlog (%d replayed first)", replayed)
	}
	t.Logf("10 live events arrived with %d of 2,000 backlog events replayed", replayed)
	s.waitEvents(2010, 30*time.Second)
	s.check(2010)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replays != 2000 {
		t.Errorf("%d first copies marked replay, want the 2,000 of the backlog", s.replays)
	}
}

// With an empty journal when the connection opens (a new hall's first
// start) there is no backlog: every event is live, sent once and unmarked,
// with LiveFirst or without. The replay lane once took its end, 0, for "no
// end" and sent everything too, so the centre got each event twice.
func TestFirstStartSendsEachEventOnce(t *testing.T) {
	b := startBroker(t, "")
	for _, liveFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("live_first=%v", liveFirst), func(t *testing.T) {
			id := fmt.Sprintf("empty-%v", liveFirst)
			s := newSub(t, b.url(), "central-"+id)
			j := openJournal(t)
			o := testOptions(t, b.url(), "halld-"+id)
			o.LiveFirst = liveFirst
			r := startUplink(t, j, o)
			r.waitConnected(t, 10*time.Second)
			time.Sleep(200 * time.Millisecond) // the pump reads the head (0) as it starts
			appendN(t, j, 300, 10)
			s.waitEvents(300, 30*time.Second)
			waitUntil(t, 10*time.Second, "the cursor at 300", func() bool { return r.Status().Cursor == 300 })
			time.Sleep(300 * time.Millisecond) // a second copy would be right behind
			s.check(300)
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.dups != 0 || s.replays != 0 || s.total != 300 {
				t.Errorf("300 events from an empty journal: %d messages, %d duplicates, %d marked replay; want 300, 0, 0", s.total, s.dups, s.replays)
			}
		})
	}
}
