package stats

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"halld/daemon/config"
	"halld/daemon/journal"
)

// A busy hall's year, for the benchmarks (go test -run '^$' -bench . ./daemon/stats):
// 250 working days × 2,000 tickets through 20 windows and 20 staff, each
// ticket issued, called, started, finished and rated (10% time out, 5% 差评
// with a follow-up, 1% no-shows), a lunch pause per window a day (overdue),
// sign-in and sign-out: ~2.5M records.
//
// STATS_BENCH_DAYS=20 makes a shorter year for quick profiling. The
// machine may be shared: cpu-ns/op (this process's user+system CPU time)
// says what the work costs when the wall clock says how long it took.
const (
	benchTickets = 2000
	benchWindows = 20
)

var benchDays = func() int {
	if n, err := strconv.Atoi(os.Getenv("STATS_BENCH_DAYS")); err == nil && n > 0 {
		return n
	}
	return 250
}()

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchHall() *config.Config {
	var b strings.Builder
	b.WriteString(`
hall:
  id: bench-hall
  name: 基准大厅
  timezone: Asia/Shanghai
  opening_hours: [{days: [mon, tue, wed, thu, fri], open: "08:30", close: "17:30"}]
areas: [{id: front, name: 前台}]
services:
  - {id: biz, prefix: A, name: 企业开办, area: front}
  - {id: tax, prefix: B, name: 税务, area: front}
  - {id: est, prefix: C, name: 不动产, area: front}
  - {id: soc, prefix: D, name: 社保, area: front}
windows:
`)
	for i := 1; i <= benchWindows; i++ {
		fmt.Fprintf(&b, "  - {id: w%02d, number: %d, services: [{service: biz}, {service: tax}, {service: est}, {service: soc}]}\n", i, i)
	}
	b.WriteString("staff:\n")
	for i := 1; i <= benchWindows; i++ {
		fmt.Fprintf(&b, "  - {id: s%02d, name: 员工%02d, windows: [w%02d]}\n", i, i, i)
	}
	cfg, err := config.Parse("bench.yaml", []byte(b.String()))
	if err != nil {
		panic(err)
	}
	return cfg
}

var (
	yearOnce sync.Once
	yearCfg  *config.Config
	yearRecs []journal.Record
	yearAgg  *Aggregator
)

func benchYear(b *testing.B) ([]journal.Record, *config.Config) {
	yearOnce.Do(func() {
		start := time.Now()
		cfg := benchHall()
		g := newGen(cfg)
		services := []string{"biz", "tax", "est", "soc"}
		day := time.Date(2026, 1, 5, 0, 0, 0, 0, cfg.Location) // a Monday
		for n := 0; n < benchDays; day = day.AddDate(0, 0, 1) {
			if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
				continue
			}
			open := day.Add(8*time.Hour + 30*time.Minute)
			lunch := day.Add(12 * time.Hour)
			for w := 0; w < benchWindows; w++ {
				win, staff := fmt.Sprintf("w%02d", w+1), fmt.Sprintf("s%02d", w+1)
				g.signIn(open.Add(-10*time.Minute), win, staff)
				free, paused := open, false
				for i := w; i < benchTickets; i += benchWindows {
					h := uint32(i)*2654435761 + uint32(n)*40503
					if !paused && free.After(lunch) {
						g.pause(free, win, staff, 45*time.Minute)
						free, paused = free.Add(45*time.Minute), true
					}
					issued := open.Add(time.Duration(i) * 16 * time.Second)
					called := issued.Add(30 * time.Second)
					if free.After(called) {
						called = free
					}
					level := ""
					switch r := h % 100; {
					case r < 10: // timed out
					case r < 64:
						level = "非常满意"
					case r < 86:
						level = "满意"
					case r < 95:
						level = "基本满意"
					case r < 98:
						level = "不满意"
					default:
						level = "非常不满意"
					}
					free = g.serve(ticket{at: issued, svc: services[h>>8%4], win: win, staff: staff, wait: called.Sub(issued),
						service: time.Duration(180+h>>12%240) * time.Second, level: level, noShow: h>>20%100 == 0,
						openFollow: true}).Add(20 * time.Second)
				}
				g.signOut(free.Add(5*time.Minute), win, staff)
			}
			g.flush()
			n++
		}
		yearCfg, yearRecs = cfg, g.recs
		b.Logf("generated %d records for %d days in %v", len(g.recs), benchDays, time.Since(start).Round(time.Millisecond))
	})
	return yearRecs, yearCfg
}

func benchAggregator(b *testing.B) *Aggregator {
	recs, cfg := benchYear(b)
	if yearAgg == nil {
		yearAgg = fold(b, cfg, recs)
	}
	return yearAgg
}

func heapMB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / 1e6
}

// BenchmarkFoldYear: decoding and folding a year of records held in memory.
func BenchmarkFoldYear(b *testing.B) {
	recs, cfg := benchYear(b)
	before := heapMB()
	var a *Aggregator
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		a = fold(b, cfg, recs)
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(len(recs)), "records")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(recs)), "ns/record")
	b.ReportMetric(float64(len(a.facts)), "facts")
	b.ReportMetric(heapMB()-before, "MB-kept")
	runtime.KeepAlive(a)
}

// BenchmarkBuildYear: Build from a real journal (SQLite) holding the year.
func BenchmarkBuildYear(b *testing.B) {
	recs, cfg := benchYear(b)
	start := time.Now()
	j, err := journal.Open(filepath.Join(b.TempDir(), "year.db"), journal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	for i := 0; i < len(recs); i += 20000 {
		if err := j.Append(context.Background(), recs[i:min(i+20000, len(recs))]); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("wrote %d records to the journal in %v (%.0f MB)", len(recs), time.Since(start).Round(time.Millisecond),
		float64(j.Stats().FileBytes)/1e6)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for b.Loop() {
		if _, err := Build(context.Background(), j, cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(len(recs)), "records")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(recs)), "ns/record")
}

// BenchmarkReportQuarterByStaff: a quarter's report by staff over the year.
func BenchmarkReportQuarterByStaff(b *testing.B) {
	a := benchAggregator(b)
	q := Query{From: time.Date(2026, 4, 1, 0, 0, 0, 0, a.loc), To: time.Date(2026, 7, 1, 0, 0, 0, 0, a.loc), By: ByStaff}
	var rep Report
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		rep = a.Report(q)
	}
	b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(rep.Totals.Served), "served")
	if len(rep.Rows) != benchWindows+1 { // and the "" row: issued tickets have no staff
		b.Fatalf("%d rows", len(rep.Rows))
	}
}

// BenchmarkStarsQuarter: the quarter's ranking.
func BenchmarkStarsQuarter(b *testing.B) {
	a := benchAggregator(b)
	b.ReportAllocs()
	cpu := cpuTime()
	defer func() { b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op") }()
	for b.Loop() {
		if rk := a.Stars("2026Q2", nil, DefaultFormula()); len(rk.Named) != 2 {
			b.Fatalf("named %d", len(rk.Named))
		}
	}
}

// BenchmarkCheckpointYear: encoding a year's fold for its checkpoint and
// restoring it (what a restart does instead of BenchmarkBuildYear).
func BenchmarkCheckpointYear(b *testing.B) {
	a := benchAggregator(b)
	var body []byte
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			var err error
			if body, err = a.MarshalBinary(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(body))/1e6, "MB")
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			if err := New(a.cfg).UnmarshalBinary(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
