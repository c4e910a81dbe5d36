package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"halld/daemon/app"
	"halld/daemon/config"
	"halld/daemon/internal/leakcheck"
	"halld/daemon/journal"
)

// A start that fails late (a token file missing, read after the journal,
// engine, devices and their observer are up) stops what had started and
// leaks no goroutine: before the lifecycle group, the observer of device
// changes was left blocked on its channel.
func TestFailedStartLeaksNoGoroutine(t *testing.T) {
	dir := t.TempDir()
	yaml := fmt.Sprintf(hallYAML, dir) + "http: {tokens: [{name: ops, file: missing.token, scopes: [it]}]}\n"
	cfg, err := config.Parse(filepath.Join(dir, "devices.yaml"), []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	err = app.Run(context.Background(), cfg, app.Options{Log: log, Listen: "127.0.0.1:0",
		OnReady: func(*app.App) { t.Error("ready with a missing token file") }})
	if err == nil || !strings.Contains(err.Error(), "missing.token") {
		t.Fatalf("Run = %v, want the missing token file", err)
	}
	leakcheck.Settle(t, before, 5*time.Second)
	// The journal was closed: it opens again (an open one is locked).
	opened := make(chan error, 1)
	go func() {
		j, err := journal.Open(filepath.Join(dir, "journal.db"), journal.Options{})
		if err == nil {
			err = j.Close()
		}
		opened <- err
	}()
	select {
	case err := <-opened:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the journal is still open after a failed start")
	}
}

// The shutdown order is the reverse of construction: requests drain first,
// then the devices stop, their last reports are recorded and sent up, and
// the journal closes last of all but the listener.
func TestShutdownOrder(t *testing.T) {
	url := startMosquitto(t)
	dir := t.TempDir()
	yaml := strings.Replace(fmt.Sprintf(hallYAML, filepath.Join(dir, "data")), "storage:", "mqtt:\n  uplink: {url: \""+url+"\", node: edge-1}\nstorage:", 1)
	var logs syncBuffer
	h := startHallYAML(t, dir, yaml, &logs)
	waitState(t, h, "printer-1", "ready", 5*time.Second)
	h.stop()
	var order []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if i := strings.Index(line, "msg=stopped part="); i >= 0 {
			part := line[i+len("msg=stopped part="):]
			if strings.HasPrefix(part, `"`) {
				part = part[1 : strings.Index(part[1:], `"`)+1]
			} else if sp := strings.IndexByte(part, ' '); sp >= 0 {
				part = part[:sp]
			}
			order = append(order, part)
		}
	}
	want := []string{"web", "hall broker", "devices", "statistics", "device observer", "uplink", "simulators", "hex trace", "engine", "journal", "http listener"}
	pos := map[string]int{}
	for i, p := range order {
		pos[p] = i
	}
	last := -1
	for _, p := range want {
		i, ok := pos[p]
		if !ok {
			t.Fatalf("%q did not stop (stopped: %v)", p, order)
		}
		if i < last {
			t.Fatalf("%q stopped out of order: %v, want %v as a subsequence", p, order, want)
		}
		last = i
	}
	if !strings.Contains(logs.String(), "msg=\"halld stopped\"") {
		t.Fatal("no \"halld stopped\" line")
	}
}
