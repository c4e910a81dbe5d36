package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"halld/daemon/config"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"halld/daemon/hall"
)

// The bearer token's forms, read by tokenOf through the real handler: only
// "Authorization: Bearer <exact value>" counts, and ?token= only on a GET
// (a WebSocket from a browser cannot set headers; a write must not be
// forgeable from a link).
func TestBearerTokenForms(t *testing.T) {
	s, _ := accessServer(t)
	const lan = "10.20.0.7:50000"
	const good = "supervisor-token-0123456789"
	send := func(method, path, auth string) int {
		t.Helper()
		hr := httptest.NewRequest(method, path, strings.NewReader(`{}`))
		hr.RemoteAddr, hr.Host = lan, "127.0.0.1:8080"
		if auth != "" {
			hr.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, hr)
		return w.Code
	}
	for _, c := range []struct {
		method, path, auth string
		want               int
	}{
		{"GET", "/api/v1/appointments", "Bearer " + good, 200},
		{"GET", "/api/v1/appointments?token=" + good, "", 200},
		{"GET", "/api/v1/appointments", "bearer " + good, 401},       // the scheme is case-exact here
		{"GET", "/api/v1/appointments", "Basic " + good, 401},        // another scheme
		{"GET", "/api/v1/appointments", "Bearer " + good[:10], 401},  // a prefix of a token
		{"GET", "/api/v1/appointments", "Bearer " + good + "x", 401}, // a token and more
		{"GET", "/api/v1/appointments", "Bearer ", 401},              // empty
		{"GET", "/api/v1/appointments", "Bearer " + good + " ", 401}, // trailing space
		{"GET", "/api/v1/appointments?token=", "", 401},              // empty query token
		{"GET", "/api/v1/appointments?token=board-token-0123456789", "", 403},
		// Writes take the header only.
		{"POST", "/api/v1/followups/f1/callback?token=" + good, "", 401},
	} {
		if got := send(c.method, c.path, c.auth); got != c.want {
			t.Errorf("%s %s Authorization %q: %d, want %d", c.method, c.path, c.auth, got, c.want)
		}
	}
	// The same token from loopback is not needed at all.
	hr := httptest.NewRequest("GET", "/api/v1/appointments", nil)
	hr.RemoteAddr, hr.Host = "127.0.0.1:40000", "127.0.0.1:8080"
	w := httptest.NewRecorder()
	s.ServeHTTP(w, hr)
	if w.Code != 200 {
		t.Errorf("loopback without a token: %d", w.Code)
	}
}

// A token's scopes decide what its reader sees of the snapshot: the same
// request off loopback gives the public, desk or full projection.
func TestTokenScopesPickTheProjection(t *testing.T) {
	s, eng := accessServer(t)
	seedPrivate(t, eng)
	if _, err := eng.Submit(context.Background(), hall.SignIn{Window: "w1", Staff: "s1"}); err != nil {
		t.Fatal(err)
	}
	get := func(token string) string {
		t.Helper()
		w := s.do(t, req{method: "GET", path: "/api/v1/snapshot", remote: "10.20.0.7:50000", token: token})
		if w.Code != 200 {
			t.Fatalf("snapshot with %q: %d %s", token, w.Code, w.Body)
		}
		return w.Body.String()
	}
	public, desk, full := get(""), get("window-token-0123456789"), get("supervisor-token-0123456789")
	for _, p := range private {
		if strings.Contains(public, p) {
			t.Errorf("the public projection carries %q", p)
		}
	}
	if !strings.Contains(desk, `"s1"`) {
		t.Errorf("a window token does not see the signed-in staff id: %.400s", desk)
	}
	if !strings.Contains(full, `"s1"`) || !strings.Contains(full, "4301**") {
		t.Errorf("a supervisor token does not see everything: %.400s", full)
	}
	if !(len(public) <= len(desk) && len(desk) <= len(full)) || len(public) == len(full) {
		t.Errorf("projections do not grow with the scopes: public %d, desk %d, full %d bytes", len(public), len(desk), len(full))
	}
}

// writeRuleError maps the hall's refusals to their own status and code, and
// anything else to a 503 with a Chinese message and no Go error text.
func TestRuleErrorMapping(t *testing.T) {
	for _, c := range []struct {
		err        error
		status     int
		code, text string
	}{
		{&hall.RuleError{Status: 409, ErrorInfo: hall.ErrorInfo{Code: "window_busy", Message: "窗口正在办理"}}, 409, "window_busy", "窗口正在办理"},
		{fmt.Errorf("submit: %w", &hall.RuleError{Status: 404, ErrorInfo: hall.ErrorInfo{Code: "unknown_service", Message: "没有这项业务"}}), 404, "unknown_service", "没有这项业务"},
		{context.DeadlineExceeded, 503, "timeout", "请求超时"},
		{fmt.Errorf("engine: %w", context.Canceled), 503, "timeout", "请求超时"},
		{errors.New("journal: disk I/O error: sqlite busy"), 503, "unavailable", "系统暂时不可用"},
	} {
		w := httptest.NewRecorder()
		writeRuleError(w, c.err)
		if w.Code != c.status || errCode(t, w) != c.code || !strings.Contains(w.Body.String(), c.text) {
			t.Errorf("%v: %d %s, want %d %s %q", c.err, w.Code, w.Body, c.status, c.code, c.text)
		}
		if strings.Contains(w.Body.String(), "sqlite") || strings.Contains(w.Body.String(), "context") {
			t.Errorf("%v: Go error text reached the client: %s", c.err, w.Body)
		}
		if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%v: Content-Type %q", c.err, ct)
		}
	}
}

// Through the real handler: every refusal is {"error":{"code","message"}}
// with a Chinese message, whatever refused it (the router, access, the body
// decoder, the rules).
func TestRefusalsAreJSONWithChineseMessages(t *testing.T) {
	s, _ := accessServer(t)
	for _, c := range []struct {
		r      req
		status int
		code   string
	}{
		{req{method: "GET", path: "/api/v1/no-such-route"}, 404, "not_found"},
		{req{method: "POST", path: "/api/v1/windows/no-such/recall", body: `{}`}, 404, "unknown_window"},
		{req{method: "POST", path: "/api/v1/windows/w1/pause", body: `not json`}, 400, "bad_request"},
		{req{method: "POST", path: "/api/v1/windows/w1/recall", body: `{}`, remote: "10.20.0.7:50000"}, 401, "unauthorized"},
		{req{method: "POST", path: "/api/v1/windows/w1/recall", body: `{}`, remote: "10.20.0.7:50000", token: "board-token-0123456789"}, 403, "forbidden"},
		{req{method: "GET", path: "/api/v1/snapshot", host: "evil.example"}, 421, "bad_host"},
	} {
		w := s.do(t, c.r)
		if w.Code != c.status || errCode(t, w) != c.code {
			t.Errorf("%s %s: %d %s, want %d %s", c.r.method, c.r.path, w.Code, w.Body, c.status, c.code)
			continue
		}
		var e apiError
		decodeJSON(t, w, &e)
		if !hasHan(e.Error.Message) {
			t.Errorf("%s %s: message %q is not Chinese", c.r.method, c.r.path, e.Error.Message)
		}
	}
}

// The phone page's limiter forgets addresses whose buckets are full again
// once it tracks phoneClients of them, and refuses new ones only while all
// are busy.
func TestPhoneLimiterForgetsIdleAddresses(t *testing.T) {
	l := phoneLimiter{cfg: config.Phone{AddressPerMinute: 6000, AddressBurst: 10, TokenPerMinute: 60, TokenBurst: 30,
		MissesPerMinute: 10, MissBurst: 10}}
	t0 := time.Unix(1000, 0)
	for i := range phoneClients {
		if !l.allow(fmt.Sprintf("10.0.%d.%d", i/256, i%256), fmt.Sprint("T", i), t0.Add(time.Duration(i)*time.Millisecond)) {
			t.Fatalf("address %d refused", i)
		}
	}
	tn := t0.Add(time.Duration(phoneClients) * time.Millisecond)
	// All tracked and each has spent a token within the last refill time (a
	// tenth of a second at 100 a second): the newest have not refilled, so
	// they are busy, and only the idle are forgotten.
	if !l.allow("192.0.2.1", "U", tn) {
		t.Fatal("idle addresses were not forgotten for a new one")
	}
	last := fmt.Sprintf("10.0.%d.%d", (phoneClients-1)/256, (phoneClients-1)%256)
	if _, kept := l.addrs[last]; !kept {
		t.Fatal("a busy address was forgotten")
	}
	if _, kept := l.addrs["10.0.0.0"]; kept || len(l.addrs) > phoneClients/2 {
		t.Fatalf("%d addresses still tracked after the idle ones were forgotten", len(l.addrs))
	}
}

func decodeJSON(t *testing.T, w *httptest.ResponseRecorder, v any) {
	t.Helper()
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("%d %q: %v", w.Code, w.Body.String(), err)
	}
}
