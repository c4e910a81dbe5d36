package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"halld/daemon/journal"
)

// halld backup copies the journal named by a config, and refuses clearly.
func TestBackupCommand(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "devices.yaml")
	// The token file does not exist: run and check refuse that, but a backup
	// needs only the storage dir and must not be stopped by it.
	os.WriteFile(cfg, []byte(fmt.Sprintf("hall: {id: b, name: 备份测试, opening_hours: [{days: [mon], open: \"09:00\", close: \"17:00\"}]}\nstorage: {dir: %s}\n"+
		"http: {tokens: [{name: ops, file: missing.token, scopes: [it]}]}\n", data)), 0o644)
	j, err := journal.Open(filepath.Join(data, "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for s := uint64(1); s <= 20; s++ {
		j.Append(context.Background(), []journal.Record{{Seq: s, ID: fmt.Sprint("e", s), Type: "t", Body: []byte("{}")}})
	}
	dest := filepath.Join(dir, "copy.db")
	var out, errb bytes.Buffer
	if code := run([]string{"backup", "-config", cfg, dest}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "journal of hall b backed up") {
		t.Fatalf("output %q", out.String())
	}
	b, err := journal.Open(dest, journal.Options{})
	if err != nil || b.Head() != 20 {
		t.Fatalf("copy: %v, head %d", err, b.Head())
	}
	b.Close()
	errb.Reset()
	if code := run([]string{"backup", "-config", cfg, dest}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "exists") {
		t.Fatalf("overwrite: exit %d, %q", code, errb.String())
	}
	if code := run([]string{"backup", "-config", cfg}, &out, &errb); code != 2 {
		t.Fatalf("no DEST: exit %d", code)
	}
}
