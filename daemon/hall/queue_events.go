package hall

// Calling, service, rating and window events (contracts.md event list).
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
)

// TicketCalled: a window called a ticket (also the payload of a recall). The
// voice line is what the board speaks.
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
}

// TicketAtWindow: a ticket's fate at a window (no-show, held).
type TicketAtWindow struct {
	TicketID string `json:"ticket_id"`
	Number   string `json:"number"`
	Window   string `json:"window"`
	Visit    uint32 `json:"visit,omitempty"`
}

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
}

// ServiceEvent: a service (one visit of a ticket at a window) started or finished.
type ServiceEvent struct {
	TicketID string `json:"ticket_id"`
	Number   string `json:"number"`
	Service  string `json:"service"`
	Window   string `json:"window"`
	Staff    string `json:"staff,omitempty"`
	Visit    uint32 `json:"visit"`
	Implicit bool   `json:"implicit,omitempty"` // started by a finish (a pad has no start key)
}

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
}

// RatingTimeout: no rating came for a visit.
type RatingTimeout struct {
	TicketID string `json:"ticket_id"`
	Number   string `json:"number"`
	Visit    uint32 `json:"visit"`
	Window   string `json:"window"`
	Staff    string `json:"staff,omitempty"`
}

// WindowPause: a window paused, with the reason the rules require.
type WindowPause struct {
	Window       string `json:"window"`
	WindowNumber int    `json:"window_number"`
	Reason       string `json:"reason"`
	Until        *Stamp `json:"until"`
	Staff        string `json:"staff,omitempty"`
	Voice        string `json:"voice"`
}

// WindowEvent: resumed, or paused too long.
type WindowEvent struct {
	Window  string `json:"window"`
	Since   *Stamp `json:"since,omitempty"`
	Minutes int    `json:"minutes,omitempty"`
}

// StaffEvent: sign-in or sign-out (attendance).
type StaffEvent struct {
	Window    string `json:"window"`
	Staff     string `json:"staff"`
	StaffName string `json:"staff_name,omitempty"`
}

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
func (e *TicketAtWindow) TicketRef() string    { return e.TicketID }
func (e *TicketTransferred) TicketRef() string { return e.TicketID }
func (e *ServiceEvent) TicketRef() string      { return e.TicketID }
func (e *RatingSubmitted) TicketRef() string   { return e.TicketID }
func (e *RatingTimeout) TicketRef() string     { return e.TicketID }

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
