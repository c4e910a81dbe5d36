package engine_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"halld/daemon/hall"
)

// BenchmarkTicketUnderSnapshots: a ticket's latency (Submit → durable →
// answered) while screens take 100 snapshots a second of a hall holding
// 2,000 tickets (boards reconnecting, the public projection refreshed);
// reports p50 and p99 of the tickets.
func BenchmarkTicketUnderSnapshots(b *testing.B) {
	cfg, j, _ := setup(b)
	defer j.Close()
	e, stop := start(b, cfg, j)
	defer stop()
	for range 2000 {
		if _, err := e.Submit(context.Background(), hall.IssueTicket{Service: "s"}); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk := time.NewTicker(40 * time.Millisecond) // 4 readers × 25/s = 100 snapshots/s
			defer tk.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tk.C:
					e.Snapshot(ctx)
				}
			}
		}()
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := e.Submit(context.Background(), hall.IssueTicket{Service: "s"}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		time.Sleep(2 * time.Millisecond) // a kiosk's pace, not a flood
	}
	b.StopTimer()
	cancel()
	wg.Wait()
	sort.Slice(lat, func(i, k int) bool { return lat[i] < lat[k] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
