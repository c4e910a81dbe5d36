// Package retention prunes the journal by age (storage.retention) without
// ever losing what someone still needs: an event goes only once it is older
// than the retention, the central server has acknowledged it, and the hall
// state and the statistics are checkpointed past it.
package retention

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"halld/daemon/journal"
)

// Hold is a consumer's claim: the journal may be pruned up to Seq and no
// further (a checkpoint's seq, the uplink's acknowledged cursor).
type Hold struct {
	Name string
	Seq  uint64
}

// Limit is how far the journal may be pruned when the events up to due are
// old enough: due, lowered to the smallest hold. heldBy names that hold when
// it is what stops pruning short of due ("" otherwise).
func Limit(due uint64, holds []Hold) (upTo uint64, heldBy string) {
	upTo = due
	for _, h := range holds {
		if h.Seq < upTo {
			upTo, heldBy = h.Seq, h.Name
		}
	}
	return upTo, heldBy
}

// Result is one pruning pass.
type Result struct {
	Due    uint64 // last seq old enough to go
	UpTo   uint64 // last seq allowed to go
	HeldBy string // the hold that kept events older than the retention ("" none)
	Pruned int    // events deleted
}

// Pruner prunes a journal now and then.
type Pruner struct {
	J         *journal.Journal
	Retention time.Duration
	Holds     func() []Hold // asked at each pass
	Now       func() time.Time
	Log       *slog.Logger

	mu     sync.Mutex
	last   Result
	total  uint64
	passes uint64
}

// Once runs one pass.
func (p *Pruner) Once(ctx context.Context) (Result, error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	due, err := p.J.OlderThan(ctx, now().Add(-p.Retention))
	if err != nil {
		return Result{}, err
	}
	r := Result{Due: due}
	r.UpTo, r.HeldBy = Limit(due, p.Holds())
	if r.UpTo >= p.J.Oldest() {
		r.Pruned, err = p.J.Prune(ctx, r.UpTo)
	}
	p.mu.Lock()
	p.last = r
	p.total += uint64(r.Pruned)
	p.passes++
	p.mu.Unlock()
	return r, err
}

// Stats are the last pass and the events pruned since start.
func (p *Pruner) Stats() (last Result, pruned uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last, p.total
}

// Run prunes every interval until ctx ends, the first pass after a minute
// (start-up is busy enough).
func (p *Pruner) Run(ctx context.Context, every time.Duration) {
	wait := time.Minute
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = every
		start := time.Now()
		r, err := p.Once(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			p.Log.Error("journal pruning failed; it will be tried again", "err", err, "pruned", r.Pruned)
		case r.HeldBy != "" && r.UpTo < r.Due:
			p.Log.Warn("journal events older than the retention are kept: still needed", "held_by", r.HeldBy,
				"kept", r.Due-r.UpTo, "pruned", r.Pruned)
		case r.Pruned > 0:
			p.Log.Info("journal pruned", "events", r.Pruned, "up_to", r.UpTo, "took", time.Since(start).Round(time.Millisecond))
		}
	}
}
