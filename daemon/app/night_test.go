package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"halld/daemon/hall"
	"halld/daemon/journal"
	"halld/drivers/terminal/termsim"
)

// nightYAML is a hall that is closed whenever the test runs: open only on
// Mondays 09:00–09:01, and the dates around both the injected clock and the
// real one are public holidays. Its 24-hour area has a terminal on the
// embedded hall broker; the uplink goes to a real mosquitto.
const nightYAML = `
hall:
  id: test-hall
  name: 湖南湘江新区政务服务大厅
  timezone: Asia/Shanghai
  opening_hours:
    - {days: [mon], open: "09:00", close: "09:01"}
holidays:
%smqtt:
  broker: {embedded: true, listen: "127.0.0.1:0"}
  uplink: {url: "%s", node: edge-1}
storage:
  dir: %s
areas:
  - {id: front, name: 前窗审批服务区}
  - {id: self-24h, name: 24小时自助服务区, open_24h: true}
services:
  - {id: tax, prefix: B, name: 税务, area: front}
  - {id: self-print, prefix: Z, name: 自助打印, area: self-24h}
devices:
  - {id: terminal-1, kind: terminal, area: self-24h, password_file: %s}
`

// sunday3am is the hall's clock in this test: the middle of the night, on
// a Sunday, on a holiday.
func sunday3am() time.Time {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	return time.Date(2026, 11, 29, 3, 0, 0, 0, loc)
}

// TestTwentyFourHourAreaAlertsAtNight: the hall is closed, its 24-hour area
// is not. A terminal there (a real termsim on the embedded hall broker)
// heartbeats, has its maintenance door opened, reports a fault, and finally
// loses power. Each is an alert — in the journal, on the monitor's snapshot,
// and at the central server — although the hall is closed.
//
// Why this fails if alerting depended on opening hours: the hall is closed
// at every clock halld could consult. The engine runs on the injected clock
// (Sunday 03:00, a holiday); the terminal watcher, the uplink and anything
// else reading time.Now see the real time, and the real dates around now are
// holidays too (and the only opening hours are Monday 09:00–09:01). The test
// first checks that the hall really is closed — the snapshot says open:
// false and a ticket for the front area is refused as service_closed — so a
// rule like "raise device alerts only while cfg.IsOpen(now)" anywhere on the
// way (watcher, app wiring, engine rules, uplink) would leave these alerts
// unraised and the waits below would time out. The 24-hour self-service
// still issues tickets, as open_24h promises.
func TestTwentyFourHourAreaAlertsAtNight(t *testing.T) {
	url := startMosquitto(t)
	central := subscribe(t, url, "hall/#")
	dir := t.TempDir()

	loc, _ := time.LoadLocation("Asia/Shanghai")
	var holidays strings.Builder
	dates := map[string]bool{}
	for _, d := range []time.Time{sunday3am(), time.Now().In(loc).AddDate(0, 0, -1), time.Now().In(loc), time.Now().In(loc).AddDate(0, 0, 1)} {
		if day := d.Format("2006-01-02"); !dates[day] {
			dates[day] = true
			fmt.Fprintf(&holidays, "  - {date: \"%s\", name: 测试假日}\n", day)
		}
	}
	secret := filepath.Join(dir, "terminal-1.secret")
	if err := os.WriteFile(secret, []byte("night-secret-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(nightYAML, holidays.String(), url, filepath.Join(dir, "data"), secret)
	h := startHallAt(t, dir, yaml, sunday3am, nil)

	// The premise: the hall is closed now, its 24-hour area is not.
	type snapshot struct {
		Hall struct {
			Open bool `json:"open"`
		} `json:"hall"`
		Alerts []struct {
			AlertID  string `json:"alert_id"`
			Kind     string `json:"kind"`
			Severity string `json:"severity"`
			Message  string `json:"message"`
		} `json:"alerts"`
	}
	snap := func() snapshot {
		var s struct{ Data *snapshot }
		code, body := getStatus(h.base + "/api/v1/snapshot")
		if err := json.Unmarshal(body, &s); code != 200 || err != nil || s.Data == nil {
			t.Fatalf("snapshot: %d %v %.300s", code, err, body)
		}
		return *s.Data
	}
	if snap().Hall.Open {
		t.Fatal("the snapshot says the hall is open: the test would not show alerting outside opening hours")
	}
	if code, body := postJSON(t, h.base+"/api/v1/tickets", `{"service":"tax"}`); code != 409 {
		t.Fatalf("a front-area ticket at night: %d %v, want 409 service_closed", code, body)
	}
	if code, body := postJSON(t, h.base+"/api/v1/tickets", `{"service":"self-print"}`); code != 201 {
		t.Fatalf("a 24-hour-area ticket at night: %d %v", code, body)
	}

	// alert finds an open alert on the monitor's snapshot.
	alert := func(pred func(id, kind, severity, msg string) bool) bool {
		for _, a := range snap().Alerts {
			if pred(a.AlertID, a.Kind, a.Severity, a.Message) {
				return true
			}
		}
		return false
	}
	// centralAlert finds an alert.raised event at the central server.
	centralAlert := func(id, kind string) bool {
		for _, e := range central.events() {
			if e["type"] == hall.TypeAlertRaised && e["alert_id"] == id && e["kind"] == kind {
				return true
			}
		}
		return false
	}

	// The terminal logs in to the hall broker with its id and password and
	// heartbeats every 200 ms.
	brokerURL, _ := h.a.Terminals.PadUser("terminal-1")
	term := termsim.New(brokerURL, "test-hall", "terminal-1", "night-secret-1", termsim.Options{Heartbeat: 200 * time.Millisecond})
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := term.Start(sctx)
	cancel()
	if err != nil {
		t.Fatalf("terminal did not connect to the hall broker: %v", err)
	}
	defer term.Stop()
	waitState(t, h, "terminal-1", "ready", 10*time.Second)
	if alert(func(id, _, _, _ string) bool { return id == "device-terminal-1" }) {
		t.Fatal("a ready terminal has a device alert")
	}

	// 03:00, maintenance door opened: someone is at the terminal at night.
	term.SetDoor(true)
	waitState(t, h, "terminal-1", "degraded", 10*time.Second)
	waitFor(t, "door-open alert on the snapshot at night", 10*time.Second, func() bool {
		return alert(func(id, kind, _, _ string) bool { return id == "device-terminal-1" && kind == "device_degraded" })
	})
	term.SetDoor(false)
	waitState(t, h, "terminal-1", "ready", 10*time.Second)
	waitFor(t, "door alert cleared", 10*time.Second, func() bool {
		return !alert(func(id, _, _, _ string) bool { return id == "device-terminal-1" })
	})

	// A fault event from the terminal.
	_, err = term.Fault("E101", "出纸口卡纸")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "terminal fault alert on the snapshot at night", 10*time.Second, func() bool {
		return alert(func(id, kind, _, msg string) bool {
			return id == hall.CauseAlertID("terminal-1", "E101") && kind == "terminal_fault" && strings.Contains(msg, "出纸口卡纸")
		})
	})

	// Power cut: the broker publishes the terminal's will ($state lost).
	term.Kill()
	waitState(t, h, "terminal-1", "offline", 10*time.Second)
	waitFor(t, "offline alert on the snapshot at night", 10*time.Second, func() bool {
		return alert(func(id, kind, sev, _ string) bool {
			return id == "device-terminal-1" && kind == "device_offline" && sev == "critical"
		})
	})

	// The central server hears of each, at night too.
	waitFor(t, "the alerts at the central server", 15*time.Second, func() bool {
		return centralAlert("device-terminal-1", "device_degraded") && centralAlert(hall.CauseAlertID("terminal-1", "E101"), "terminal_fault") &&
			centralAlert("device-terminal-1", "device_offline")
	})

	// And the journal holds them, stamped at the hall's night-time clock.
	raised := map[string]string{}
	h.a.Journal.Scan(context.Background(), 0, func(r journal.Record) error {
		if r.Type != hall.TypeAlertRaised {
			return nil
		}
		var e struct {
			AlertID string `json:"alert_id"`
			Kind    string `json:"kind"`
			TS      string `json:"ts"`
		}
		json.Unmarshal(r.Body, &e)
		raised[e.Kind] = e.TS
		if !bytes.HasPrefix([]byte(e.TS), []byte("2026-11-29T03:00")) {
			t.Errorf("alert %s stamped %s, not at the hall's clock (Sunday 03:00)", e.AlertID, e.TS)
		}
		return nil
	})
	for _, k := range []string{"device_degraded", "terminal_fault", "device_offline"} {
		if _, ok := raised[k]; !ok {
			t.Errorf("no %s alert in the journal (raised: %v)", k, raised)
		}
	}
	if snap().Hall.Open {
		t.Error("the hall opened during the test: its premise no longer holds")
	}
}
