package app

import (
	"path/filepath"
	"testing"
	"time"

	"halld/daemon/config"
	"halld/daemon/journal"
	"halld/daemon/uplink"
)

// TestUplinkPacingFromConfig: mqtt.uplink's pacing keys reach the uplink, and without them halld runs
// with the hall-practice defaults (live first, 5,000/s catch-up: config's old default of 500/s used to
// override the uplink's own and throttle the catch-up).
func TestUplinkPacingFromConfig(t *testing.T) {
	const head = "hall:\n  id: h\n  name: 测试大厅\n  opening_hours: [{days: [mon], open: \"09:00\", close: \"17:00\"}]\n"
	for _, tc := range []struct {
		name, uplink string
		want         uplink.Pacing
	}{
		{"defaults", `{url: "tcp://127.0.0.1:1"}`, uplink.Pacing{MaxRate: 5000, Window: 32, LiveFirst: true,
			Heartbeat: 30 * time.Second, ReconnectMin: 100 * time.Millisecond, ReconnectMax: 1500 * time.Millisecond,
			MaxConnectsPerMinute: 10}},
		{"set", `{url: "tcp://127.0.0.1:1", max_rate: 700, max_inflight: 8, live_first: false, heartbeat: 1m,
  reconnect_min: 200ms, reconnect_max: 4s, max_connects_per_minute: 6}`, uplink.Pacing{MaxRate: 700, Window: 8,
			Heartbeat: time.Minute, ReconnectMin: 200 * time.Millisecond, ReconnectMax: 4 * time.Second,
			MaxConnectsPerMinute: 6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("t.yaml", []byte(head+"mqtt:\n  uplink: "+tc.uplink+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), journal.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			u, err := newUplink(cfg, j, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := u.Pacing(); got != tc.want {
				t.Errorf("pacing\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
