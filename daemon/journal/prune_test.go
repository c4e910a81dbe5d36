package journal

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func TestPruneKeepsSequenceAndReaders(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "j.db")
	j, err := Open(path, Options{RingSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	for s := uint64(1); s <= 12000; s += 100 {
		var batch []Record
		for k := s; k < s+100; k++ {
			batch = append(batch, rec(k))
		}
		if err := j.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	// rec(seq) is stamped seq ms after the epoch.
	due, err := j.OlderThan(ctx, time.UnixMilli(7001))
	if err != nil || due != 7000 {
		t.Fatalf("OlderThan: %d, %v; want 7000", due, err)
	}
	if n, err := j.Prune(ctx, due); err != nil || n != 7000 {
		t.Fatalf("Prune: %d, %v", n, err)
	}
	if j.Oldest() != 7001 || j.Head() != 12000 {
		t.Fatalf("oldest %d head %d", j.Oldest(), j.Head())
	}
	// A reader behind the oldest gets what is held, from the oldest on.
	got, err := j.Read(ctx, 10, 3)
	if err != nil || len(got) != 3 || got[0].Seq != 7001 {
		t.Fatalf("read behind oldest: %+v %v", got, err)
	}
	// Pruning again is a no-op; pruning past the head stops at the head.
	if n, _ := j.Prune(ctx, 7000); n != 0 {
		t.Fatalf("second prune deleted %d", n)
	}
	if due, _ := j.OlderThan(ctx, time.UnixMilli(7001)); due != 0 {
		t.Fatalf("nothing old is left, OlderThan says %d", due)
	}
	if n, err := j.Prune(ctx, 99999); err != nil || n != 5000 {
		t.Fatalf("prune all: %d, %v", n, err)
	}
	// The ring must not serve what is gone from disk.
	if got, _ := j.Read(ctx, 11990, 100); len(got) != 0 {
		t.Fatalf("pruned records still readable: %d", len(got))
	}
	if err := j.SaveCheckpoint("x", 12000, []byte("state")); err != nil {
		t.Fatal(err)
	}
	j.Close()

	// Empty after pruning, the sequence continues after a reopen.
	j, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.Head() != 12000 || j.Oldest() != 12001 {
		t.Fatalf("reopened pruned-empty journal: head %d oldest %d", j.Head(), j.Oldest())
	}
	if err := j.Append(ctx, []Record{rec(1)}); err == nil {
		t.Fatal("a reused seq was accepted after pruning")
	}
	if err := j.Append(ctx, []Record{rec(12001)}); err != nil {
		t.Fatal(err)
	}
	if j.Oldest() != 12001 {
		t.Fatalf("oldest %d after append", j.Oldest())
	}
	seq, body, ok, err := j.Checkpoint("x")
	if err != nil || !ok || seq != 12000 || string(body) != "state" || j.CheckpointSeq("x") != 12000 || j.CheckpointSeq("none") != 0 {
		t.Fatalf("checkpoint: %d %q %v %v", seq, body, ok, err)
	}
}

// A record stamped in the past after a clock step back does not make the
// newer records before it look old: only the leading run goes.
func TestOlderThanStopsAtTheFirstNewRecord(t *testing.T) {
	ctx := context.Background()
	j, err := Open(filepath.Join(t.TempDir(), "j.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	stamps := []int64{10, 20, 500, 30, 40, 600}
	for i, ms := range stamps {
		r := rec(uint64(i + 1))
		r.TS = time.UnixMilli(ms)
		if err := j.Append(ctx, []Record{r}); err != nil {
			t.Fatal(err)
		}
	}
	if due, _ := j.OlderThan(ctx, time.UnixMilli(100)); due != 2 {
		t.Fatalf("OlderThan: %d, want 2", due)
	}
	if due, _ := j.OlderThan(ctx, time.UnixMilli(1000)); due != 6 {
		t.Fatalf("OlderThan everything: %d, want 6", due)
	}
}

// BenchmarkPruneDay: finding and deleting a busy day's events (20,000) at the
// front of a journal, as the hourly pass does once a day has aged out.
func BenchmarkPruneDay(b *testing.B) {
	ctx := context.Background()
	const day = 20000
	j, err := Open(filepath.Join(b.TempDir(), "j.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	body := make([]byte, 300) // a typical event is ~360 bytes with its envelope
	for i := range body {
		body[i] = 'x'
	}
	appendDay := func() {
		head := j.Head()
		recs := make([]Record, day)
		for i := range recs {
			s := head + uint64(i) + 1
			recs[i] = Record{Seq: s, ID: fmt.Sprint("id-", s), Type: "t", TS: time.UnixMilli(int64(s)), Body: body}
		}
		if err := j.Append(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	for range 5 {
		appendDay()
	}
	for b.Loop() {
		b.StopTimer()
		appendDay()
		b.StartTimer()
		due, err := j.OlderThan(ctx, time.UnixMilli(int64(j.Oldest()+day)))
		if err != nil || due != j.Oldest()+day-1 {
			b.Fatalf("due %d, oldest %d: %v", due, j.Oldest(), err)
		}
		if n, err := j.Prune(ctx, due); err != nil || n != day {
			b.Fatalf("pruned %d: %v", n, err)
		}
	}
	b.ReportMetric(day, "events/op")
}

// A backup taken while the journal is open and being written holds every
// record, the meta and the checkpoints, and opens as a journal.
func TestBackupWhileRunning(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	j, err := Open(filepath.Join(dir, "j.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for s := uint64(1); s <= 500; s++ {
		if err := j.Append(ctx, []Record{rec(s)}); err != nil {
			t.Fatal(err)
		}
	}
	j.SetMeta("uplink_cursor", "480")
	j.SaveCheckpoint("hall", 500, []byte("state"))
	dest := filepath.Join(dir, "backup.db")
	if err := Backup(ctx, j.Path(), dest); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(ctx, []Record{rec(501)}); err != nil { // the live journal goes on
		t.Fatal(err)
	}
	if err := Backup(ctx, j.Path(), dest); err == nil {
		t.Fatal("a backup overwrote an existing file")
	}
	b, err := Open(dest, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, _ := b.Read(ctx, 0, 1000)
	cur, _, _ := b.Meta("uplink_cursor")
	if b.Head() != 500 || len(got) != 500 || string(got[499].Body) != string(rec(500).Body) || cur != "480" || b.CheckpointSeq("hall") != 500 {
		t.Fatalf("backup: head %d, %d records, cursor %q, checkpoint %d", b.Head(), len(got), cur, b.CheckpointSeq("hall"))
	}
}
