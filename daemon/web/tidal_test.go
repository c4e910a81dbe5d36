package web

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"halld/daemon/config"
	"halld/daemon/hall"
	"halld/daemon/internal/testhall"
)

const tidalYAML = `
hall:
  id: test-hall
  name: 测试大厅
  timezone: Asia/Shanghai
  always_open: true
  opening_hours:
    - {days: [mon, tue, wed, thu, fri, sat, sun], open: "00:00", close: "23:59"}
storage:
  dir: %s
services:
  - {id: biz, prefix: A, name: 企业开办, avg_service_minutes: 10}
  - {id: tax, prefix: B, name: 税务, avg_service_minutes: 10}
windows:
  - {id: w1, number: 1, services: [{service: biz}]}
  - {id: w2, number: 2, services: [{service: tax}]}
staff:
  - {id: s1, name: 张敏, windows: [w1]}
  - {id: s2, name: 李四, windows: [w2]}
`

// The ticket's answer names the windows that serve it today: w1 was given
// tax for today (潮汐窗口), so a tax ticket goes to 1号 and 2号, not only 2号
// as devices.yaml says.
func TestTicketAnswerNamesTodaysWindows(t *testing.T) {
	h := testhall.New(t, fmt.Sprintf(tidalYAML, t.TempDir()))
	s := New(Deps{Config: h.Config, Engine: h.Engine, Journal: h.Journal, Log: h.Log, Registry: prometheus.NewRegistry(),
		Ready: func() []string { return nil }})
	t.Cleanup(s.Close)
	ctx := t.Context()
	for _, cmd := range []any{
		hall.SetWindowServices{Window: "w1", Services: []config.WindowService{{Service: "biz"}, {Service: "tax"}}, By: "sup"},
		hall.SignIn{Window: "w1", Staff: "s1", By: "t"},
		hall.SignIn{Window: "w2", Staff: "s2", By: "t"},
	} {
		if _, err := h.Engine.Submit(ctx, cmd); err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
	}
	res, err := h.Engine.Submit(ctx, hall.IssueTicket{Service: "tax", Channel: "kiosk"})
	if err != nil {
		t.Fatal(err)
	}
	w := s.do(t, req{method: "GET", path: "/api/v1/tickets/" + res.Ticket.ID})
	var body struct {
		Ticket struct {
			Windows []string `json:"windows"`
		} `json:"ticket"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if want := []string{"1号窗口", "2号窗口"}; !reflect.DeepEqual(body.Ticket.Windows, want) {
		t.Fatalf("windows %v, want %v (%s)", body.Ticket.Windows, want, w.Body)
	}
}
