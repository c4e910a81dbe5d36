package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
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

// What a crash leaves in the log (records SQLite does not hold yet, a torn
// last frame) is moved into SQLite at Open; the torn frame is dropped.
func TestLogRecoveredAtOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "j.db")
	j, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for s := uint64(1); s <= 5; s++ {
		if err := j.Append(ctx, []Record{rec(s)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	var b []byte
	for s := uint64(3); s <= 8; s++ { // 3..5 are in SQLite already
		b = appendFrame(b, rec(s))
	}
	torn := appendFrame(nil, rec(9))
	b = append(b, torn[:len(torn)-3]...)
	if err := os.WriteFile(path+".log", b, 0o600); err != nil {
		t.Fatal(err)
	}
	j, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.Head() != 8 {
		t.Fatalf("head %d after recovery, want 8", j.Head())
	}
	got, err := j.Read(ctx, 0, 100)
	if err != nil || len(got) != 8 {
		t.Fatalf("read %d records, %v", len(got), err)
	}
	for i, r := range got {
		if want := rec(uint64(i + 1)); r.ID != want.ID || string(r.Body) != string(want.Body) || !r.TS.Equal(want.TS) || r.Type != want.Type {
			t.Fatalf("record %d: %+v, want %+v", i+1, r, want)
		}
	}
	if fi, err := os.Stat(path + ".log"); err != nil || fi.Size() != 0 {
		t.Fatalf("log after recovery: %v, %v", fi, err)
	}
	if err := j.Append(ctx, []Record{rec(9)}); err != nil {
		t.Fatal(err)
	}
}

// Records are durable in the log before SQLite holds them: readers get them
// from memory meanwhile, and a flush moves them.
func TestReadBeforeFlush(t *testing.T) {
	ctx := context.Background()
	j, err := Open(filepath.Join(t.TempDir(), "j.db"), Options{RingSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for s := uint64(1); s <= 40; s++ {
		if err := j.Append(ctx, []Record{rec(s)}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	if err := j.Scan(ctx, 0, func(r Record) error {
		n++
		if r.Seq != uint64(n) {
			t.Fatalf("seq %d at %d", r.Seq, n)
		}
		return nil
	}); err != nil || n != 40 {
		t.Fatalf("scan: %d, %v", n, err)
	}
	if err := j.Flush(); err != nil {
		t.Fatal(err)
	}
	var c int
	if err := j.db.QueryRow(`SELECT COUNT(*) FROM events`).Scan(&c); err != nil || c != 40 {
		t.Fatalf("SQLite holds %d after Flush, %v", c, err)
	}
}

// A commit writes into bytes the log's file already has (logGrow), so its
// fdatasync flushes data and no metadata: the file grows once a megabyte,
// not with every append.
func TestLogDoesNotGrowPerCommit(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "j.db")
	j, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	size := func() int64 {
		fi, err := os.Stat(path + ".log")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	if err := j.Append(ctx, []Record{rec(1)}); err != nil {
		t.Fatal(err)
	}
	first := size()
	for s := uint64(2); s <= 200; s++ {
		if err := j.Append(ctx, []Record{rec(s)}); err != nil {
			t.Fatal(err)
		}
		if got := size(); got != first {
			t.Fatalf("the log's file is %d bytes after append %d, %d after the first: a commit grew it", got, s, first)
		}
	}
	if first < logGrow {
		t.Fatalf("the log's file is %d bytes after one append; want it written %d ahead", first, logGrow)
	}
}

// Past logLimit the log starts again from its beginning over its old frames
// (SQLite holds them); a crash after that recovers the new frames and skips
// the old ones, and a clean Close still leaves the log empty.
func TestLogStartsAgainOverOldFrames(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "j.db")
	j, err := Open(path, Options{RingSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	seq := uint64(0)
	batch := func(n int) {
		recs := make([]Record, n)
		for i := range recs {
			seq++
			recs[i] = lineRec(seq)
		}
		if err := j.Append(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	for j.logOff < logLimit {
		batch(1000)
	}
	if err := j.flush(); err != nil {
		t.Fatal(err)
	}
	sizeBefore := j.logSize
	j.maybeEmptyLog()
	if j.logOff != 0 || j.logSize != sizeBefore {
		t.Fatalf("after starting again: next frame at %d, file %d bytes (was %d)", j.logOff, j.logSize, sizeBefore)
	}
	// Stop the flusher, so what follows is in the log alone, as after a crash.
	j.closeOnce.Do(func() { close(j.stopFlush); <-j.flushDone })
	flushed := seq
	batch(3)
	batch(1)
	// The crash: the files as they are, opened by a new journal.
	crash := filepath.Join(dir, "crash")
	if err := os.Mkdir(crash, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm", ".log"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(crash, "j.db"+suffix), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	j2, err := Open(filepath.Join(crash, "j.db"), Options{})
	if err != nil {
		t.Fatalf("reopen after a crash past the log's start-again: %v", err)
	}
	defer j2.Close()
	if j2.Head() != seq {
		t.Fatalf("head %d after the crash, want %d", j2.Head(), seq)
	}
	got, err := j2.Read(ctx, flushed-5, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 9 {
		t.Fatalf("read %d records from %d, want 9", len(got), flushed-4)
	}
	for i, r := range got {
		if want := lineRec(flushed - 4 + uint64(i)); r.Seq != want.Seq || r.ID != want.ID || string(r.Body) != string(want.Body) {
			t.Fatalf("record %d: seq %d id %s, want seq %d id %s", i, r.Seq, r.ID, want.Seq, want.ID)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + ".log"); err != nil || fi.Size() != 0 {
		t.Fatalf("log after a clean Close: %v, %v", fi, err)
	}
}
