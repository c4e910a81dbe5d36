package central_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"halld/daemon/central"
	"halld/daemon/hall"
	"halld/daemon/internal/testhall"
)

// The central server steps a 差评 follow-up through the loop with the same
// rules as the monitoring room's API, each step recorded under its name.
func TestCentralFollowUpSteps(t *testing.T) {
	h := testhall.New(t, hallYAML)
	ctx := context.Background()
	var visit uint32
	for _, cmd := range []any{
		hall.SignIn{Window: "w1", Staff: "s1", By: "t"},
		hall.IssueTicket{Service: "tax", Channel: "kiosk"},
		hall.CallNext{Window: "w1"},
		hall.Finish{Window: "w1"},
	} {
		res, err := h.Engine.Submit(ctx, cmd)
		if err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
		if _, isCall := cmd.(hall.CallNext); isCall {
			visit = res.Ticket.Visit
		}
	}
	if _, err := h.Engine.Submit(ctx, hall.Rate{Visit: visit, Level: "不满意", Reasons: []string{"attitude"}, Channel: "pad"}); err != nil {
		t.Fatal(err)
	}
	id := "fu-" + strconv.FormatUint(uint64(visit), 10)
	handle := central.Handler(h.Engine, nil, nil, nil)
	for _, c := range []struct{ args, err string }{
		{`{"id":"` + id + `","stage":"rectify","note":"x"}`, "bad_stage"},
		{`{"id":"` + id + `","stage":"callback"}`, "note_required"},
		{`{"id":"` + id + `","stage":"phone","note":"x"}`, "stage must be one of"},
		{`{"stage":"callback","note":"x"}`, "id required"},
		{`{"id":"` + id + `","stage":"callback","note":"x","colour":"red"}`, "unknown field"},
		{`{"id":"fu-999","stage":"callback","note":"x"}`, "unknown_followup"},
		{`{"id":"` + id + `","stage":"callback","note":"群众反映窗口人员态度生硬","reached":true,"by":"王科长"}`, ""},
		{`{"id":"` + id + `","stage":"rectify","note":"约谈当事人，开展服务礼仪培训"}`, ""},
		{`{"id":"` + id + `","stage":"feedback","note":"已电话告知群众整改情况","handler":"李干事"}`, ""},
		{`{"id":"` + id + `","stage":"rating","level":"很好"}`, "bad_level"},
		{`{"id":"` + id + `","stage":"rating","level":"满意"}`, ""},
		{`{"id":"` + id + `","stage":"rating","level":"满意"}`, "followup_closed"},
	} {
		_, err := handle("", "followup.step", []byte(c.args))
		switch {
		case c.err == "" && err != nil:
			t.Fatalf("%s: %v", c.args, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Fatalf("%s: %v, want %s", c.args, err, c.err)
		}
	}
	v, _ := h.Engine.Query(ctx, func(st *hall.State) any { f := *st.FollowUps[id]; return &f })
	f := v.(*hall.FollowUp)
	if !f.Closed || f.Satisfaction != hall.Satisfied {
		t.Fatalf("follow-up not closed by the citizen's rating: %+v", f)
	}
	var steps []string
	for _, s := range f.History[1:] { // [0]: opened by the 差评
		steps = append(steps, s.Stage+":"+s.By+":"+s.Handler)
	}
	want := "callback:central/王科长:王科长 rectify:central: feedback:central:李干事 rating:central:"
	if got := strings.Join(steps, " "); got != want {
		t.Fatalf("history %s, want %s", got, want)
	}
}
