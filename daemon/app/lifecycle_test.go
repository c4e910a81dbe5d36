package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"halld/daemon/app"
	"halld/daemon/config"
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
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after a failed start, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The journal was closed: it opens again.
	if _, err := os.Stat(filepath.Join(dir, "journal.db")); err != nil {
		t.Fatal(err)
	}
}
