package hall

import (
	"strconv"
	"time"

	"halld/daemon/config"
)

// 好差评: the citizen's one rating of a visit, or its recorded absence. Each decide function is one
// window command's rule (decideWindowCmd dispatches them); none changes the state.

func decideRate(cfg *config.Config, st *State, c Rate, now time.Time) ([]Emit, error) {
	if !ValidLevel(c.Level) {
		return nil, refuse(400, "bad_level", "评价等级不正确（非常满意、满意、基本满意、不满意、非常不满意）")
	}
	t, ok := st.Tickets[st.Visits[c.Visit]]
	if c.Visit == 0 || !ok {
		return nil, refuse(404, "unknown_visit", "没有找到要评价的办件")
	}
	if st.Rated[c.Visit] {
		return nil, &Duplicate{TicketID: t.ID} // 一次一评: the first rating stands
	}
	if st.ClosedDay == st.Day {
		return nil, refuse(409, "rating_closed", "当日评价已截止")
	}
	v := st.VisitInfo[c.Visit]
	// Prompted: the visit's 请评价 is showing at its window. Unprompted
	// (主动评价): during the service, before the finish (the visit is
	// the window's current one), or after its 请评价 ended (未评价
	// recorded: this replaces it).
	unprompted, late := true, st.TimedOut[c.Visit]
	switch {
	case st.Finished[c.Visit]:
		if w, ok := st.Windows[v.Window]; ok && w.Awaiting == c.Visit {
			unprompted = false
		}
	case st.window(v.Window).Current == t.ID && t.Visit == c.Visit && (t.Status == StatusCalled || t.Status == StatusServing):
	default:
		return nil, refuse(409, "not_finished", "办结后才能评价")
	}
	if IsBad(c.Level) && len(c.Reasons) == 0 && c.Comment == "" {
		return nil, refuse(400, "reasons_required", "差评请选择或填写原因")
	}
	if err := rateBounds(c); err != nil {
		return nil, err
	}
	ev := &RatingSubmitted{TicketID: t.ID, Number: t.Number, Visit: c.Visit, Window: v.Window, Staff: v.Staff,
		Service: v.Service, Level: c.Level, Reasons: c.Reasons, Comment: c.Comment, Channel: c.Channel,
		Device: c.Device, Bad: IsBad(c.Level), Unprompted: unprompted, Late: late}
	out := []Emit{{TypeRatingSubmitted, ev}}
	if ev.Bad {
		wn := v.Window
		if wc, ok := cfg.Window(v.Window); ok {
			wn = wc.Name
		}
		out = append(out, Emit{TypeAlertRaised, &Alert{AlertID: "bad-rating-" + strconv.FormatUint(uint64(c.Visit), 10),
			Kind: "bad_rating", Severity: "warning", Window: v.Window, TicketID: t.ID,
			Message: wn + " " + t.Number + " 号收到差评（" + c.Level + "），请及时回访处置"}})
		out = append(out, openFollowUp(cfg, ev, now))
	}
	return out, nil
}

func decideRateTimeout(cfg *config.Config, st *State, c RateTimeout, now time.Time) ([]Emit, error) {
	reason := c.Reason
	if reason == "" {
		reason = RatingEndPadTimeout
	}
	return unrated(st, c.Visit, reason), nil
}
