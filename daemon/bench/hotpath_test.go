package main

// Go benchmarks of each hot step of a device line's path, device → central:
//
//	go test ./daemon/bench -run '^$' -bench . -benchmem
//
// decode (framer) → decide (hall rules) → encode (the event's JSON, once) →
// append (durable: the journal's log, fdatasync) → submit (all of it through
// the engine, as a line device does) ; publish is in daemon/uplink
// (BenchmarkPublish: needs mosquitto).

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"halld/daemon/config"
	"halld/daemon/engine"
	"halld/daemon/hall"
	"halld/daemon/journal"
	"halld/drivers/linedev"
)

const hotCfg = `
hall:
  id: bench
  name: 大厅
  always_open: true
  opening_hours: [{days: [mon, tue, wed, thu, fri, sat, sun], open: "00:00", close: "23:59"}]
areas: [{id: a, name: 区, open_24h: true}]
services:
  - {id: s, prefix: A, name: 服务, area: a}
`

func cpuNS() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// reportCPU adds CPU per op (user + system, all goroutines: the journal's
// flusher, the engine's loop).
func reportCPU(b *testing.B, cpu0 int64, perOp int) {
	b.ReportMetric(float64(cpuNS()-cpu0)/float64(b.N*perOp)/1e3, "cpu-µs/line")
}

// A peerbench frame, "<seq> <t_send_ns>\n", 64 at a time as a busy read gives.
func BenchmarkLineDecode(b *testing.B) {
	f, err := linedev.NewFramer(linedev.Options{Terminator: linedev.Terminator("lf")})
	if err != nil {
		b.Fatal(err)
	}
	var in []byte
	for i := range 64 {
		in = fmt.Appendf(in, "%d %d\n", 100000+i, time.Now().UnixNano())
	}
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if n := len(f.Feed(in)); n != 64 {
			b.Fatalf("%d lines", n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/line")
}

func hotConfig(b *testing.B) *config.Config {
	cfg, err := config.Parse("bench.yaml", []byte(hotCfg))
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

func BenchmarkLineDecide(b *testing.B) {
	cfg := hotConfig(b)
	st := hall.NewState()
	now := time.Now()
	cmd := hall.RecordLine{DeviceLine: hall.DeviceLine{Device: "p3", Text: "123456 1764743401123456789"}}
	for b.Loop() {
		if _, err := hall.Decide(cfg, st, cmd, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLineEncode(b *testing.B) {
	now := time.Now()
	data := &hall.DeviceLine{Device: "p3", Text: "123456 1764743401123456789"}
	var seq uint64
	for b.Loop() {
		seq++
		env := hall.Envelope{ID: uuid.Must(uuid.NewV7()).String(), Seq: seq, TS: hall.Stamp(now), Type: hall.TypeDeviceLine, Hall: "bench"}
		if _, err := hall.Encode(env, data); err != nil {
			b.Fatal(err)
		}
	}
}

// One line per commit (a quiet port) and 16 (a port's read, or 16 ports at once).
func BenchmarkLineAppend(b *testing.B) {
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprintf("lines=%d", batch), func(b *testing.B) {
			j, err := journal.Open(filepath.Join(b.TempDir(), "j.db"), journal.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			now := time.Now()
			var seq uint64
			recs := make([]journal.Record, batch)
			cpu0 := cpuNS()
			for b.Loop() {
				for k := range recs {
					seq++
					env := hall.Envelope{ID: uuid.Must(uuid.NewV7()).String(), Seq: seq, TS: hall.Stamp(now), Type: hall.TypeDeviceLine, Hall: "bench"}
					body, _ := hall.Encode(env, &hall.DeviceLine{Device: "p3", Text: "123456 1764743401123456789"})
					recs[k] = journal.Record{Seq: seq, ID: env.ID, Type: env.Type, TS: now, Body: body}
				}
				if err := j.Append(context.Background(), recs); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu0, batch)
		})
	}
}

// The whole of halld's part but the wire: lines submitted as a line device
// does (SubmitAll of what one read gave), decided, encoded, durable, answered.
func BenchmarkLineSubmit(b *testing.B) {
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprintf("lines=%d", batch), func(b *testing.B) {
			j, err := journal.Open(filepath.Join(b.TempDir(), "j.db"), journal.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			e, err := engine.New(context.Background(), hotConfig(b), j, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			go e.Run(ctx)
			defer func() { cancel(); <-e.Done() }()
			cmds := make([]any, batch)
			for k := range cmds {
				cmds[k] = hall.RecordLine{DeviceLine: hall.DeviceLine{Device: "p3", Text: "123456 1764743401123456789"}}
			}
			cpu0 := cpuNS()
			for b.Loop() {
				for _, err := range e.SubmitAll(context.Background(), cmds) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			reportCPU(b, cpu0, batch)
		})
	}
}
