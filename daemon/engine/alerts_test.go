package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"halld/daemon/hall"
)

// Alert actions whose commit fails leave the committed state's alert
// records, their histories and the closed alerts as they were (records are
// replaced, histories copied, ClosedAlerts never written in place).
func TestFailedAlertActionsLeaveTheStateAsItWas(t *testing.T) {
	ctx := context.Background()
	_, j, e, _ := hallEngine(t, filepath.Join(t.TempDir(), "j.db"))
	rctx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); <-e.Done() }()
	go e.Run(rctx)
	for i := range 5 {
		id := fmt.Sprint("a", i)
		e.Submit(ctx, hall.RaiseAlert{Alert: hall.Alert{AlertID: id, Kind: "trace_stopped", Severity: "warning", Message: "m"}})
		e.Submit(ctx, hall.AckAlert{AlertID: id, By: "it-1", Note: "n"})
		if i < 2 {
			e.Submit(ctx, hall.CloseAlert{AlertID: id, By: "it-1", Note: "n"})
		}
	}
	snap := func() []byte {
		v, _ := e.Query(ctx, func(st *hall.State) any { return stateJSON(t, st) })
		return v.([]byte)
	}
	before := snap()
	j.Close()
	refused := 0
	for _, cmd := range []any{
		hall.AssignAlert{AlertID: "a2", By: "it-1", To: "s1"}, hall.CloseAlert{AlertID: "a3", By: "it-1", Note: "n"},
		hall.ClearAlert{AlertID: "a4", Reason: "ok"}, hall.RaiseAlert{Alert: hall.Alert{AlertID: "a0", Kind: "trace_stopped", Severity: "warning", Message: "m"}},
	} {
		var re *hall.RuleError
		if _, err := e.Submit(ctx, cmd); errors.As(err, &re) && re.Code == "storage_failed" {
			refused++
		}
	}
	if refused != 4 {
		t.Fatalf("%d of 4 commands reached a failing commit", refused)
	}
	if after := snap(); !bytes.Equal(before, after) {
		t.Fatalf("failed commits changed the committed state:\nbefore %.1500s\nafter  %.1500s", before, after)
	}
}
