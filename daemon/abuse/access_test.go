package abuse

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"halld/drivers/idcard/idcardsim"
)

// isJSONError says whether b is the contract's {"error":{"code","message"}}.
func isJSONError(b []byte) bool {
	var e struct {
		Error struct{ Code, Message string }
	}
	return json.Unmarshal(b, &e) == nil && e.Error.Code != "" && e.Error.Message != ""
}

func ticketCount(h *halld) int {
	snap, _ := h.snapshot()
	data, _ := snap["data"].(map[string]any)
	ts, _ := data["tickets"].([]any)
	return len(ts)
}

// TestAbuseHostOriginSpoof is DNS rebinding: a page at evil.example whose
// name now resolves to 127.0.0.1. Its browser sends Host and Origin both
// naming evil.example, so "Origin matches Host" proves nothing. halld must
// refuse the write (403 JSON), the kiosk's card WebSocket and the snapshot
// read; the same calls naming halld itself still work.
func TestAbuseHostOriginSpoof(t *testing.T) {
	h := startHall(t, hallOpts{})
	evil := "evil.example:" + h.port
	c := fresh(5 * time.Second)
	before := ticketCount(h)

	post := do(c, "POST", h.url("/api/v1/tickets"), `{"service":"s1","kiosk":"kiosk-1"}`,
		map[string]string{"Origin": "http://" + evil, "Host": evil})
	// 403 (a foreign origin) or 421 (a Host that is not halld's) both refuse.
	if post.err != nil || (post.status != http.StatusForbidden && post.status != http.StatusMisdirectedRequest) || !isJSONError(post.body) {
		t.Errorf("POST /api/v1/tickets with Host and Origin %s: %v; want 403 (or 421) with a JSON error", evil, post)
	}
	wsStatus, wsErr := dialWS("ws://"+h.addr+"/api/v1/kiosks/kiosk-1/session", map[string]string{"Origin": "http://" + evil, "Host": evil})
	if wsErr == nil || wsStatus == http.StatusSwitchingProtocols {
		t.Errorf("kiosk session WebSocket with Host and Origin %s was upgraded (%d); want it refused", evil, wsStatus)
	}
	snap := do(c, "GET", h.url("/api/v1/snapshot"), "", map[string]string{"Host": evil})
	if snap.err != nil || snap.status/100 != 4 {
		t.Errorf("GET /api/v1/snapshot with Host %s: %v; want it refused (4xx)", evil, snap)
	}
	if n := ticketCount(h); n != before {
		t.Errorf("the refused POST issued a ticket anyway: %d tickets, was %d", n, before)
	}

	// Recovery: halld's own pages, naming halld, still work.
	own := "http://" + h.addr
	good := do(c, "POST", h.url("/api/v1/tickets"), `{"service":"s1","kiosk":"kiosk-1"}`, map[string]string{"Origin": own})
	if good.err != nil || good.status != http.StatusCreated {
		t.Errorf("POST /api/v1/tickets from halld's own origin: %v", good)
	}
	okWS, okErr := dialWS("ws://"+h.addr+"/api/v1/kiosks/kiosk-1/session", map[string]string{"Origin": own})
	if okErr != nil {
		t.Errorf("kiosk session WebSocket from halld's own origin: %d %v", okWS, okErr)
	}
	okSnap := do(c, "GET", h.url("/api/v1/snapshot"), "", nil)
	if okSnap.err != nil || okSnap.status != 200 {
		t.Errorf("GET /api/v1/snapshot naming halld: %v", okSnap)
	}
	reliability(t, "host-origin-spoof", "post", post.status, "ws", wsStatus, "snapshot", snap.status,
		"own_post", good.status, "own_ws", okWS, "own_snapshot", okSnap.status)
}

// dialWS opens a WebSocket with the given headers (Host included) and closes
// it; it returns the status of the answer.
func dialWS(url string, hdr map[string]string) (int, error) {
	h := http.Header{}
	for k, v := range hdr {
		h.Set(k, v)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.Dial(url, h)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	if conn != nil {
		conn.Close()
	}
	return status, err
}

// TestAbuseOffLoopbackReads: a host on the hall LAN, without a token, reads
// what it can. The live stream must not carry an ID card read's hash or last
// four digits, nor names, booking codes or comments; the bookings are
// refused (401); the snapshot is the public projection only. On loopback
// the same data is there (the refusal is scoped, not a broken API).
func TestAbuseOffLoopbackReads(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real halld")
	}
	ns := newNetns(t)
	port := freePort(t)
	h := startHall(t, hallOpts{httpListen: "0.0.0.0:" + port})

	// Personal data, planted on loopback.
	now := time.Now()
	h.post("/api/v1/windows/w1/sign-in", `{"staff":"S001"}`)
	h.post("/api/v1/appointments", fmt.Sprintf(`{"code":%q,"service":"s1","slot_start":%q,"slot_end":%q,"id_number":%q}`,
		secretBooking, now.Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339), secretIDNum))
	h.post("/api/v1/devices/idreader-1/simulate", `{"action":"place_resident"}`)
	if tk := h.ticket(5 * time.Second); tk.status != 201 {
		t.Fatalf("ticket: %v", tk.answer)
	}
	h.post("/api/v1/windows/w1/call-next", `{}`)
	h.post("/api/v1/windows/w1/start", `{}`)
	visit := currentVisit(t, h, "w1")
	h.post("/api/v1/windows/w1/finish", `{}`)
	h.post("/api/v1/ratings", fmt.Sprintf(`{"visit":%d,"level":"非常不满意","reasons":["等候时间长"],"comment":%q}`, visit, secretComment))

	// What halld holds (loopback): the card read's hash and last four.
	var read map[string]any
	if _, ok := waitFor(5*time.Second, func() bool {
		for _, ev := range loopbackEvents(t, h) {
			if ev["type"] == "idcard.read" {
				read = ev
				return true
			}
		}
		return false
	}); !ok {
		t.Fatalf("no idcard.read event in the journal after placing a card: the attack has nothing to steal")
	}
	idHash, _ := read["id_hash"].(string)
	last4, _ := read["id_last4"].(string)
	if idHash == "" || last4 == "" {
		t.Fatalf("the idcard.read event on loopback has no id_hash/id_last4 (%v): the test's premise changed", read)
	}
	card := idcardsim.Samples()[0]
	secrets := []string{idHash, secretComment, secretBooking, card.Name}
	personalKeys := []string{"id_hash", "id_last4", "masked_id", "comment"}

	off := "http://" + ns.hostIP + ":" + port
	var stream wsResult
	ns.inNetns(t, map[string]string{helperEnv: "ws", "HALLD_ABUSE_URL": "ws://" + ns.hostIP + ":" + port + "/api/v1/stream?since=0",
		"HALLD_ABUSE_HOLD": "3s"}, &stream)
	streamVerdict := "refused"
	staffLeaks := 0
	if stream.Status == http.StatusSwitchingProtocols {
		streamVerdict = fmt.Sprintf("%d-messages", len(stream.Messages))
		for _, m := range stream.Messages {
			if leak := leaks(m, secrets, last4, personalKeys); leak != "" {
				t.Errorf("off loopback, /api/v1/stream?since=0 carries %s: %.400s", leak, m)
			}
			// The board names the staff member at a window (挂牌上岗), so the
			// public projection may too; their id (what signs them in) is not
			// the public's.
			if strings.Contains(m, `"S001"`) {
				staffLeaks++
				t.Errorf("off loopback, /api/v1/stream?since=0 carries the staff id S001: %.300s", m)
			}
		}
		if len(stream.Messages) == 0 {
			t.Errorf("off loopback the stream was upgraded but sent nothing (not even the snapshot): %s", stream.Err)
		}
	} else if stream.Status/100 != 4 {
		t.Errorf("off loopback /api/v1/stream: neither upgraded nor refused: %d %s %s", stream.Status, stream.Err, stream.Body)
	}

	reqs, _ := json.Marshal([]map[string]any{
		{"method": "GET", "url": off + "/api/v1/appointments"},
		{"method": "GET", "url": off + "/api/v1/snapshot"},
		{"method": "GET", "url": off + "/api/v1/staff"},
		{"method": "GET", "url": off + "/api/v1/ratings/export?format=csv"},
	})
	var res []httpResult
	ns.inNetns(t, map[string]string{helperEnv: "http", "HALLD_ABUSE_REQS": string(reqs)}, &res)
	if len(res) != 4 {
		t.Fatalf("netns requests: %v", res)
	}
	appts, snap := res[0], res[1]
	for _, r := range res[2:] {
		if r.Status != http.StatusUnauthorized || strings.Contains(r.Body, "S001") || strings.Contains(r.Body, secretComment) {
			t.Errorf("off loopback without a token: %d %.300s; want 401 and nothing of the roster or ratings", r.Status, r.Body)
		}
	}
	if appts.Status != http.StatusUnauthorized || !isJSONError([]byte(appts.Body)) {
		t.Errorf("off loopback GET /api/v1/appointments without a token: %d %s %.300s; want 401 with a JSON error", appts.Status, appts.Err, appts.Body)
	}
	switch {
	case snap.Status == 200:
		if leak := leaks(snap.Body, secrets, last4, personalKeys); leak != "" {
			t.Errorf("off loopback the snapshot is not the public projection: it carries %s", leak)
		}
		if strings.Contains(snap.Body, `"S001"`) {
			staffLeaks++
			t.Errorf("off loopback the snapshot carries the staff id S001")
		}
	case snap.Status/100 == 4:
		t.Logf("off loopback the snapshot is refused (%d): the board needs a token", snap.Status)
	default:
		t.Errorf("off loopback GET /api/v1/snapshot: %d %s", snap.Status, snap.Err)
	}

	// Recovery / scope: loopback still sees the hall's own data.
	la := do(fresh(5*time.Second), "GET", h.url("/api/v1/appointments"), "", nil)
	if la.err != nil || la.status != 200 || !strings.Contains(string(la.body), secretBooking) {
		t.Errorf("on loopback GET /api/v1/appointments: %v; want 200 with the booking", la)
	}
	reliability(t, "off-loopback-reads", "stream", streamVerdict, "appointments", appts.Status, "snapshot", snap.Status,
		"snapshot_bytes", len(snap.Body), "staff_id_leaks", staffLeaks, "loopback_appointments", la.status)
}

// currentVisit is the visit now at window w.
func currentVisit(t *testing.T, h *halld, w string) int {
	t.Helper()
	snap, _ := h.snapshot()
	data, _ := snap["data"].(map[string]any)
	ws, _ := data["windows"].([]any)
	for _, x := range ws {
		win, _ := x.(map[string]any)
		if win["id"] == w {
			if cur, ok := win["current"].(map[string]any); ok {
				if v, ok := cur["visit"].(float64); ok {
					return int(v)
				}
			}
		}
	}
	t.Fatalf("window %s has no current visit", w)
	return 0
}

// loopbackEvents reads the journal's events through the stream on loopback.
func loopbackEvents(t *testing.T, h *halld) []map[string]any {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.Dial("ws://"+h.addr+"/api/v1/stream?since=0", nil)
	if err != nil {
		t.Fatalf("loopback stream: %v", err)
	}
	defer conn.Close()
	var out []map[string]any
	conn.SetReadDeadline(time.Now().Add(time.Second))
	for {
		var m struct {
			Type  string         `json:"type"`
			Event map[string]any `json:"event"`
		}
		if conn.ReadJSON(&m) != nil {
			return out
		}
		if m.Type == "event" {
			out = append(out, m.Event)
		}
	}
}

// leaks names personal data found in a JSON text: a secret string anywhere,
// a value equal to the card's last four, or a personal key with a value.
func leaks(text string, secrets []string, last4 string, keys []string) string {
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			return fmt.Sprintf("%q", s)
		}
	}
	var v any
	if json.Unmarshal([]byte(text), &v) != nil {
		return ""
	}
	var found string
	var walk func(k string, v any)
	walk = func(k string, v any) {
		if found != "" {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			for kk, vv := range x {
				for _, pk := range keys {
					if kk == pk && vv != nil && vv != "" {
						found = fmt.Sprintf("%s=%v", kk, vv)
						return
					}
				}
				walk(kk, vv)
			}
		case []any:
			for _, vv := range x {
				walk(k, vv)
			}
		case string:
			if x == last4 || strings.HasSuffix(x, last4) && strings.Contains(x, "*") {
				found = fmt.Sprintf("%s=%q (the card's last four)", k, x)
			}
		}
	}
	walk("", v)
	return found
}
