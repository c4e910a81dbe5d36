package app_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"halld/daemon/hall"
)

// The central server acknowledges and closes alerts over MQTT, with the
// rules the monitoring room has: a printer still out of paper cannot be
// closed; the actions reach central as events naming it.
func TestCentralAlertCommandsOverMQTT(t *testing.T) {
	url := startMosquitto(t)
	central := subscribe(t, url, "hall/#")
	dir := t.TempDir()
	yaml := strings.Replace(fmt.Sprintf(hallYAML, filepath.Join(dir, "data")), "storage:", "mqtt:\n  uplink: {url: \""+url+"\", node: edge-1}\nstorage:", 1)
	var logs syncBuffer
	h := startHallYAML(t, dir, yaml, &logs)
	waitState(t, h, "printer-1", "ready", 5*time.Second)
	waitFor(t, "$state ready", 10*time.Second, func() bool {
		st := central.all()["hall/test-hall/edge-1/$state"]
		return len(st) > 0 && string(st[len(st)-1]) == "ready"
	})
	h.a.Sims.Simulate("printer-1", "paper_end", "")
	waitFor(t, "the printer's alert at central", 10*time.Second, func() bool {
		for _, e := range central.events() {
			if e["type"] == hall.TypeAlertRaised && e["alert_id"] == "device-printer-1" {
				return true
			}
		}
		return false
	})
	pub := func(name, body string) {
		central.c.Publish("hall/test-hall/edge-1/cmd/"+name, 1, false, body).Wait()
	}
	pub("alert.ack", `{"id":"a-1","args":{"id":"device-printer-1","note":"中心已知悉","by":"wang"}}`)
	pub("alert.close", `{"id":"a-2","args":{"id":"device-printer-1","note":"远程关闭"}}`)
	results := func(name string) [][]byte { return central.all()["hall/test-hall/edge-1/cmd/"+name+"/result"] }
	waitFor(t, "both results", 10*time.Second, func() bool { return len(results("alert.ack")) == 1 && len(results("alert.close")) == 1 })
	if r := results("alert.ack")[0]; !bytes.Contains(r, []byte(`"ok":true`)) {
		t.Fatalf("ack: %s", r)
	}
	if r := results("alert.close")[0]; !bytes.Contains(r, []byte(`"ok":false`)) || !bytes.Contains(r, []byte("condition_holds")) {
		t.Fatalf("close of a printer still out of paper: %s", r)
	}
	waitFor(t, "the acknowledgement at central, naming it", 10*time.Second, func() bool {
		for _, e := range central.events() {
			if e["type"] == hall.TypeAlertAcknowledged && e["by"] == "central/wang" && e["note"] == "中心已知悉" {
				return true
			}
		}
		return false
	})
}
