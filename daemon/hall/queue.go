package hall

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

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

func decideWindow(cfg *config.Config, st *State, cmd any, now time.Time) ([]Emit, error) {
	out, err := decideWindowCmd(cfg, st, cmd, now)
	stampBy(out, actorOf(cmd))
	return out, err
}

func decideWindowCmd(cfg *config.Config, st *State, cmd any, now time.Time) ([]Emit, error) {
	switch c := cmd.(type) {
	case CallNext:
		return decideCallNext(cfg, st, c, now)
	case CallTicket:
		return decideCallTicket(cfg, st, c, now)
	case Recall:
		return decideRecall(cfg, st, c, now)
	case NoShow:
		return decideNoShow(cfg, st, c, now)
	case Hold:
		return decideHold(cfg, st, c, now)
	case Start:
		return decideStart(cfg, st, c, now)
	case Finish:
		return decideFinish(cfg, st, c, now)
	case Transfer:
		return decideTransfer(cfg, st, c, now)
	case Pause:
		return decidePause(cfg, st, c, now)
	case Resume:
		return decideResume(cfg, st, c, now)
	case SignIn:
		return decideSignIn(cfg, st, c, now)
	case SignOut:
		return decideSignOut(cfg, st, c, now)
	case Rate:
		return decideRate(cfg, st, c, now)
	case RateTimeout:
		return decideRateTimeout(cfg, st, c, now)
	case Tick:
		return decideTick(cfg, st, c, now)
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

// applyQueue folds calling, service, rating and window events: one case a
// payload type, so one event type.
func applyQueue(st *State, ts time.Time, data any) {
	stamp := Stamp(ts)
	switch e := data.(type) {
	case *TicketCalled:
		applyCall(st, e, stamp)
	case *TicketRecalled:
		applyCall(st, (*TicketCalled)(e), stamp)
	case *TicketNoShow:
		applyAtWindow(st, (*TicketAtWindow)(e), StatusNoShow)
	case *TicketHeld:
		applyAtWindow(st, (*TicketAtWindow)(e), StatusHeld)
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
	case *ServiceStarted:
		if t, ok := st.ticketW(e.TicketID); ok {
			t.Status, t.StartedAt = StatusServing, &stamp
		}
	case *ServiceFinished:
		if t, ok := st.ticketW(e.TicketID); ok {
			t.Status, t.FinishedAt, t.Outcome = StatusDone, &stamp, OutcomeServed
			st.Finished[e.Visit] = true
		}
		w := st.windowW(e.Window)
		w.Current, w.Awaiting, w.FinishedAt = "", e.Visit, ts
		if st.Rated[e.Visit] { // rated during the service (主动评价): nothing to ask
			w.Awaiting = 0
		}
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
	case *WindowResumed:
		w := st.windowW(e.Window)
		w.Status, w.PauseReason, w.PausedUntil, w.Overdue = WindowOpen, "", nil, false
	case *WindowOverdue:
		st.windowW(e.Window).Overdue = true
	case *StaffSignedIn:
		w := st.windowW(e.Window)
		w.Staff, w.Status = e.Staff, WindowOpen
	case *StaffSignedOut:
		w := st.windowW(e.Window)
		if w.Staff == e.Staff {
			w.Staff, w.Status, w.PauseReason, w.PausedUntil, w.Overdue = "", WindowClosed, "", nil, false
		}
	case *Alert, *AlertUpdated, *AlertCleared:
		applyAlert(st, ts, data)
	}
}

// applyCall folds a call or a recall (e.Recall).
func applyCall(st *State, e *TicketCalled, stamp Stamp) {
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
}

// applyAtWindow folds a no-show or a hold: the ticket leaves the window.
func applyAtWindow(st *State, e *TicketAtWindow, status string) {
	if t, ok := st.ticketW(e.TicketID); ok {
		t.Status = status
	}
	st.windowW(e.Window).Current = ""
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
type ToggleSign struct{ Window, By string }

func decideToggle(cfg *config.Config, st *State, c ToggleSign, now time.Time) ([]Emit, error) {
	if st.window(c.Window).Staff != "" {
		return decideWindow(cfg, st, SignOut(c), now) // same fields: the window and who asked
	}
	pick := ""
	for _, s := range cfg.Staff {
		for i, w := range s.Windows {
			if w == c.Window && (pick == "" || i == 0) {
				if i == 0 {
					return decideWindow(cfg, st, SignIn{Window: c.Window, Staff: s.ID, By: c.By}, now)
				}
				pick = s.ID
			}
		}
	}
	if pick == "" {
		return nil, refuse(409, "no_staff_for_window", "没有为本窗口配置工作人员，请在窗口页面签到")
	}
	return decideWindow(cfg, st, SignIn{Window: c.Window, Staff: pick, By: c.By}, now)
}
