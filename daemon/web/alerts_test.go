package web

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"halld/daemon/hall"
)

type alertsBody struct {
	Alerts []hall.AlertView `json:"alerts"`
	Open   map[string]int   `json:"open"`
	Alert  *hall.AlertView  `json:"alert"`
}

func decodeAlerts(t *testing.T, b []byte) alertsBody {
	t.Helper()
	var v alertsBody
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}

// The monitoring room works an alert through the API: only supervisor and
// it may act, every action is recorded under the caller's name, errors are
// Chinese with a code, and the closed alert keeps its history.
func TestAlertsAPILifecycleAndScopes(t *testing.T) {
	s, eng := accessServer(t)
	ctx := context.Background()
	for _, a := range []hall.Alert{
		{AlertID: "trace-stopped-p1", Kind: "trace_stopped", Severity: "warning", Message: "跟踪已停止"},
		{AlertID: "disk-low", Kind: "disk_low", Severity: "critical", Message: "存储空间不足"},
		{AlertID: "pause-x", Kind: "pause_overdue", Severity: "warning", Window: "w1", Message: "暂停超时"},
	} {
		if _, err := eng.Submit(ctx, hall.RaiseAlert{Alert: a}); err != nil {
			t.Fatal(err)
		}
	}
	const lan = "10.20.0.7:50000"
	const sup = "supervisor-token-0123456789"
	for _, c := range []struct {
		name string
		r    req
		code int
	}{
		{"list without token", req{method: "GET", path: "/api/v1/alerts", remote: lan}, 401},
		{"list with a board token", req{method: "GET", path: "/api/v1/alerts", remote: lan, token: "board-token-0123456789"}, 403},
		{"list with a window token", req{method: "GET", path: "/api/v1/alerts", remote: lan, token: "window-token-0123456789"}, 403},
		{"one with a window token", req{method: "GET", path: "/api/v1/alerts/disk-low", remote: lan, token: "window-token-0123456789"}, 403},
		{"ack with a window token", req{method: "POST", path: "/api/v1/alerts/disk-low/ack", body: `{}`, remote: lan, token: "window-token-0123456789"}, 403},
		{"ack with a board token", req{method: "POST", path: "/api/v1/alerts/disk-low/ack", body: `{}`, remote: lan, token: "board-token-0123456789"}, 403},
		{"ack from a foreign origin", req{method: "POST", path: "/api/v1/alerts/disk-low/ack", body: `{}`, remote: lan, token: sup, origin: "http://evil.example"}, 403},
		{"bad state", req{method: "GET", path: "/api/v1/alerts?state=all"}, 400},
		{"bad severity", req{method: "GET", path: "/api/v1/alerts?severity=huge"}, 400},
		{"bad day", req{method: "GET", path: "/api/v1/alerts?state=closed&day=yesterday"}, 400},
		{"unknown alert", req{method: "GET", path: "/api/v1/alerts/nope"}, 404},
		{"unknown action", req{method: "POST", path: "/api/v1/alerts/disk-low/delete", body: `{}`}, 404},
		{"unknown field", req{method: "POST", path: "/api/v1/alerts/disk-low/ack", body: `{"by":"someone else"}`}, 400},
		{"to on an ack", req{method: "POST", path: "/api/v1/alerts/disk-low/ack", body: `{"to":"s1"}`}, 400},
		{"ack an unknown alert", req{method: "POST", path: "/api/v1/alerts/nope/ack", body: `{}`}, 404},
		{"close without a note", req{method: "POST", path: "/api/v1/alerts/disk-low/close", body: `{}`}, 400},
		{"assign to nobody", req{method: "POST", path: "/api/v1/alerts/disk-low/assign", body: `{"note":"x"}`}, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := s.do(t, c.r)
			if w.Code != c.code {
				t.Fatalf("%d %s, want %d", w.Code, w.Body, c.code)
			}
			var e apiError
			if json.Unmarshal(w.Body.Bytes(), &e); e.Error.Code == "" || !hasHan(e.Error.Message) {
				t.Fatalf("not a Chinese JSON error: %s", w.Body)
			}
		})
	}
	// Newest first, filtered.
	w := s.do(t, req{method: "GET", path: "/api/v1/alerts", remote: lan, token: sup})
	l := decodeAlerts(t, w.Body.Bytes())
	if w.Code != 200 || len(l.Alerts) != 3 || l.Alerts[0].AlertID != "pause-x" || l.Open["critical"] != 1 || l.Open["open"] != 3 {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	if l.Alerts[0].Area != "" || l.Alerts[0].State != "open" {
		t.Fatalf("view: %+v", l.Alerts[0])
	}
	l = decodeAlerts(t, s.do(t, req{method: "GET", path: "/api/v1/alerts?severity=critical&kind=disk_low"}).Body.Bytes())
	if len(l.Alerts) != 1 || l.Alerts[0].AlertID != "disk-low" {
		t.Fatalf("filtered: %+v", l.Alerts)
	}
	// ack → assign → close, by the supervisor's token.
	post := func(path, body string, code int) alertsBody {
		t.Helper()
		w := s.do(t, req{method: "POST", path: path, body: body, remote: lan, token: sup, origin: "http://127.0.0.1:8080"})
		if w.Code != code {
			t.Fatalf("%s: %d %s, want %d", path, w.Code, w.Body, code)
		}
		return decodeAlerts(t, w.Body.Bytes())
	}
	a := post("/api/v1/alerts/disk-low/ack", `{"note":"已通知机房"}`, 200).Alert
	if a == nil || a.Acked == nil || a.Acked.By != "office" || a.Acked.Note != "已通知机房" {
		t.Fatalf("ack: %+v", a)
	}
	w = s.do(t, req{method: "POST", path: "/api/v1/alerts/disk-low/ack", body: `{}`, remote: lan, token: sup})
	if w.Code != 409 || errCode(t, w) != "already_acknowledged" || !strings.Contains(w.Body.String(), "office") {
		t.Fatalf("second ack: %d %s", w.Code, w.Body)
	}
	a = post("/api/v1/alerts/disk-low/assign", `{"to":"s1","note":"请清理旧备份"}`, 200).Alert
	if a.Assignee != "s1" || a.AssigneeName != "张敏" {
		t.Fatalf("assign: %+v", a)
	}
	a = post("/api/v1/alerts/disk-low/close", `{"note":"已扩容"}`, 200).Alert
	if a.State != "closed" || a.Ended == nil || a.Ended.By != "office" || len(a.History) != 4 {
		t.Fatalf("close: %+v", a)
	}
	w = s.do(t, req{method: "POST", path: "/api/v1/alerts/disk-low/close", body: `{"note":"x"}`})
	if w.Code != 409 || errCode(t, w) != "alert_closed" {
		t.Fatalf("close again: %d %s", w.Code, w.Body)
	}
	// Closed today, with the history; no longer open.
	l = decodeAlerts(t, s.do(t, req{method: "GET", path: "/api/v1/alerts?state=closed", remote: lan, token: sup}).Body.Bytes())
	if len(l.Alerts) != 1 || l.Alerts[0].AlertID != "disk-low" || len(l.Alerts[0].History) != 4 || l.Open["open"] != 2 {
		t.Fatalf("closed today: %+v", l)
	}
	var steps []string
	for _, h := range l.Alerts[0].History {
		steps = append(steps, h.Action+":"+h.By)
	}
	if got := strings.Join(steps, " "); got != "raised: acknowledged:office assigned:office closed:office" {
		t.Fatalf("history %s", got)
	}
	one := decodeAlerts(t, s.do(t, req{method: "GET", path: "/api/v1/alerts/disk-low"}).Body.Bytes())
	if one.Alert == nil || one.Alert.State != "closed" {
		t.Fatalf("one: %+v", one)
	}
	// Loopback acts under its own name.
	a = decodeAlerts(t, s.do(t, req{method: "POST", path: "/api/v1/alerts/pause-x/ack", body: `{}`}).Body.Bytes()).Alert
	if a.Acked.By != "loopback" {
		t.Fatalf("loopback ack: %+v", a)
	}
	// The public snapshot still shows no alert.
	w = s.do(t, req{method: "GET", path: "/api/v1/snapshot", remote: lan})
	if !strings.Contains(w.Body.String(), `"alerts":[]`) || strings.Contains(w.Body.String(), "pause-x") {
		t.Fatalf("public snapshot shows alerts: %s", w.Body)
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}
