package watcher_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"halld/drivers/terminal/watcher"
	"halld/internal/testmqtt"
)

// A Start given up on (its ctx ended while the broker had not answered)
// leaves nothing behind: when the CONNACK comes after all, the client that
// was connecting lets the connection go instead of subscribing and staying
// connected, owned by nobody, until halld exits.
func TestStartGivenUpLeavesNoClient(t *testing.T) {
	b := testmqtt.StartLate(t)
	w, err := watcher.New(watcher.Options{URL: b.URL, Hall: hall, Terminals: []string{"t1"}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := w.Start(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start with a broker that does not answer = %v, want the deadline", err)
	}
	if err := b.Answer(); err != nil {
		t.Fatal(err)
	}
}
