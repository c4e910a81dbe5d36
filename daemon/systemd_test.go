package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestSystemdUnit checks systemd/halld.service the way systemd itself reads
// it: `systemd-analyze verify` accepts it, and its sandbox keeps the exposure
// score low (systemd-analyze security; 10 is wide open).
func TestSystemdUnit(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze missing on CI (package systemd)")
		}
		t.Skip("no systemd-analyze")
	}
	unit, err := os.ReadFile("../systemd/halld.service")
	if err != nil {
		t.Fatal(err)
	}
	text := string(unit)
	for _, want := range []string{"Type=notify", "WatchdogSec=", "Restart=on-failure", "SupplementaryGroups=dialout",
		"StateDirectory=halld", "NoNewPrivileges=yes", "ProtectSystem=strict", "DevicePolicy=closed"} {
		if !strings.Contains(text, want) {
			t.Errorf("unit lacks %s", want)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "halld.service")
	os.WriteFile(path, []byte(strings.ReplaceAll(text, "/usr/local/bin/halld", halldBin)), 0o644)
	if out, err := exec.Command(sa, "verify", path).CombinedOutput(); err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command(sa, "security", "--offline=true", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for halld.service: ([0-9.]+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no exposure score in:\n%s", out)
	}
	score, _ := strconv.ParseFloat(m[1], 64)
	if score > 3.0 {
		t.Fatalf("exposure %.1f > 3.0: the unit's sandbox was loosened", score)
	}
	t.Logf("systemd-analyze security exposure: %.1f", score)
}
