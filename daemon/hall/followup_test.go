package hall_test

import (
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
	e = h.must(hall.Rate{Visit: visit, Level: "不满意", Reasons: []string{"等候时间长"}, Channel: "pad"})
	return e[2].Data.(*hall.FollowUp).ID
}

func TestFollowUpStagesAndDeadline(t *testing.T) {
	h := newHall(t)
	h.now = at("2026-09-29 10:00") // a Tuesday before the National Day holiday
	h.cfg.Holidays = nil
	for _, d := range []string{"2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"} {
		h.cfg.Holidays = append(h.cfg.Holidays, config.Holiday{Date: d, Name: "国庆节"})
	}
	id := badRating(h)
	f := h.st.FollowUps[id]
	// 5 working days after Tue 9-29: 9-30, 10-08 (Thu), 10-09, 10-12, 10-13.
	if got := time.Time(f.Deadline).Format("2006-01-02 15:04"); got != "2026-10-13 23:59" {
		t.Fatalf("deadline %s", got)
	}
	h.refused(hall.FollowUpStep{ID: id, Stage: hall.StageRectify, Note: "x"}, "bad_stage") // 回访 first
	h.refused(hall.FollowUpStep{ID: id, Stage: hall.StageCallback}, "note_required")
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageCallback, Note: "已电话回访，群众反映等候时间长", By: "S900"})
	// An appeal pauses the steps; a rejected appeal returns to where it was.
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageAppealed, Note: "当日系统故障导致排队", By: "s2"})
	h.refused(hall.FollowUpStep{ID: id, Stage: hall.StageRectify, Note: "x"}, "under_appeal")
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageRejected, Note: "故障已另行处理，差评属实"})
	if f := h.st.FollowUps[id]; f.Stage != hall.StageCallback || f.Excluded {
		t.Fatalf("after a rejected appeal: %+v", f)
	}
	// Overdue once, after the deadline.
	h.now = at("2026-10-13 22:00")
	h.must(hall.Tick{}) // the days before end (day.closed)
	h.now = at("2026-10-13 23:00")
	if e := h.must(hall.Tick{}); len(e) != 0 {
		t.Fatalf("overdue before the deadline: %+v", e)
	}
	h.now = at("2026-10-14 00:00")
	e := h.must(hall.Tick{})
	if len(e) != 2 || e[0].Type != hall.TypeFollowUpOverdue || e[1].Type != hall.TypeAlertRaised {
		t.Fatalf("overdue: %+v", e)
	}
	if e := h.must(hall.Tick{}); len(e) != 0 {
		t.Fatal("overdue raised twice")
	}
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageRectify, Note: "增设一个社保窗口"})
	e = h.must(hall.FollowUpStep{ID: id, Stage: hall.StageFeedback, Note: "已向群众反馈整改结果"})
	if f := h.st.FollowUps[id]; !f.Closed || len(f.History) != 6 || len(e) != 2 || e[1].Type != hall.TypeAlertCleared {
		t.Fatalf("closed: %+v / %+v", f, e)
	}
	h.refused(hall.FollowUpStep{ID: id, Stage: hall.StageFeedback, Note: "x"}, "followup_closed")
}

func TestUpheldAppealExcludesTheRating(t *testing.T) {
	h := newHall(t)
	id := badRating(h)
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageAppealed, Note: "误评：群众按错键"})
	h.must(hall.FollowUpStep{ID: id, Stage: hall.StageUpheld, Note: "核实为误评"})
	if f := h.st.FollowUps[id]; !f.Excluded || !f.Closed {
		t.Fatalf("upheld: %+v", f)
	}
	h.refused(hall.FollowUpStep{ID: "fu-999", Stage: hall.StageCallback, Note: "x"}, "unknown_followup")
}
