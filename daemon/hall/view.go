package hall

import (
	"sort"
	"strconv"
	"time"

	"halld/daemon/config"
	"halld/daemon/search"
)

// View is the whole hall as pages and the snapshot API see it.
type View struct {
	Hall        HallView      `json:"hall"`
	Services    []ServiceView `json:"services"`
	Windows     []WindowView  `json:"windows"`
	Tickets     []*Ticket     `json:"tickets"`
	RecentCalls []RecentCall  `json:"recent_calls"`
	Alerts      []AlertView   `json:"alerts"`
	Notices     []Notice      `json:"notices"`
	Devices     []DeviceView  `json:"devices"`
}

// WindowView is a window for the board, caller and monitor.
type WindowView struct {
	ID       string       `json:"id"`
	Number   int          `json:"number"`
	Name     string       `json:"name"`
	Area     string       `json:"area"`
	Status   string       `json:"status"`
	Staff    *StaffView   `json:"staff"`
	Current  *CurrentView `json:"current"`
	Paused   *PausedView  `json:"paused"`
	Backup   string       `json:"backup"`
	Covering []string     `json:"covering"`
	Services []string     `json:"services"`
	Waiting  int          `json:"waiting"`
	Awaiting uint32       `json:"awaiting_rating,omitempty"`
}

// StaffView names the person at a window.
type StaffView struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Title string `json:"title,omitempty"`
}

// CurrentView is the ticket called or served at a window.
type CurrentView struct {
	TicketID    string `json:"ticket_id"`
	Number      string `json:"number"`
	ServiceName string `json:"service_name"`
	Status      string `json:"status"`
	Priority    string `json:"priority"`
	Visit       uint32 `json:"visit"`
	CalledAt    *Stamp `json:"called_at"`
	StartedAt   *Stamp `json:"started_at"`
	Recalls     int    `json:"recalls"`
}

// PausedView says why and until when a window is paused.
type PausedView struct {
	Reason  string `json:"reason"`
	Since   Stamp  `json:"since"`
	Until   *Stamp `json:"until"`
	Overdue bool   `json:"overdue"`
}

// AlertView is an open alert: since when, how often (count, at least 1)
// and when it last happened.
type AlertView struct {
	Alert
	Since    Stamp `json:"since"`
	Count    int   `json:"count"`
	LastSeen Stamp `json:"last_seen"`
	// The lifecycle (alerts_life.go): open or closed; who acknowledged it,
	// whom it is assigned to, how it ended; the history only where asked
	// (GET /api/v1/alerts/{id}).
	State        string          `json:"state"`
	AreaName     string          `json:"area_name,omitempty"`
	Acked        *AlertStepView  `json:"acknowledged,omitempty"`
	Assignee     string          `json:"assignee,omitempty"`
	AssigneeName string          `json:"assignee_name,omitempty"`
	Ended        *AlertStepView  `json:"ended,omitempty"`
	History      []AlertStepView `json:"history,omitempty"`
}

// AlertStepView is a history step with its time in the hall's zone.
type AlertStepView struct {
	AlertStep
	At Stamp `json:"at"`
}

func stepView(cfg *config.Config, s *AlertStep) *AlertStepView {
	if s == nil {
		return nil
	}
	return &AlertStepView{AlertStep: *s, At: Stamp(s.At.In(cfg.Location))}
}

// MakeAlertView is an alert as pages and the API see it.
func MakeAlertView(cfg *config.Config, a *AlertRecord, history bool) AlertView {
	last := a.LastSeen
	if last.IsZero() {
		last = a.Since
	}
	v := AlertView{Alert: a.Alert, Since: Stamp(a.Since.In(cfg.Location)), Count: a.count(),
		LastSeen: Stamp(last.In(cfg.Location)), State: "open", Acked: stepView(cfg, a.Acked),
		Assignee: a.Assignee, AssigneeName: a.AssigneeName}
	if v.Area == "" {
		v.Area = AlertArea(cfg, &a.Alert)
	}
	v.AreaName = AreaName(cfg, v.Area)
	if e := a.Ended(); e != nil {
		v.State, v.Ended = "closed", stepView(cfg, e)
	}
	if history {
		for i := range a.History {
			v.History = append(v.History, *stepView(cfg, &a.History[i]))
		}
	}
	return v
}

// Notice is a message shown on the board (from the central server, later).
type Notice struct {
	ID    string `json:"id"`
	Text  string `json:"text"`
	Until *Stamp `json:"until"`
	// Where it shows: board, kiosk, phone (none: everywhere).
	Where    []string `json:"where,omitempty"`
	By       string   `json:"by,omitempty"`
	PostedAt *Stamp   `json:"posted_at,omitempty"`
}

// HallView is the hall's identity and whether it is open now.
type HallView struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Hotline          string `json:"hotline"`
	SupervisionPhone string `json:"supervision_phone,omitempty"`
	Open             bool   `json:"open"`
	Day              string `json:"day"`
	Now              Stamp  `json:"now"`
}

// ServiceView is a service with its guide (一次性告知) and live queue.
type ServiceView struct {
	ID                string   `json:"id"`
	Prefix            string   `json:"prefix"`
	Name              string   `json:"name"`
	NameEn            string   `json:"name_en,omitempty"`
	Area              string   `json:"area"`
	AreaName          string   `json:"area_name,omitempty"`
	Materials         []string `json:"materials"`
	Conditions        string   `json:"conditions,omitempty"`
	PromisedTime      string   `json:"promised_time,omitempty"`
	Tolerance         string   `json:"tolerance,omitempty"`
	AvgServiceMinutes int      `json:"avg_service_minutes"`
	Windows           []string `json:"windows"`
	Waiting           int      `json:"waiting"`
	Open              bool     `json:"open"`
	CapLeft           *int     `json:"cap_left"`
	// Search are the keys the kiosk finds the service by (pinyin, initials, everyday words).
	Search *search.Keys `json:"search,omitempty"`
}

// DeviceView is a device's recorded state.
type DeviceView struct {
	ID       string         `json:"id"`
	Kind     string         `json:"kind"`
	Area     string         `json:"area"`
	AreaName string         `json:"area_name,omitempty"`
	State    string         `json:"state"`
	Detail   map[string]any `json:"detail,omitempty"`
	Reason   string         `json:"reason,omitempty"`
	Since    *Stamp         `json:"since"`
}

// MakeView renders the state for people at time now.
func MakeView(cfg *config.Config, st *State, now time.Time) View {
	cfg = Effective(cfg, st)
	day := st.Today(cfg, now)
	v := View{
		Hall: HallView{ID: cfg.Hall.ID, Name: cfg.Hall.Name, Hotline: cfg.Hall.Hotline,
			SupervisionPhone: cfg.Hall.SupervisionPhone, Open: cfg.IsOpen(now), Day: day, Now: Stamp(now.In(cfg.Location))},
		Tickets: st.TicketsOf(day),
	}
	if v.Tickets == nil {
		v.Tickets = []*Ticket{}
	}
	waiting := map[string]int{}
	if st.Day == day {
		waiting = st.Waiting()
	}
	for i := range cfg.Services {
		s := &cfg.Services[i]
		sv := ServiceView{ID: s.ID, Prefix: s.Prefix, Name: s.Name, NameEn: s.NameEn, Area: s.Area, AreaName: AreaName(cfg, s.Area),
			Materials: s.Materials, Conditions: s.Conditions, PromisedTime: s.PromisedTime, Tolerance: s.Tolerance,
			AvgServiceMinutes: s.AvgServiceMinutes, Windows: WindowsFor(cfg, s.ID), Waiting: waiting[s.ID],
			Open: ServiceOpen(cfg, s, now) && !st.serviceClosed(s.ID), Search: ServiceSearch(s)}
		if sv.Materials == nil {
			sv.Materials = []string{}
		}
		if s.DailyCap > 0 {
			left := s.DailyCap
			if st.Day == day {
				left -= st.Counters[s.ID]
			}
			left = max(left, 0)
			sv.CapLeft = &left
		}
		v.Services = append(v.Services, sv)
	}
	for i := range cfg.Windows {
		v.Windows = append(v.Windows, MakeWindowView(cfg, st, cfg.Windows[i].ID, now))
	}
	v.RecentCalls = st.RecentCalls
	if v.RecentCalls == nil || st.Day != day {
		v.RecentCalls = []RecentCall{}
	}
	v.Alerts = []AlertView{}
	for _, a := range st.Alerts {
		v.Alerts = append(v.Alerts, MakeAlertView(cfg, a, false))
	}
	sort.Slice(v.Alerts, func(i, j int) bool { return time.Time(v.Alerts[i].Since).Before(time.Time(v.Alerts[j].Since)) })
	v.Notices = []Notice{}
	for _, id := range sortedKeys(st.Notices) {
		if n := st.Notices[id]; n.Until == nil || time.Time(*n.Until).After(now) {
			v.Notices = append(v.Notices, *n)
		}
	}
	for _, d := range cfg.Devices {
		dv := DeviceView{ID: d.ID, Kind: d.Kind, Area: d.Area, AreaName: AreaName(cfg, d.Area), State: "unknown"}
		if rec, ok := st.Devices[d.ID]; ok {
			since := Stamp(rec.Since.In(cfg.Location))
			dv.State, dv.Detail, dv.Reason, dv.Since = rec.State, rec.Detail, rec.Reason, &since
		}
		v.Devices = append(v.Devices, dv)
	}
	return v
}

// serviceClosed tells a service closed by the central server.
func (st *State) serviceClosed(id string) bool {
	_, closed := st.ClosedServices[id]
	return closed
}

// MakeWindowView renders one window.
func MakeWindowView(cfg *config.Config, st *State, id string, now time.Time) WindowView {
	v := WindowHead(cfg, st, id)
	v.Waiting = len(Queue(cfg, st, id, now))
	return v
}

// WindowHead is the window's view without Waiting, which needs the day's
// queue: what a pad's screen shows, cheap enough to build for every window
// after every commit.
func WindowHead(cfg *config.Config, st *State, id string) WindowView {
	cfg = Effective(cfg, st)
	wc, _ := cfg.Window(id)
	w := st.window(id)
	v := WindowView{ID: id, Number: wc.Number, Name: wc.Name, Area: wc.Area, Status: w.Status, Backup: wc.Backup,
		Covering: []string{}, Services: []string{}, Awaiting: w.Awaiting}
	for _, ws := range wc.Services {
		v.Services = append(v.Services, ws.Service)
	}
	if w.Staff != "" {
		v.Staff = &StaffView{ID: w.Staff, Name: w.Staff}
		if s, ok := cfg.StaffMember(w.Staff); ok {
			v.Staff.Name, v.Staff.Title = s.Name, s.Title
		}
	}
	if t, ok := st.Tickets[w.Current]; ok && w.Current != "" {
		v.Current = &CurrentView{TicketID: t.ID, Number: t.Number, ServiceName: t.ServiceName, Status: t.Status,
			Priority: t.Priority, Visit: t.Visit, CalledAt: t.CalledAt, StartedAt: t.StartedAt, Recalls: t.Recalls}
	}
	if w.Status == WindowPaused {
		v.Paused = &PausedView{Reason: w.PauseReason, Since: Stamp(w.PausedAt.In(cfg.Location)), Overdue: w.Overdue}
		if w.PausedUntil != nil {
			u := Stamp(w.PausedUntil.In(cfg.Location))
			v.Paused.Until = &u
		}
	}
	for i := range cfg.Windows {
		if o := cfg.Windows[i]; o.Backup == id && st.window(o.ID).Status != WindowOpen {
			v.Covering = append(v.Covering, o.ID)
		}
	}
	return v
}

// AreaName is the area's name for people ("" when unknown).
func AreaName(cfg *config.Config, id string) string {
	for _, a := range cfg.Areas {
		if a.ID == id {
			return a.Name
		}
	}
	return ""
}

// WindowsFor names the windows that serve a service ("3号窗口").
//
// cfg should be Effective(cfg, st) for today's windows; a ticket carries the
// ones of its issue (Ticket.Windows, TicketWindows).
func WindowsFor(cfg *config.Config, service string) []string {
	out := []string{}
	for _, w := range cfg.Windows {
		for _, ws := range w.Services {
			if ws.Service == service {
				out = append(out, windowLabel(w))
				break
			}
		}
	}
	return out
}

// TicketWindows are the windows a ticket tells the citizen: those recorded
// at its issue, or for a ticket from an older journal, devices.yaml's.
func TicketWindows(cfg *config.Config, t *Ticket) []string {
	if t.Windows != nil {
		return t.Windows
	}
	return WindowsFor(cfg, t.Service)
}

func windowLabel(w config.Window) string {
	if w.Number > 0 {
		return strconv.Itoa(w.Number) + "号窗口"
	}
	return w.Name
}

// EstimatedWait is a plain estimate: people ahead × average service time,
// shared among the windows serving the service.
func EstimatedWait(cfg *config.Config, service string, ahead int) int {
	svc, ok := cfg.Service(service)
	if !ok {
		return 0
	}
	windows := max(len(WindowsFor(cfg, service)), 1)
	return (ahead*svc.AvgServiceMinutes + windows - 1) / windows
}
