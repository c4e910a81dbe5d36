package staffpin

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestHashIsSaltedAndFileIsPrivate(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 5, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := s.Set("s1", "123", now); !errors.Is(err, ErrBadPIN) {
		t.Fatalf("short PIN: %v", err)
	}
	if err := s.Set("s1", "2468", now); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("s2", "2468", now); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, FileName))
	if bytes.Contains(b, []byte("2468")) {
		t.Fatal("the PIN is in the file")
	}
	var m map[string]entry
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(m["s1"].Salt, m["s2"].Salt) || bytes.Equal(m["s1"].Hash, m["s2"].Hash) || m["s1"].Rounds < 100_000 {
		t.Fatal("the same PIN gives the same hash: not salted")
	}
	if r, err := s.Check("s1", "2468", now); err != nil || !r.OK {
		t.Fatalf("right PIN: %v %v", r, err)
	}
	// Readable by others: refused.
	os.Chmod(filepath.Join(dir, FileName), 0o644)
	if _, err := Open(dir, 5, time.Minute); err == nil {
		t.Fatal("a world-readable PIN file was accepted")
	}
}

func TestLockoutSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	s, _ := Open(dir, 5, 15*time.Minute)
	if err := s.Set("s1", "2468", now); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		r, err := s.Check("s1", "0000", now)
		if !errors.Is(err, ErrWrong) || r.Failures != i || r.Remaining != 5-i {
			t.Fatalf("attempt %d: %+v %v", i, r, err)
		}
	}
	// A restart in between keeps the count.
	s, _ = Open(dir, 5, 15*time.Minute)
	r, err := s.Check("s1", "0000", now)
	if !errors.Is(err, ErrLocked) || !r.JustLocked || !r.LockedUntil.Equal(now.Add(15*time.Minute)) {
		t.Fatalf("fifth: %+v %v", r, err)
	}
	s, _ = Open(dir, 5, 15*time.Minute)
	if _, err := s.Check("s1", "2468", now.Add(14*time.Minute)); !errors.Is(err, ErrLocked) {
		t.Fatalf("the right PIN while locked after a restart: %v", err)
	}
	if st := s.Status("s1", now.Add(time.Minute)); st.LockedUntil == nil || st.Remaining != 0 {
		t.Fatalf("status %+v", st)
	}
	// After the lock-out the right PIN works and the count starts again.
	if r, err := s.Check("s1", "2468", now.Add(16*time.Minute)); err != nil || !r.OK || !r.WasLocked {
		t.Fatalf("after the lock: %+v %v", r, err)
	}
	if st := s.Status("s1", now.Add(16*time.Minute)); st.Failures != 0 || st.Remaining != 5 {
		t.Fatalf("status %+v", st)
	}
	// A supervisor's unlock.
	for range 5 {
		s.Check("s1", "1111", now.Add(20*time.Minute))
	}
	if ok, err := s.Unlock("s1"); !ok || err != nil {
		t.Fatal("unlock", ok, err)
	}
	if r, err := s.Check("s1", "2468", now.Add(21*time.Minute)); err != nil || !r.OK {
		t.Fatalf("after unlock: %v", err)
	}
}
