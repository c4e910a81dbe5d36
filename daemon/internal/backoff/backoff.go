// Package backoff is the one reconnect delay of halld: exponential from Min
// to Max with full jitter (each wait uniform in [0, d], d doubling), reset
// once a connection has lasted Stable. The supervisor's serial links and the
// central uplink both use it, so the two cannot drift apart again.
//
// Full jitter (rather than a wait near d every time) keeps many clients that
// lost their link together — pads on one USB hub, halls behind one cut fibre —
// from coming back together, and a peer that is back is found sooner on
// average; the cap is never exceeded.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy bounds the delay. Zero fields are not defaulted here: each user
// keeps its own defaults.
type Policy struct {
	Min, Max time.Duration
	// Stable is how long a connection must last before the delay resets
	// to Min (zero: it never resets by itself; call Reset).
	Stable time.Duration
}

// Backoff is the state of one retry loop; not safe for concurrent use.
type Backoff struct {
	p   Policy
	cur time.Duration
}

// New starts a retry loop at p.Min. Max below Min is raised to Min.
func New(p Policy) *Backoff {
	p.Max = max(p.Max, p.Min)
	return &Backoff{p: p, cur: p.Min}
}

// Delay is the bound of the next wait (what a log line calls "retry in").
func (b *Backoff) Delay() time.Duration { return b.cur }

// Next returns the wait before the next try, uniform in [0, Delay()], and
// doubles the bound for the try after it, up to Max.
func (b *Backoff) Next() time.Duration {
	d := time.Duration(0)
	if b.cur > 0 {
		d = rand.N(b.cur + 1)
	}
	b.cur = min(2*b.cur, b.p.Max)
	return d
}

// Reset starts again from Min.
func (b *Backoff) Reset() { b.cur = b.p.Min }

// Ended tells the loop a connection that lasted up has ended: one that
// lasted at least Stable resets the delay.
func (b *Backoff) Ended(up time.Duration) {
	if b.p.Stable > 0 && up >= b.p.Stable {
		b.Reset()
	}
}

// Wait sleeps Next(); false when ctx ended first.
func (b *Backoff) Wait(ctx context.Context) bool {
	return Sleep(ctx, b.Next())
}

// Sleep waits d or until ctx ends; false when ctx ended first.
func Sleep(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
