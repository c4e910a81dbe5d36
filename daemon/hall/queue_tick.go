package hall

import (
	"fmt"
	"time"

	"halld/daemon/config"
)

// The clock: the day's close, overdue follow-ups, peak load, overdue pauses and ratings that timed
// out. Each decide function is one window command's rule (decideWindowCmd dispatches them); none
// changes the state.

func decideTick(cfg *config.Config, st *State, c Tick, now time.Time) ([]Emit, error) {
	var out []Emit
	if dayToClose(cfg, st, now) {
		out = closeDay(st)
	}
	out = append(out, overdueFollowUps(cfg, st, now)...)
	out = append(out, peakAlerts(cfg, st, now)...)
	for _, w := range st.sortedWindows() {
		if w.Status == WindowPaused && !w.Overdue && now.Sub(w.PausedAt) >= cfg.PauseLimitDuration() {
			since := Stamp(w.PausedAt.In(cfg.Location))
			mins := int(now.Sub(w.PausedAt).Minutes())
			out = append(out, Emit{TypeWindowOverdue, &WindowOverdue{Window: w.ID, Since: &since, Minutes: mins}})
			name := w.ID
			if wc, ok := cfg.Window(w.ID); ok {
				name = wc.Name
			}
			out = append(out, Emit{TypeAlertRaised, &Alert{AlertID: overdueAlertID(w), Kind: "pause_overdue", Severity: "warning",
				Window: w.ID, Message: fmt.Sprintf("%s 暂停已超过 %d 分钟（%s）", name, mins, w.PauseReason)}})
		}
		if w.Awaiting != 0 && now.Sub(w.FinishedAt) >= cfg.RatingTimeoutDuration() {
			if !dayToClose(cfg, st, now) { // else closed as day_end above
				out = append(out, unrated(st, w.Awaiting, RatingEndTimeout)...)
			}
		}
	}
	return out, nil
}
