package hall

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"halld/daemon/config"
)

// Changes without a restart (issue 16): the staff roster, a staff member's
// windows, a window's services for today (潮汐窗口), notices expired early,
// services closed for today, and which staff have a sign-in PIN. Each is a
// journal event naming who made it; devices.yaml stays the default.
//
//   - A roster change (staff added, edited, removed) lasts until devices.yaml
//     is edited for that person: it records the devices.yaml entry it was made
//     against (Base), and once devices.yaml says something else for them, the
//     file wins and the change is reported as a conflict (RosterConflicts).
//   - A window's services and a service's closure "for today" end with the
//     hall day (day.closed, or the next day's first ticket).
const (
	TypeStaffAdded          = "staff.added"
	TypeStaffUpdated        = "staff.updated"
	TypeStaffRemoved        = "staff.removed"
	TypeWindowServicesSet   = "window.services_set"
	TypeWindowServicesReset = "window.services_reset"
	TypeNoticeExpired       = "notice.expired"
	TypeStaffPIN            = "staff.pin"
)

// MaxStaff bounds the roster; MaxStaffWindows a person's windows.
const (
	MaxStaff        = 500
	MaxStaffWindows = 32
	MaxStaffName    = 32
)

// Notice places (where a notice shows; none = everywhere).
var NoticePlaces = []string{"board", "kiosk", "phone"}

// ShownOn tells whether the notice shows on a place (board, kiosk, phone).
func (n *Notice) ShownOn(place string) bool {
	return len(n.Where) == 0 || slices.Contains(n.Where, place)
}

// RosterState is what runtime changes put over devices.yaml. The whole
// record is replaced on every change (copy on write), never mutated: the
// engine's committed state shares it with the batch being applied.
type RosterState struct {
	Staff          map[string]*StaffChange `json:"staff"`           // by staff id
	WindowServices map[string]*WindowToday `json:"window_services"` // by window id, for Day
	ClosedFor      map[string]string       `json:"closed_for"`      // service → the hall day its closure ends with
	PINs           map[string]bool         `json:"pins"`            // staff who have a PIN (the hash is in the PIN store)
	Cards          map[string]string       `json:"cards,omitempty"` // a staff card's keyed ID hash → staff id (staffcard.go)
}

// StaffChange is a staff member added, edited or removed at run time.
type StaffChange struct {
	ID      string   `json:"id"`
	Name    string   `json:"name,omitempty"`
	Title   string   `json:"title,omitempty"`
	Windows []string `json:"windows,omitempty"`
	Removed bool     `json:"removed,omitempty"`
	// Base is devices.yaml's entry for the person when the change was made
	// (StaffKey; "" when the file did not list them).
	Base string `json:"base"`
	By   string `json:"by"`
	At   *Stamp `json:"at,omitempty"`
}

// The roster's run-time changes, each its own type of StaffChange's shape.
type (
	StaffAdded   StaffChange // staff.added
	StaffUpdated StaffChange // staff.updated
	StaffRemoved StaffChange // staff.removed: Removed is true
)

// WindowToday is a window's services for one hall day (潮汐窗口).
type WindowToday struct {
	Window   string                 `json:"window"`
	Day      string                 `json:"day"`
	Services []config.WindowService `json:"services"`
	By       string                 `json:"by"`
}

// A window's services for the day, set or back to devices.yaml's: each its
// own type of WindowToday's shape.
type (
	WindowServicesSet   WindowToday // window.services_set
	WindowServicesReset WindowToday // window.services_reset
)

// PINEvent records what happened to a staff member's PIN or sign-in; never
// the PIN or its hash.
type PINEvent struct {
	Staff    string `json:"staff"`
	Action   string `json:"action"` // set, reset, changed, removed, wrong, locked, unlocked
	By       string `json:"by,omitempty"`
	Window   string `json:"window,omitempty"`
	Attempts int    `json:"attempts,omitempty"` // wrong ones in a row
	Until    *Stamp `json:"until,omitempty"`    // locked until
}

// PIN actions.
var PINActions = []string{"set", "reset", "changed", "removed", "wrong", "locked", "unlocked"}

// Commands.
type (
	// SetStaff adds a staff member or changes one (name, title, windows).
	SetStaff struct {
		ID, Name, Title string
		Windows         []string
		By              string
	}
	// RemoveStaff takes a staff member off the roster (refused while signed in).
	RemoveStaff struct{ ID, By string }
	// SetWindowServices gives a window other services for today; Reset goes
	// back to devices.yaml's.
	SetWindowServices struct {
		Window   string
		Services []config.WindowService
		Reset    bool
		By       string
	}
	// ExpireNotice ends a notice before its time.
	ExpireNotice struct{ ID, By string }
	// RecordPIN records a PIN change or a sign-in attempt's outcome, after the
	// PIN store has done it.
	RecordPIN struct{ PINEvent }
)

func init() {
	extraDecoders[TypeStaffAdded] = func() any { return &StaffAdded{} }
	extraDecoders[TypeStaffUpdated] = func() any { return &StaffUpdated{} }
	extraDecoders[TypeStaffRemoved] = func() any { return &StaffRemoved{} }
	extraDecoders[TypeWindowServicesSet] = func() any { return &WindowServicesSet{} }
	extraDecoders[TypeWindowServicesReset] = func() any { return &WindowServicesReset{} }
	extraDecoders[TypeNoticeExpired] = func() any { return &NoticeRef{} }
	extraDecoders[TypeStaffPIN] = func() any { return &PINEvent{} }
}

// NoticeRef names a notice (expired early, by whom).
type NoticeRef struct {
	ID string `json:"id"`
	By string `json:"by,omitempty"`
}

// StaffKey is a staff entry in a canonical form, to tell whether devices.yaml
// changed for a person since a runtime change was made.
func StaffKey(s *config.Staff) string {
	if s == nil {
		return ""
	}
	b, _ := json.Marshal([]any{s.ID, s.Name, s.Title, s.Windows})
	return string(b)
}

func baseStaff(cfg *config.Config, id string) *config.Staff {
	s, _ := cfg.StaffMember(id)
	return s
}

// Effective is cfg with the runtime changes of st over it: the roster and
// the windows' services for today. The same cfg when there are none. A
// runtime change devices.yaml has since changed for is not applied.
func Effective(cfg *config.Config, st *State) *config.Config {
	r := st.Roster
	if r == nil || (len(r.Staff) == 0 && len(r.WindowServices) == 0) {
		return cfg
	}
	c := *cfg
	if len(r.Staff) > 0 {
		staff := make([]config.Staff, 0, len(cfg.Staff)+len(r.Staff))
		seen := map[string]bool{}
		for _, s := range cfg.Staff {
			seen[s.ID] = true
			ch, ok := r.Staff[s.ID]
			switch {
			case !ok || ch.Base != StaffKey(&s):
				staff = append(staff, s)
			case ch.Removed:
			default:
				staff = append(staff, config.Staff{ID: ch.ID, Name: ch.Name, Title: ch.Title, Windows: ch.Windows})
			}
		}
		for _, id := range sortedKeys(r.Staff) {
			ch := r.Staff[id]
			if seen[id] || ch.Removed || ch.Base != "" {
				continue
			}
			staff = append(staff, config.Staff{ID: ch.ID, Name: ch.Name, Title: ch.Title, Windows: ch.Windows})
		}
		c.Staff = staff
	}
	if len(r.WindowServices) > 0 {
		ws := slices.Clone(cfg.Windows)
		for i := range ws {
			if t, ok := r.WindowServices[ws[i].ID]; ok {
				ws[i].Services = t.Services
			}
		}
		c.Windows = ws
	}
	return &c
}

// RosterConflict is a runtime change that devices.yaml has overtaken.
type RosterConflict struct {
	Staff   string `json:"staff"`
	Message string `json:"message"`
}

// RosterConflicts lists runtime roster changes devices.yaml no longer agrees
// with: the file was edited for that person since, and its entry is what
// applies now. Say so (log, alert, the roster's status): never silently.
func RosterConflicts(cfg *config.Config, st *State) []RosterConflict {
	out := []RosterConflict{}
	if st.Roster == nil {
		return out
	}
	for _, id := range sortedKeys(st.Roster.Staff) {
		ch := st.Roster.Staff[id]
		cur := StaffKey(baseStaff(cfg, id))
		if cur == ch.Base {
			continue
		}
		what := "修改"
		switch {
		case ch.Removed:
			what = "删除"
		case ch.Base == "":
			what = "添加"
		}
		msg := "运行中" + what + "的人员 " + id + "（" + ch.By + "）与 devices.yaml 的新内容不一致，现按 devices.yaml 执行"
		if cur == "" {
			msg = "运行中" + what + "的人员 " + id + "（" + ch.By + "）所依据的 devices.yaml 条目已删除，现按 devices.yaml 执行"
		}
		out = append(out, RosterConflict{Staff: id, Message: msg})
	}
	return out
}

// pinRequired tells whether sign-in needs a PIN now.
func pinRequired(cfg *config.Config, st *State) bool {
	switch cfg.Hall.StaffPIN.Mode {
	case "off":
		return false
	case "on":
		return true
	}
	return st.Roster != nil && len(st.Roster.PINs) > 0
}

// PINRequired is pinRequired for the API and pages.
func PINRequired(cfg *config.Config, st *State) bool { return pinRequired(cfg, st) }

// HasPIN tells whether a staff member has a PIN set.
func (st *State) HasPIN(staff string) bool { return st.Roster != nil && st.Roster.PINs[staff] }

// SignedInAt is the window a staff member is signed in at ("" when none).
func (st *State) SignedInAt(staff string) string {
	for _, w := range st.sortedWindows() {
		if w.Staff == staff {
			return w.ID
		}
	}
	return ""
}

func decideRoster(base, cfg *config.Config, st *State, cmd any, now time.Time) ([]Emit, error) {
	at := Stamp(now.In(cfg.Location))
	switch c := cmd.(type) {
	case SetStaff:
		if c.ID == "" || !staffIDOK(c.ID) {
			return nil, refuse(400, "bad_staff", "工号只能由字母、数字、- 和 _ 组成（最多 32 个字符）")
		}
		if c.Name == "" {
			return nil, refuse(400, "staff_name_required", "请填写姓名")
		}
		if err := tooLong("staff_name_too_long", "姓名", c.Name, MaxStaffName); err != nil {
			return nil, err
		}
		if err := tooLong("staff_title_too_long", "岗位", c.Title, MaxStaffName); err != nil {
			return nil, err
		}
		if len(c.Windows) > MaxStaffWindows {
			return nil, refuse(400, "too_many_windows", "一个人最多 "+strconv.Itoa(MaxStaffWindows)+" 个窗口")
		}
		seen := map[string]bool{}
		for _, w := range c.Windows {
			if _, err := windowCfg(cfg, w); err != nil {
				return nil, err
			}
			if seen[w] {
				return nil, refuse(400, "duplicate_window", "窗口重复："+w)
			}
			seen[w] = true
		}
		_, exists := cfg.StaffMember(c.ID)
		if !exists && len(cfg.Staff) >= MaxStaff {
			return nil, refuse(409, "roster_full", "人员已满（最多 "+strconv.Itoa(MaxStaff)+" 人）")
		}
		ch := &StaffChange{ID: c.ID, Name: c.Name, Title: c.Title, Windows: slices.Clone(c.Windows),
			Base: StaffKey(baseStaff(base, c.ID)), By: c.By, At: &at}
		if exists {
			return []Emit{{TypeStaffUpdated, (*StaffUpdated)(ch)}}, nil
		}
		return []Emit{{TypeStaffAdded, (*StaffAdded)(ch)}}, nil
	case RemoveStaff:
		if _, ok := cfg.StaffMember(c.ID); !ok {
			return nil, refuse(404, "unknown_staff", "没有这个工号："+clip(c.ID, 32))
		}
		if w := st.SignedInAt(c.ID); w != "" {
			return nil, refuse(409, "staff_signed_in", "该人员正在 "+windowName(cfg, w)+" 签到，请先签退再删除")
		}
		return []Emit{{TypeStaffRemoved, &StaffRemoved{ID: c.ID, Removed: true,
			Base: StaffKey(baseStaff(base, c.ID)), By: c.By, At: &at}}}, nil
	case SetWindowServices:
		if _, err := windowCfg(cfg, c.Window); err != nil {
			return nil, err
		}
		day := st.Today(cfg, now)
		if c.Reset {
			if st.Roster == nil || st.Roster.WindowServices[c.Window] == nil {
				return nil, refuse(409, "not_changed", "本窗口今天未调整业务")
			}
			bw, _ := base.Window(c.Window)
			if err := stranded(cfg, st, c.Window, bw.Services); err != nil {
				return nil, err
			}
			return []Emit{{TypeWindowServicesReset, &WindowServicesReset{Window: c.Window, Day: day, By: c.By}}}, nil
		}
		if len(c.Services) == 0 {
			return nil, refuse(400, "no_service", "窗口至少要办理一项业务")
		}
		if len(c.Services) > len(cfg.Services) {
			return nil, refuse(400, "too_many_services", "业务过多")
		}
		seen := map[string]bool{}
		svcs := make([]config.WindowService, 0, len(c.Services))
		for _, s := range c.Services {
			if _, ok := cfg.Service(s.Service); !ok {
				return nil, refuse(404, "unknown_service", "没有这项业务："+clip(s.Service, 32))
			}
			if seen[s.Service] {
				return nil, refuse(400, "duplicate_service", "业务重复："+s.Service)
			}
			seen[s.Service] = true
			if s.Weight == 0 {
				s.Weight = 1
			}
			if s.Weight < 1 || s.Weight > 100 {
				return nil, refuse(400, "bad_weight", "权重须在 1–100 之间")
			}
			svcs = append(svcs, s)
		}
		if err := stranded(cfg, st, c.Window, svcs); err != nil {
			return nil, err
		}
		return []Emit{{TypeWindowServicesSet, &WindowServicesSet{Window: c.Window, Day: day, Services: svcs, By: c.By}}}, nil
	case ExpireNotice:
		if _, ok := st.Notices[c.ID]; !ok {
			return nil, refuse(404, "unknown_notice", "没有这条公告："+clip(c.ID, 32))
		}
		return []Emit{{TypeNoticeExpired, &NoticeRef{ID: c.ID, By: c.By}}}, nil
	case RecordPIN:
		if !oneOf(c.Action, PINActions) {
			return nil, refuse(400, "bad_pin_action", "密码操作不正确")
		}
		if _, ok := cfg.StaffMember(c.Staff); !ok && c.Action != "removed" {
			return nil, refuse(404, "unknown_staff", "没有这个工号："+clip(c.Staff, 32))
		}
		e := c.PINEvent
		out := []Emit{{TypeStaffPIN, &e}}
		id := "pin-locked-" + c.Staff
		_, open := st.Alerts[id]
		switch {
		case c.Action == "locked" && !open:
			msg := "工号 " + c.Staff + " 连续输错签到密码 " + strconv.Itoa(c.Attempts) + " 次，已锁定"
			if c.Window != "" {
				msg += "（" + windowName(cfg, c.Window) + "）"
			}
			out = append(out, Emit{TypeAlertRaised, &Alert{AlertID: id, Kind: "staff_pin_locked", Severity: "warning",
				Message: clip(msg, MaxAlertMessage)}})
		case open && c.Action != "wrong" && c.Action != "locked":
			out = append(out, Emit{TypeAlertCleared, &AlertCleared{AlertID: id, Reason: "pin_" + c.Action}})
		}
		return out, nil
	}
	return nil, errNotWindowCommand
}

// stranded refuses a window change that would leave a service that some
// window serves now with none: tickets for it could be taken and never
// called (and people already waiting would be stranded).
func stranded(cfg *config.Config, st *State, window string, next []config.WindowService) error {
	before, after := map[string]bool{}, map[string]bool{}
	for _, w := range cfg.Windows {
		list := w.Services
		for _, ws := range list {
			before[ws.Service] = true
		}
		if w.ID == window {
			list = next
		}
		for _, ws := range list {
			after[ws.Service] = true
		}
	}
	for _, svc := range cfg.Services {
		if before[svc.ID] && !after[svc.ID] {
			msg := "调整后没有窗口办理「" + svc.Name + "」：请先安排其他窗口办理它"
			if n := st.Waiting()[svc.ID]; n > 0 {
				msg += "（还有 " + strconv.Itoa(n) + " 人在等候）"
			}
			return refuse(409, "service_unserved", msg)
		}
	}
	return nil
}

func windowName(cfg *config.Config, id string) string {
	if w, ok := cfg.Window(id); ok {
		return windowLabel(*w)
	}
	return id
}

func staffIDOK(id string) bool {
	if len(id) > 32 {
		return false
	}
	for i, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || (i > 0 && (r == '-' || r == '_'))
		if !ok {
			return false
		}
	}
	return true
}

// rosterW returns a copy of the roster to change (copy on write).
func (st *State) rosterW() *RosterState {
	r := &RosterState{Staff: map[string]*StaffChange{}, WindowServices: map[string]*WindowToday{},
		ClosedFor: map[string]string{}, PINs: map[string]bool{}, Cards: map[string]string{}}
	if o := st.Roster; o != nil {
		for k, v := range o.Staff {
			r.Staff[k] = v
		}
		for k, v := range o.WindowServices {
			r.WindowServices[k] = v
		}
		for k, v := range o.ClosedFor {
			r.ClosedFor[k] = v
		}
		for k, v := range o.PINs {
			r.PINs[k] = v
		}
		for k, v := range o.Cards {
			r.Cards[k] = v
		}
	}
	st.Roster = r
	return r
}

// applyPIN folds staff.pin: whether a member has a PIN (never the PIN).
func applyPIN(st *State, e *PINEvent) {
	switch e.Action {
	case "set", "reset", "changed":
		if !st.HasPIN(e.Staff) {
			st.rosterW().PINs[e.Staff] = true
		}
	case "removed":
		if st.HasPIN(e.Staff) {
			delete(st.rosterW().PINs, e.Staff)
		}
	}
}

// endToday drops the changes made for a day that has ended: through day
// (inclusive), or before it.
func (st *State) endToday(day string, inclusive bool) {
	r := st.Roster
	if r == nil {
		return
	}
	over := func(d string) bool { return d < day || (inclusive && d == day) }
	stale := false
	for _, t := range r.WindowServices {
		stale = stale || over(t.Day)
	}
	for _, d := range r.ClosedFor {
		stale = stale || over(d)
	}
	if !stale {
		return
	}
	w := st.rosterW()
	for id, t := range w.WindowServices {
		if over(t.Day) {
			delete(w.WindowServices, id)
		}
	}
	for svc, d := range w.ClosedFor {
		if over(d) {
			delete(w.ClosedFor, svc)
			delete(st.ClosedServices, svc)
		}
	}
}
