package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"halld/daemon/engine"
	"halld/daemon/hall"
	"halld/daemon/internal/testhall"
)

const accessYAML = `
hall:
  id: test-hall
  name: 测试大厅
  timezone: Asia/Shanghai
  hotline: "0731-88995297"
  always_open: true
  opening_hours:
    - {days: [mon, tue, wed, thu, fri, sat, sun], open: "00:00", close: "23:59"}
storage:
  dir: %s
http:
  listen: 127.0.0.1:8080
  allowed_hosts: [hall-box.lan]
areas:
  - {id: front, name: 前窗}
services:
  - {id: tax, prefix: B, name: 税务, area: front}
windows:
  - {id: w1, number: 1, name: 综合窗口, services: [{service: tax}]}
staff:
  - {id: s1, name: 张敏, windows: [w1]}
`

// accessServer is the real handler on a real engine and journal. Requests
// reach it through httptest; a request's RemoteAddr says where it came from
// (off-loopback access over a real network is daemon/abuse's, which needs a
// network namespace).
func accessServer(t *testing.T) (*Server, *engine.Engine) {
	t.Helper()
	h := testhall.New(t, fmt.Sprintf(accessYAML, t.TempDir()))
	cfg, eng, j, log := h.Config, h.Engine, h.Journal, h.Log
	s := New(Deps{Config: cfg, Engine: eng, Journal: j, Log: log, Registry: prometheus.NewRegistry(),
		Ready: func() []string { return nil },
		Tokens: []Token{
			{Name: "hall-board", Value: "board-token-0123456789", Scopes: []Scope{ScopeBoard}},
			{Name: "desk-1", Value: "window-token-0123456789", Scopes: []Scope{ScopeWindow}},
			{Name: "office", Value: "supervisor-token-0123456789", Scopes: []Scope{ScopeSupervisor}},
		}})
	t.Cleanup(s.Close)
	return s, eng
}

type req struct {
	method, path, body string
	remote, host       string // defaults: loopback, 127.0.0.1:8080
	origin, token      string
}

func (s *Server) do(t *testing.T, r req) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	hr.RemoteAddr = "127.0.0.1:40000"
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	hr.Host = "127.0.0.1:8080"
	if r.host != "" {
		hr.Host = r.host
	}
	if r.origin != "" {
		hr.Header.Set("Origin", r.origin)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, hr)
	return w
}

func errCode(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("status %d, body not a JSON error: %q", w.Code, w.Body.String())
	}
	return e.Error.Code
}

// The DNS-rebinding route: a page on evil.example whose name now points at
// the box. Its requests carry Host: evil.example, and its Origin matches
// that Host — which the old check took as same-origin.
func TestForeignHostIsRefusedWhateverTheOriginSays(t *testing.T) {
	s, _ := accessServer(t)
	for _, r := range []req{
		{method: "POST", path: "/api/v1/windows/w1/recall", body: `{}`, host: "evil.example:8080", origin: "http://evil.example:8080"},
		{method: "GET", path: "/api/v1/snapshot", host: "evil.example:8080"},
		{method: "GET", path: "/api/v1/kiosks/kiosk-1/session", host: "evil.example:8080", origin: "http://evil.example:8080"},
	} {
		w := s.do(t, r)
		if w.Code != http.StatusMisdirectedRequest || errCode(t, w) != "bad_host" {
			t.Errorf("%s %s Host %s: %d %s, want 421 bad_host", r.method, r.path, r.host, w.Code, w.Body)
		}
	}
	for _, host := range []string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080", "hall-box.lan:8080", "HALL-BOX.LAN."} {
		if w := s.do(t, req{method: "GET", path: "/api/v1/snapshot", host: host}); w.Code != http.StatusOK {
			t.Errorf("Host %s: %d %s, want 200", host, w.Code, w.Body)
		}
	}
	// Liveness probes name whatever address they use.
	if w := s.do(t, req{method: "GET", path: "/healthz", host: "10.9.9.9:8080"}); w.Code != http.StatusOK {
		t.Errorf("/healthz with a foreign Host: %d", w.Code)
	}
}

func TestOriginIsCheckedAgainstTheConfigurationNotTheRequest(t *testing.T) {
	s, _ := accessServer(t)
	refused := []string{
		"http://evil.example:8080",
		"http://127.0.0.1:9999",  // another port on the box is another site
		"file://",                // not http(s)
		"http://hall-box.lan:81", // a configured name at the wrong port
		"null",
	}
	for _, o := range refused {
		w := s.do(t, req{method: "POST", path: "/api/v1/windows/w1/recall", body: `{}`, origin: o})
		if w.Code != http.StatusForbidden || errCode(t, w) != "bad_origin" {
			t.Errorf("Origin %s: %d %s, want 403 bad_origin", o, w.Code, w.Body)
		}
	}
	for _, o := range []string{"http://127.0.0.1:8080", "http://localhost:8080", "http://hall-box.lan:8080"} {
		w := s.do(t, req{method: "POST", path: "/api/v1/windows/w1/recall", body: `{}`, origin: o})
		if w.Code == http.StatusForbidden || w.Code == http.StatusMisdirectedRequest {
			t.Errorf("Origin %s refused: %d %s", o, w.Code, w.Body)
		}
	}
}

func TestOffLoopbackNeedsATokenWithTheRightScope(t *testing.T) {
	s, _ := accessServer(t)
	const lan = "10.20.0.7:50000"
	cases := []struct {
		r    req
		want int
	}{
		{req{method: "GET", path: "/api/v1/appointments"}, 401},
		{req{method: "GET", path: "/api/v1/appointments", token: "board-token-0123456789"}, 403},
		{req{method: "GET", path: "/api/v1/appointments", token: "supervisor-token-0123456789"}, 200},
		{req{method: "GET", path: "/api/v1/appointments", token: "not-a-token"}, 401},
		{req{method: "GET", path: "/api/v1/staff"}, 401},
		{req{method: "GET", path: "/api/v1/staff", token: "window-token-0123456789"}, 200},
		{req{method: "GET", path: "/api/v1/followups", token: "window-token-0123456789"}, 403},
		{req{method: "GET", path: "/api/v1/ratings/export"}, 401},
		{req{method: "GET", path: "/metrics"}, 401},
		{req{method: "GET", path: "/api/v1/tts?text=" + "%E8%AF%B7"}, 401},
		{req{method: "GET", path: "/api/v1/devices", token: "board-token-0123456789"}, 403},
		{req{method: "POST", path: "/api/v1/tickets", body: `{"service":"tax"}`, token: "board-token-0123456789"}, 403},
		{req{method: "POST", path: "/api/v1/windows/w1/recall", body: `{}`}, 401},
		{req{method: "POST", path: "/api/v1/windows/w1/recall", body: `{}`, token: "board-token-0123456789"}, 403},
		// The public projection needs nothing.
		{req{method: "GET", path: "/api/v1/snapshot"}, 200},
		{req{method: "GET", path: "/healthz"}, 200},
	}
	for _, c := range cases {
		c.r.remote = lan
		if w := s.do(t, c.r); w.Code != c.want {
			t.Errorf("%s %s token %q: %d %s, want %d", c.r.method, c.r.path, c.r.token, w.Code, w.Body, c.want)
		}
	}
	// A window token may act at a window (the rules then answer: nobody is
	// signed in, so nothing to recall).
	w := s.do(t, req{method: "POST", path: "/api/v1/windows/w1/recall", body: `{}`, remote: lan, token: "window-token-0123456789"})
	if w.Code == 401 || w.Code == 403 {
		t.Errorf("window token refused at its window: %d %s", w.Code, w.Body)
	}
}

// seedPrivate records what a public reader must never see: a citizen's card
// (hash and last four), a booking code with its hash, a signed-in staff id,
// a rating comment.
func seedPrivate(t *testing.T, eng *engine.Engine) {
	t.Helper()
	ctx := context.Background()
	must := func(cmd any) {
		if _, err := eng.Submit(ctx, cmd); err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
	}
	must(hall.RecordCardRead{IDCardRead: hall.IDCardRead{Reader: "idr-1", Kiosk: "kiosk-1", Kind: "resident",
		Last4: "731X", IDHash: "hash-of-the-citizen-0f1e2d"}})
	now := hall.Stamp(time.Now())
	must(hall.Book{Appointment: hall.Appointment{Code: "BK-SECRET-4821", Service: "tax", SlotStart: now,
		SlotEnd: hall.Stamp(time.Now().Add(time.Hour)), IDHash: "hash-of-the-booker-9a8b", Last4: "0426"}})
	must(hall.IssueTicket{Service: "tax", Channel: "kiosk", MaskedID: "4301**********731X", RequestID: "req-1"})
}

var private = []string{"hash-of-the-citizen", "731X", "BK-SECRET-4821", "hash-of-the-booker", "0426", `"s1"`, "req-1", "4301**"}

func TestPublicSnapshotCarriesNoPersonalData(t *testing.T) {
	s, eng := accessServer(t)
	seedPrivate(t, eng)
	ctx := context.Background()
	if _, err := eng.Submit(ctx, hall.SignIn{Window: "w1", Staff: "s1"}); err != nil {
		t.Fatal(err)
	}
	full := s.do(t, req{method: "GET", path: "/api/v1/snapshot"}).Body.String()
	if !strings.Contains(full, "4301**") || !strings.Contains(full, `"s1"`) {
		t.Fatalf("loopback snapshot lacks what the test seeds (test broken?): %s", full)
	}
	w := s.do(t, req{method: "GET", path: "/api/v1/snapshot", remote: "10.20.0.7:1"})
	if w.Code != 200 {
		t.Fatalf("public snapshot: %d %s", w.Code, w.Body)
	}
	pub := w.Body.String()
	for _, p := range private {
		if strings.Contains(pub, p) {
			t.Errorf("public snapshot carries %q: %s", p, pub)
		}
	}
	var snap struct {
		Data struct {
			Tickets []map[string]any `json:"tickets"`
			Windows []map[string]any `json:"windows"`
			Alerts  []any            `json:"alerts"`
		} `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.Data.Tickets) != 1 || snap.Data.Tickets[0]["number"] != "B001" || snap.Data.Alerts == nil {
		t.Fatalf("public snapshot lost what the screens show: %s", pub)
	}
	staff, _ := snap.Data.Windows[0]["staff"].(map[string]any)
	if staff["name"] != "张敏" {
		t.Errorf("the board names the staff member at a window (挂牌上岗): %v", snap.Data.Windows[0])
	}
}

// The stream replays 90 days from since=0: off loopback without a token it
// must carry only the public projection, with skip frames keeping the seq
// gap-free.
func TestPublicStreamSkipsPrivateEvents(t *testing.T) {
	s, eng := accessServer(t)
	seedPrivate(t, eng)
	lan := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = "10.20.0.7:1" // stands for a LAN host (see accessServer)
		r.Host = "127.0.0.1:8080"
		s.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(lan)
	defer srv.Close()
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/api/v1/stream?since=0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := s.d.Journal.Head()
	var last uint64
	var all strings.Builder
	sawTicket := false
	for last < head {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("after seq %d of %d: %v", last, head, err)
		}
		all.Write(msg)
		var f struct {
			Type  string          `json:"type"`
			Seq   uint64          `json:"seq"`
			Event json.RawMessage `json:"event"`
		}
		if err := json.Unmarshal(msg, &f); err != nil {
			t.Fatal(err)
		}
		if f.Type != "event" && f.Type != "skip" {
			t.Fatalf("unexpected frame %s", msg)
		}
		if f.Seq <= last {
			t.Fatalf("seq went from %d to %d", last, f.Seq)
		}
		if f.Type == "event" && f.Seq != last+1 {
			t.Fatalf("gap without a skip frame: %d after %d", f.Seq, last)
		}
		if strings.Contains(string(f.Event), `"ticket.issued"`) {
			sawTicket = true
		}
		last = f.Seq
	}
	for _, p := range private {
		if strings.Contains(all.String(), p) {
			t.Errorf("public stream carries %q: %s", p, all.String())
		}
	}
	if !sawTicket || !strings.Contains(all.String(), "B001") {
		t.Errorf("public stream lost the ticket: %s", all.String())
	}
}

func TestWildcardListenAllowsTheBoxsOwnAddressesOnly(t *testing.T) {
	p := newOriginPolicy("0.0.0.0:8080", nil, nil)
	p.lookup = func() []net.Addr {
		return []net.Addr{&net.IPNet{IP: net.ParseIP("192.0.2.10"), Mask: net.CIDRMask(24, 32)}}
	}
	if !p.hostAllowed("192.0.2.10") || p.hostAllowed("192.0.2.11") || p.hostAllowed("evil.example") {
		t.Fatal("wildcard listen: the box's address allowed, others refused")
	}
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("Origin", "http://192.0.2.10:8080")
	if !p.originAllowed(r) {
		t.Fatal("the box's own origin refused")
	}
	r.Header.Set("Origin", "http://192.0.2.11:8080")
	if p.originAllowed(r) {
		t.Fatal("another LAN host's origin allowed")
	}
}

// What one request can make halld fold or echo is bounded, with a JSON error.
func TestRequestBoundsAreRefusedWithAJSONError(t *testing.T) {
	s, _ := accessServer(t)
	for _, c := range []struct{ path, code string }{
		{"/api/v1/reports?from=2000-01-01&to=2026-01-01", "range_too_long"},
		{"/api/v1/reports?from=2026-01-01&to=2026-06-01&by=hour", "range_too_long"},
		{"/api/v1/reports?by=nonsense", "bad_query"},
		{"/api/v1/stars?headcount=99999999999", "bad_headcount"},
		{"/api/v1/stream?since=-1", "bad_request"},
	} {
		w := s.do(t, req{method: "GET", path: c.path})
		if w.Code != http.StatusBadRequest || errCode(t, w) != c.code {
			t.Errorf("%s: %d %s, want 400 %s", c.path, w.Code, w.Body, c.code)
		}
		if strings.Contains(w.Body.String(), "stats:") {
			t.Errorf("%s: Go error text in the message: %s", c.path, w.Body)
		}
	}
}

func TestBadBodiesGetChineseErrorsWithoutGoText(t *testing.T) {
	s, _ := accessServer(t)
	for body, want := range map[string]string{
		`{"reason":`:                "不是有效的 JSON",
		`{"nonsense":1}`:            "未知字段",
		`{"reason":5,"minutes":10}`: "字段 reason 的类型应为 string",
		`{"reason":"` + strings.Repeat("x", 70<<10) + `"}`: "请求内容过大",
	} {
		w := s.do(t, req{method: "POST", path: "/api/v1/windows/w1/pause", body: body})
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), want) || strings.Contains(w.Body.String(), "json:") {
			t.Errorf("body %.40q: %d %s, want 400 with %q", body, w.Code, w.Body, want)
		}
	}
}

// A reprint names the kiosk whose printers print it: an unknown one is
// refused before anything is printed.
func TestReprintAtAnUnknownKioskIsRefused(t *testing.T) {
	s, eng := accessServer(t)
	res, err := eng.Submit(context.Background(), hall.IssueTicket{Service: "tax"})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Ticket.ID
	w := s.do(t, req{method: "POST", path: "/api/v1/tickets/" + id + "/reprint", body: `{"kiosk":"no-such-kiosk"}`})
	if w.Code != http.StatusNotFound || errCode(t, w) != "unknown_kiosk" {
		t.Fatalf("reprint at an unknown kiosk: %d %s", w.Code, w.Body)
	}
}

// Nobody is signed in at the only window that serves tax: the API must not
// promise a wait ("即将叫号", 0 minutes) for a ticket no one can call.
func TestNoEstimateWhenNoWindowCanCall(t *testing.T) {
	s, eng := accessServer(t)
	res, err := eng.Submit(context.Background(), hall.IssueTicket{Service: "tax"})
	if err != nil {
		t.Fatal(err)
	}
	w := s.do(t, req{method: "GET", path: "/api/v1/tickets/" + res.Ticket.ID})
	var body struct {
		Ticket struct {
			EstWait  *int `json:"est_wait_minutes"`
			Estimate struct {
				Servable bool   `json:"servable"`
				Text     string `json:"text"`
			} `json:"estimate"`
		} `json:"ticket"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if body.Ticket.EstWait != nil || body.Ticket.Estimate.Servable || !strings.Contains(body.Ticket.Estimate.Text, "暂无窗口") {
		t.Fatalf("a ticket no window can call: %s", w.Body)
	}
}
