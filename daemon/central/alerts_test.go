package central_test

import (
	"context"
	"strings"
	"testing"

	"halld/daemon/central"
	"halld/daemon/hall"
	"halld/daemon/internal/testhall"
)

// The central server works an alert with the same rules as the monitoring
// room, recorded under its own name.
func TestCentralAlertCommands(t *testing.T) {
	h := testhall.New(t, hallYAML)
	ctx := context.Background()
	if _, err := h.Engine.Submit(ctx, hall.RaiseAlert{Alert: hall.Alert{AlertID: "disk-low", Kind: "disk_low", Severity: "critical", Message: "存储空间不足"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Engine.Submit(ctx, hall.ObserveDevice{Device: "p1", Kind: "ticket_printer", State: "fault", Reason: "paper_end"}); err != nil {
		t.Fatal(err)
	}
	handle := central.Handler(h.Engine, nil, nil, nil)
	run := func(name, args string) (any, error) { return handle("", name, []byte(args)) }
	for _, c := range []struct{ name, args, err string }{
		{"alert.ack", `{"id":"disk-low","note":"中心已知悉","by":"王科长"}`, ""},
		{"alert.ack", `{"id":"disk-low"}`, "already_acknowledged"},
		{"alert.assign", `{"id":"disk-low","to":"s1"}`, ""},
		{"alert.assign", `{"id":"disk-low"}`, "to_required"},
		{"alert.ack", `{"id":"disk-low","to":"s1"}`, "to is for alert.assign only"},
		{"alert.close", `{"id":"disk-low","note":"远程清理完成","colour":"red"}`, "unknown field"},
		{"alert.close", `{"note":"x"}`, "id required"},
		{"alert.close", `{"id":"disk-low"}`, "note_required"},
		{"alert.close", `{"id":"device-p1","note":"已处理"}`, "condition_holds"},
		{"alert.close", `{"id":"nope","note":"x"}`, "unknown_alert"},
		{"alert.close", `{"id":"disk-low","note":"远程清理完成"}`, ""},
		{"alert.close", `{"id":"disk-low","note":"again"}`, "alert_closed"},
	} {
		_, err := run(c.name, c.args)
		switch {
		case c.err == "" && err != nil:
			t.Fatalf("%s %s: %v", c.name, c.args, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Fatalf("%s %s: %v, want %s", c.name, c.args, err, c.err)
		}
	}
	v, _ := h.Engine.Query(ctx, func(st *hall.State) any { return st.ClosedAlert("disk-low") })
	r := v.(*hall.AlertRecord)
	var steps []string
	for _, s := range r.History {
		steps = append(steps, s.Action+":"+s.By)
	}
	if got := strings.Join(steps, " "); got != "raised: acknowledged:central/王科长 assigned:central closed:central" {
		t.Fatalf("history %s", got)
	}
}
