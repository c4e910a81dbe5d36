package hall

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"halld/daemon/config"
)

// More ticket statuses.
const (
	StatusCalled  = "called"
	StatusServing = "serving"
	StatusDone    = "done"
	StatusNoShow  = "no_show"
	StatusHeld    = "held"
)

// Window statuses.
const (
	WindowOpen   = "open"   // staff signed in, serving
	WindowPaused = "paused" // 暂停服务 / 临时外出
	WindowClosed = "closed" // nobody signed in
)

// WindowState is a window as the journal says it is.
type WindowState struct {
	ID          string
	Status      string
	Staff       string
	Current     string // ticket id called or being served here
	PauseReason string
	PausedAt    time.Time
	PausedUntil *time.Time
	Overdue     bool
	// Awaiting is the visit finished here whose rating is still expected.
	Awaiting   uint32
	FinishedAt time.Time
}

// Window commands. Each names the window it acts at.
type (
	// By, in each, is who did it (a token's name, loopback, a staff id):
	// the action's events record it (by.go).
	CallNext   struct{ Window, By string }
	CallTicket struct{ Window, Ticket, By string }
	Recall     struct{ Window, By string }
	NoShow     struct{ Window, By string }
	Start      struct{ Window, By string }
	Finish     struct{ Window, By string }
	Hold       struct{ Window, By string }
	Transfer   struct{ Window, Service, ToWindow, By string }
	Pause      struct {
		Window, Reason string
		Minutes        int
		By             string
	}
	Resume struct{ Window, By string }
	// SignIn: Ask refuses (signed_in_elsewhere) when the person is signed in
	// at another window, instead of moving them; PINChecked says the web has
	// checked their PIN (needed when the hall has PINs); By who did it.
	SignIn struct {
		Window, Staff string
		Ask           bool
		PINChecked    bool
		By            string
	}
	SignOut struct{ Window, By string }
	// Rate is the citizen's rating of a visit. Level is a name from RatingLevels.
	Rate struct {
		Visit            uint32
		Level            string
		Reasons          []string
		Comment, Channel string
		Device           string
	}
	// RateTimeout: the pad gave up waiting (Reason empty: RatingEndPadTimeout),
	// or halld did (at Tick: RatingEndTimeout).
	RateTimeout struct {
		Visit  uint32
		Reason string
	}
	// Tick lets time-based rules run: overdue pauses, rating timeouts.
	Tick struct{}
)

func (st *State) window(id string) *WindowState {
	if w, ok := st.Windows[id]; ok {
		return w
	}
	return &WindowState{ID: id, Status: WindowClosed}
}

func windowCfg(cfg *config.Config, id string) (*config.Window, error) {
	w, ok := cfg.Window(id)
	if !ok {
		return nil, refuse(404, "unknown_window", "没有这个窗口："+clip(id, 32))
	}
	return w, nil
}

func voiceCall(number string, windowNumber int) string {
	return "请" + number + "号到" + strconv.Itoa(windowNumber) + "号窗口办理"
}

// current returns the ticket at a window, or a refusal.
func (st *State) current(w *WindowState, want ...string) (*Ticket, error) {
	t, ok := st.Tickets[w.Current]
	if w.Current == "" || !ok {
		return nil, refuse(409, "no_current_ticket", "本窗口当前没有号码")
	}
	for _, s := range want {
		if t.Status == s {
			return t, nil
		}
	}
	return nil, refuse(409, "bad_ticket_state", "当前号码 "+t.Number+" 的状态不允许此操作（"+statusName(t.Status)+"）")
}

func statusName(s string) string {
	switch s {
	case StatusWaiting:
		return "等候中"
	case StatusCalled:
		return "已叫号"
	case StatusServing:
		return "办理中"
	case StatusDone:
		return "已办结"
	case StatusNoShow:
		return "过号"
	case StatusHeld:
		return "挂起"
	case StatusExpired:
		return "已过期（日终）"
	}
	return s
}

// readyToCall is a window that may call now: known, open, not busy.
func (st *State) readyToCall(cfg *config.Config, id string) (*config.Window, *WindowState, error) {
	wc, err := windowCfg(cfg, id)
	if err != nil {
		return nil, nil, err
	}
	w := st.window(id)
	if err := st.requireOpen(w); err != nil {
		return nil, nil, err
	}
	if err := st.requireFree(w); err != nil {
		return nil, nil, err
	}
	return wc, w, nil
}

// ticketAt is a known window and its current ticket, in one of the wanted states.
func (st *State) ticketAt(cfg *config.Config, id string, want ...string) (*config.Window, *WindowState, *Ticket, error) {
	wc, err := windowCfg(cfg, id)
	if err != nil {
		return nil, nil, nil, err
	}
	w := st.window(id)
	t, err := st.current(w, want...)
	if err != nil {
		return nil, nil, nil, err
	}
	return wc, w, t, nil
}

func (st *State) requireOpen(w *WindowState) error {
	switch w.Status {
	case WindowClosed:
		return refuse(409, "not_signed_in", "本窗口尚未签到，请先签到")
	case WindowPaused:
		return refuse(409, "window_paused", "本窗口暂停服务中，请先恢复")
	}
	return nil
}

func (st *State) requireFree(w *WindowState) error {
	if t, ok := st.Tickets[w.Current]; ok && (t.Status == StatusCalled || t.Status == StatusServing) {
		return refuse(409, "window_busy", "请先处理当前号码 "+t.Number+"（办结、过号或挂起）")
	}
	return nil
}

// Candidate is a ticket a window may call, in calling order.
type Candidate struct {
	Ticket   *Ticket
	Class    int    // 0 appointment due, 1 green channel, 2 everyone else
	Covering string // the window whose queue it comes from, when not this one's
	Score    float64
}

// Queue lists the tickets window id may call now, in the order CallNext takes
// them: appointments due in their slot, then the green channel, then everyone
// else; within a class the longest wait weighted by the window's weight for
// the service, ties first come first served. A window also calls the queue of
// every window whose AB backup it is while that window is paused or closed.
func Queue(cfg *config.Config, st *State, id string, now time.Time) []Candidate {
	cfg = Effective(cfg, st)
	wc, ok := cfg.Window(id)
	if !ok {
		return nil
	}
	day := st.Today(cfg, now)
	type source struct {
		window  *config.Window
		covered string
	}
	sources := []source{{wc, ""}}
	for i := range cfg.Windows {
		other := &cfg.Windows[i]
		if other.Backup == id && st.window(other.ID).Status != WindowOpen {
			sources = append(sources, source{other, other.ID})
		}
	}
	var out []Candidate
	seen := map[string]bool{}
	for _, idx := range st.Order {
		t := st.Tickets[idx]
		if t.Day != day || t.Status != StatusWaiting || seen[t.ID] {
			continue
		}
		for _, src := range sources {
			weight := 0
			if t.PinnedWindow != "" {
				if t.PinnedWindow == src.window.ID {
					weight = 1
				}
			} else {
				for _, ws := range src.window.Services {
					if ws.Service == t.Service {
						weight = max(ws.Weight, 1)
					}
				}
			}
			if weight == 0 {
				continue
			}
			waited := now.Sub(time.Time(t.IssuedAt)).Seconds()
			out = append(out, Candidate{Ticket: t, Class: class(t, now), Covering: src.covered,
				Score: max(waited, 0) * float64(weight)})
			seen[t.ID] = true
			break
		}
	}
	pos := map[string]int{}
	for i, id := range st.Order {
		pos[id] = i
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Class != b.Class {
			return a.Class < b.Class
		}
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		return pos[a.Ticket.ID] < pos[b.Ticket.ID]
	})
	return out
}

// class ranks a ticket: an appointment counts as such only in its slot (or
// when it has none); before it, it waits with everyone else.
func class(t *Ticket, now time.Time) int {
	switch t.Priority {
	case PriorityAppointment:
		if t.SlotStart == nil || !now.Before(time.Time(*t.SlotStart)) {
			return 0
		}
	case PriorityGreen:
		return 1
	}
	return 2
}

func decideWindow(cfg *config.Config, st *State, cmd any, now time.Time) ([]Emit, error) {
	out, err := decideWindowCmd(cfg, st, cmd, now)
	stampBy(out, actorOf(cmd))
	return out, err
}

func decideWindowCmd(cfg *config.Config, st *State, cmd any, now time.Time) ([]Emit, error) {
	switch c := cmd.(type) {
	case CallNext:
		wc, w, err := st.readyToCall(cfg, c.Window)
		if err != nil {
			return nil, err
		}
		q := Queue(cfg, st, c.Window, now)
		if len(q) == 0 {
			return nil, refuse(409, "queue_empty", "当前没有等候的号码")
		}
		// The call ends the 请评价 of the visit before (after the call: the
		// call is what the command is answered with).
		return append([]Emit{st.call(wc, w, q[0].Ticket, false, q[0].Covering)}, closeAwaiting(st, w.ID, RatingEndNextCall)...), nil
	case CallTicket:
		wc, w, err := st.readyToCall(cfg, c.Window)
		if err != nil {
			return nil, err
		}
		t, ok := st.Tickets[c.Ticket]
		if !ok || t.Day != st.Today(cfg, now) {
			return nil, refuse(404, "unknown_ticket", "没有找到这张号票（只能呼叫当天的号票）")
		}
		if t.Status != StatusWaiting && t.Status != StatusHeld && t.Status != StatusNoShow {
			return nil, refuse(409, "bad_ticket_state", t.Number+" 号"+statusName(t.Status)+"，不能呼叫")
		}
		return append([]Emit{st.call(wc, w, t, true, "")}, closeAwaiting(st, w.ID, RatingEndNextCall)...), nil
	case Recall:
		wc, w, t, err := st.ticketAt(cfg, c.Window, StatusCalled)
		if err != nil {
			return nil, err
		}
		e := st.call(wc, w, t, false, "")
		ev := e.Data.(*TicketCalled)
		ev.Recall, ev.Recalls, ev.Visit = true, t.Recalls+1, t.Visit
		return []Emit{{TypeTicketRecalled, ev}}, nil
	case NoShow:
		_, w, t, err := st.ticketAt(cfg, c.Window, StatusCalled)
		if err != nil {
			return nil, err
		}
		return []Emit{{TypeTicketNoShow, &TicketAtWindow{TicketID: t.ID, Number: t.Number, Window: w.ID, Visit: t.Visit}}}, nil
	case Hold:
		_, w, t, err := st.ticketAt(cfg, c.Window, StatusCalled, StatusServing)
		if err != nil {
			return nil, err
		}
		return []Emit{{TypeTicketHeld, &TicketAtWindow{TicketID: t.ID, Number: t.Number, Window: w.ID, Visit: t.Visit}}}, nil
	case Start:
		_, w, t, err := st.ticketAt(cfg, c.Window, StatusCalled)
		if err != nil {
			return nil, err
		}
		return []Emit{{TypeServiceStarted, &ServiceEvent{TicketID: t.ID, Number: t.Number, Service: t.Service, Window: w.ID, Staff: w.Staff, Visit: t.Visit}}}, nil
	case Finish:
		_, w, t, err := st.ticketAt(cfg, c.Window, StatusCalled, StatusServing)
		if err != nil {
			return nil, err
		}
		se := ServiceEvent{TicketID: t.ID, Number: t.Number, Service: t.Service, Window: w.ID, Staff: w.Staff, Visit: t.Visit}
		var out []Emit
		if t.Status == StatusCalled {
			started := se
			started.Implicit = true
			out = append(out, Emit{TypeServiceStarted, &started})
		}
		return append(out, Emit{TypeServiceFinished, &se}), nil
	case Transfer:
		_, w, t, err := st.ticketAt(cfg, c.Window, StatusCalled, StatusServing)
		if err != nil {
			return nil, err
		}
		to := c.Service
		if to == "" {
			to = t.Service
		}
		toSvc, ok := cfg.Service(to)
		if !ok {
			return nil, refuse(404, "unknown_service", "没有这项业务："+clip(to, 32))
		}
		if c.ToWindow != "" {
			if _, err := windowCfg(cfg, c.ToWindow); err != nil {
				return nil, err
			}
			if c.ToWindow == c.Window && to == t.Service {
				return nil, refuse(400, "bad_transfer", "转移的目标与当前相同")
			}
		} else if to == t.Service {
			return nil, refuse(400, "bad_transfer", "请选择要转去的业务或窗口")
		}
		return []Emit{{TypeTicketTransferred, &TicketTransferred{TicketID: t.ID, Number: t.Number, FromService: t.Service,
			ToService: to, FromWindow: w.ID, ToWindow: c.ToWindow, Visit: t.Visit,
			FromServiceName: t.ServiceName, ToServiceName: toSvc.Name}}}, nil
	case Pause:
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
	case Resume:
		if _, err := windowCfg(cfg, c.Window); err != nil {
			return nil, err
		}
		w := st.window(c.Window)
		if w.Status != WindowPaused {
			return nil, refuse(409, "not_paused", "本窗口未暂停")
		}
		out := []Emit{{TypeWindowResumed, &WindowEvent{Window: w.ID}}}
		if w.Overdue {
			out = append(out, Emit{TypeAlertCleared, &AlertCleared{AlertID: overdueAlertID(w), Reason: "resumed"}})
		}
		return out, nil
	case SignIn:
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
			out = append(out, Emit{TypeStaffSignedOut, &StaffEvent{Window: w.ID, Staff: w.Staff}})
		}
		// One person, one window: signing in here signs them out elsewhere.
		for _, other := range st.sortedWindows() {
			if other.ID != w.ID && other.Staff == c.Staff {
				if err := st.requireFree(other); err != nil {
					return nil, err
				}
				out = append(out, closeAwaiting(st, other.ID, RatingEndSignOut)...)
				out = append(out, Emit{TypeStaffSignedOut, &StaffEvent{Window: other.ID, Staff: c.Staff}})
			}
		}
		return append(out, Emit{TypeStaffSignedIn, &StaffEvent{Window: w.ID, Staff: c.Staff, StaffName: name, By: c.By}}), nil
	case SignOut:
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
		return append(closeAwaiting(st, w.ID, RatingEndSignOut), Emit{TypeStaffSignedOut, &StaffEvent{Window: w.ID, Staff: w.Staff, By: c.By}}), nil
	case Rate:
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
	case RateTimeout:
		reason := c.Reason
		if reason == "" {
			reason = RatingEndPadTimeout
		}
		return unrated(st, c.Visit, reason), nil
	case Tick:
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
				out = append(out, Emit{TypeWindowOverdue, &WindowEvent{Window: w.ID, Since: &since, Minutes: mins}})
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
	return nil, errNotWindowCommand
}

var errNotWindowCommand = fmt.Errorf("hall: not a window command")

func overdueAlertID(w *WindowState) string {
	return "pause-overdue-" + w.ID + "-" + strconv.FormatInt(w.PausedAt.Unix(), 10)
}

// call makes the ticket.called event; the visit number is assigned here.
func (st *State) call(wc *config.Window, w *WindowState, t *Ticket, chosen bool, covering string) Emit {
	return Emit{TypeTicketCalled, (&TicketCalled{TicketID: t.ID, Number: t.Number, Service: t.Service,
		ServiceName: t.ServiceName, Window: wc.ID, WindowNumber: wc.Number, WindowName: wc.Name,
		Visit: st.NextVisit + 1, Priority: t.Priority, Staff: w.Staff, OutOfOrder: chosen, Covering: covering,
		Voice: voiceCall(t.Number, wc.Number), Silent: t.Silent}).silenced()}
}

func (st *State) sortedWindows() []*WindowState {
	ids := make([]string, 0, len(st.Windows))
	for id := range st.Windows {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]*WindowState, len(ids))
	for i, id := range ids {
		out[i] = st.Windows[id]
	}
	return out
}

// ticketW returns the ticket for writing: a copy put in its place, so the
// state a batch was decided from (the engine's committed state, which
// readers may hold) never changes under anyone (copy on write, as for
// follow-ups and appointments).
func (st *State) ticketW(id string) (*Ticket, bool) {
	t, ok := st.Tickets[id]
	if !ok {
		return nil, false
	}
	c := *t
	c.Transfers = slices.Clip(c.Transfers) // an append must not write into the original's array
	st.Tickets[id] = &c
	return &c, true
}

func (st *State) windowW(id string) *WindowState {
	w, ok := st.Windows[id]
	if !ok {
		w = &WindowState{ID: id, Status: WindowClosed}
		st.Windows[id] = w
	}
	return w
}

// VisitRecord says where and by whom a visit was served.
type VisitRecord struct {
	Window, Staff, Service string
}

// applyQueue folds calling, service, rating and window events.
func applyQueue(st *State, ts time.Time, data any) {
	stamp := Stamp(ts)
	switch e := data.(type) {
	case *TicketCalled:
		t, ok := st.ticketW(e.TicketID)
		if !ok {
			return
		}
		w := st.windowW(e.Window)
		if e.Recall {
			t.Recalls = e.Recalls
		} else {
			if e.Visit > st.NextVisit {
				st.NextVisit = e.Visit
			}
			t.Visit = e.Visit
			st.Visits[e.Visit] = t.ID
			st.VisitInfo[e.Visit] = VisitRecord{Window: e.Window, Staff: e.Staff, Service: t.Service}
			t.Recalls = 0
		}
		t.Status, t.Window, t.CalledAt = StatusCalled, e.Window, &stamp
		w.Current = t.ID
		st.RecentCalls = append([]RecentCall{{TicketID: t.ID, Number: t.Number, Window: e.Window, WindowNumber: e.WindowNumber,
			WindowName: e.WindowName, At: stamp, Voice: e.Voice, Recall: e.Recall}}, st.RecentCalls...)
		if len(st.RecentCalls) > 20 {
			st.RecentCalls = st.RecentCalls[:20]
		}
	case *TicketAtWindow:
		// no_show and held share the payload; the status is set by applyTyped.
	case *TicketTransferred:
		t, ok := st.ticketW(e.TicketID)
		if !ok {
			return
		}
		t.Transfers = append(t.Transfers, TransferRecord{FromService: e.FromService, ToService: e.ToService,
			FromWindow: e.FromWindow, ToWindow: e.ToWindow, At: stamp})
		if s := e.ToService; s != "" && s != t.Service {
			t.Service = s
		}
		if e.ToServiceName != "" {
			t.ServiceName = e.ToServiceName
		}
		t.PinnedWindow, t.Status, t.Window = e.ToWindow, StatusWaiting, ""
		st.windowW(e.FromWindow).Current = ""
	case *ServiceEvent:
		// started/finished are told apart by applyTyped.
	case *RatingSubmitted:
		if t, ok := st.ticketW(e.TicketID); ok {
			st.Rated[e.Visit] = true
			delete(st.TimedOut, e.Visit) // a late rating replaces the 未评价: one outcome
			t.Rating = e.Level
		}
		for _, w := range st.Windows {
			if w.Awaiting == e.Visit {
				w.Awaiting = 0
			}
		}
	case *RatingTimeout:
		st.TimedOut[e.Visit] = true
		for _, w := range st.Windows {
			if w.Awaiting == e.Visit {
				w.Awaiting = 0
			}
		}
	case *WindowPause:
		w := st.windowW(e.Window)
		w.Status, w.PauseReason, w.PausedAt, w.Overdue = WindowPaused, e.Reason, ts, false
		w.PausedUntil = nil
		if e.Until != nil {
			u := time.Time(*e.Until)
			w.PausedUntil = &u
		}
	case *StaffEvent:
	case *Alert, *AlertUpdated, *AlertCleared:
		applyAlert(st, ts, data)
	}
}

// applyTyped handles events whose payload type is shared by several types.
func applyTyped(st *State, typ string, ts time.Time, data any) {
	stamp := Stamp(ts)
	switch typ {
	case TypeTicketNoShow, TypeTicketHeld:
		e := data.(*TicketAtWindow)
		if t, ok := st.ticketW(e.TicketID); ok {
			t.Status = StatusNoShow
			if typ == TypeTicketHeld {
				t.Status = StatusHeld
			}
		}
		st.windowW(e.Window).Current = ""
	case TypeServiceStarted:
		e := data.(*ServiceEvent)
		if t, ok := st.ticketW(e.TicketID); ok {
			t.Status, t.StartedAt = StatusServing, &stamp
		}
	case TypeServiceFinished:
		e := data.(*ServiceEvent)
		if t, ok := st.ticketW(e.TicketID); ok {
			t.Status, t.FinishedAt, t.Outcome = StatusDone, &stamp, OutcomeServed
			st.Finished[e.Visit] = true
		}
		w := st.windowW(e.Window)
		w.Current, w.Awaiting, w.FinishedAt = "", e.Visit, ts
		if st.Rated[e.Visit] { // rated during the service (主动评价): nothing to ask
			w.Awaiting = 0
		}
	case TypeWindowResumed:
		w := st.windowW(data.(*WindowEvent).Window)
		w.Status, w.PauseReason, w.PausedUntil, w.Overdue = WindowOpen, "", nil, false
	case TypeWindowOverdue:
		st.windowW(data.(*WindowEvent).Window).Overdue = true
	case TypeStaffSignedIn:
		e := data.(*StaffEvent)
		w := st.windowW(e.Window)
		w.Staff, w.Status = e.Staff, WindowOpen
	case TypeStaffSignedOut:
		e := data.(*StaffEvent)
		w := st.windowW(e.Window)
		if w.Staff == e.Staff {
			w.Staff, w.Status, w.PauseReason, w.PausedUntil, w.Overdue = "", WindowClosed, "", nil, false
		}
	}
}

// RecentCall is one call shown on the board.
type RecentCall struct {
	TicketID     string `json:"ticket_id"`
	Number       string `json:"number"`
	Window       string `json:"window"`
	WindowNumber int    `json:"window_number"`
	WindowName   string `json:"window_name"`
	At           Stamp  `json:"at"`
	Voice        string `json:"voice"`
	Recall       bool   `json:"recall"`
}

// TransferRecord is one step of a ticket's history.
type TransferRecord struct {
	FromService string `json:"from_service"`
	ToService   string `json:"to_service"`
	FromWindow  string `json:"from_window"`
	ToWindow    string `json:"to_window,omitempty"`
	At          Stamp  `json:"at"`
}

// AlertRecord is an alert: since when, how often it happened (at least 1)
// and when last; who acknowledged it and whom it is assigned to; its
// history (alerts_life.go).
type AlertRecord struct {
	Alert
	Since        time.Time
	LastSeen     time.Time
	Acked        *AlertStep  `json:",omitempty"`
	Assignee     string      `json:",omitempty"`
	AssigneeName string      `json:",omitempty"`
	History      []AlertStep `json:",omitempty"`
}

// ToggleSign is a pad's single 签到/签退 key: it signs the window's staff out
// when someone is signed in, else signs in the first person whose first
// window this is (or who lists it at all).
type ToggleSign struct{ Window string }

func decideToggle(cfg *config.Config, st *State, c ToggleSign, now time.Time) ([]Emit, error) {
	if st.window(c.Window).Staff != "" {
		return decideWindow(cfg, st, SignOut{Window: c.Window}, now)
	}
	pick := ""
	for _, s := range cfg.Staff {
		for i, w := range s.Windows {
			if w == c.Window && (pick == "" || i == 0) {
				if i == 0 {
					return decideWindow(cfg, st, SignIn{Window: c.Window, Staff: s.ID}, now)
				}
				pick = s.ID
			}
		}
	}
	if pick == "" {
		return nil, refuse(409, "no_staff_for_window", "没有为本窗口配置工作人员，请在窗口页面签到")
	}
	return decideWindow(cfg, st, SignIn{Window: c.Window, Staff: pick}, now)
}
