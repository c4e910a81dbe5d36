package supervisor_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"halld/daemon/supervisor"
	"halld/drivers/device"
	"halld/drivers/serialport"
	"halld/internal/ptytest"
)

// heard records what the observer is told, in order.
type heard struct {
	mu sync.Mutex
	rs []string
}

func (h *heard) observe(id, kind string, r device.Report) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rs = append(h.rs, id+" "+r.State+"/"+r.Reason)
}

func (h *heard) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.rs...)
}

// A cable pulled: the device is offline with link_lost at once (no restart
// of anything), and back online once it is plugged in again, within the
// backoff's bound, counted as a reconnect.
func TestUnplugGoesOfflineAndReplugReconnects(t *testing.T) {
	var h heard
	s := supervisor.New(slog.New(slog.NewTextHandler(io.Discard, nil)), nil, h.observe,
		supervisor.Backoff{Min: 50 * time.Millisecond, Max: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); s.WaitFor(2 * time.Second) }()
	vp := ptytest.Device(t, "pad-line", echo)
	s.Start(ctx, supervisor.Device{ID: "bus-1", Kind: "bus", Spec: serialport.Spec{Path: vp.Path()}, Driver: poller{}})
	waitInfo(t, s, "bus-1", func(i supervisor.Info) bool { return i.State == device.StateReady && i.Connected })

	vp.Unplug()
	start := time.Now()
	i := waitInfo(t, s, "bus-1", func(i supervisor.Info) bool { return i.State == device.StateOffline })
	if took := time.Since(start); took > time.Second {
		t.Fatalf("offline %v after the unplug, want within 1 s", took)
	}
	if i.Connected || (i.Reason != "link_lost" && i.Reason != "not_attached") {
		t.Fatalf("after the unplug: %+v", i)
	}

	if err := vp.Replug(); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	i = waitInfo(t, s, "bus-1", func(i supervisor.Info) bool { return i.State == device.StateReady && i.Connected })
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("back %v after the replug (backoff max 200ms)", took)
	}
	if i.Counters.Reconnects != 1 || i.Counters.Connects != 2 {
		t.Fatalf("counters after one unplug: %+v", i.Counters)
	}
	got := strings.Join(h.list(), ", ")
	if !strings.Contains(got, "bus-1 ready/") || !strings.Contains(got, "bus-1 offline/link_lost") ||
		strings.LastIndex(got, "bus-1 ready/") < strings.Index(got, "bus-1 offline/link_lost") {
		t.Fatalf("the observer heard %s; want ready, offline/link_lost, ready in that order", got)
	}
}

// A port that is not there (a printer not yet plugged in) is retried with a
// bounded, growing delay and reported not_attached; once it appears the
// device comes up without anyone restarting anything.
func TestMissingPortIsRetriedUntilItAppears(t *testing.T) {
	s := supervisor.New(slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil,
		supervisor.Backoff{Min: 20 * time.Millisecond, Max: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); s.WaitFor(2 * time.Second) }()
	link := filepath.Join(t.TempDir(), "later")
	s.Start(ctx, supervisor.Device{ID: "p-1", Kind: "ticket_printer", Spec: serialport.Spec{Path: link}, Driver: poller{}})
	i := waitInfo(t, s, "p-1", func(i supervisor.Info) bool { return i.Counters.OpenFails >= 4 })
	if i.State != device.StateOffline || i.Reason != "not_attached" || i.Connected {
		t.Fatalf("missing port: %+v", i)
	}
	if i.RetryDelay <= 0 || i.RetryDelay > 100*time.Millisecond {
		t.Fatalf("retry delay %v outside (0, Max]", i.RetryDelay)
	}
	ptytest.DeviceAt(t, link, echo) // the port appears
	i = waitInfo(t, s, "p-1", func(i supervisor.Info) bool { return i.Connected && i.State == device.StateReady })
	if i.Counters.Connects != 1 || i.Counters.Reconnects != 0 || i.Port == "" {
		t.Fatalf("after the port appeared: %+v", i)
	}
}

// The observer hears changes only — state, reason or detail — never the same
// report twice; sub-devices (pads on a bus, MQTT devices) are registered and
// reported the same way; Infos lists them all.
func TestObserverHearsChangesOnly(t *testing.T) {
	var h heard
	s := supervisor.New(slog.New(slog.NewTextHandler(io.Discard, nil)), nil, h.observe, supervisor.Backoff{})
	s.Register("pad-1", "eval_pad", "front", "bus-1#1", false)
	if i, ok := s.Info("pad-1"); !ok || i.State != device.StateOffline || i.Port != "bus-1#1" {
		t.Fatalf("registered: %+v %v", i, ok)
	}
	s.Report("pad-1", device.Report{State: device.StateReady})
	s.Report("pad-1", device.Report{State: device.StateReady}) // the same: not heard
	s.Report("pad-1", device.Report{State: device.StateReady, Seen: true})
	s.Report("pad-1", device.Report{State: device.StateFault, Reason: "vendor", Detail: map[string]any{"code": 3}})
	s.Report("pad-1", device.Report{State: device.StateFault, Reason: "vendor", Detail: map[string]any{"code": 3}})
	s.Report("pad-1", device.Report{State: device.StateFault, Reason: "vendor", Detail: map[string]any{"code": 4}}) // detail changed
	s.Report("no-such", device.Report{State: device.StateReady})                                                    // unknown: ignored
	want := "pad-1 ready/, pad-1 fault/vendor, pad-1 fault/vendor"
	if got := strings.Join(h.list(), ", "); got != want {
		t.Fatalf("observer heard %q, want %q", got, want)
	}
	i, _ := s.Info("pad-1")
	if i.LastSeen == nil || i.Detail["code"] != 4 {
		t.Fatalf("info %+v", i)
	}
	s.CountError("pad-1", "bad crc")
	if i, _ := s.Info("pad-1"); i.Counters.Errors != 1 || i.LastError != "bad crc" {
		t.Fatalf("counted error: %+v", i)
	}
	s.Register("term-1", "terminal", "self-24h", "mqtt", false)
	ids := map[string]bool{}
	for _, i := range s.Infos() {
		ids[i.ID] = true
	}
	if len(ids) != 2 || !ids["pad-1"] || !ids["term-1"] {
		t.Fatalf("Infos: %v", ids)
	}
}
