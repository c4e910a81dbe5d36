package engine_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"halld/daemon/hall"
	"halld/daemon/journal"
)

// TestDiskFull fills the filesystem under the journal: appends fail with a
// clear storage_failed, nothing half-done is visible, no number is used up;
// when space returns, halld goes on with no gap and the database checks clean.
func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" && os.Geteuid() == 0 {
			t.Fatalf("mount tmpfs: %v %s", err, out)
		}
		t.Skipf("cannot mount a small filesystem here: %s", out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })

	cfg, j, _ := setupAt(t, filepath.Join(dir, "j.db"))
	e, stop := start(t, cfg, j)
	defer stop()
	var issued []string
	for i := 0; i < 20; i++ {
		res, err := e.Submit(context.Background(), hall.IssueTicket{Service: "s"})
		if err != nil {
			t.Fatal(err)
		}
		issued = append(issued, res.Ticket.Number)
	}
	filler := filepath.Join(dir, "filler")
	f, _ := os.Create(filler)
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break // the disk is full
		}
	}
	f.Close()

	var failure error
	for i := 0; i < 5000 && failure == nil; i++ {
		res, err := e.Submit(context.Background(), hall.IssueTicket{Service: "s"})
		if err != nil {
			failure = err
			break
		}
		issued = append(issued, res.Ticket.Number)
	}
	var re *hall.RuleError
	if !errors.As(failure, &re) || re.Code != "storage_failed" || e.StorageErr() == nil {
		t.Fatalf("with the disk full: %v (after %d tickets)", failure, len(issued))
	}
	v, _ := e.Query(context.Background(), func(st *hall.State) any { return st.Counters["s"] })
	if v.(int) != len(issued) {
		t.Fatalf("a refused ticket used up a number: counter %v, %d issued", v, len(issued))
	}
	// Space returns: the next ticket is the next number.
	os.Remove(filler)
	res, err := e.Submit(context.Background(), hall.IssueTicket{Service: "s"})
	if err != nil {
		t.Fatalf("after space returned: %v", err)
	}
	if want := fmt.Sprintf("A%03d", len(issued)+1); res.Ticket.Number != want || e.StorageErr() != nil {
		t.Fatalf("after space returned: %s, want %s (storage err %v)", res.Ticket.Number, want, e.StorageErr())
	}
	stop()
	j.Close()
	db, err := sql.Open("sqlite", filepath.Join(dir, "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	j2, err := journal.Open(filepath.Join(dir, "j.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	var n uint64
	j2.Scan(context.Background(), 0, func(r journal.Record) error {
		n++
		if r.Seq != n {
			t.Fatalf("gap: seq %d at %d", r.Seq, n)
		}
		return nil
	})
	t.Logf("disk full after %d tickets; refused cleanly; recovered at %s; %d events, integrity ok", len(issued), res.Ticket.Number, n)
}
