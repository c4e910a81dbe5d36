package serialport_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"halld/drivers/serialport"
	"halld/internal/ptytest"
)

// BenchmarkReadLines is the serial half of issue 15's 64 × 1,000 step: 64
// ports, one line every 64 ms on each (1,000 lines a second in all), read
// through Port.Read as the line driver does. It reports the process's CPU per
// line (getrusage: the simulated devices' writes are counted too, the same in
// every version) and the write → Read latency's p50 and p99. Each line takes
// a millisecond of wall time: -benchtime 5000x runs 5 s.
func BenchmarkReadLines(b *testing.B) {
	const ports = 64
	const every = 64 * time.Millisecond
	line := []byte("0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEF\n")
	devs := make([]chan struct{}, ports)
	sent := make([][]time.Time, ports)
	ps := make([]*serialport.Port, ports)
	for i := range ports {
		go1 := make(chan struct{}, 1)
		devs[i] = go1
		vp := ptytest.Device(b, fmt.Sprintf("p%d", i), func(ctx context.Context, rw io.ReadWriter) error {
			for {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-go1:
				}
				if _, err := rw.Write(line); err != nil {
					return err
				}
			}
		})
		p, err := serialport.Open(context.Background(), fmt.Sprintf("p%d", i), serialport.Spec{Path: vp.Path(), Baud: 115200}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { p.Close() })
		ps[i] = p
	}
	per := b.N / ports
	if per == 0 {
		per = 1
	}
	lat := make([][]time.Duration, ports)
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := 0
			for k := 0; k < per; {
				c, err := p.Read(5 * time.Second)
				if err != nil {
					b.Errorf("port %d: %v", i, err)
					return
				}
				got += len(c)
				for got >= len(line) {
					got -= len(line)
					lat[i] = append(lat[i], time.Since(sent[i][k]))
					k++
				}
			}
		}()
	}
	for i := range sent {
		sent[i] = make([]time.Time, per)
	}
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	start := time.Now()
	for k := range per {
		for i := range ports {
			// Spread the ports over the period, as independent devices are.
			at := start.Add(time.Duration(k)*every + time.Duration(i)*every/ports)
			time.Sleep(time.Until(at))
			sent[i][k] = time.Now()
			devs[i] <- struct{}{}
		}
	}
	wg.Wait()
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(syscall.TimevalToNsec(ru1.Utime)-syscall.TimevalToNsec(ru0.Utime)) +
		time.Duration(syscall.TimevalToNsec(ru1.Stime)-syscall.TimevalToNsec(ru0.Stime))
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return
	}
	p50, p99 := percentiles(all)
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(all)), "cpu-µs/line")
	b.ReportMetric(float64(p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	s := append([]time.Duration(nil), d...)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)*99/100]
}
