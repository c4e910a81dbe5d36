// Package hall holds the hall's rules as pure code: given the state, a command
// and the time, Decide returns the events to record; Apply folds an event into
// the state. No I/O, no clock, no goroutines: start-up is replaying the journal
// through Apply, and every rule is a table test.
package hall

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"sort"
	"strconv"
	"time"

	"halld/daemon/config"
)

// Ticket statuses and print statuses.
const (
	StatusWaiting = "waiting"

	PrintPending = "pending"
	PrintPrinted = "printed"
	PrintFailed  = "failed"
)

// Priorities, highest first in the calling order.
const (
	PriorityAppointment = "appointment"
	PriorityGreen       = "green"
	PriorityNormal      = "normal"
)

// RuleError is a refusal: a machine code, a Chinese message and the HTTP
// status that fits it.
type RuleError struct {
	Status int
	ErrorInfo
}

func (e *RuleError) Error() string { return e.Code + ": " + e.Message }

func refuse(status int, code, msg string) *RuleError {
	return &RuleError{Status: status, ErrorInfo: ErrorInfo{Code: code, Message: msg}}
}

// Commands.

// IssueTicket asks for a new number. RequestID, when set, makes the request
// idempotent for the day: a kiosk that retries after a timeout gets the same
// ticket, not a second one.
type IssueTicket struct {
	Service   string
	Channel   string
	Kiosk     string
	Priority  string
	MaskedID  string
	RequestID string
	SlotStart *Stamp // appointments: called ahead of walk-ins from this time
}

// PrintOutcome records what the printers did with a ticket.
type PrintOutcome struct {
	TicketID string
	Printer  string // empty when none could print
	Reprint  bool
	Code     string
	Message  string
	Tried    []string
}

// ObserveDevice reports a device's current state; an event is recorded only
// when it differs from the last recorded one.
type ObserveDevice struct {
	Device, Kind, State, Reason string
	Detail                      map[string]any
}

// RaiseAlert raises an alert. With Device and Cause (and no id) it is one
// alert per device and cause, counted when it recurs; otherwise it is raised
// unless one with its id is open (see decideRaise).
type RaiseAlert struct{ Alert }

// ClearAlert clears an open alert (no event when none is open).
type ClearAlert struct{ AlertID, Reason string }

// ResolveInterrupted marks prints that were in flight when halld stopped as
// failed, so they show up for a reprint instead of staying "pending" forever.
type ResolveInterrupted struct{}

// State is the hall as the journal says it is.
type State struct {
	Seq      uint64
	Day      string             // the hall day the counters belong to
	Counters map[string]int     // service id → tickets issued on Day (the last one's serial)
	Tickets  map[string]*Ticket // tickets of Day by id
	Order    []string           // ticket ids in issue order
	Requests map[string]string  // request id → ticket id, for Day
	Devices  map[string]*DeviceRecord

	Windows        map[string]*WindowState
	NextVisit      uint32                 // last visit number assigned; never reused
	Visits         map[uint32]string      // visit → ticket id (Day's)
	VisitInfo      map[uint32]VisitRecord // visit → where it was served
	Rated          map[uint32]bool        // visits rated (一次一评)
	Finished       map[uint32]bool        // visits finished (a rating may follow)
	TimedOut       map[uint32]bool        // visits whose rating timed out
	RecentCalls    []RecentCall           // newest first, for the board
	Alerts         map[string]*AlertRecord
	DeviceSeq      map[string]uint16       // device → last event seq handled (pads)
	DeviceEventIDs map[string]bool         // event ids handled (MQTT pads), for the hall day
	FollowUps      map[string]*FollowUp    // 差评 follow-ups, across days; records are copied on write
	Appointments   map[string]*Appointment // by booking code, across days; copied on write
	Notices        map[string]*Notice      // board notices by id; replaced, never mutated
	ClosedServices map[string]string       // services closed by the central server → reason
	ClosedDay      string                  // the last hall day whose outcomes are recorded (day.closed)
	ClosedAlerts   []*AlertRecord          // the last MaxClosedAlerts ended alerts, oldest first; never written in place
	Roster         *RosterState            // runtime changes over devices.yaml (roster.go); replaced, never mutated
}

// DeviceRecord is a device's last recorded state and when it began.
type DeviceRecord struct {
	DeviceState
	Since time.Time
}

// NewState returns the empty hall.
func NewState() *State {
	st := &State{
		Counters:       map[string]int{},
		Tickets:        map[string]*Ticket{},
		Requests:       map[string]string{},
		Devices:        map[string]*DeviceRecord{},
		Windows:        map[string]*WindowState{},
		Alerts:         map[string]*AlertRecord{},
		DeviceSeq:      map[string]uint16{},
		FollowUps:      map[string]*FollowUp{},
		Appointments:   map[string]*Appointment{},
		Notices:        map[string]*Notice{},
		ClosedServices: map[string]string{},
	}
	st.resetDay()
	return st
}

// resetDay clears what belongs to one hall day.
func (st *State) resetDay() {
	st.Counters = map[string]int{}
	st.Tickets = map[string]*Ticket{}
	st.Order = nil
	st.Requests = map[string]string{}
	st.Visits = map[uint32]string{}
	st.VisitInfo = map[uint32]VisitRecord{}
	st.Rated = map[uint32]bool{}
	st.Finished = map[uint32]bool{}
	st.TimedOut = map[uint32]bool{}
	st.RecentCalls = nil
	st.DeviceEventIDs = map[string]bool{} // a pad resends within minutes, not across days
	for _, w := range st.Windows {
		w.Current, w.Awaiting = "", 0
	}
}

// Decide applies the rules to one command and returns the events to record.
// It does not change st. Alerts raised get the area of what they are about.
func Decide(cfg *config.Config, st *State, cmd any, now time.Time) ([]Emit, error) {
	out, err := decide(cfg, st, cmd, now)
	fillAlertAreas(cfg, out)
	return out, err
}

func decide(cfg *config.Config, st *State, cmd any, now time.Time) ([]Emit, error) {
	base := cfg
	cfg = Effective(cfg, st) // the roster and windows as changed at run time
	switch c := cmd.(type) {
	case IssueTicket:
		return decideIssue(cfg, st, c, now)
	case PrintOutcome:
		t, ok := st.Tickets[c.TicketID]
		if !ok {
			return nil, refuse(404, "unknown_ticket", "没有找到这张号票（只能补打当天的号票）")
		}
		if c.Printer != "" {
			return []Emit{{TypeTicketPrinted, &TicketPrinted{TicketID: t.ID, Number: t.Number, Printer: c.Printer, Reprint: c.Reprint}}}, nil
		}
		return []Emit{{TypeTicketPrintFailed, &TicketPrintFailed{TicketID: t.ID, Number: t.Number, Code: c.Code, Message: c.Message, Tried: c.Tried}}}, nil
	case ObserveDevice:
		prev, ok := st.Devices[c.Device]
		if ok && prev.State == c.State && prev.Reason == c.Reason && reflect.DeepEqual(normalize(prev.Detail), normalize(c.Detail)) {
			return nil, nil
		}
		out := []Emit{{TypeDeviceState, &DeviceState{Device: c.Device, Kind: c.Kind, State: c.State, Detail: c.Detail, Reason: c.Reason}}}
		return append(out, deviceAlert(cfg, st, c)...), nil
	case RaiseAlert:
		return decideRaise(st, c.Alert)
	case AckAlert, AssignAlert, CloseAlert:
		return decideAlertAction(cfg, st, cmd, now)
	case ClearAlert:
		if _, open := st.Alerts[c.AlertID]; !open {
			return nil, nil
		}
		return []Emit{{TypeAlertCleared, &AlertCleared{AlertID: c.AlertID, Reason: c.Reason}}}, nil
	case CallNext, CallTicket, Recall, NoShow, Start, Finish, Hold, Transfer, Pause, Resume, SignIn, SignOut, Rate, RateTimeout, Tick:
		return decideWindow(cfg, st, cmd, now)
	case SetStaff, RemoveStaff, SetWindowServices, ExpireNotice, RecordPIN:
		return decideRoster(base, cfg, st, cmd, now)
	case PostNotice, SetServiceOpen:
		return decideCentral(cfg, st, cmd, now)
	case Book, CancelAppointment, CheckIn, RecordCardRead, RecordLine:
		return decideAppointment(cfg, st, cmd, now)
	case FollowUpStep:
		return decideFollowUp(cfg, st, c, now)
	case SetStaffCard, CardSignIn:
		return decideStaffCard(cfg, st, cmd, now)
	case ToggleSign:
		return decideToggle(cfg, st, c, now)
	case SetSilentCall:
		return decideSilent(cfg, st, c, now)
	case FromDevice:
		if len(c.Event.EventID) > MaxID || len(c.Event.Device) > MaxID {
			return nil, refuse(400, "bad_event", "设备事件编号过长")
		}
		if c.Event.EventID != "" {
			if st.DeviceEventIDs[c.Event.EventID] {
				return nil, &Duplicate{}
			}
		} else if last, ok := st.DeviceSeq[c.Event.Device]; ok && seqSeen(c.Event.EvtSeq, last) {
			return nil, &Duplicate{}
		}
		ev := c.Event
		var out []Emit
		if c.Cmd != nil {
			emits, err := Decide(cfg, st, c.Cmd, now)
			var re *RuleError
			var dup *Duplicate
			switch {
			case errors.As(err, &re):
				ev.Refused = re.Code
			case errors.As(err, &dup):
				ev.Refused = "duplicate"
			case err != nil:
				return nil, err
			}
			out = emits
		}
		return append([]Emit{{TypeDeviceEvent, &ev}}, out...), nil
	case ResolveInterrupted:
		var out []Emit
		for _, id := range st.Order {
			if t := st.Tickets[id]; t.PrintStatus == PrintPending {
				out = append(out, Emit{TypeTicketPrintFailed, &TicketPrintFailed{TicketID: t.ID, Number: t.Number,
					Code: "interrupted", Message: "打印时系统重启，请到取号机补打"}})
			}
		}
		return out, nil
	default:
		return nil, fmt.Errorf("hall: unknown command %T", cmd)
	}
}

// normalize makes details recorded as JSON and details built in Go compare
// equal (numbers come back from JSON as float64).
func normalize(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch n := v.(type) {
		case int:
			out[k] = float64(n)
		case int64:
			out[k] = float64(n)
		case uint64:
			out[k] = float64(n)
		default:
			out[k] = v
		}
	}
	return out
}

// Today is the hall day at now. It never goes backwards: after the clock
// steps back across midnight, yesterday's numbers (and ticket ids) would be
// reused and today's queue reset.
func (st *State) Today(cfg *config.Config, now time.Time) string {
	if day := cfg.Day(now); day > st.Day {
		return day
	}
	return st.Day
}

func decideIssue(cfg *config.Config, st *State, c IssueTicket, now time.Time) ([]Emit, error) {
	day := st.Today(cfg, now)
	if c.RequestID != "" && st.Day == day {
		if id, ok := st.Requests[c.RequestID]; ok {
			// Already issued: record nothing, the engine answers with it.
			return nil, &Duplicate{TicketID: id}
		}
	}
	svc, ok := cfg.Service(c.Service)
	if !ok {
		return nil, refuse(404, "unknown_service", "没有这项业务，请重新选择")
	}
	if !ServiceOpen(cfg, svc, now) {
		return nil, refuse(409, "service_closed", "现在不是办理时间，暂停取号")
	}
	if reason, closed := st.ClosedServices[svc.ID]; closed {
		msg := "该业务暂停取号"
		if reason != "" {
			msg += "：" + reason
		}
		return nil, refuse(409, "service_closed", msg)
	}
	if c.Kiosk != "" {
		if k, ok := cfg.Device(c.Kiosk); !ok || k.Kind != config.KindKiosk {
			return nil, refuse(404, "unknown_kiosk", "没有这台取号机："+clip(c.Kiosk, 32))
		}
	}
	if c.Channel != "" && !oneOf(c.Channel, TicketChannels) {
		return nil, refuse(400, "bad_channel", "取号渠道不正确："+clip(c.Channel, 32)+"（可选 kiosk、appointment、window、api）")
	}
	if err := badID("bad_request_id", "请求编号（request_id）", c.RequestID); err != nil {
		return nil, err
	}
	prio := c.Priority
	if prio == "" {
		prio = PriorityNormal
	}
	if prio != PriorityNormal && prio != PriorityGreen && prio != PriorityAppointment {
		return nil, refuse(400, "bad_priority", "取号类别不正确")
	}
	last := 0 // the service's tickets of the day so far
	if st.Day == day {
		last = st.Counters[svc.ID]
	}
	if svc.DailyCap > 0 && last >= svc.DailyCap {
		return nil, refuse(409, "over_cap", "今日该业务号已取完，请明天再来或在网上预约")
	}
	// The day's n-th ticket: its number is n (grow, and every mode up to
	// max_number), or wraps past max_number to the next number not in use
	// (wrap); its id always carries n, so ids never repeat in a day.
	n := last + 1
	_, overflow := numbering(cfg)
	maxN, width := maxNumber(svc), numberWidth(cfg, svc)
	num := n
	switch {
	case n <= maxN:
	case overflow == OverflowStop || n > MaxDailyTickets:
		return nil, refuse(409, "over_cap", "今日该业务号已取完，请明天再来或在网上预约")
	case overflow == OverflowWrap:
		var ok bool
		if num, ok = st.wrapNumber(svc, width, maxN, day, n); !ok {
			return nil, refuse(409, "over_cap", "今日该业务的号码都在使用中，请稍后再取")
		}
	}
	number := formatNumber(svc.Prefix, width, num)
	t := Ticket{
		ID:          ticketID(day, formatNumber(svc.Prefix, width, n)),
		Number:      number,
		Service:     svc.ID,
		ServiceName: svc.Name,
		Day:         day,
		Priority:    prio,
		Channel:     c.Channel,
		Kiosk:       c.Kiosk,
		MaskedID:    c.MaskedID,
		IssuedAt:    Stamp(now.In(cfg.Location)),
		Status:      StatusWaiting,
		PrintStatus: PrintPending,
		SlotStart:   c.SlotStart,
	}
	if st.Day == day {
		t.Ahead = st.aheadOf(svc.ID, prio)
	}
	t.Estimate = EstimateFor(cfg, st, svc.ID, t.Ahead, now)
	t.Windows = WindowsFor(cfg, svc.ID) // cfg is Effective here: today's windows
	var out []Emit
	if dayToClose(cfg, st, now) {
		out = closeDay(st) // the day before ends first: its outcomes, then this day's first ticket
	}
	return append(out, Emit{TypeTicketIssued, &TicketIssued{Ticket: t, RequestID: c.RequestID, Serial: n}}), nil
}

func ticketID(day, serial string) string {
	return "T" + day[0:4] + day[5:7] + day[8:10] + "-" + serial
}

// wrapNumber is the number after the one the day's ticket n-1 got, wrapping
// past maxN to 1 and skipping numbers a ticket of the day still holds (not
// done: waiting, called, serving, held, no-show may still be called). false
// when every number is in use.
func (st *State) wrapNumber(svc *config.Service, width, maxN int, day string, n int) (int, bool) {
	prev := (n-2)%maxN + 1
	if t, ok := st.Tickets[ticketID(day, formatNumber(svc.Prefix, width, n-1))]; ok {
		if v, err := strconv.Atoi(t.Number[len(t.Number)-digitsIn(t.Number):]); err == nil && v >= 1 && v <= maxN {
			prev = v
		}
	}
	inUse := map[string]bool{}
	for _, id := range st.Order {
		if t := st.Tickets[id]; t.Day == day && t.Status != StatusDone {
			inUse[t.Number] = true
		}
	}
	for i := 1; i <= maxN; i++ {
		c := (prev+i-1)%maxN + 1
		if !inUse[formatNumber(svc.Prefix, width, c)] {
			return c, true
		}
	}
	return 0, false
}

// Duplicate is returned by Decide when an idempotent request was already
// served; it carries the ticket to answer with.
type Duplicate struct{ TicketID string }

func (d *Duplicate) Error() string { return "duplicate request for " + d.TicketID }

// ServiceOpen tells whether tickets for svc may be issued at now: the hall's
// hours and holidays, except in an area that is open day and night.
func ServiceOpen(cfg *config.Config, svc *config.Service, now time.Time) bool {
	for _, a := range cfg.Areas {
		if a.ID == svc.Area && a.Open24h {
			return true
		}
	}
	return cfg.IsOpen(now)
}

// aheadOf counts waiting tickets of a service that will be called before a new
// ticket of the given priority (same or higher class; first come, first served
// within a class).
func (st *State) aheadOf(service, prio string) int {
	rank := priorityRank(prio)
	n := 0
	for _, id := range st.Order {
		t := st.Tickets[id]
		if t.Service == service && t.Status == StatusWaiting && priorityRank(t.Priority) <= rank {
			n++
		}
	}
	return n
}

func priorityRank(p string) int {
	switch p {
	case PriorityAppointment:
		return 0
	case PriorityGreen:
		return 1
	}
	return 2
}

// Apply folds one recorded event of type typ into the state: one case a
// payload type, and every event type has its own (payload_types_test.go).
// typ is kept for the callers' sake (and events of a newer halld, which
// decode to nil and change nothing but Seq).
func Apply(st *State, seq uint64, typ string, ts time.Time, data any) {
	st.Seq = seq
	switch e := data.(type) {
	case *TicketIssued:
		applyIssued(st, e)
		st.endToday(st.Day, false) // a new hall day ends yesterday's roster changes
	case *TicketPrinted:
		if t, ok := st.ticketW(e.TicketID); ok {
			p := e.Printer
			t.PrintStatus, t.PrintedBy, t.PrintError = PrintPrinted, &p, nil
		}
	case *TicketPrintFailed:
		if t, ok := st.Tickets[e.TicketID]; ok && t.PrintStatus != PrintPrinted {
			t, _ = st.ticketW(e.TicketID)
			t.PrintStatus = PrintFailed
			t.PrintError = &ErrorInfo{Code: e.Code, Message: e.Message}
		}
	case *TicketClosed:
		applyTicketClosed(st, e)
	case *DayClosed:
		st.ClosedDay = e.Day
		st.endToday(e.Day, true)
	case *DeviceEvent:
		if e.EventID != "" {
			st.DeviceEventIDs[e.EventID] = true
		} else {
			st.DeviceSeq[e.Device] = e.EvtSeq
		}
	case *DeviceState:
		since := ts
		if prev, ok := st.Devices[e.Device]; ok && prev.State == e.State {
			since = prev.Since // a new reason or detail, the same state since then
		}
		st.Devices[e.Device] = &DeviceRecord{DeviceState: *e, Since: since}
		st.Devices[e.Device].Detail = maps.Clone(e.Detail)
	case *SilentCallSet:
		applySilent(st, e)
	case *AlertAcknowledged:
		applyAlertLife(st, ts, (*AlertAction)(e), StepAcknowledged)
	case *AlertAssigned:
		applyAlertLife(st, ts, (*AlertAction)(e), StepAssigned)
	case *AlertClosed:
		applyAlertLife(st, ts, (*AlertAction)(e), StepClosed)
	case *FollowUp:
		applyFollowUpOpened(st, ts, e)
	case *FollowUpUpdated:
		applyFollowUpUpdated(st, ts, (*FollowUpUpdate)(e))
	case *FollowUpOverdue:
		applyFollowUpOverdue(st, (*FollowUpUpdate)(e))
	case *Appointment:
		a := *e
		st.Appointments[a.Code] = &a
	case *AppointmentCheckedIn:
		applyAppointmentUse(st, (*AppointmentRef)(e), false)
	case *AppointmentCancelled:
		applyAppointmentUse(st, (*AppointmentRef)(e), true)
	case *Notice:
		n := *e
		st.Notices[n.ID] = &n
	case *NoticeRef:
		delete(st.Notices, e.ID)
	case *ServiceOpened:
		applyServiceOpen(st, (*SetServiceOpen)(e), true)
	case *ServiceClosed:
		applyServiceOpen(st, (*SetServiceOpen)(e), false)
	case *StaffAdded:
		applyStaffChange(st, (*StaffChange)(e))
	case *StaffUpdated:
		applyStaffChange(st, (*StaffChange)(e))
	case *StaffRemoved:
		applyStaffChange(st, (*StaffChange)(e))
	case *WindowServicesSet:
		t := WindowToday(*e)
		st.rosterW().WindowServices[t.Window] = &t
	case *WindowServicesReset:
		delete(st.rosterW().WindowServices, e.Window)
	case *PINEvent:
		applyPIN(st, e)
	case *StaffCard:
		applyStaffCard(st, e)
	default:
		applyQueue(st, ts, data)
	}
}

// applyIssued folds ticket.issued; a ticket of a new hall day starts the day.
func applyIssued(st *State, e *TicketIssued) {
	t := e.Ticket
	if t.Day != st.Day {
		// A new hall day: numbering restarts and yesterday's queue is gone.
		st.Day = t.Day
		st.resetDay()
	}
	n := e.Serial
	if n == 0 { // recorded before numbers could wrap: the number is the count
		n, _ = strconv.Atoi(t.Number[len(t.Number)-digitsIn(t.Number):])
	}
	if n > st.Counters[t.Service] {
		st.Counters[t.Service] = n
	}
	st.Tickets[t.ID] = &t
	st.Order = append(st.Order, t.ID)
	if e.RequestID != "" {
		st.Requests[e.RequestID] = t.ID
	}
}

// applyStaffChange folds a member added, changed or removed at run time.
func applyStaffChange(st *State, e *StaffChange) {
	ch := *e
	st.rosterW().Staff[ch.ID] = &ch
}

func digitsIn(s string) int {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] >= '0' && s[i] <= '9'; i-- {
		n++
	}
	return n
}

// Waiting counts waiting tickets per service.
func (st *State) Waiting() map[string]int {
	out := map[string]int{}
	for _, id := range st.Order {
		if t := st.Tickets[id]; t.Status == StatusWaiting {
			out[t.Service]++
		}
	}
	return out
}

// TicketsOf returns today's tickets in issue order.
func (st *State) TicketsOf(day string) []*Ticket {
	if st.Day != day {
		return nil
	}
	out := make([]*Ticket, 0, len(st.Order))
	for _, id := range st.Order {
		out = append(out, st.Tickets[id])
	}
	return out
}

// DeviceIDs lists known devices in a stable order.
func (st *State) DeviceIDs() []string {
	ids := make([]string, 0, len(st.Devices))
	for id := range st.Devices {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// deviceAlert keeps one alert per device in step with its state: raised
// when it goes offline, faulty or degraded (with the reason in Chinese),
// whatever state it was in before and whichever report came first; its text
// updated when the reason changes in the same state; cleared when it is
// ready again. A device still connecting (at start-up, or after a restart
// of halld) changes nothing: it is no alert yet, and an alert still open
// from before stays until the device says how it is.
func deviceAlert(cfg *config.Config, st *State, c ObserveDevice) []Emit {
	id := "device-" + c.Device
	open, isOpen := st.Alerts[id]
	if c.State == "ready" {
		if isOpen {
			return []Emit{{TypeAlertCleared, &AlertCleared{AlertID: id, Reason: c.State}}}
		}
		return nil
	}
	if c.Reason == "connecting" {
		return nil
	}
	sev := map[string]string{"offline": "critical", "fault": "critical", "degraded": "warning"}[c.State]
	if sev == "" {
		return nil
	}
	msg := c.Device + " " + deviceStateText[c.State]
	if r := reasonText[c.Reason]; r != "" {
		msg += "：" + r
	} else if c.Reason != "" {
		msg += "：" + c.Reason
	}
	msg = clip(msg, MaxAlertMessage)
	kind := "device_" + c.State
	switch {
	case !isOpen:
		return []Emit{{TypeAlertRaised, &Alert{AlertID: id, Kind: kind, Severity: sev, Device: c.Device, Message: msg}}}
	case open.Kind == kind && open.Message == msg:
		return nil
	case open.Kind == kind:
		// The same state for another reason: the alert reads anew.
		return []Emit{{TypeAlertUpdated, &AlertUpdated{AlertID: id, Message: msg}}}
	}
	return []Emit{{TypeAlertCleared, &AlertCleared{AlertID: id, Reason: "changed"}},
		{TypeAlertRaised, &Alert{AlertID: id, Kind: kind, Severity: sev, Device: c.Device, Message: msg}}}
}

var deviceStateText = map[string]string{"offline": "离线", "fault": "故障", "degraded": "需要处理"}

var reasonText = map[string]string{
	"paper_end": "缺纸", "paper_near_end": "纸将尽", "cover_open": "仓盖打开", "offline": "脱机",
	"cutter_error": "切刀故障", "no_status_reply": "状态无应答", "not_attached": "未连接", "link_lost": "连接断开",
	"no_reply": "无应答", "line_down": "总线断开", "heartbeat": "心跳超时", "lost": "连接丢失",
	"sam_self_test_failed": "SAM 自检失败", "sam_unauthorised": "SAM 未授权", "read_failed": "读卡失败",
	"write_timeout": "写入超时：设备不接收数据（流控或线缆）",
}
