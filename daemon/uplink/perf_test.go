package uplink

import (
	"log/slog"
	"syscall"
	"testing"
	"time"
)

// Measures (go test -v -run Latency): event → subscriber latency for a
// steady stream, and the catch-up rate after an outage of 10,000 events.
func TestLatencyAndCatchUp(t *testing.T) {
	b := startBroker(t, "")
	s := newSub(t, b.url(), "central-perf")
	j := openJournal(t)
	r := startUplink(t, j, testOptions(t, b.url(), "halld-perf")) // MaxRate unlimited, Batch 100
	r.waitConnected(t, 15*time.Second)

	// Steady stream: one event every 5 ms (200/s) for 2 s, each its own
	// journal commit; latency from the end of Append (durable) to receipt.
	const steady = 400
	durable := make(map[uint64]time.Time, steady)
	var appendTook []time.Duration // the engine's side: the uplink's cursor writes share SQLite's write lock
	tick := time.NewTicker(5 * time.Millisecond)
	for range steady {
		<-tick.C
		start := time.Now()
		if err := appendBatch(j, 1); err != nil {
			t.Fatal(err)
		}
		durable[j.Head()] = time.Now()
		appendTook = append(appendTook, time.Since(start))
	}
	tick.Stop()
	s.waitEvents(steady, 20*time.Second)
	s.mu.Lock()
	lat := make([]time.Duration, 0, steady)
	for seq, at := range durable {
		lat = append(lat, s.recvAt[seq].Sub(at))
	}
	s.mu.Unlock()
	t.Logf("latency, %d events at 200/s: p50 %v, p99 %v, max %v (journal Append meanwhile: p50 %v, p99 %v)", steady,
		percentile(lat, 0.50).Round(time.Microsecond), percentile(lat, 0.99).Round(time.Microsecond), percentile(lat, 1).Round(time.Microsecond),
		percentile(appendTook, 0.50).Round(time.Microsecond), percentile(appendTook, 0.99).Round(time.Microsecond))

	// Outage: 10,000 events written while the broker is down.
	const backlog = 10000
	b.stop()
	waitUntil(t, 10*time.Second, "uplink notices the outage", func() bool { return !r.Status().Connected })
	appendN(t, j, backlog, 500)
	if st := r.Status(); st.Lag < backlog {
		t.Fatalf("lag %d during the outage, want ≥ %d", st.Lag, backlog)
	}
	b.start()
	r.waitConnected(t, 20*time.Second)
	connectedAt := r.Status().Since
	s.waitEvents(steady+backlog, 60*time.Second)
	s.mu.Lock()
	lastAt := s.recvAt[steady+backlog]
	dups := s.dups
	s.mu.Unlock()
	el := lastAt.Sub(connectedAt)
	t.Logf("catch-up: %d events in %v after the reconnect = %.0f events/s (MaxRate unlimited, Batch 100; %d duplicates)",
		backlog, el.Round(time.Millisecond), backlog/el.Seconds(), dups)
	s.check(steady + backlog)
}

// BenchmarkPublish: events already durable → PUBACKed by a real mosquitto,
// the uplink's own cost (QoS 1, window Batch, the journal read from its
// ring); CPU is halld's side only (mosquitto is another process).
func BenchmarkPublish(b *testing.B) {
	br := startBroker(b, "")
	j := openJournal(b)
	appendN(b, j, b.N, 500)
	o := testOptions(b, br.url(), "halld-bench")
	o.Log = slog.New(slog.DiscardHandler)
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	r := startUplink(b, j, o)
	for r.Status().Cursor < uint64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := (ru1.Utime.Nano() + ru1.Stime.Nano()) - (ru0.Utime.Nano() + ru0.Stime.Nano())
	b.ReportMetric(float64(cpu)/float64(b.N)/1e3, "cpu-µs/event")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
