package main

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"
)

// soakSample is one look at halld during the soak.
type soakSample struct {
	at         time.Duration
	rss        float64 // MiB, VmRSS
	goroutines float64 // go_goroutines from /metrics
	fds        float64 // entries of /proc/PID/fd
}

// runSoak keeps a steady load of several busy halls (o.soakRate citizens
// a second at the kiosks, every window serving, terminals heartbeating and
// failing now and then) for o.soak, sampling halld every o.sample.
func (s *hallSim) runSoak() {
	o := s.o
	s.lat.setPhase("soak")
	s.st.clearPending()
	pid := s.cmd.Process.Pid
	cpu0, t0, head0 := procCPU(pid), time.Now(), s.head()
	wctx, stopWindows := context.WithCancel(context.Background())
	wg := s.runWindows(wctx, 2*time.Second, 50*time.Millisecond)
	fctx, stopFaults := context.WithCancel(context.Background())
	go s.runTerminalFaults(fctx, 10*time.Second)
	var samples []soakSample
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			rss, _ := procMem(pid)
			g, _ := scrapeMetric(s.addr, "go_goroutines")
			samples = append(samples, soakSample{time.Since(t0), rss, g, float64(fdCount(pid))})
			if time.Since(t0) >= o.soak {
				return
			}
			time.Sleep(min(o.sample, o.soak-time.Since(t0)+time.Millisecond))
		}
	}()
	arrived := s.arrivals(context.Background(), o.soak, func(float64) float64 { return o.soakRate }, cardShare)
	<-done
	stopWindows()
	wg.Wait()
	stopFaults()
	el := time.Since(t0)
	cpu := procCPU(pid) - cpu0
	events := s.head() - head0
	s.joinPrinted("soak")
	s.row("**Soak**", "%v at %.1f citizens/s (a busy hall peaks near 1/s): %d citizens, %d journal events (%.0f/s), halld CPU %.0f%% of one core; %d samples every %v",
		o.soak, o.soakRate, arrived, events, float64(events)/el.Seconds(), 100*cpu.Seconds()/el.Seconds(), len(samples), o.sample)
	s.row("pad press → WebSocket (soak)", "%s", s.lat.summary("soak", "press→ws"))
	s.row("kiosk request → last ticket byte (soak)", "%s", s.lat.summary("soak", "kiosk→last byte"))
	s.row("card placed → kiosk page (soak)", "%s", s.lat.summary("soak", "card→kiosk"))
	for _, m := range []struct {
		name, unit string
		get        func(soakSample) float64
		slack      float64
	}{
		{"RSS", "MiB", func(x soakSample) float64 { return x.rss }, 4},
		{"goroutines", "", func(x soakSample) float64 { return x.goroutines }, 10},
		{"open fds", "", func(x soakSample) float64 { return x.fds }, 5},
	} {
		s.row("soak "+m.name, "%s", trend(samples, m.get, m.unit, m.slack))
	}
}

// trend gives first/last/max, the least-squares slope per hour and a
// verdict. The criterion: drop the first 10% of samples (warm-up: the
// backlog of the stress phase, caches, the journal's ring filling); then
// "growing" when the median of the last quarter exceeds the median of the
// first quarter by more than 10% and by more than slack units, else "flat".
func trend(xs []soakSample, get func(soakSample) float64, unit string, slack float64) string {
	if len(xs) == 0 {
		return "no samples"
	}
	first, last, mx := get(xs[0]), get(xs[len(xs)-1]), 0.0
	for _, x := range xs {
		mx = math.Max(mx, get(x))
	}
	w := xs[len(xs)/10:]
	// Least squares over the samples after warm-up.
	var sx, sy, sxx, sxy float64
	for _, x := range w {
		h := x.at.Hours()
		v := get(x)
		sx, sy, sxx, sxy = sx+h, sy+v, sxx+h*h, sxy+h*v
	}
	n := float64(len(w))
	slope := 0.0
	if d := n*sxx - sx*sx; d > 0 {
		slope = (n*sxy - sx*sy) / d
	}
	verdict := "too few samples (need 8)"
	if len(w) >= 8 {
		q := len(w) / 4
		a, b := median(w[:q], get), median(w[len(w)-q:], get)
		verdict = "flat"
		if b > a*1.10 && b-a > slack {
			verdict = "growing"
		}
		verdict = fmt.Sprintf("%s (median first quarter %.1f → last quarter %.1f)", verdict, a, b)
	}
	return fmt.Sprintf("first %.1f · last %.1f · max %.1f %s; slope %+.1f%s/h; %s", first, last, mx, unit, slope, unit, verdict)
}

func median(xs []soakSample, get func(soakSample) float64) float64 {
	v := make([]float64, len(xs))
	for i, x := range xs {
		v[i] = get(x)
	}
	sort.Float64s(v)
	return v[len(v)/2]
}
