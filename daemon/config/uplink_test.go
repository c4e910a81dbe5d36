package config

import (
	"testing"
	"time"
)

// TestUplinkPacingDefaults: without the keys the uplink gets the hall-practice pacing (what
// daemon/uplink/README.md documents), live_first on; each key can be set.
func TestUplinkPacingDefaults(t *testing.T) {
	cfg := wantErrs(t, hallHead+"mqtt:\n  uplink: {url: \"tcp://c.example.org:1883\"}\n")
	u := cfg.MQTT.Uplink
	if u.MaxRate != 5000 || u.MaxInflight != 32 || u.MaxConnectsPerMinute != 10 ||
		u.ReconnectMinDuration() != 100*time.Millisecond || u.ReconnectMaxDuration() != 1500*time.Millisecond ||
		u.HeartbeatDuration() != 30*time.Second || !u.LiveFirstOn() {
		t.Errorf("defaults: %+v (live_first %v)", u, u.LiveFirstOn())
	}

	cfg = wantErrs(t, hallHead+"mqtt:\n  uplink:\n    url: tcp://c.example.org:1883\n    max_rate: 800\n"+
		"    max_inflight: 8\n    reconnect_min: 250ms\n    reconnect_max: 20s\n    max_connects_per_minute: 5\n"+
		"    heartbeat: 1m\n    live_first: false\n")
	u = cfg.MQTT.Uplink
	if u.MaxRate != 800 || u.MaxInflight != 8 || u.MaxConnectsPerMinute != 5 ||
		u.ReconnectMinDuration() != 250*time.Millisecond || u.ReconnectMaxDuration() != 20*time.Second ||
		u.HeartbeatDuration() != time.Minute || u.LiveFirstOn() {
		t.Errorf("set: %+v (live_first %v)", u, u.LiveFirstOn())
	}
	// null means unset: the default.
	cfg = wantErrs(t, hallHead+"mqtt:\n  uplink: {url: \"tcp://c.example.org:1883\", live_first: null}\n")
	if !cfg.MQTT.Uplink.LiveFirstOn() {
		t.Error("live_first: null should be the default (true)")
	}
}

// TestUplinkPacingBounds: halld check refuses pacing that would get a hall banned, flood the cluster or
// leave it dark, naming the field.
func TestUplinkPacingBounds(t *testing.T) {
	up := func(kv string) string {
		return hallHead + "mqtt:\n  uplink:\n    url: tcp://c.example.org:1883\n    " + kv + "\n"
	}
	wantErrs(t, up("max_rate: 0"), `t.yaml:9:5: mqtt.uplink.max_rate: must be an integer from 1 to 100000, got 0`)
	wantErrs(t, up("max_inflight: 5000"), `t.yaml:9:5: mqtt.uplink.max_inflight: must be an integer from 1 to 1024, got 5000`)
	wantErrs(t, up("max_connects_per_minute: 0"), `t.yaml:9:5: mqtt.uplink.max_connects_per_minute: must be an integer from 1 to 60, got 0`)
	wantErrs(t, up("reconnect_min: 1ms"), `t.yaml:9:5: mqtt.uplink.reconnect_min: must be a duration from 10ms to 10s, got "1ms"`)
	wantErrs(t, up("reconnect_max: 1h"), `t.yaml:9:5: mqtt.uplink.reconnect_max: must be a duration from 100ms to 5m, got "1h"`)
	wantErrs(t, up("heartbeat: 1s"), `t.yaml:9:5: mqtt.uplink.heartbeat: must be a duration from 5s to 1h, got "1s"`)
	wantErrs(t, up("live_first: yes"), `t.yaml:9:5: mqtt.uplink.live_first: must be true or false, got "yes"`)
	wantErrs(t, up("reconnect_min: 5s\n    reconnect_max: 2s"),
		`t.yaml:10:5: mqtt.uplink.reconnect_max: must be at least reconnect_min (5s), got "2s"`)
}
