package watcher_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"halld/daemon/broker"
	"halld/drivers/terminal/termsim"
	"halld/drivers/terminal/watcher"
	"halld/internal/syncbuf"
)

const hall = "hn-test"

type logBuf = syncbuf.Buffer

func testLogger(t *testing.T) *slog.Logger {
	lb := &logBuf{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", lb.String())
		}
	})
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type change struct {
	at                      time.Time
	terminal, state, reason string
	detail                  map[string]any
}

type fault struct{ terminal, id, code, message string }

// recorder collects the watcher's callbacks.
type recorder struct {
	mu      sync.Mutex
	changes []change
	faults  []fault
	cur     map[string]change
	wake    chan struct{}
}

func newRecorder() *recorder {
	return &recorder{cur: map[string]change{}, wake: make(chan struct{}, 1)}
}

func (r *recorder) onState(term, state, reason string, detail map[string]any) {
	r.mu.Lock()
	c := change{time.Now(), term, state, reason, detail}
	r.changes = append(r.changes, c)
	r.cur[term] = c
	r.mu.Unlock()
	r.poke()
}

func (r *recorder) onFault(term, id, code, message string) {
	r.mu.Lock()
	r.faults = append(r.faults, fault{term, id, code, message})
	r.mu.Unlock()
	r.poke()
}

func (r *recorder) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// waitFor waits until cond (called under the lock) holds.
func (r *recorder) waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		select {
		case <-r.wake:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (r *recorder) waitState(t *testing.T, term, state string, d time.Duration) change {
	t.Helper()
	var c change
	r.waitFor(t, term+" "+state, d, func() bool {
		c = r.cur[term]
		return c.state == state
	})
	return c
}

func (r *recorder) faultCount(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, f := range r.faults {
		if f.id == id {
			n++
		}
	}
	return n
}

func termID(i int) string { return fmt.Sprintf("term-%02d", i) }

func password(id string) string { return "pw-" + id }

// hallBroker starts the embedded broker with n terminal users.
func hallBroker(t *testing.T, n int) *broker.Broker {
	t.Helper()
	users := map[string]string{}
	for i := 0; i < n; i++ {
		users[termID(i)] = password(termID(i))
	}
	b, err := broker.New(broker.Options{Listen: "127.0.0.1:0", Hall: hall, Users: users, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func startWatcher(t *testing.T, url, user, pass string, ids []string, hb time.Duration, rec *recorder) *watcher.Watcher {
	t.Helper()
	w, err := watcher.New(watcher.Options{
		URL: url, Hall: hall, Username: user, Password: pass, Terminals: ids,
		Heartbeat: hb, OnState: rec.onState, OnFault: rec.onFault, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func startTerminals(t *testing.T, url string, ids []string, opts termsim.Options) []*termsim.Terminal {
	t.Helper()
	ts := make([]*termsim.Terminal, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i, id := range ids {
		ts[i] = termsim.New(url, hall, id, password(id), opts)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = ts[i].Start(ctx)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %s: %v", ids[i], err)
		}
	}
	t.Cleanup(func() {
		for _, x := range ts {
			x.Stop()
		}
	})
	return ts
}
