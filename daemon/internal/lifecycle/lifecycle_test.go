package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"halld/daemon/internal/leakcheck"
)

type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) add(s string) { r.mu.Lock(); r.got = append(r.got, s); r.mu.Unlock() }
func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.got, " ")
}

func TestFailingStartStopsWhatStartedInReverseAndLeaksNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	var r recorder
	start := func() error {
		g := New(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)), time.Second)
		defer g.Stop()
		stop := func(name string) func(context.Context) error {
			return func(context.Context) error { r.add("stop:" + name); return nil }
		}
		if err := g.Add("journal", func(context.Context) error { r.add("start:journal"); return nil }, stop("journal")); err != nil {
			return err
		}
		g.Go("engine", func(ctx context.Context) error {
			<-ctx.Done()
			r.add("stop:engine")
			return nil
		})
		if err := g.Add("devices", nil, stop("devices")); err != nil {
			return err
		}
		if err := g.Add("keys", func(context.Context) error { return errors.New("pii.key unreadable") }, stop("keys")); err != nil {
			return err
		}
		t.Fatal("start went on past a failing part")
		return nil
	}
	err := start()
	if err == nil || err.Error() != "pii.key unreadable" {
		t.Fatalf("err = %v, want the failing start's own error", err)
	}
	if got, want := r.String(), "start:journal stop:devices stop:engine stop:journal"; got != want {
		t.Fatalf("order = %q, want %q (the failed part is not stopped; the rest in reverse)", got, want)
	}
	leakcheck.Settle(t, before, 2*time.Second)
}

func TestRunStopsOnContextAndOnAFailingPart(t *testing.T) {
	before := runtime.NumGoroutine()
	// Context ends: Run returns nil after stopping everything.
	g := New(nil, time.Second)
	var r recorder
	g.Go("a", func(ctx context.Context) error { <-ctx.Done(); r.add("a"); return ctx.Err() })
	g.Add("b", nil, func(context.Context) error { r.add("b"); return nil })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Run(ctx); err != nil {
		t.Fatalf("Run = %v after the context ended, want nil", err)
	}
	if got := r.String(); got != "b a" {
		t.Fatalf("order = %q, want \"b a\"", got)
	}
	if err := g.Stop(); err != nil { // a second Stop does nothing
		t.Fatal(err)
	}
	if got := r.String(); got != "b a" {
		t.Fatalf("second Stop stopped again: %q", got)
	}

	// A part ends by itself with an error: Run returns it, named.
	g = New(nil, time.Second)
	g.Go("http", func(ctx context.Context) error { return errors.New("listener closed") })
	g.Go("engine", func(ctx context.Context) error { <-ctx.Done(); return nil })
	err := g.Run(context.Background())
	var re *RunError
	if !errors.As(err, &re) || re.Name != "http" {
		t.Fatalf("Run = %v, want the http part's RunError", err)
	}
	leakcheck.Settle(t, before, 2*time.Second)
}

func TestASlowStopIsNamedAndTheRestStillStop(t *testing.T) {
	var log bytes.Buffer
	var mu sync.Mutex
	g := New(slog.New(slog.NewTextHandler(&syncWriter{w: &log, mu: &mu}, nil)), 50*time.Millisecond)
	release := make(chan struct{})
	defer close(release)
	stoppedFirst := false
	g.Add("journal", nil, func(context.Context) error { stoppedFirst = true; return nil })
	g.Add("wedged-printer", nil, func(context.Context) error { <-release; return nil })
	began := time.Now()
	err := g.Stop()
	if took := time.Since(began); took > time.Second {
		t.Fatalf("Stop took %v with a 50ms deadline", took)
	}
	var se *StopError
	if !errors.As(err, &se) || se.Name != "wedged-printer" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want wedged-printer's deadline", err)
	}
	if !stoppedFirst {
		t.Fatal("the part before the wedged one was not stopped")
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(log.String(), "part=wedged-printer") || !strings.Contains(log.String(), "overran") {
		t.Fatalf("log does not name the slow stop:\n%s", log.String())
	}
}

type syncWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestEveryRunsUntilStoppedAndFinishesTheCallInProgress(t *testing.T) {
	before := runtime.NumGoroutine()
	g := New(nil, time.Second)
	calls := make(chan struct{}, 100)
	inCall := make(chan struct{})
	var once sync.Once
	finished := false
	g.Every("tick", time.Millisecond, func(ctx context.Context) {
		calls <- struct{}{}
		once.Do(func() {
			close(inCall)
			<-ctx.Done() // stopped while in a call: the call finishes first
			time.Sleep(20 * time.Millisecond)
			finished = true
		})
	})
	<-inCall
	g.Stop()
	if !finished {
		t.Fatal("Stop returned before the call in progress finished")
	}
	n := len(calls)
	time.Sleep(20 * time.Millisecond)
	if len(calls) != n {
		t.Fatal("called after Stop")
	}
	leakcheck.Settle(t, before, 2*time.Second)
}
