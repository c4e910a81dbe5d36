package journal

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func wantMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s is %#o, want %#o", filepath.Base(path), got, want)
	}
}

// With a permissive umask the journal, its -wal and -shm, the directory Open
// makes and a backup are still private; an existing world-readable journal
// is tightened at open.
func TestJournalAndBackupArePrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "journal.db")
	j, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(ctx, []Record{rec(1), rec(2)}); err != nil {
		t.Fatal(err)
	}
	if err := j.SaveCheckpoint("hall", 2, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	wantMode(t, dir, 0o750)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		wantMode(t, p, 0o600)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	if err := Backup(ctx, path, backup); err != nil {
		t.Fatal(err)
	}
	wantMode(t, backup, 0o600)
	if err := Backup(ctx, path, backup); err == nil {
		t.Fatal("backup over an existing file")
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	// The backup is a whole journal.
	b, err := Open(backup, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Head() != 2 {
		t.Fatalf("backup head %d", b.Head())
	}
	b.Close()

	// A journal written by an older halld: world-readable, tightened at open.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if _, err := os.Stat(p); err == nil {
			os.Chmod(p, 0o644)
		}
	}
	os.WriteFile(path+"-shm", nil, 0o666) // SQLite rebuilds it
	os.Chmod(path+"-shm", 0o666)
	j, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.Head() != 2 {
		t.Fatalf("reopened head %d", j.Head())
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		wantMode(t, p, 0o600)
	}
}
