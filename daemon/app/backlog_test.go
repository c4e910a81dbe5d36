package app

import (
	"testing"
	"time"

	"halld/daemon/hall"
	"halld/daemon/uplink"
)

func TestUplinkBacklogAlert(t *testing.T) {
	for _, c := range []struct {
		name string
		st   uplink.Status
		want string // raise:<severity>, clear, or ""
	}{
		{"nothing pending", uplink.Status{Connected: true}, "clear"},
		{"catching up", uplink.Status{Connected: true, Lag: 5000, OldestUnsent: 30 * time.Second}, "clear"},
		{"between the levels", uplink.Status{Connected: true, Lag: 5000, OldestUnsent: 5 * time.Minute}, ""},
		{"slow link", uplink.Status{Connected: true, Lag: 12, OldestUnsent: 11 * time.Minute}, "raise:warning"},
		{"down for hours", uplink.Status{Lag: 90000, OldestUnsent: 3 * time.Hour}, "raise:critical"},
	} {
		got := ""
		switch c := backlogCommand(c.st).(type) {
		case hall.RaiseAlert:
			got = "raise:" + c.Severity
			if c.AlertID != backlogAlertID || c.Kind != "uplink_backlog" || c.Message == "" {
				t.Errorf("raise: %+v", c)
			}
		case hall.ClearAlert:
			got = "clear"
		}
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
