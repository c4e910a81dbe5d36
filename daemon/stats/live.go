package stats

import (
	"context"
	"sync"

	"halld/daemon/config"
	"halld/daemon/journal"
)

// Live keeps an Aggregator current by following the journal, so a report is
// a query over folded numbers, not a scan of a year of events.
type Live struct {
	j   *journal.Journal
	mu  sync.Mutex
	agg *Aggregator
}

// NewLive starts empty; Run catches up and follows.
func NewLive(j *journal.Journal, cfg *config.Config) *Live {
	return &Live{j: j, agg: New(cfg)}
}

// Run folds every event as it is appended, until ctx ends.
func (l *Live) Run(ctx context.Context) error {
	for {
		changed := l.j.Changed()
		l.mu.Lock()
		err := l.j.Scan(ctx, l.agg.Seq(), l.agg.Add)
		l.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
	}
}

// Report answers a query over what has been folded so far.
func (l *Live) Report(q Query) Report {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.agg.Report(q)
}

// Stars ranks a quarter.
func (l *Live) Stars(quarter string, inputs []ExternalInput, f Formula) Ranking {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.agg.Stars(quarter, inputs, f)
}
