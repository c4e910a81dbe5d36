package journal

import (
	"sync/atomic"
	"time"
)

// CommitBuckets are the upper bounds, in seconds, of the commit latency
// histogram: from a quiet SSD's fdatasync (~0.2 ms) to an SD card that has
// started to fail (seconds).
var CommitBuckets = []float64{.00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// latency is a histogram of commit durations, updated with atomics on the
// writer's path and read at scrape time.
type latency struct {
	counts [14]atomic.Uint64 // len(CommitBuckets)+1: the last is +Inf
	sumNs  atomic.Int64
}

func (l *latency) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(CommitBuckets) && s > CommitBuckets[i] {
		i++
	}
	l.counts[i].Add(1)
	l.sumNs.Add(int64(d))
}

// CommitLatency is the histogram of durable commits so far: how long each
// Append took to write its records and fdatasync the log (what a ticket or
// a rating waits for before anyone is told). Cumulative[i] counts commits
// of at most CommitBuckets[i]; Count includes the slower ones.
type CommitLatency struct {
	Count      uint64
	Sum        time.Duration
	Cumulative []uint64
}

// CommitLatency returns the commit histogram.
func (j *Journal) CommitLatency() CommitLatency {
	c := CommitLatency{Sum: time.Duration(j.lat.sumNs.Load()), Cumulative: make([]uint64, len(CommitBuckets))}
	var run uint64
	for i := range CommitBuckets {
		run += j.lat.counts[i].Load()
		c.Cumulative[i] = run
	}
	c.Count = run + j.lat.counts[len(CommitBuckets)].Load()
	return c
}
