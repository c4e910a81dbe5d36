package journal

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// Every durable commit is counted once in the histogram, in the bucket its
// duration falls in; the buckets are cumulative and the sum is the time
// the commits took.
func TestCommitLatencyCountsEachCommit(t *testing.T) {
	j, err := Open(filepath.Join(t.TempDir(), "j.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if c := j.CommitLatency(); c.Count != 0 || c.Sum != 0 {
		t.Fatalf("before any commit: %+v", c)
	}
	start := time.Now()
	for s := uint64(1); s <= 40; s += 2 {
		if err := j.Append(context.Background(), []Record{rec(s), rec(s + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	took := time.Since(start)
	c := j.CommitLatency()
	if c.Count != 20 {
		t.Fatalf("%d commits counted, want 20 (one per Append, not per record)", c.Count)
	}
	if c.Sum <= 0 || c.Sum > took {
		t.Errorf("sum %v for commits that took %v in all", c.Sum, took)
	}
	for i := 1; i < len(c.Cumulative); i++ {
		if c.Cumulative[i] < c.Cumulative[i-1] {
			t.Fatalf("buckets not cumulative: %v", c.Cumulative)
		}
	}
	if last := c.Cumulative[len(c.Cumulative)-1]; last > c.Count {
		t.Errorf("last bucket %d > count %d", last, c.Count)
	}
	var l latency
	for _, d := range []time.Duration{100 * time.Microsecond, 3 * time.Millisecond, 3 * time.Millisecond, 10 * time.Second} {
		l.observe(d)
	}
	// ≤0.25 ms: 1; ≤5 ms: 3; +Inf only: 1 (10 s).
	if l.counts[0].Load() != 1 || l.counts[4].Load() != 2 || l.counts[len(CommitBuckets)].Load() != 1 {
		t.Errorf("bucket counts %v", func() (v []uint64) {
			for i := range l.counts {
				v = append(v, l.counts[i].Load())
			}
			return
		}())
	}
}
