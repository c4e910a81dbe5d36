package stats

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"halld/daemon/config"
	"halld/daemon/journal"
)

// CheckpointName is the statistics' checkpoint in the journal.
const CheckpointName = "stats"

// Live keeps an Aggregator current by following the journal, so a report is
// a query over folded numbers, not a scan of a year of events. It saves its
// fold as a journal checkpoint now and then, so a restart folds only what
// is new and the numbers survive the journal's pruning.
type Live struct {
	j   *journal.Journal
	cfg *config.Config
	log *slog.Logger
	mu  sync.Mutex
	agg *Aggregator

	// CheckpointEvery and CheckpointInterval: a checkpoint after this many
	// events or this long, whichever comes first (and at stop). Rarely: a
	// year's fold is tens of MB, the box's flash wears, and folding what
	// came after the last one takes seconds at most.
	CheckpointEvery    uint64
	CheckpointInterval time.Duration
	ckSeq              atomic.Uint64
}

// NewLive starts empty; Run restores the checkpoint, catches up and follows.
func NewLive(j *journal.Journal, cfg *config.Config) *Live {
	return &Live{j: j, cfg: cfg, log: slog.New(slog.DiscardHandler), agg: New(cfg),
		CheckpointEvery: 200000, CheckpointInterval: 6 * time.Hour}
}

// SetLogger sets where checkpoint trouble is reported.
func (l *Live) SetLogger(log *slog.Logger) { l.log = log }

// restore loads the checkpoint when it meets the journal (nothing between it
// and the oldest event held is missing).
func (l *Live) restore() {
	seq, body, ok, err := l.j.Checkpoint(CheckpointName)
	if err != nil || !ok {
		if o := l.j.Oldest(); o > 1 && o <= l.j.Head() {
			l.log.Error("journal was pruned and has no statistics checkpoint: numbers before the oldest event held are gone", "oldest", o, "err", err)
		}
		return
	}
	if seq > l.j.Head() || seq+1 < l.j.Oldest() {
		l.log.Warn("statistics checkpoint does not meet the journal; rebuilding from it", "checkpoint_seq", seq, "oldest", l.j.Oldest(), "head", l.j.Head())
		return
	}
	a := New(l.cfg)
	if err := a.UnmarshalBinary(body); err != nil {
		l.log.Warn("statistics checkpoint not usable; rebuilding from the journal", "err", err)
		return
	}
	l.agg = a
	l.ckSeq.Store(a.Seq())
}

// checkpoint saves the fold; l.mu is held.
func (l *Live) checkpoint() {
	if l.agg.Seq() <= l.ckSeq.Load() {
		return
	}
	body, err := l.agg.MarshalBinary()
	if err == nil {
		err = l.j.SaveCheckpoint(CheckpointName, l.agg.Seq(), body)
	}
	if err != nil {
		l.log.Warn("statistics checkpoint not written; the next one will try again", "err", err)
		return
	}
	l.ckSeq.Store(l.agg.Seq())
}

// CheckpointNow saves the fold now (tests; an operator's backup).
func (l *Live) CheckpointNow() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.checkpoint()
	return l.ckSeq.Load()
}

// CheckpointSeq is the seq of the last statistics checkpoint on disk: the
// journal may be pruned up to it and no further.
func (l *Live) CheckpointSeq() uint64 { return l.ckSeq.Load() }

// Run folds every event as it is appended, until ctx ends.
func (l *Live) Run(ctx context.Context) error {
	l.mu.Lock()
	l.restore()
	l.mu.Unlock()
	lastCk := time.Now()
	defer func() {
		l.mu.Lock()
		l.checkpoint()
		l.mu.Unlock()
	}()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		changed := l.j.Changed()
		l.mu.Lock()
		err := l.j.Scan(ctx, l.agg.Seq(), l.agg.Add)
		if err == nil && (l.agg.Seq()-l.ckSeq.Load() >= l.CheckpointEvery || time.Since(lastCk) >= l.CheckpointInterval) {
			l.checkpoint()
			lastCk = time.Now()
		}
		l.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-tick.C:
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
