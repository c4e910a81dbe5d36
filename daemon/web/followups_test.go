package web

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"halld/daemon/hall"
	"halld/daemon/internal/testhall"
)

// The 2026 National Day holiday (10-01 … 10-07, a weekend inside) and its
// 调休 Saturday 10-10.
const followUpsYAML = accessYAML + `holidays:
  - {date: "2026-10-01", name: 国庆节}
  - {date: "2026-10-02", name: 国庆节}
  - {date: "2026-10-05", name: 国庆节}
  - {date: "2026-10-06", name: 国庆节}
  - {date: "2026-10-07", name: 国庆节}
  - {date: "2026-10-10", name: 国庆调休, workday: true}
`

type fuClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fuClock) get() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fuClock) set(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	c.now, _ = time.ParseInLocation("2006-01-02 15:04", s, loc)
}

func followUpServer(t *testing.T) (*Server, *fuClock, func(level string, reasons ...string) uint32) {
	t.Helper()
	clock := &fuClock{}
	clock.set("2026-09-30 10:00")
	cfg, j := testhall.Config(t, fmt.Sprintf(followUpsYAML, t.TempDir())), testhall.Journal(t)
	h := testhall.StartAt(t, cfg, j, clock.get)
	s := New(Deps{Config: cfg, Engine: h.Engine, Journal: j, Log: h.Log, Registry: prometheus.NewRegistry(),
		Ready: func() []string { return nil },
		Tokens: []Token{
			{Name: "desk-1", Value: "window-token-0123456789", Scopes: []Scope{ScopeWindow}},
			{Name: "office", Value: "supervisor-token-0123456789", Scopes: []Scope{ScopeSupervisor}},
		}})
	t.Cleanup(s.Close)
	ctx := context.Background()
	if _, err := h.Engine.Submit(ctx, hall.SignIn{Window: "w1", Staff: "s1"}); err != nil {
		t.Fatal(err)
	}
	serve := func(level string, reasons ...string) uint32 {
		t.Helper()
		for _, c := range []any{hall.IssueTicket{Service: "tax", Channel: "api"}, hall.CallNext{Window: "w1"}, hall.Finish{Window: "w1"}} {
			if _, err := h.Engine.Submit(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		v, _ := h.Engine.Query(ctx, func(st *hall.State) any { return st.NextVisit })
		rs, _ := json.Marshal(reasons)
		w := s.do(t, req{method: "POST", path: "/api/v1/ratings", token: "window-token-0123456789", remote: "10.0.0.9:4000",
			body: fmt.Sprintf(`{"visit":%d,"level":%q,"reasons":%s,"channel":"api"}`, v, level, rs)})
		if w.Code != 200 && w.Code != 201 {
			t.Fatalf("rating: %d %s", w.Code, w.Body)
		}
		return v.(uint32)
	}
	return s, clock, serve
}

type fuList struct {
	Now       string           `json:"now"`
	Total     int              `json:"total"`
	Counts    map[string]int   `json:"counts"`
	Reasons   map[string]int   `json:"reasons"`
	Keys      []string         `json:"reason_keys"`
	FollowUps []map[string]any `json:"followups"`
}

func listFU(t *testing.T, s *Server, query string) fuList {
	t.Helper()
	w := s.do(t, req{method: "GET", path: "/api/v1/followups" + query, token: "supervisor-token-0123456789", remote: "10.0.0.8:4000"})
	if w.Code != 200 {
		t.Fatalf("list%s: %d %s", query, w.Code, w.Body)
	}
	var l fuList
	if err := json.Unmarshal(w.Body.Bytes(), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func stepFU(t *testing.T, s *Server, id, verb, body string) (int, string) {
	t.Helper()
	w := s.do(t, req{method: "POST", path: "/api/v1/followups/" + id + "/" + verb, body: body,
		token: "supervisor-token-0123456789", remote: "10.0.0.8:4000"})
	return w.Code, w.Body.String()
}

// TestFollowUpsAPI: a 差评 given through the ratings API is followed through
// every step over the API, each recorded under the token's name, with the
// step's deadline and countdown in the list, and reason counts.
func TestFollowUpsAPI(t *testing.T) {
	s, clock, serve := followUpServer(t)
	serve("不满意", "等候时间长", "服务态度差")
	serve("非常不满意", "等候时间长")
	serve("满意")
	l := listFU(t, s, "")
	if l.Total != 2 || l.Counts["open"] != 2 || l.Reasons["等候时间长"] != 2 || l.Reasons["服务态度差"] != 1 || len(l.Keys) == 0 {
		t.Fatalf("list: %+v", l)
	}
	f := l.FollowUps[1] // newest first: fu-1 is the older
	if f["followup_id"] != "fu-1" || f["due"] != "callback" || f["due_name"] != "回访" || !strings.HasPrefix(f["due_by"].(string), "2026-10-08T23:59:59") {
		t.Fatalf("fu-1: %v", f)
	}
	// Wed 10:00 → due Thu 10-08 after the holiday: one working day left.
	if r := f["remaining"].(map[string]any); r["working_days"] != 1.0 || r["overdue"] != false {
		t.Fatalf("countdown: %v", r)
	}
	if code, body := stepFU(t, s, "fu-1", "rectify", `{"note":"x"}`); code != 409 || !strings.Contains(body, `"bad_stage"`) || !strings.Contains(body, "回访") {
		t.Fatalf("out of order: %d %s", code, body)
	}
	if code, body := stepFU(t, s, "fu-1", "callback", `{"reached":false}`); code != 200 || !strings.Contains(body, `"attempts":1`) {
		t.Fatalf("not reached: %d %s", code, body)
	}
	clock.set("2026-10-08 09:30")
	code, body := stepFU(t, s, "fu-1", "callback", `{"note":"已回访，群众反映等候久","handler":"王主任"}`)
	if code != 200 || !strings.Contains(body, `"by":"office"`) || !strings.Contains(body, `"handler":"王主任"`) || !strings.Contains(body, `"due_by":"2026-10-12T23:59:59`) {
		t.Fatalf("callback: %d %s", code, body)
	}
	if code, body := stepFU(t, s, "fu-1", "rectify", `{}`); code != 400 || !strings.Contains(body, "整改措施") {
		t.Fatalf("no measures: %d %s", code, body)
	}
	for _, st := range []struct{ verb, body string }{{"rectify", `{"note":"高峰期增开窗口"}`}, {"feedback", `{"note":"已电话告知"}`}} {
		if code, body := stepFU(t, s, "fu-1", st.verb, st.body); code != 200 {
			t.Fatalf("%s: %d %s", st.verb, code, body)
		}
	}
	if code, body := stepFU(t, s, "fu-1", "rating", `{"level":"非常满意"}`); code != 400 || !strings.Contains(body, `"bad_level"`) {
		t.Fatalf("bad level: %d %s", code, body)
	}
	code, body = stepFU(t, s, "fu-1", "rating", `{"level":"满意","note":"群众满意"}`)
	if code != 200 || !strings.Contains(body, `"closed":true`) || !strings.Contains(body, `"satisfaction":"满意"`) {
		t.Fatalf("rating: %d %s", code, body)
	}
	// fu-2 is overdue at its 回访 (the hall's tick marks it).
	clock.set("2026-10-09 08:00")
	if _, err := s.d.Engine.Submit(context.Background(), hall.Tick{}); err != nil {
		t.Fatal(err)
	}
	l = listFU(t, s, "?status=overdue")
	if l.Total != 1 || l.FollowUps[0]["followup_id"] != "fu-2" || l.Counts["closed"] != 1 || l.Counts["overdue"] != 1 || l.Counts["marked_overdue"] != 1 {
		t.Fatalf("overdue: %+v", l)
	}
	if r := l.FollowUps[0]["remaining"].(map[string]any); r["overdue"] != true || r["hours"].(float64) >= 0 {
		t.Fatalf("overdue countdown: %v", r)
	}
	if l = listFU(t, s, "?status=closed&window=w1&from=2026-09-30&to=2026-09-30"); l.Total != 1 || l.FollowUps[0]["followup_id"] != "fu-1" {
		t.Fatalf("closed: %+v", l)
	}
	if l = listFU(t, s, "?from=2026-10-01"); l.Total != 0 || l.Reasons["等候时间长"] != 0 {
		t.Fatalf("from: %+v", l)
	}
	// Bad input: a JSON error with a code and a Chinese message.
	for q, code := range map[string]string{"?status=x": "bad_status", "?from=10-01": "bad_date", "?limit=0": "bad_limit",
		"?from=2026-10-02&to=2026-10-01": "bad_range"} {
		w := s.do(t, req{method: "GET", path: "/api/v1/followups" + q})
		if w.Code != 400 || errCode(t, w) != code {
			t.Errorf("%s: %d %s", q, w.Code, w.Body)
		}
	}
	if code, body := stepFU(t, s, "fu-2", "approve", `{}`); code != 404 || !strings.Contains(body, "unknown_stage") {
		t.Errorf("unknown verb: %d %s", code, body)
	}
	if code, body := stepFU(t, s, "fu-2", "callback", `{"note":"x","extra":1}`); code != 400 {
		t.Errorf("unknown field: %d %s", code, body)
	}
	// A window's token may not move follow-ups, nor read them.
	w := s.do(t, req{method: "POST", path: "/api/v1/followups/fu-2/appeal", body: `{"note":"误评"}`, token: "window-token-0123456789", remote: "10.0.0.9:4000"})
	if w.Code != 403 {
		t.Errorf("window token appeals: %d", w.Code)
	}
	w = s.do(t, req{method: "GET", path: "/api/v1/followups/fu-2", token: "supervisor-token-0123456789", remote: "10.0.0.8:4000"})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"due_overdue":true`) {
		t.Errorf("one: %d %s", w.Code, w.Body)
	}
	if w = s.do(t, req{method: "GET", path: "/api/v1/followups/fu-9"}); w.Code != 404 || errCode(t, w) != "unknown_followup" {
		t.Errorf("unknown: %d %s", w.Code, w.Body)
	}
}
