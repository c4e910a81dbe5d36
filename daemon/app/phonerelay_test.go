package app_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"halld/daemon/phonetoken"
	"halld/daemon/web"
)

const relayYAML = `
hall:
  id: test-hall
  name: 湖南湘江新区政务服务大厅
  timezone: Asia/Shanghai
  phone_url: "https://relay.example/t/"
  opening_hours:
    - {days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}
mqtt:
  uplink: {url: "%s", node: edge-1}
storage:
  dir: %s
areas:
  - {id: front, name: 前窗审批服务区}
services:
  - {id: tax, prefix: B, name: 税务, area: front}
windows:
  - {id: w1, number: 1, name: 综合窗口, services: [{service: tax}]}
staff:
  - {id: s1, name: 张敏, windows: [w1]}
devices:
  - {id: kiosk-1, kind: kiosk, area: front, kiosk: {printers: [printer-1]}}
  - {id: printer-1, kind: ticket_printer, area: front, simulate: true, printer: {poll_interval: 100ms}}
`

// TestPhoneRelayWiredToTheUplink: with mqtt.uplink set, halld publishes the
// ticket's phone view under the hash of its token and answers the relay's
// phone.silent command (docs/phone-relay.md) — the wiring in app.Run.
func TestPhoneRelayWiredToTheUplink(t *testing.T) {
	url := startMosquitto(t)
	central := subscribe(t, url, "hall/test-hall/edge-1/#")
	dir := t.TempDir()
	h := startHallYAML(t, dir, fmt.Sprintf(relayYAML, url, filepath.Join(dir, "data")), nil)
	code, res := postJSON(t, h.base+"/api/v1/tickets", `{"service":"tax","kiosk":"kiosk-1"}`)
	if code != 201 {
		t.Fatalf("ticket: %d %v", code, res)
	}
	tk := ticketOf(t, res)
	key, err := phonetoken.LoadOrCreate(filepath.Join(dir, "data", "phone.key"))
	if err != nil {
		t.Fatal(err)
	}
	token := key.Token(tk["day"].(string), tk["id"].(string))
	topic := "hall/test-hall/edge-1/phone/" + web.RelayKey(token)
	waitFor(t, "the relayed view", 10*time.Second, func() bool {
		for _, b := range central.all()[topic] {
			var v map[string]any
			if json.Unmarshal(b, &v) == nil && v["number"] == tk["number"] {
				return true
			}
		}
		return false
	})
	for tp, bs := range central.all() {
		for _, b := range bs {
			if strings.Contains(tp, token) || strings.Contains(string(b), token) {
				t.Fatalf("the token went to the central broker on %s", tp)
			}
		}
	}
	tok := central.c.Publish("hall/test-hall/edge-1/cmd/phone.silent", 1, false,
		`{"id":"ps-1","args":{"token":"`+token+`","silent":true}}`)
	tok.WaitTimeout(5 * time.Second)
	waitFor(t, "phone.silent answered", 10*time.Second, func() bool {
		for _, b := range central.all()["hall/test-hall/edge-1/cmd/phone.silent/result"] {
			var r map[string]any
			if json.Unmarshal(b, &r) == nil && r["id"] == "ps-1" && r["ok"] == true {
				return true
			}
		}
		return false
	})
	waitFor(t, "the view says silent", 10*time.Second, func() bool {
		bs := central.all()[topic]
		var v map[string]any
		return len(bs) > 0 && json.Unmarshal(bs[len(bs)-1], &v) == nil && v["silent"] == true
	})
}
