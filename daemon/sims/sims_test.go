package sims

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"halld/daemon/config"
	"halld/drivers/idcard"
)

func TestDemoCardsAreValidAndAsDescribed(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for which, age := range map[string]int{"resident": 36, "elder": 76, "expired": 76} {
		c, ok := DemoCard(which)
		if !ok || !idcard.ValidNumber(c.Number) {
			t.Fatalf("%s: ok=%v number %q not valid", which, ok, c.Number)
		}
		if got := c.Age(now); got != age {
			t.Errorf("%s: aged %d, want %d", which, got, age)
		}
	}
	if _, ok := DemoCard("nobody"); ok {
		t.Error("an unknown demo card was made up")
	}
}

// A real device gets its configured port; a simulated one a pty whose
// simulator the set then drives, and unplug/replug reach its port.
func TestAttachAndSimulate(t *testing.T) {
	var s Set
	defer s.Close()
	dir := t.TempDir()
	real := &config.Device{ID: "idr-real", Kind: config.KindIDReader, Serial: &config.Serial{Port: "/dev/ttyUSB7"}}
	sp, err := s.AttachIDReader(real, dir)
	if err != nil || sp.Path != "/dev/ttyUSB7" {
		t.Fatalf("real reader: %v, %q", err, sp.Path)
	}
	if err := s.Simulate("idr-real", "place_resident", ""); err == nil || !strings.Contains(err.Error(), "不是模拟设备") {
		t.Fatalf("simulating a real device: %v", err)
	}
	sim := &config.Device{ID: "idr-1", Kind: config.KindIDReader, Simulate: true}
	sp, err = s.AttachIDReader(sim, dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(sp.Path) != filepath.Join(dir, "sim") && !strings.HasPrefix(sp.Path, "/dev/pts/") {
		t.Fatalf("simulated reader's port %q", sp.Path)
	}
	if err := s.Simulate("idr-1", "place_resident", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Simulate("idr-1", "place_nobody", ""); err == nil || !strings.Contains(err.Error(), "place_elder") {
		t.Fatalf("an unknown card action: %v (want the list of actions)", err)
	}
	if err := s.Simulate("idr-1", "unplug", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Simulate("idr-1", "replug", ""); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Reader("idr-1"); !ok {
		t.Fatal("the simulated reader is not in the set")
	}
}
