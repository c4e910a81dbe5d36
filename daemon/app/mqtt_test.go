package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"halld/daemon/app"
	"halld/daemon/hall"
	"halld/daemon/journal"
	"halld/internal/testmqtt"
)

// startMosquitto runs a real broker on a free loopback port for one test.
func startMosquitto(t *testing.T) string {
	t.Helper()
	url, _ := startMosquittoStop(t)
	return url
}

// startMosquittoStop also returns a stop for an outage.
func startMosquittoStop(t *testing.T) (string, func()) {
	t.Helper()
	b := testmqtt.StartWith(t, testmqtt.Options{UnboundedQueues: true})
	return b.URL, b.Stop
}

type subscriber struct {
	mu   sync.Mutex
	msgs map[string][][]byte
	c    mqtt.Client
}

func subscribe(t *testing.T, url, filter string) *subscriber {
	s := &subscriber{msgs: map[string][][]byte{}}
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID("central-test")
	s.c = mqtt.NewClient(o)
	if tok := s.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	tok := s.c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		s.mu.Lock()
		s.msgs[m.Topic()] = append(s.msgs[m.Topic()], append([]byte(nil), m.Payload()...))
		s.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { s.c.Disconnect(100) })
	return s
}

func (s *subscriber) all() map[string][][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][][]byte{}
	for k, v := range s.msgs {
		out[k] = append([][]byte(nil), v...)
	}
	return out
}

func (s *subscriber) events() []map[string]any {
	var out []map[string]any
	for _, b := range s.all()["hall/test-hall/edge-1/events"] {
		var m map[string]any
		json.Unmarshal(b, &m)
		out = append(out, m)
	}
	return out
}

func TestCentralUplinkCarriesEventsAndCommandsNoPersonalData(t *testing.T) {
	url := startMosquitto(t)
	central := subscribe(t, url, "hall/#")
	dir := t.TempDir()
	yaml := strings.Replace(fmt.Sprintf(hallYAML, filepath.Join(dir, "data")), "storage:", "mqtt:\n  uplink: {url: \""+url+"\", node: edge-1}\nstorage:", 1)
	var logs syncBuffer
	h := startHallYAML(t, dir, yaml, &logs)
	a := h.a
	waitState(t, h, "printer-1", "ready", 5*time.Second)
	waitFor(t, "$state ready", 10*time.Second, func() bool {
		st := central.all()["hall/test-hall/edge-1/$state"]
		return len(st) > 0 && string(st[len(st)-1]) == "ready"
	})

	// A device in fault makes the node's $state "alert"; fixed, "ready" again.
	lastState := func() string {
		st := central.all()["hall/test-hall/edge-1/$state"]
		return string(st[len(st)-1])
	}
	a.Sims.Simulate("printer-1", "cover_open", "")
	waitFor(t, "$state alert while a printer is in fault", 10*time.Second, func() bool { return lastState() == "alert" })
	a.Sims.Simulate("printer-1", "cover_close", "")
	waitFor(t, "$state ready again", 10*time.Second, func() bool { return lastState() == "ready" })

	// The central server books an appointment with the citizen's ID number.
	card, _ := app.DemoCard("resident")
	cmd := fmt.Sprintf(`{"id":"c-1","args":{"code":"ZX1","service":"tax","slot_start":"2026-11-25T09:00:00+08:00","slot_end":"2026-11-25T12:00:00+08:00","id_number":"%s"}}`, card.Number)
	central.c.Publish("hall/test-hall/edge-1/cmd/appointment.add", 1, false, cmd).Wait()
	central.c.Publish("hall/test-hall/edge-1/cmd/notice.post", 1, false, `{"id":"c-2","args":{"id":"n1","text":"今日下午三点后暂停不动产业务"}}`).Wait()
	central.c.Publish("hall/test-hall/edge-1/cmd/teleport", 1, false, `{"id":"c-3","args":{}}`).Wait()
	central.c.Publish("hall/test-hall/edge-1/cmd/notice.post", 1, false, `{not json`).Wait()
	waitFor(t, "command results", 10*time.Second, func() bool {
		m := central.all()
		return len(m["hall/test-hall/edge-1/cmd/appointment.add/result"]) == 1 && len(m["hall/test-hall/edge-1/cmd/teleport/result"]) == 1 &&
			len(m["hall/test-hall/edge-1/cmd/notice.post/result"]) == 2
	})
	m := central.all()
	if !bytes.Contains(m["hall/test-hall/edge-1/cmd/appointment.add/result"][0], []byte(`"ok":true`)) ||
		!bytes.Contains(m["hall/test-hall/edge-1/cmd/teleport/result"][0], []byte(`"ok":false`)) {
		t.Fatalf("results: %s / %s", m["hall/test-hall/edge-1/cmd/appointment.add/result"], m["hall/test-hall/edge-1/cmd/teleport/result"])
	}
	// A resync says which events it will publish again (the journal keeps
	// storage.retention).
	central.c.Publish("hall/test-hall/edge-1/cmd/resync", 1, false, `{"id":"c-5","args":{}}`).Wait()
	waitFor(t, "resync result", 10*time.Second, func() bool {
		r := central.all()["hall/test-hall/edge-1/cmd/resync/result"]
		return len(r) == 1 && bytes.Contains(r[0], []byte(`"from_seq":1,`)) && bytes.Contains(r[0], []byte(`"to_seq":`))
	})
	if _, body := getStatus(h.base + "/api/v1/snapshot"); !bytes.Contains(body, []byte("今日下午三点后暂停不动产业务")) {
		t.Fatal("the notice is not on the board's snapshot")
	}
	// The citizen places the card at the kiosk: checked in by the booking.
	sim, _ := a.Sims.Reader("idr-1")
	sim.Place(card)
	waitFor(t, "checked in through the card", 10*time.Second, func() bool {
		for _, e := range central.events() {
			if e["type"] == "appointment.checked_in" {
				return true
			}
		}
		return false
	})
	// Every event reaches central in seq order (after dedupe on id).
	waitFor(t, "central caught up", 10*time.Second, func() bool {
		st, _ := getStatus(h.base + "/api/v1/uplink")
		_, body := getStatus(h.base + "/api/v1/uplink")
		var u struct{ Status struct{ Lag uint64 } }
		json.Unmarshal(body, &u)
		return st == 200 && u.Status.Lag == 0
	})
	seen := map[string]bool{}
	var last float64
	for _, e := range central.events() {
		if seen[e["id"].(string)] {
			continue
		}
		seen[e["id"].(string)] = true
		if s := e["seq"].(float64); s != last+1 {
			t.Fatalf("central got seq %v after %v", s, last)
		}
		last = e["seq"].(float64)
	}
	h.stop()
	// Nothing central saw, and nothing logged, holds the card's contents.
	for _, secret := range []string{card.Number, card.Name, card.Address, "19900307"} {
		for topic, msgs := range central.all() {
			if strings.Contains(topic, "/cmd/") && !strings.HasSuffix(topic, "/result") {
				continue // the central side's own request, not something halld sent
			}
			for _, b := range msgs {
				if bytes.Contains(b, []byte(secret)) {
					t.Errorf("MQTT carried %q on %s: %.300s", secret, topic, b)
				}
			}
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
	if st := central.all()["hall/test-hall/edge-1/$state"]; string(st[len(st)-1]) != "disconnected" {
		t.Errorf("clean stop did not publish disconnected: %q", st)
	}
	t.Logf("central saw %d events in order; %d topics", len(seen), len(central.all()))
}

func TestTerminalsOnTheHallBroker(t *testing.T) {
	dir := t.TempDir()
	yaml := strings.Replace(fmt.Sprintf(hallYAML, filepath.Join(dir, "data")), "storage:",
		"mqtt:\n  broker: {embedded: true, listen: \"127.0.0.1:0\"}\nstorage:", 1)
	yaml = strings.Replace(yaml, "areas:\n", "areas:\n  - {id: self-24h, name: 24小时自助服务区, open_24h: true}\n", 1)
	yaml += "  - {id: terminal-1, kind: terminal, area: self-24h, simulate: true}\n"
	h := startHallYAML(t, dir, yaml, nil)
	a := h.a
	waitState(t, h, "terminal-1", "ready", 10*time.Second)
	code, body := postJSON(t, h.base+"/api/v1/devices/terminal-1/command", `{"name":"reboot"}`)
	if code != 200 || body["ok"] != true {
		t.Fatalf("reboot: %d %v", code, body)
	}
	if code, _ := postJSON(t, h.base+"/api/v1/devices/terminal-1/command", `{"name":"teleport"}`); code != 502 {
		t.Fatalf("unknown command: %d", code)
	}
	a.Sims.Simulate("terminal-1", "door_open", "")
	waitState(t, h, "terminal-1", "degraded", 10*time.Second)
	a.Sims.Simulate("terminal-1", "fault", "")
	waitFor(t, "the door and the fault are alerts", 10*time.Second, func() bool {
		_, body := getStatus(h.base + "/api/v1/snapshot")
		return bytes.Contains(body, []byte(`"alert_id":"device-terminal-1"`)) && bytes.Contains(body, []byte("出纸口卡纸"))
	})
	a.Sims.Simulate("terminal-1", "door_close", "")
	waitState(t, h, "terminal-1", "ready", 10*time.Second)
	waitFor(t, "the device alert cleared", 10*time.Second, func() bool {
		_, body := getStatus(h.base + "/api/v1/snapshot")
		return !bytes.Contains(body, []byte(`"alert_id":"device-terminal-1"`))
	})
}

// TestNetworkedPad: an Ethernet pad speaks JSON on the hall broker. Its keys
// run the window, its screen follows, and its rating — published twice, as
// an at-least-once pad may — is recorded once.
func TestNetworkedPad(t *testing.T) {
	dir := t.TempDir()
	yaml := strings.Replace(fmt.Sprintf(hallYAML, filepath.Join(dir, "data")), "storage:",
		"mqtt:\n  broker: {embedded: true, listen: \"127.0.0.1:0\"}\nstorage:", 1)
	yaml += "  - {id: npad-1, kind: eval_pad, area: front, window: w1, simulate: true}\n"
	h := startHallYAML(t, dir, yaml, nil)
	a := h.a

	url, pass := a.Terminals.PadUser("npad-1")
	var mu sync.Mutex
	var screens []map[string]any
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID("npad-1").SetUsername("npad-1").SetPassword(pass).
		SetWill("hall/test-hall/npad-1/$state", "lost", 1, true)
	pad := mqtt.NewClient(o)
	if tok := pad.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("pad connect: %v", tok.Error())
	}
	defer pad.Disconnect(100)
	pad.Subscribe("hall/test-hall/npad-1/dev/npad-1/cmd/#", 1, func(_ mqtt.Client, m mqtt.Message) {
		var c struct{ Args map[string]any }
		json.Unmarshal(m.Payload(), &c)
		mu.Lock()
		screens = append(screens, c.Args)
		mu.Unlock()
	}).Wait()
	pad.Publish("hall/test-hall/npad-1/$state", 1, true, "ready").Wait()
	waitState(t, h, "npad-1", "ready", 10*time.Second)
	lastScreen := func() map[string]any {
		mu.Lock()
		defer mu.Unlock()
		if len(screens) == 0 {
			return nil
		}
		return screens[len(screens)-1]
	}
	send := func(id, typ string, visit uint32, value, reasons int) {
		b, _ := json.Marshal(map[string]any{"id": id, "type": typ, "data": map[string]any{"visit": visit, "value": value, "reasons": reasons}})
		pad.Publish("hall/test-hall/npad-1/dev/npad-1/event", 1, false, b).Wait()
	}
	postJSON(t, h.base+"/api/v1/tickets", `{"service":"tax","kiosk":"kiosk-1"}`)
	send("e1", "key", 0, 8, 0) // 签到
	send("e2", "key", 0, 1, 0) // 叫号
	waitFor(t, "the pad shows the called ticket", 10*time.Second, func() bool {
		s := lastScreen()
		return s != nil && s["state"] == "SERVING" && s["ticket"].(map[string]any)["ticket_no"] == "B001"
	})
	send("e3", "key", 0, 5, 0) // 办结
	var visit uint32
	waitFor(t, "the pad asks for a rating", 10*time.Second, func() bool {
		s := lastScreen()
		if s == nil || s["state"] != "RATE" {
			return false
		}
		visit = uint32(s["ticket"].(map[string]any)["visit"].(float64))
		return true
	})
	send("r1", "rating", visit, 5, 0)
	send("r1", "rating", visit, 5, 0) // the same event again
	waitFor(t, "rated once", 10*time.Second, func() bool {
		v, _ := a.Engine.Query(context.Background(), func(st *hall.State) any { return st.Tickets["T20261125-B001"].Rating })
		return v.(string) == "非常满意"
	})
	n := 0
	a.Journal.Scan(context.Background(), 0, func(r journal.Record) error {
		if r.Type == hall.TypeRatingSubmitted {
			n++
		}
		return nil
	})
	if n != 1 {
		t.Fatalf("%d ratings for one press sent twice", n)
	}
	// Another device may not publish as this pad.
	o2 := mqtt.NewClientOptions().AddBroker(url).SetClientID("npad-x").SetUsername("npad-1").SetPassword("wrong")
	if tok := mqtt.NewClient(o2).Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		t.Fatal("a wrong password was accepted")
	}
}
