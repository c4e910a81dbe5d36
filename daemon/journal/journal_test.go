package journal

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func rec(seq uint64) Record {
	return Record{Seq: seq, ID: fmt.Sprintf("id-%d", seq), Type: "test.event", TS: time.UnixMilli(int64(seq)),
		Body: []byte(fmt.Sprintf(`{"id":"id-%d","seq":%d,"type":"test.event"}`, seq, seq))}
}

func TestAppendReadReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "j.db")
	j, err := Open(path, Options{RingSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	if j.Head() != 0 || j.Oldest() != 1 {
		t.Fatalf("empty journal: head %d oldest %d", j.Head(), j.Oldest())
	}
	ch := j.Changed()
	for s := uint64(1); s <= 20; s += 2 {
		if err := j.Append(ctx, []Record{rec(s), rec(s + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-ch:
	default:
		t.Fatal("Changed not closed after append")
	}
	// From the ring (recent) and from disk (older than the ring holds).
	for _, after := range []uint64{0, 5, 15, 19, 20} {
		got, err := j.Read(ctx, after, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != int(20-after) {
			t.Fatalf("after %d: got %d records", after, len(got))
		}
		for i, r := range got {
			if r.Seq != after+1+uint64(i) || string(r.Body) != string(rec(r.Seq).Body) {
				t.Fatalf("after %d: record %d is %+v", after, i, r)
			}
		}
	}
	if err := j.Append(ctx, []Record{rec(22)}); !errors.Is(err, ErrGap) {
		t.Fatalf("gap accepted: %v", err)
	}
	if err := j.Append(ctx, []Record{rec(20)}); !errors.Is(err, ErrGap) {
		t.Fatalf("duplicate seq accepted: %v", err)
	}
	dup := rec(21)
	dup.ID = "id-3"
	if err := j.Append(ctx, []Record{dup}); err == nil {
		t.Fatal("duplicate event id accepted")
	}
	if j.Head() != 20 {
		t.Fatalf("failed appends moved head to %d", j.Head())
	}
	if err := j.SetMeta("cursor", "17"); err != nil {
		t.Fatal(err)
	}
	j.Close()

	j, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.Head() != 20 || j.Oldest() != 1 {
		t.Fatalf("reopened: head %d oldest %d", j.Head(), j.Oldest())
	}
	if v, ok, _ := j.Meta("cursor"); !ok || v != "17" {
		t.Fatalf("meta lost: %q %v", v, ok)
	}
	n := 0
	if err := j.Scan(ctx, 0, func(r Record) error {
		n++
		if r.Seq != uint64(n) {
			return fmt.Errorf("scan out of order at %d: %d", n, r.Seq)
		}
		return nil
	}); err != nil || n != 20 {
		t.Fatalf("scan: %v, %d records", err, n)
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, batch := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			j, err := Open(filepath.Join(b.TempDir(), "j.db"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			ctx := context.Background()
			seq := uint64(0)
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				recs := make([]Record, batch)
				for k := range recs {
					seq++
					recs[k] = lineRec(seq)
				}
				if err := j.Append(ctx, recs); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*batch)/1e3, "cpu-µs/event")
		})
	}
}

// lineRec is a device.line event as halld records it (~200 bytes, a uuid).
func lineRec(seq uint64) Record {
	id := fmt.Sprintf("019aa6f0-%04x-7%03x-8%03x-%012x", seq>>48&0xffff, seq>>36&0xfff, seq>>24&0xfff, seq&0xffffffffffff)
	return Record{Seq: seq, ID: id, Type: "device.line", TS: time.UnixMilli(int64(seq)),
		Body: []byte(fmt.Sprintf(`{"id":%q,"seq":%d,"ts":"2026-12-03T14:30:01.123+08:00","type":"device.line","hall":"hn-xjxq","device":"p3","text":"%d 1764743401123456789"}`, id, seq, seq))}
}

// cpuTime is the process's user+system CPU time in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
