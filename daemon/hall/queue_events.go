package hall

// Calling, service, rating and window events (docs/contracts.md event list).
const (
	TypeTicketCalled      = "ticket.called"
	TypeTicketRecalled    = "ticket.recalled"
	TypeTicketNoShow      = "ticket.no_show"
	TypeTicketHeld        = "ticket.held"
	TypeTicketTransferred = "ticket.transferred"
	TypeServiceStarted    = "service.started"
	TypeServiceFinished   = "service.finished"
	TypeRatingSubmitted   = "rating.submitted"
	TypeRatingTimeout     = "rating.timeout"
	TypeWindowPaused      = "window.paused"
	TypeWindowResumed     = "window.resumed"
	TypeWindowOverdue     = "window.pause_overdue"
	TypeStaffSignedIn     = "staff.signed_in"
	TypeStaffSignedOut    = "staff.signed_out"
	TypeAlertRaised       = "alert.raised"
	TypeAlertCleared      = "alert.cleared"
	TypeTicketClosed      = "ticket.closed"
	TypeDayClosed         = "day.closed"
)

// Every event type has a payload type of its own (Decode, Apply's one type
// switch). Types of one shape — called and recalled, no-show and held,
// started and finished, resumed and overdue, signed in and out — are defined
// from that shape: their JSON is the same, and code for the shape takes
// either by a pointer conversion, (*ServiceEvent)(e).

// TicketCalled: a window called a ticket (ticket.called). The voice line is
// what the board speaks.
type TicketCalled struct {
	TicketID     string `json:"ticket_id"`
	Number       string `json:"number"`
	Service      string `json:"service"`
	ServiceName  string `json:"service_name"`
	Window       string `json:"window"`
	WindowNumber int    `json:"window_number"`
	WindowName   string `json:"window_name"`
	Visit        uint32 `json:"visit"`
	Priority     string `json:"priority"`
	Staff        string `json:"staff,omitempty"`
	Recall       bool   `json:"recall"`
	Recalls      int    `json:"recalls,omitempty"`
	OutOfOrder   bool   `json:"out_of_order,omitempty"` // called by choice, not call-next
	Covering     string `json:"covering,omitempty"`     // the AB window whose queue this call served
	Voice        string `json:"voice"`
	Silent       bool   `json:"silent,omitempty"` // 无声叫号 (silent.go): the board shows it and does not speak; Voice is empty
	By           string `json:"by,omitempty"`     // who called (by.go); absent from a pad key and in journals from before
}

// TicketRecalled: the called ticket was called again (ticket.recalled;
// Recall is true, Recalls counts them).
type TicketRecalled TicketCalled

// TicketAtWindow is the shape of a ticket's fate at a window: TicketNoShow
// (ticket.no_show) and TicketHeld (ticket.held).
type TicketAtWindow struct {
	TicketID string `json:"ticket_id"`
	Number   string `json:"number"`
	Window   string `json:"window"`
	Visit    uint32 `json:"visit,omitempty"`
	By       string `json:"by,omitempty"` // who did it (by.go)
}

type (
	TicketNoShow TicketAtWindow
	TicketHeld   TicketAtWindow
)

// TicketTransferred: a ticket moved to another service and/or window; it keeps
// its place in line (its issue time) and its history.
type TicketTransferred struct {
	TicketID    string `json:"ticket_id"`
	Number      string `json:"number"`
	FromService string `json:"from_service"`
	ToService   string `json:"to_service"`
	FromWindow  string `json:"from_window"`
	ToWindow    string `json:"to_window,omitempty"`
	Visit       uint32 `json:"visit,omitempty"`
	// The services' names: the ticket is named after ToService from here
	// on (API, calls, voice, pages, statistics). Absent in journals from
	// before, where the ticket kept its first service's name.
	FromServiceName string `json:"from_service_name,omitempty"`
	ToServiceName   string `json:"to_service_name,omitempty"`
	By              string `json:"by,omitempty"` // who did it (by.go)
}

// ServiceEvent is the shape of a service's (one visit of a ticket at a
// window) ServiceStarted (service.started) and ServiceFinished
// (service.finished).
type ServiceEvent struct {
	TicketID string `json:"ticket_id"`
	Number   string `json:"number"`
	Service  string `json:"service"`
	Window   string `json:"window"`
	Staff    string `json:"staff,omitempty"`
	Visit    uint32 `json:"visit"`
	Implicit bool   `json:"implicit,omitempty"` // started by a finish (a pad has no start key)
	By       string `json:"by,omitempty"`       // who did it (by.go)
}

type (
	ServiceStarted  ServiceEvent
	ServiceFinished ServiceEvent
)

// RatingSubmitted: the citizen's one rating (一次一评) of one visit.
type RatingSubmitted struct {
	TicketID string   `json:"ticket_id"`
	Number   string   `json:"number"`
	Visit    uint32   `json:"visit"`
	Window   string   `json:"window"`
	Staff    string   `json:"staff,omitempty"`
	Service  string   `json:"service"`
	Level    string   `json:"level"` // 非常满意 … 非常不满意, stored by name
	Reasons  []string `json:"reasons,omitempty"`
	Comment  string   `json:"comment,omitempty"`
	Channel  string   `json:"channel"` // pad, mqtt, api, qr
	Device   string   `json:"device,omitempty"`
	Bad      bool     `json:"bad"` // 差评: 不满意 or 非常不满意
	// Unprompted (主动评价): the citizen rated without being asked — no
	// 请评价 screen showed the visit at that moment: pressed during the
	// service, before the finish, or given after the visit's prompt ended
	// (a QR rating later). Absent: prompted (the visit's 请评价 was showing).
	Unprompted bool `json:"unprompted,omitempty"`
	// Late: the visit had been recorded 未评价 (rating.timeout); this rating,
	// the same hall day, replaces that outcome.
	Late bool `json:"late,omitempty"`
}

// RatingTimeout: the visit's chance to be rated ended with no rating: it is
// 未评价. Reason says what ended it (RatingEnd*); absent in journals from
// before, where it was always a timeout.
type RatingTimeout struct {
	TicketID string `json:"ticket_id"`
	Number   string `json:"number"`
	Visit    uint32 `json:"visit"`
	Window   string `json:"window"`
	Staff    string `json:"staff,omitempty"`
	Service  string `json:"service,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// Why a visit's 请评价 ended without a rating (RatingTimeout.Reason).
const (
	RatingEndTimeout    = "timeout"     // hall.rating_timeout passed (halld's clock)
	RatingEndPadTimeout = "pad_timeout" // the pad gave up waiting
	RatingEndNextCall   = "next_call"   // the window called the next ticket
	RatingEndPause      = "pause"       // the window paused
	RatingEndSignOut    = "sign_out"    // the window's staff signed out (or another signed in)
	RatingEndDayEnd     = "day_end"     // the hall day ended
)

// RatingEndReasons lists them in a fixed order (statistics count by it).
var RatingEndReasons = []string{RatingEndTimeout, RatingEndPadTimeout, RatingEndNextCall, RatingEndPause, RatingEndSignOut, RatingEndDayEnd}

// TicketClosed: the hall day ended with the ticket not served; Outcome is
// OutcomeNoShow (it was a no-show) or OutcomeExpired, Status what it was.
type TicketClosed struct {
	TicketID    string `json:"ticket_id"`
	Number      string `json:"number"`
	Service     string `json:"service"`
	ServiceName string `json:"service_name"`
	Day         string `json:"day"`
	Status      string `json:"status"`
	Outcome     string `json:"outcome"`
	Window      string `json:"window,omitempty"` // where it was called or served, when it was
	Reason      string `json:"reason"`           // day_end
}

// DayClosed: every ticket and every finished visit of Day has its outcome
// (the events before it); recorded once, when the next day begins.
type DayClosed struct {
	Day     string `json:"day"`
	Tickets int    `json:"tickets"`
	Served  int    `json:"served"`
	NoShow  int    `json:"no_show"`
	Expired int    `json:"expired"`
	Visits  int    `json:"visits_finished"`
	Rated   int    `json:"rated"`
	Unrated int    `json:"unrated"`
}

// WindowPause: a window paused, with the reason the rules require.
type WindowPause struct {
	Window       string `json:"window"`
	WindowNumber int    `json:"window_number"`
	Reason       string `json:"reason"`
	Until        *Stamp `json:"until"`
	Staff        string `json:"staff,omitempty"`
	Voice        string `json:"voice"`
	By           string `json:"by,omitempty"` // who paused it (by.go)
}

// WindowEvent is the shape of WindowResumed (window.resumed) and
// WindowOverdue (window.pause_overdue: paused too long).
type WindowEvent struct {
	Window  string `json:"window"`
	Since   *Stamp `json:"since,omitempty"`
	Minutes int    `json:"minutes,omitempty"`
	By      string `json:"by,omitempty"` // who resumed it (by.go); none when overdue
}

type (
	WindowResumed WindowEvent
	WindowOverdue WindowEvent
)

// StaffEvent is the shape of attendance: StaffSignedIn (staff.signed_in) and
// StaffSignedOut (staff.signed_out).
type StaffEvent struct {
	Window    string `json:"window"`
	Staff     string `json:"staff"`
	StaffName string `json:"staff_name,omitempty"`
	By        string `json:"by,omitempty"` // who signed them in or out (a token's name, loopback)
}

type (
	StaffSignedIn  StaffEvent
	StaffSignedOut StaffEvent
)

// Alert is something that needs a person now.
type Alert struct {
	AlertID  string `json:"alert_id"`
	Kind     string `json:"kind"` // bad_rating, pause_overdue, …
	Severity string `json:"severity"`
	Window   string `json:"window,omitempty"`
	TicketID string `json:"ticket_id,omitempty"`
	Message  string `json:"message"`
	// Device and Cause make it one alert per device and cause (RaiseAlert
	// derives the id): a recurrence counts instead of opening another.
	Device string `json:"device,omitempty"`
	Cause  string `json:"cause,omitempty"`
	Count  int    `json:"count,omitempty"` // occurrences; absent: 1
	// Area is the area of its device, window or service (filled in by
	// Decide); Service the service a peak-load alert is about.
	Area    string `json:"area,omitempty"`
	Service string `json:"service,omitempty"`
}

// AlertCleared ends an alert.
type AlertCleared struct {
	AlertID string `json:"alert_id"`
	Reason  string `json:"reason,omitempty"`
}

// Rating levels by name, best first (GB/T 39046 code = index+1; HPAD-1 value = 5-index).
var RatingLevels = []string{"非常满意", "满意", "基本满意", "不满意", "非常不满意"}

// LevelFromPad maps an HPAD-1 rating value (5 非常满意 … 1 非常不满意).
func LevelFromPad(v int) (string, bool) {
	if v < 1 || v > 5 {
		return "", false
	}
	return RatingLevels[5-v], true
}

// IsBad tells a 差评.
func IsBad(level string) bool { return level == "不满意" || level == "非常不满意" }

// ValidLevel tells a known level name.
func ValidLevel(level string) bool {
	for _, l := range RatingLevels {
		if l == level {
			return true
		}
	}
	return false
}

// TicketRef is implemented by payloads about one ticket, so the engine can
// answer a command with the ticket as it now stands.
type TicketRef interface{ TicketRef() string }

func (e *TicketIssued) TicketRef() string      { return e.Ticket.ID }
func (e *TicketPrinted) TicketRef() string     { return e.TicketID }
func (e *TicketPrintFailed) TicketRef() string { return e.TicketID }
func (e *TicketCalled) TicketRef() string      { return e.TicketID }
func (e *TicketRecalled) TicketRef() string    { return e.TicketID }
func (e *TicketNoShow) TicketRef() string      { return e.TicketID }
func (e *TicketHeld) TicketRef() string        { return e.TicketID }
func (e *TicketTransferred) TicketRef() string { return e.TicketID }
func (e *ServiceStarted) TicketRef() string    { return e.TicketID }
func (e *ServiceFinished) TicketRef() string   { return e.TicketID }
func (e *RatingSubmitted) TicketRef() string   { return e.TicketID }

// RatingTimeout and TicketClosed are about a ticket too, but not the one a
// command is answered with: a call, pause or sign-out may end the previous
// visit's 请评价, and a new day's first ticket follows the last day's
// outcomes.

// TypeDeviceEvent records that a device's event (a pad's key or rating) was
// handled, with its device sequence number, so a redelivery — the pad did not
// get our ACK because halld stopped — is recognised and never acts twice.
const TypeDeviceEvent = "device.event"

// DeviceEvent is a device's own event as received.
type DeviceEvent struct {
	Device  string `json:"device"`
	EvtSeq  uint16 `json:"evt_seq"`
	EventID string `json:"event_id,omitempty"` // MQTT devices: their event's unique id, instead of a seq
	Kind    string `json:"kind"`               // key, rating, timeout, fault
	Value   int    `json:"value"`
	Visit   uint32 `json:"visit,omitempty"`
	Refused string `json:"refused,omitempty"` // the rule's code when the action was refused
}

// FromDevice wraps a command that a device event asked for. The device event
// is recorded with the command's events (or alone, when the rules refuse),
// and a repeat of the same (device, evtSeq) is a Duplicate.
type FromDevice struct {
	Event DeviceEvent
	Cmd   any // nil: record only (a fault)
}

// seqSeen tells whether evtSeq is at or before last, modulo 2^16.
func seqSeen(evtSeq, last uint16) bool { return int16(evtSeq-last) <= 0 }
