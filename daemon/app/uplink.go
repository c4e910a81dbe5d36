package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"halld/daemon/config"
	"halld/daemon/journal"
	"halld/daemon/supervisor"
	"halld/daemon/uplink"
	"halld/drivers/device"
)

// newUplink builds the central uplink from the config; credentials come
// from their own files, never from devices.yaml.
func newUplink(cfg *config.Config, j *journal.Journal, log *slog.Logger) (*uplink.Uplink, error) {
	uc := cfg.MQTT.Uplink
	read := func(path string) (string, error) {
		if path == "" {
			return "", nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("uplink: %w", err)
		}
		return string(trimSpace(b)), nil
	}
	user, err := read(uc.UsernameFile)
	if err != nil {
		return nil, err
	}
	pass, err := read(uc.PasswordFile)
	if err != nil {
		return nil, err
	}
	node := uc.Node
	if node == "" {
		node = "halld"
	}
	clientID := uc.ClientID
	if clientID == "" {
		clientID = cfg.Hall.ID + "-" + node
	}
	boot := time.Now()
	return uplink.New(j, uplink.Options{URL: uc.URL, ClientID: clientID, Hall: cfg.Hall.ID, Node: node,
		Username: user, Password: pass, CAFile: uc.CAFile, CertFile: uc.CertFile, KeyFile: uc.KeyFile,
		MaxRate: uc.MaxRate, Batch: uc.MaxInflight, LiveFirst: uc.LiveFirstOn(), Heartbeat: uc.HeartbeatDuration(),
		ReconnectMin: uc.ReconnectMinDuration(), ReconnectMax: uc.ReconnectMaxDuration(), MaxConnectsPerMinute: uc.MaxConnectsPerMinute, Log: log,
		Info: func() any {
			var devs []string
			for _, d := range cfg.Devices {
				devs = append(devs, d.ID)
			}
			return map[string]any{"fw": Version(), "model": "halld", "bootTs": boot.UnixMilli(), "hall": cfg.Hall.Name, "devices": devs}
		}})
}

// anyFault tells whether some device is in fault: the node's $state is
// then "alert" (docs/protocols.md §4.2).
func anyFault(sup *supervisor.Supervisor) bool {
	if sup == nil {
		return false
	}
	for _, i := range sup.Infos() {
		if i.State == device.StateFault {
			return true
		}
	}
	return false
}

// deviceStatus is a device's retained status payload (docs/protocols.md §4.2).
func deviceStatus(kind, state, reason string, detail map[string]any) map[string]any {
	out := map[string]any{"kind": kind, "state": state, "ts": time.Now().UnixMilli()}
	if reason != "" {
		out["reason"] = reason
	}
	for k, v := range detail {
		if _, taken := out[k]; !taken {
			out[k] = v
		}
	}
	return out
}

// heartbeat republishes every device's status each minute, so the central
// side can tell a quiet device from a stale one (3 missed = stale).
func heartbeat(u *uplink.Uplink, sup *supervisor.Supervisor) func(context.Context) {
	return func(context.Context) {
		for _, i := range sup.Infos() {
			u.PublishDeviceStatus(i.ID, deviceStatus(i.Kind, i.State, i.Reason, i.Detail))
		}
	}
}
