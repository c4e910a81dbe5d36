package hall

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"halld/daemon/config"
)

// The window itself: paused or open, and who is signed in at it. Each decide function is one window
// command's rule (decideWindowCmd dispatches them); none changes the state.

func decidePause(cfg *config.Config, st *State, c Pause, now time.Time) ([]Emit, error) {
	wc, err := windowCfg(cfg, c.Window)
	if err != nil {
		return nil, err
	}
	w := st.window(c.Window)
	reason := strings.TrimSpace(c.Reason)
	if reason == "" {
		return nil, refuse(400, "reason_required", "暂停服务须说明原因")
	}
	if chars(reason) > MaxPauseReason {
		return nil, refuse(400, "reason_too_long", fmt.Sprintf("暂停原因最多 %d 个字（现有 %d 个），请简要说明", MaxPauseReason, chars(reason)))
	}
	if strings.ContainsFunc(reason, unicode.IsControl) {
		return nil, refuse(400, "bad_reason", "暂停原因不能含换行或控制字符")
	}
	if c.Minutes < 0 || c.Minutes > MaxPauseMinutes {
		return nil, refuse(400, "bad_minutes", fmt.Sprintf("暂停时长须在 1 到 %d 分钟之间（不填表示不预计回来时间）", MaxPauseMinutes))
	}
	if w.Status == WindowPaused {
		return nil, refuse(409, "already_paused", "本窗口已暂停")
	}
	if err := st.requireOpen(w); err != nil {
		return nil, err
	}
	if err := st.requireFree(w); err != nil {
		return nil, err
	}
	ev := &WindowPause{Window: w.ID, WindowNumber: wc.Number, Reason: reason, Staff: w.Staff,
		Voice: strconv.Itoa(wc.Number) + "号窗口暂停服务"}
	if c.Minutes > 0 {
		u := Stamp(now.Add(time.Duration(c.Minutes) * time.Minute).In(cfg.Location))
		ev.Until = &u
	}
	return append(closeAwaiting(st, w.ID, RatingEndPause), Emit{TypeWindowPaused, ev}), nil
}

func decideResume(cfg *config.Config, st *State, c Resume, now time.Time) ([]Emit, error) {
	if _, err := windowCfg(cfg, c.Window); err != nil {
		return nil, err
	}
	w := st.window(c.Window)
	if w.Status != WindowPaused {
		return nil, refuse(409, "not_paused", "本窗口未暂停")
	}
	out := []Emit{{TypeWindowResumed, &WindowResumed{Window: w.ID}}}
	if w.Overdue {
		out = append(out, Emit{TypeAlertCleared, &AlertCleared{AlertID: overdueAlertID(w), Reason: "resumed"}})
	}
	return out, nil
}

func decideSignIn(cfg *config.Config, st *State, c SignIn, now time.Time) ([]Emit, error) {
	if _, err := windowCfg(cfg, c.Window); err != nil {
		return nil, err
	}
	if err := badID("bad_staff", "工号", c.Staff); err != nil {
		return nil, err
	}
	name := c.Staff
	if len(cfg.Staff) > 0 {
		s, ok := cfg.StaffMember(c.Staff)
		if !ok {
			return nil, refuse(404, "unknown_staff", "没有这个工号："+clip(c.Staff, 32))
		}
		name = s.Name
	}
	if c.Staff == "" {
		return nil, refuse(400, "staff_required", "请选择签到人员")
	}
	if !c.PINChecked && pinRequired(cfg, st) {
		return nil, refuse(403, "pin_required", "请在窗口页面输入本人签到密码签到")
	}
	w := st.window(c.Window)
	var out []Emit
	if w.Staff == c.Staff {
		return nil, refuse(409, "already_signed_in", name+" 已在本窗口签到")
	}
	if other := st.SignedInAt(c.Staff); c.Ask && other != "" {
		return nil, refuse(409, "signed_in_elsewhere", name+" 已在 "+windowName(cfg, other)+" 签到，确认后将在那里签退并在本窗口签到")
	}
	if w.Staff != "" {
		if err := st.requireFree(w); err != nil {
			return nil, err
		}
		out = append(out, closeAwaiting(st, w.ID, RatingEndSignOut)...)
		out = append(out, Emit{TypeStaffSignedOut, &StaffSignedOut{Window: w.ID, Staff: w.Staff}})
	}
	// One person, one window: signing in here signs them out elsewhere.
	for _, other := range st.sortedWindows() {
		if other.ID != w.ID && other.Staff == c.Staff {
			if err := st.requireFree(other); err != nil {
				return nil, err
			}
			out = append(out, closeAwaiting(st, other.ID, RatingEndSignOut)...)
			out = append(out, Emit{TypeStaffSignedOut, &StaffSignedOut{Window: other.ID, Staff: c.Staff}})
		}
	}
	return append(out, Emit{TypeStaffSignedIn, &StaffSignedIn{Window: w.ID, Staff: c.Staff, StaffName: name, By: c.By}}), nil
}

func decideSignOut(cfg *config.Config, st *State, c SignOut, now time.Time) ([]Emit, error) {
	if _, err := windowCfg(cfg, c.Window); err != nil {
		return nil, err
	}
	w := st.window(c.Window)
	if w.Staff == "" {
		return nil, refuse(409, "not_signed_in", "本窗口无人签到")
	}
	if err := st.requireFree(w); err != nil {
		return nil, err
	}
	return append(closeAwaiting(st, w.ID, RatingEndSignOut), Emit{TypeStaffSignedOut, &StaffSignedOut{Window: w.ID, Staff: w.Staff, By: c.By}}), nil
}
