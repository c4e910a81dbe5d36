package pads

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"halld/daemon/config"
	"halld/daemon/hall"
	"halld/daemon/internal/testhall"
	"halld/drivers/hpad"
)

const testHall = `
hall:
  id: test-hall
  name: 测试大厅
  opening_hours:
    - {days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}
areas:
  - {id: front, name: 前台}
services:
  - {id: biz, prefix: A, name: 企业开办, area: front}
windows:
  - {id: w1, number: 1, name: 综合窗口, services: [{service: biz}]}
`

// A pause reason longer than a pad's screen holds made the screen
// un-encodable, and the pad was never polled again: now the screen is cut to
// fit, counted once per distinct screen, and logged at most once a while.
func TestLongPauseReasonIsCutCountedAndLogged(t *testing.T) {
	cfg, err := config.Parse("test.yaml", []byte(testHall))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s := New(cfg, nil, nil, slog.New(slog.NewTextHandler(&logs, nil)))
	clock := time.Date(2026, 11, 25, 10, 0, 0, 0, cfg.Location)
	s.now = func() time.Time { return clock }

	pause := func(reason string) *hall.State {
		st := hall.NewState()
		hall.Apply(st, 1, hall.TypeStaffSignedIn, clock, &hall.StaffSignedIn{Window: "w1", Staff: "s1"})
		hall.Apply(st, 2, hall.TypeWindowPaused, clock, &hall.WindowPause{Window: "w1", WindowNumber: 1, Reason: reason})
		return st
	}
	long := strings.Repeat("因系统升级暂停服务", 12) // 108 characters, 324 bytes
	d := Screen(cfg, pause(long), "w1")
	if _, err := d.Prompt.MarshalBinary(); err != nil {
		t.Fatalf("the paused screen does not encode: %v", err)
	}
	got := s.Fit("pad-1", d)
	b, cut, err := hpad.Marshal(got.Prompt)
	if err != nil || cut != nil || len(b) > 1+hpad.MaxString {
		t.Fatalf("fitted prompt: %d bytes, still cut %v, err %v", len(b), cut, err)
	}
	if !strings.HasPrefix(got.Prompt.Text, "暂停服务 · 因系统升级") || !strings.HasSuffix(got.Prompt.Text, hpad.Ellipsis) {
		t.Fatalf("prompt %q", got.Prompt.Text)
	}
	if n := s.Truncations(); n != 1 {
		t.Fatalf("%d truncations, want 1", n)
	}
	if c := strings.Count(logs.String(), "cut to fit"); c != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", c, logs.String())
	}
	// The same screen pushed after every commit is counted once.
	for range 5 {
		s.Fit("pad-1", d)
	}
	if n := s.Truncations(); n != 1 {
		t.Fatalf("the same screen counted %d times", n)
	}
	// Another long reason is counted, but not logged again so soon.
	s.Fit("pad-1", Screen(cfg, pause(long+"，请到2号窗口"), "w1"))
	if n, c := s.Truncations(), strings.Count(logs.String(), "cut to fit"); n != 2 || c != 1 {
		t.Fatalf("%d truncations, %d log lines; want 2 and 1", n, c)
	}
	clock = clock.Add(TruncationLogEvery)
	s.Fit("pad-1", d)
	if n, c := s.Truncations(), strings.Count(logs.String(), "cut to fit"); n != 3 || c != 2 {
		t.Fatalf("%d truncations, %d log lines; want 3 and 2", n, c)
	}
	if !strings.Contains(logs.String(), "more_since_last_log=1") {
		t.Fatalf("the second log line does not say how many went unlogged:\n%s", logs.String())
	}
	// A screen that fits is neither changed nor counted.
	short := Screen(cfg, pause("临时外出"), "w1")
	if got := s.Fit("pad-2", short); got != short || s.Truncations() != 3 {
		t.Fatalf("a short screen changed (%+v) or counted (%d)", got, s.Truncations())
	}
}

// A pad's fault events are one alert per pad and fault code, counted, and
// a redelivered event (same evt_seq) does not count twice.
func TestPadFaultsAreOneAlertPerCode(t *testing.T) {
	h := testhall.New(t, testHall)
	cfg, e, j, log := h.Config, h.Engine, h.Journal, h.Log
	s := New(cfg, e, j, log)
	for i := range 200 {
		ev := hpad.Event{Type: hpad.EventFault, EvtSeq: uint16(i/2 + 1), Value: byte(7 + i%4/2)} // each event twice
		if err := s.Handle("pad-1", ev); err != nil {
			t.Fatal(err)
		}
	}
	v, _ := e.Query(context.Background(), func(st *hall.State) any {
		out := map[string]int{}
		for id, a := range st.Alerts {
			out[id] = a.Count
		}
		return out
	})
	got := v.(map[string]int)
	if len(got) != 2 || got[hall.CauseAlertID("pad-1", "7")] != 50 || got[hall.CauseAlertID("pad-1", "8")] != 50 {
		t.Fatalf("alerts %v", got)
	}
}
