package engine_test

import (
	"context"
	"testing"
	"time"

	"halld/daemon/engine"
	"halld/daemon/hall"
	"halld/daemon/internal/testhall"
)

const outcomeYAML = `
hall:
  id: h
  name: 大厅
  timezone: Asia/Shanghai
  opening_hours: [{days: [mon], open: "09:00", close: "17:00"}]
  always_open: true
areas: [{id: a, name: 区}]
services:
  - {id: s, prefix: A, name: 服务, area: a}
windows:
  - {id: w1, number: 1, services: [{service: s}]}
staff:
  - {id: p1, name: 张敏, windows: [w1]}
`

// A command is answered with its own ticket even when the rules record the
// last visit's 未评价 or the last day's outcomes with it.
func TestAnswersNameTheCommandsTicket(t *testing.T) {
	cfg := testhall.Config(t, outcomeYAML)
	clock := newTestClock(time.Date(2026, 11, 25, 9, 0, 0, 0, cfg.Location))
	e := testhall.StartAt(t, cfg, testhall.Journal(t), clock.Now).Engine
	ctx := context.Background()
	must := func(cmd any) engine.Result {
		t.Helper()
		r, err := e.Submit(ctx, cmd)
		if err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
		return r
	}
	must(hall.SignIn{Window: "w1", Staff: "p1"})
	must(hall.IssueTicket{Service: "s"})
	must(hall.IssueTicket{Service: "s"})
	must(hall.CallNext{Window: "w1"})
	must(hall.Finish{Window: "w1"})
	r := must(hall.CallNext{Window: "w1"}) // ends A001's 请评价
	if len(r.Events) != 2 || r.Ticket == nil || r.Ticket.Number != "A002" {
		t.Fatalf("call-next answered %+v with %d events", r.Ticket, len(r.Events))
	}
	clock.Advance(24 * time.Hour)
	r = must(hall.IssueTicket{Service: "s"}) // the 25th ends first
	if r.Ticket == nil || r.Ticket.Number != "A001" || r.Ticket.Day != "2026-11-26" || len(r.Events) < 3 {
		t.Fatalf("the new day's first ticket answered %+v with %d events", r.Ticket, len(r.Events))
	}
}
