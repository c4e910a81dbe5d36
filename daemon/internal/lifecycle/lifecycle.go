// Package lifecycle starts a daemon's parts in order and stops them in the
// reverse order: each start registers its stop, so shutdown order is code,
// not comments, and an error half-way through start-up stops exactly what
// had started.
//
// Why not github.com/oklog/run: its actors start together and are all
// interrupted at once, while halld's parts depend on each other in a
// sequence (the HTTP listener answers /readyz while the journal replays; the
// devices start once the engine runs; the uplink must outlive the devices'
// last reports). A LIFO of stops says that directly.
package lifecycle

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// DefaultStopTimeout is how long one stop may take before the group logs it
// as overrunning and moves on to the next.
const DefaultStopTimeout = 15 * time.Second

// slowStop is when a stop that did finish is still worth a log line.
const slowStop = time.Second

type part struct {
	name string
	stop func(ctx context.Context) error
}

// Group is a LIFO of started parts. The zero value is not usable: use New.
type Group struct {
	log         *slog.Logger
	stopTimeout time.Duration

	mu     sync.Mutex
	parts  []part
	failed chan struct{} // closed by the first failing Go part
	fail   error
	once   sync.Once
}

// New returns an empty group; stopTimeout <= 0 means DefaultStopTimeout.
func New(log *slog.Logger, stopTimeout time.Duration) *Group {
	if log == nil {
		log = slog.Default()
	}
	if stopTimeout <= 0 {
		stopTimeout = DefaultStopTimeout
	}
	return &Group{log: log, stopTimeout: stopTimeout, failed: make(chan struct{})}
}

// Add runs start now and, if it succeeds, registers stop (nil: nothing to
// stop). A failing start registers nothing and its error is returned as it
// is: the caller returns, and Stop (or Run) stops
// what had started before it. start may be nil (a part that only needs
// stopping, such as something built without a goroutine).
func (g *Group) Add(name string, start func(ctx context.Context) error, stop func(ctx context.Context) error) error {
	if start != nil {
		if err := start(context.Background()); err != nil {
			return err
		}
	}
	g.push(name, stop)
	return nil
}

// Go runs run on its own goroutine until the group stops it: its stop
// cancels run's context and waits for run to return. A run that returns a
// non-nil error before it was asked to stop makes Run return that error
// (and stop everything), as a failed HTTP listener should.
func (g *Group) Go(name string, run func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := run(ctx); err != nil && ctx.Err() == nil {
			g.failWith(&RunError{Name: name, Err: err})
		}
	}()
	g.push(name, func(sctx context.Context) error {
		cancel()
		return Done(sctx, done)
	})
}

// Every is a part that calls f every interval (first after one interval)
// until the group stops it.
func (g *Group) Every(name string, interval time.Duration, f func(ctx context.Context)) {
	g.Go(name, func(ctx context.Context) error { Every(ctx, interval, f); return nil })
}

// Every calls f every interval (first after one interval) until ctx ends;
// a call in progress finishes first.
func Every(ctx context.Context, interval time.Duration, f func(ctx context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f(ctx)
		}
	}
}

// Done waits for done to close, or for ctx to end (its error): what a
// stop that waits for a goroutine returns.
func Done(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *Group) push(name string, stop func(ctx context.Context) error) {
	if stop == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.parts = append(g.parts, part{name, stop})
}

func (g *Group) failWith(err error) {
	g.once.Do(func() {
		g.mu.Lock()
		g.fail = err
		g.mu.Unlock()
		close(g.failed)
	})
}

// Failed is closed once a Go part has failed (Err says how).
func (g *Group) Failed() <-chan struct{} { return g.failed }

// Err is the first Go part's failure, or nil.
func (g *Group) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.fail
}

// Wait blocks until ctx ends or a Go part fails, and returns that failure
// (nil when ctx ended). It does not stop anything: call Stop next.
func (g *Group) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case <-g.failed:
		return g.Err()
	}
}

// Stop stops every registered part, last started first, each with its own
// deadline; a stop that overruns it is logged by name and left behind so
// the rest still stop. It is idempotent: a second call does nothing.
// The errors of the stops are joined.
func (g *Group) Stop() error {
	g.mu.Lock()
	parts := g.parts
	g.parts = nil
	g.mu.Unlock()
	var errs []error
	for i := len(parts) - 1; i >= 0; i-- {
		p := parts[i]
		ctx, cancel := context.WithTimeout(context.Background(), g.stopTimeout)
		began := time.Now()
		done := make(chan error, 1)
		go func() { done <- p.stop(ctx) }()
		var err error
		select {
		case err = <-done:
		case <-ctx.Done():
			err = ctx.Err()
			// Give a stop that honours its context a moment to say so.
			select {
			case e := <-done:
				if e != nil {
					err = e
				}
			case <-time.After(10 * time.Millisecond):
			}
		}
		cancel()
		took := time.Since(began)
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			g.log.Error("stop overran its deadline; going on without it", "part", p.name, "deadline", g.stopTimeout)
			errs = append(errs, &StopError{Name: p.name, Err: err})
		case err != nil:
			g.log.Warn("stop failed", "part", p.name, "err", err)
			errs = append(errs, &StopError{Name: p.name, Err: err})
		case took >= slowStop:
			g.log.Warn("slow stop", "part", p.name, "took", took.Round(time.Millisecond))
		default:
			g.log.Debug("stopped", "part", p.name, "took", took.Round(time.Microsecond))
		}
	}
	return errors.Join(errs...)
}

// Run waits as Wait does, then stops everything; it returns the failure
// that ended it, if any (the stops' own errors are logged).
func (g *Group) Run(ctx context.Context) error {
	err := g.Wait(ctx)
	g.Stop()
	return err
}

// RunError is a Go part that ended by itself with an error.
type RunError struct {
	Name string
	Err  error
}

func (e *RunError) Error() string { return e.Name + ": " + e.Err.Error() }
func (e *RunError) Unwrap() error { return e.Err }

// StopError is a part whose stop failed or overran its deadline.
type StopError struct {
	Name string
	Err  error
}

func (e *StopError) Error() string { return "stop " + e.Name + ": " + e.Err.Error() }
func (e *StopError) Unwrap() error { return e.Err }
