package pii

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyAndHash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pii.key")
	k1, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode().Perm())
	}
	k2, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	id := "43010219800101123x"
	if k1.Hash(id) != k2.Hash(" 43010219800101123X ") {
		t.Fatal("hash not stable across loads and normalisation")
	}
	if strings.Contains(k1.Hash(id), "1123") || len(k1.Hash(id)) != 64 {
		t.Fatal("hash leaks or has the wrong size")
	}
	other, _ := LoadOrCreate(filepath.Join(t.TempDir(), "other.key"))
	if other.Hash(id) == k1.Hash(id) {
		t.Fatal("different keys give the same hash: it is not keyed")
	}
	os.Chmod(path, 0o644)
	if _, err := LoadOrCreate(path); err == nil {
		t.Fatal("a world-readable key was accepted")
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{"43010219800101123X": "**************123X", "1234": "****", "预约码AB12": "***AB12", "": ""} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
	if Last4("43010219800101123x") != "123X" {
		t.Error("Last4")
	}
}
