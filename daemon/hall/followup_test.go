package hall_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"halld/daemon/config"
	"halld/daemon/hall"
)

// badRating runs one service at w2 ending in a 不满意 and returns the follow-up id.
func badRating(h *hallT) string {
	h.t.Helper()
	h.must(hall.SignIn{Window: "w2", Staff: "s2"})
	h.issue("tax", "")
	e := h.must(hall.CallNext{Window: "w2"})
	visit := e[0].Data.(*hall.TicketCalled).Visit
	h.must(hall.Finish{Window: "w2"})
	e = h.must(hall.Rate{Visit: visit, Level: "不满意", Reasons: []string{"等候时间长"}, Comment: "等了一个小时", Channel: "pad"})
	return e[2].Data.(*hall.FollowUp).ID
}

// nationalDay is the 2026 国庆 calendar: 10-01 … 10-07 off (a weekend
// inside), Saturday 10-10 a 调休 working day.
func nationalDay(h *hallT) {
	h.cfg.Holidays = nil
	for _, d := range []string{"2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"} {
		h.cfg.Holidays = append(h.cfg.Holidays, config.Holiday{Date: d, Name: "国庆节"})
	}
	h.cfg.Holidays = append(h.cfg.Holidays, config.Holiday{Date: "2026-10-10", Name: "国庆调休", Workday: true})
}

func dueOf(t *testing.T, f *hall.FollowUp) string {
	t.Helper()
	if f.DueBy == nil {
		return f.Due + " (no deadline)"
	}
	return f.Due + " " + time.Time(*f.DueBy).Format("2006-01-02 15:04")
}

func open(st *hall.State, id string) bool { _, ok := st.Alerts[id]; return ok }

func yes(b bool) *bool { return &b }

// TestFollowUpStepDeadlines: each step's deadline counts working days of the
// hall's calendar from the day the step before was done — across the
// National Day holiday, the weekend inside it and the 调休 Saturday — and
// the first round is due within followup_days of the 差评.
func TestFollowUpStepDeadlines(t *testing.T) {
	h := newHall(t)
	nationalDay(h)
	h.now = at("2026-09-30 10:00") // Wednesday, the day before the holiday
	id := badRating(h)
	f := h.st.FollowUps[id]
	if !open(h.st, "bad-rating-1") || f.Comment != "等了一个小时" || len(f.Reasons) != 1 {
		t.Fatalf("a 差评 raises its alert and opens %+v", f)
	}
	// 回访: 1 working day after Wed 9-30 is Thu 10-08 (10-01 … 10-07 off).
	if got := dueOf(t, f); got != "callback 2026-10-08 23:59" {
		t.Fatalf("回访 due %s", got)
	}
	// The whole first round: 5 working days: 10-08, 10-09, 10-10 (调休), 10-12, 10-13.
	if got := time.Time(f.Deadline).Format("2006-01-02"); got != "2026-10-13" {
		t.Fatalf("deadline %s", got)
	}
	h.refused(hall.FollowUpStep{ID: id, Stage: hall.StageRectify, Note: "x"}, "bad_stage") // 回访 first
	h.refused(hall.FollowUpStep{ID: id, Stage: hall.StageCallback}, "note_required")
	h.now = at("2026-10-08 09:30")
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageCallback, Note: "已电话回访，群众反映等候时间长", By: "S900"})
	// 整改: 3 working days after Thu 10-08: Fri 10-09, Sat 10-10 (调休), Mon 10-12.
	if got := dueOf(t, h.st.FollowUps[id]); got != "rectify 2026-10-12 23:59" {
		t.Fatalf("整改 due %s", got)
	}
	h.refused(hall.FollowUpStep{ID: id, Stage: hall.StageRectify}, "note_required")
	h.now = at("2026-10-12 16:00")
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageRectify, Note: "增设一个税务窗口，高峰期开放", By: "S900"})
	if got := dueOf(t, h.st.FollowUps[id]); got != "feedback 2026-10-13 23:59" {
		t.Fatalf("反馈 due %s", got)
	}
	h.now = at("2026-10-13 10:00")
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageFeedback, Note: "已电话告知整改结果", By: "S900"})
	// The citizen's rating: 2 working days after Tue 10-13.
	f = h.st.FollowUps[id]
	if got := dueOf(t, f); got != "rating 2026-10-15 23:59" || f.Closed || !open(h.st, "bad-rating-1") {
		t.Fatalf("after 反馈: %s closed %v", got, f.Closed)
	}
	h.refused(hall.FollowUpStep{ID: id, Stage: hall.StageRating, Level: "很好"}, "bad_level")
	e := h.must(hall.FollowUpStep{ID: id, Stage: hall.StageRating, Level: "基本满意", Note: "群众表示基本满意", By: "S900"})
	f = h.st.FollowUps[id]
	if !f.Closed || f.Satisfaction != "基本满意" || f.Due != "" || f.Overdue || f.Rounds != 1 || len(f.History) != 5 {
		t.Fatalf("closed: %+v", f)
	}
	if open(h.st, "bad-rating-1") || len(e) != 2 || e[1].Type != hall.TypeAlertCleared {
		t.Fatalf("closing clears the 差评's alert: %v", e)
	}
	h.refused(hall.FollowUpStep{ID: id, Stage: hall.StageRating, Level: "满意"}, "followup_closed")
	h.refused(hall.FollowUpStep{ID: "fu-999", Stage: hall.StageCallback, Note: "x"}, "unknown_followup")
}

// TestFollowUpTheFirstRoundKeepsThePromise: a late 回访 leaves 整改 less
// than its own days, up to the followup_days deadline; once that is past, a
// step has its own days again.
func TestFollowUpTheFirstRoundKeepsThePromise(t *testing.T) {
	h := newHall(t)
	nationalDay(h)
	h.now = at("2026-09-30 10:00")
	id := badRating(h)
	h.now = at("2026-10-12 09:00") // Monday, late
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageCallback, Note: "已回访"})
	if got := dueOf(t, h.st.FollowUps[id]); got != "rectify 2026-10-13 23:59" { // not 10-15
		t.Fatalf("整改 due %s", got)
	}
	h.now = at("2026-10-14 09:00")
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageRectify, Note: "已整改"})
	if got := dueOf(t, h.st.FollowUps[id]); got != "feedback 2026-10-15 23:59" {
		t.Fatalf("反馈 due %s", got)
	}
}

// TestFollowUpOverdueAtEachStep: a step past its deadline raises one alert
// of its own, marks the record, and its alert is cleared when it is done.
func TestFollowUpOverdueAtEachStep(t *testing.T) {
	h := newHall(t)
	nationalDay(h)
	h.now = at("2026-09-30 10:00")
	id := badRating(h)
	h.now = at("2026-10-08 23:59")
	for _, e := range h.must(hall.Tick{}) {
		if e.Type == hall.TypeFollowUpOverdue {
			t.Fatal("overdue before its deadline")
		}
	}
	h.now = at("2026-10-09 00:00")
	e := h.must(hall.Tick{})
	cb := "followup-overdue-" + id + "-callback"
	if len(e) != 2 || e[0].Type != hall.TypeFollowUpOverdue || e[1].Type != hall.TypeAlertRaised || !open(h.st, cb) {
		t.Fatalf("overdue: %v", e)
	}
	if a := h.st.Alerts[cb]; a.Kind != "followup_overdue" || a.Window != "w2" || a.Message != "B001 号差评（不满意）回访已超过期限（10-08 23:59），请尽快办理" {
		t.Fatalf("alert %+v", a.Alert)
	}
	if e := h.must(hall.Tick{}); len(e) != 0 {
		t.Fatal("overdue raised twice")
	}
	f := h.st.FollowUps[id]
	if !f.Overdue || !f.DueOverdue || fmt.Sprint(f.OverdueSteps) != "[callback]" {
		t.Fatalf("marked: %+v", f)
	}
	h.now = at("2026-10-09 09:00")
	e = h.must(hall.FollowUpStep{ID: id, Stage: hall.StageCallback, Note: "已回访"})
	if open(h.st, cb) || len(e) != 2 || h.st.FollowUps[id].DueOverdue {
		t.Fatalf("the 回访 done clears its alert: %v", e)
	}
	// 整改 by 10-13 (capped by the 5 days); late too: an alert of its own.
	h.now = at("2026-10-14 08:00")
	h.must(hall.Tick{})
	rc := "followup-overdue-" + id + "-rectify"
	if !open(h.st, rc) || fmt.Sprint(h.st.FollowUps[id].OverdueSteps) != "[callback rectify]" {
		t.Fatalf("整改 overdue: %v", h.st.FollowUps[id].OverdueSteps)
	}
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageRectify, Note: "已整改"})
	if open(h.st, rc) || !h.st.FollowUps[id].Overdue {
		t.Fatal("整改 done: its alert cleared, the record stays marked")
	}
}

// TestFollowUpCallsThatDoNotGetThrough: a call that does not reach the
// citizen is recorded and may be tried again; after call_attempts of them
// the 回访 counts as done with 未接通, and so does the citizen's rating.
func TestFollowUpCallsThatDoNotGetThrough(t *testing.T) {
	h := newHall(t)
	id := badRating(h)
	due := dueOf(t, h.st.FollowUps[id])
	for i := 1; i <= 2; i++ {
		h.must(hall.FollowUpStep{ID: id, Stage: hall.StageCallback, Reached: yes(false), By: "S900"})
		f := h.st.FollowUps[id]
		if f.Attempts != i || f.Stage != hall.StageOpen || dueOf(t, f) != due || f.History[i].Note != "未接通" || f.History[i].Attempt != i {
			t.Fatalf("attempt %d: %+v", i, f)
		}
	}
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageCallback, Reached: yes(false), Note: "三次未接通，短信告知"})
	f := h.st.FollowUps[id]
	if f.Callback != hall.CallUnreached || f.Due != hall.StageRectify || f.Attempts != 0 {
		t.Fatalf("after 3 calls: %+v", f)
	}
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageRectify, Note: "已整改"})
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageFeedback, Note: "短信反馈"})
	for i := 0; i < 3; i++ {
		h.must(hall.FollowUpStep{ID: id, Stage: hall.StageRating, Reached: yes(false)})
	}
	if f := h.st.FollowUps[id]; !f.Closed || f.Satisfaction != hall.SatisfactionNoAns || open(h.st, "bad-rating-1") {
		t.Fatalf("rating unreached: %+v", f)
	}
}

// TestFollowUpDissatisfiedGoesBackOnce: 不满意 with the rectification sends
// it back to 整改 once (rectify_rounds 2); a second 不满意 closes it marked.
func TestFollowUpDissatisfiedGoesBackOnce(t *testing.T) {
	h := newHall(t)
	id := badRating(h)
	round := func() {
		h.must(hall.FollowUpStep{ID: id, Stage: hall.StageRectify, Note: "整改"})
		h.must(hall.FollowUpStep{ID: id, Stage: hall.StageFeedback, Note: "反馈"})
	}
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageCallback, Note: "已回访"})
	round()
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageRating, Level: "不满意", Note: "仍需排队很久"})
	f := h.st.FollowUps[id]
	if f.Closed || f.Due != hall.StageRectify || f.Unsatisfied != 1 || f.Rounds != 1 {
		t.Fatalf("after the first 不满意: %+v", f)
	}
	// Wed 11-25 → the second round's 整改 has its own 3 working days.
	if got := dueOf(t, f); got != "rectify 2026-11-30 23:59" {
		t.Fatalf("second 整改 due %s", got)
	}
	h.refused(hall.FollowUpStep{ID: id, Stage: hall.StageFeedback, Note: "x"}, "bad_stage")
	round()
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageRating, Level: "不满意"})
	f = h.st.FollowUps[id]
	if !f.Closed || f.Satisfaction != "不满意" || f.Rounds != 2 || f.Unsatisfied != 2 || open(h.st, "bad-rating-1") {
		t.Fatalf("closed 不满意: %+v", f)
	}
}

// TestFollowUpAppeal: an appeal pauses the step awaited (its overdue alert
// cleared), is due for 复核 within review_days, may be made once; rejected
// resumes the step with a fresh deadline; upheld excludes the rating and
// closes, clearing the 差评's alert.
func TestFollowUpAppeal(t *testing.T) {
	h := newHall(t)
	id := badRating(h) // Wed 11-25
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageCallback, Note: "已回访"})
	h.now = at("2026-12-01 09:00") // 整改 was due Mon 11-30
	h.must(hall.Tick{})
	rc := "followup-overdue-" + id + "-rectify"
	if !open(h.st, rc) {
		t.Fatal("整改 not overdue")
	}
	h.refused(hall.FollowUpStep{ID: id, Stage: hall.StageAppealed}, "note_required")
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageAppealed, Note: "当日系统故障导致排队", By: "s2"})
	f := h.st.FollowUps[id]
	if open(h.st, rc) || dueOf(t, f) != "review 2026-12-08 23:59" || f.Stage != hall.StageAppealed {
		t.Fatalf("appealed: %s %+v", dueOf(t, f), f)
	}
	h.refused(hall.FollowUpStep{ID: id, Stage: hall.StageRectify, Note: "x"}, "under_appeal")
	h.refused(hall.FollowUpStep{ID: id, Stage: hall.StageAppealed, Note: "x"}, "already_appealed")
	h.refused(hall.FollowUpStep{ID: id, Stage: hall.StageRejected}, "note_required")
	h.now = at("2026-12-02 10:00")
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageRejected, Note: "故障已另行处理，差评属实", By: "admin"})
	f = h.st.FollowUps[id]
	if f.Stage != hall.StageCallback || f.Excluded || dueOf(t, f) != "rectify 2026-12-07 23:59" || f.DueOverdue {
		t.Fatalf("after a rejected appeal: %s %+v", dueOf(t, f), f)
	}
	h.refused(hall.FollowUpStep{ID: id, Stage: hall.StageAppealed, Note: "再申诉"}, "appeal_used")
	h.refused(hall.FollowUpStep{ID: id, Stage: hall.StageUpheld, Note: "x"}, "not_appealed")

	h2 := newHall(t)
	id = badRating(h2)
	h2.must(hall.FollowUpStep{ID: id, Stage: hall.StageAppealed, Note: "误评：群众按错键"})
	e := h2.must(hall.FollowUpStep{ID: id, Stage: hall.StageUpheld, Note: "核实为误评"})
	if f := h2.st.FollowUps[id]; !f.Excluded || !f.Closed || f.Due != "" || open(h2.st, "bad-rating-1") || len(e) != 2 {
		t.Fatalf("upheld: %+v %v", f, e)
	}
}

// TestFollowUpRecordedBeforeStepDeadlines: events recorded before steps had
// deadlines fold as they did (反馈 closed it), and an open record of then
// goes on under the new rules.
func TestFollowUpRecordedBeforeStepDeadlines(t *testing.T) {
	st := hall.NewState()
	ts := at("2026-11-02 10:00")
	fold := func(typ, body string) {
		t.Helper()
		v, err := hall.Decode(typ, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		hall.Apply(st, st.Seq+1, typ, ts, v)
	}
	fold(hall.TypeFollowUpOpened, `{"followup_id":"fu-1","visit":1,"window":"w2","number":"B001","level":"不满意","deadline":"2026-11-09T23:59:59.999+08:00","stage":"open"}`)
	fold(hall.TypeFollowUpOpened, `{"followup_id":"fu-2","visit":2,"window":"w2","number":"B002","level":"不满意","deadline":"2026-11-09T23:59:59.999+08:00","stage":"open"}`)
	for _, s := range []string{"callback", "rectify", "feedback"} {
		fold(hall.TypeFollowUpUpdated, `{"followup_id":"fu-1","stage":"`+s+`","note":"x"}`)
	}
	fold(hall.TypeFollowUpUpdated, `{"followup_id":"fu-2","stage":"callback","note":"x"}`)
	fold(hall.TypeFollowUpOverdue, `{"followup_id":"fu-2","stage":"callback"}`)
	if f := st.FollowUps["fu-1"]; !f.Closed || f.Stage != hall.StageFeedback || f.Due != "" || f.Satisfaction != "" {
		t.Fatalf("old 反馈: %+v", f)
	}
	if f := st.FollowUps["fu-2"]; f.Closed || !f.Overdue || f.DueOverdue || f.Due != "" || len(f.OverdueSteps) != 0 {
		t.Fatalf("old overdue: %+v", f)
	}
	h := newHall(t)
	h.st, h.now = st, at("2026-11-20 10:00")
	if e := h.must(hall.Tick{}); len(e) != 0 {
		t.Fatalf("raised again: %v", e)
	}
	h.must(hall.FollowUpStep{ID: "fu-2", Stage: hall.StageRectify, Note: "已整改"})
	if got := dueOf(t, h.st.FollowUps["fu-2"]); got != "feedback 2026-11-23 23:59" {
		t.Fatalf("old record, new rules: %s", got)
	}
}

// TestFollowUpReplay: the events of a whole follow-up, through the journal's
// encoding, fold into the same state.
func TestFollowUpReplay(t *testing.T) {
	h := newHall(t)
	nationalDay(h)
	h.now = at("2026-09-30 10:00")
	type rec struct {
		typ  string
		ts   time.Time
		body []byte
	}
	var log []rec
	do := func(cmd any) []hall.Emit {
		t.Helper()
		emits, err := hall.Decide(h.cfg, h.st, cmd, h.now)
		if err != nil {
			t.Fatalf("%T%+v: %v", cmd, cmd, err)
		}
		for _, e := range emits {
			b, err := json.Marshal(e.Data)
			if err != nil {
				t.Fatal(err)
			}
			log = append(log, rec{e.Type, h.now, b})
			hall.Apply(h.st, h.st.Seq+1, e.Type, h.now, e.Data)
		}
		return emits
	}
	do(hall.SignIn{Window: "w2", Staff: "s2"})
	do(hall.IssueTicket{Service: "tax", Channel: "kiosk", Kiosk: "k1"})
	visit := do(hall.CallNext{Window: "w2"})[0].Data.(*hall.TicketCalled).Visit
	do(hall.Finish{Window: "w2"})
	do(hall.Rate{Visit: visit, Level: "非常不满意", Reasons: []string{"服务态度差"}, Channel: "pad"})
	id := "fu-1"
	for _, s := range []hall.FollowUpStep{{ID: id, Stage: hall.StageCallback, Reached: yes(false)}, {ID: id, Stage: hall.StageCallback, Note: "回访"},
		{ID: id, Stage: hall.StageRectify, Note: "整改"}, {ID: id, Stage: hall.StageFeedback, Note: "反馈"},
		{ID: id, Stage: hall.StageRating, Level: "不满意"}, {ID: id, Stage: hall.StageAppealed, Note: "申诉"},
		{ID: id, Stage: hall.StageRejected, Note: "驳回"}, {ID: id, Stage: hall.StageRectify, Note: "再整改"},
		{ID: id, Stage: hall.StageFeedback, Note: "再反馈"}, {ID: id, Stage: hall.StageRating, Level: "满意"}} {
		h.now = h.now.Add(40 * time.Hour)
		do(hall.Tick{})
		do(s)
	}
	if f := h.st.FollowUps[id]; !f.Closed || f.Satisfaction != "满意" || len(f.OverdueSteps) == 0 || f.Unsatisfied != 1 || f.Rounds != 2 {
		t.Fatalf("the run: %+v", f)
	}
	replica := hall.NewState()
	for i, r := range log {
		v, err := hall.Decode(r.typ, r.body)
		if err != nil {
			t.Fatal(err)
		}
		hall.Apply(replica, uint64(i+1), r.typ, r.ts, v)
	}
	a, _ := hall.EncodeState(h.st)
	b, _ := hall.EncodeState(replica)
	if string(a) != string(b) {
		t.Fatalf("the replayed state differs:\nlive   %s\nreplay %s", a, b)
	}
}
