package hall

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event types recorded in the journal (docs/contracts.md).
const (
	TypeTicketIssued      = "ticket.issued"
	TypeTicketPrinted     = "ticket.printed"
	TypeTicketPrintFailed = "ticket.print_failed"
	TypeDeviceState       = "device.state"
)

// Stamp is a time that marshals as RFC 3339 with milliseconds, in the zone it
// carries (the hall's), as the event contract asks.
type Stamp time.Time

const stampLayout = "2006-01-02T15:04:05.000Z07:00"

func (s Stamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(s).Format(stampLayout) + `"`), nil
}

func (s *Stamp) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, str)
	if err != nil {
		return err
	}
	*s = Stamp(t)
	return nil
}

// Time returns the time.Time.
func (s Stamp) Time() time.Time { return time.Time(s) }

// ErrorInfo is a machine code with a Chinese message for people.
type ErrorInfo struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Ticket is one queue ticket as the pages, journal and central server see it.
type Ticket struct {
	ID          string     `json:"id"`
	Number      string     `json:"number"`
	Service     string     `json:"service"`
	ServiceName string     `json:"service_name"`
	Day         string     `json:"day"`
	Priority    string     `json:"priority"`
	Channel     string     `json:"channel"`
	Kiosk       string     `json:"kiosk,omitempty"`
	MaskedID    string     `json:"masked_id,omitempty"`
	IssuedAt    Stamp      `json:"issued_at"`
	Status      string     `json:"status"`
	PrintStatus string     `json:"print_status"`
	PrintedBy   *string    `json:"printed_by"`
	PrintError  *ErrorInfo `json:"print_error,omitempty"`
	Ahead       int        `json:"ahead"`
	// SlotStart is an appointment's slot: before it the ticket waits as normal.
	SlotStart *Stamp `json:"slot_start,omitempty"`

	// Set as the ticket moves through the hall.
	Window       string           `json:"window,omitempty"`
	PinnedWindow string           `json:"pinned_window,omitempty"` // only this window may call it (a transfer to a window)
	Visit        uint32           `json:"visit,omitempty"`
	CalledAt     *Stamp           `json:"called_at,omitempty"`
	StartedAt    *Stamp           `json:"started_at,omitempty"`
	FinishedAt   *Stamp           `json:"finished_at,omitempty"`
	Recalls      int              `json:"recalls,omitempty"`
	Transfers    []TransferRecord `json:"transfers,omitempty"`
	Rating       string           `json:"rating,omitempty"`

	// Estimate is the wait the rules foresaw at issue (recorded in
	// ticket.issued, so its accuracy can be measured against the real wait).
	// Absent in journals from before.
	Estimate *Estimate `json:"estimate,omitempty"`
	// Windows are the windows that served the ticket's service at issue, as
	// the citizen is told them (today's 潮汐窗口 changes included). Absent in
	// journals from before.
	Windows []string `json:"windows,omitempty"`
	// Outcome is how the ticket's day ended for it: OutcomeServed at its
	// service.finished; OutcomeNoShow or OutcomeExpired at ticket.closed when
	// the hall day ends. Empty while it may still be served.
	Outcome string `json:"outcome,omitempty"`
	// Silent: 无声叫号, asked for on the phone page (silent.go).
	Silent bool `json:"silent,omitempty"`
}

// Ticket outcomes: every ticket ends its day with exactly one.
const (
	OutcomeServed  = "served"  // service.finished
	OutcomeNoShow  = "no_show" // still a no-show (过号) when the day ended
	OutcomeExpired = "expired" // waiting, held, called or serving when the day ended
)

// Estimate is a ticket's expected wait as the rules saw it at issue.
//
// Servable tells whether any staffed window (signed in: open or paused) can
// call the ticket now: a window serving its service, or the AB backup of
// one that is not open. When none can, there is no estimate (Minutes, Low
// and High are null) and Reason is "no_window".
//
// Otherwise Minutes = ⌈ahead × per-ticket minutes ÷ staffed windows⌉, where
// the per-ticket minutes are the mean service time of the service's visits
// finished today once there are at least EstimateSamples of them (Basis
// "today"), else the service's avg_service_minutes (Basis "config"); the
// band [Low, High] is Minutes ± 25 % (today) or ± 50 % (config), and at
// least ± 2 minutes, Low never below 0.
type Estimate struct {
	Servable bool   `json:"servable"`
	Reason   string `json:"reason,omitempty"`
	Minutes  *int   `json:"minutes"`
	Low      *int   `json:"low"`
	High     *int   `json:"high"`
	Basis    string `json:"basis,omitempty"`
	Windows  int    `json:"windows"` // staffed windows that can call it
	Text     string `json:"text"`    // what the kiosk and the ticket say
}

// TicketIssued: a number was handed out.
type TicketIssued struct {
	Ticket    Ticket `json:"ticket"`
	RequestID string `json:"request_id,omitempty"`
	// Serial is the ticket's place among the service's tickets of the day
	// (1, 2, …). It is the number, except past max_number with overflow
	// wrap (A001 again); absent in journals from before, where it was.
	Serial int `json:"serial,omitempty"`
}

// TicketPrinted: the printer took the whole job and reported no fault.
type TicketPrinted struct {
	TicketID string `json:"ticket_id"`
	Number   string `json:"number"`
	Printer  string `json:"printer"`
	Reprint  bool   `json:"reprint,omitempty"`
}

// TicketPrintFailed: no printer could print it; the citizen has the number on
// screen and may ask for a reprint (补打).
type TicketPrintFailed struct {
	TicketID string   `json:"ticket_id"`
	Number   string   `json:"number"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
	Tried    []string `json:"tried,omitempty"`
}

// DeviceState: a device changed state (ready / degraded / fault / offline).
type DeviceState struct {
	Device string         `json:"device"`
	Kind   string         `json:"kind"`
	State  string         `json:"state"`
	Detail map[string]any `json:"detail,omitempty"`
	Reason string         `json:"reason,omitempty"`
}

// Emit is an event the rules decided to record: its type and payload.
type Emit struct {
	Type string
	Data any
}

// Envelope holds the fields every event carries.
type Envelope struct {
	ID   string `json:"id"`
	Seq  uint64 `json:"seq"`
	TS   Stamp  `json:"ts"`
	Type string `json:"type"`
	Hall string `json:"hall"`
}

// Encode renders an event as one flat JSON object: the envelope's fields
// followed by the payload's, as consumers expect.
func Encode(env Envelope, data any) ([]byte, error) {
	head, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("hall: payload of %s is not an object", env.Type)
	}
	if len(body) == 2 { // empty payload
		return head, nil
	}
	out := make([]byte, 0, len(head)+len(body))
	out = append(out, head[:len(head)-1]...)
	out = append(out, ',')
	return append(out, body[1:]...), nil
}

// extraDecoders are the payloads of event types registered from their own
// files (roster.go), so each adds its types without touching Decode.
var extraDecoders = map[string]func() any{}

// Decode parses the payload of a recorded event. Unknown types give nil and
// no error, so an older halld can replay a newer journal.
func Decode(typ string, body []byte) (any, error) {
	var v any
	switch typ {
	case TypeTicketIssued:
		v = &TicketIssued{}
	case TypeTicketPrinted:
		v = &TicketPrinted{}
	case TypeTicketPrintFailed:
		v = &TicketPrintFailed{}
	case TypeDeviceState:
		v = &DeviceState{}
	case TypeTicketCalled:
		v = &TicketCalled{}
	case TypeTicketRecalled:
		v = &TicketRecalled{}
	case TypeTicketNoShow:
		v = &TicketNoShow{}
	case TypeTicketHeld:
		v = &TicketHeld{}
	case TypeTicketTransferred:
		v = &TicketTransferred{}
	case TypeServiceStarted:
		v = &ServiceStarted{}
	case TypeServiceFinished:
		v = &ServiceFinished{}
	case TypeRatingSubmitted:
		v = &RatingSubmitted{}
	case TypeRatingTimeout:
		v = &RatingTimeout{}
	case TypeTicketClosed:
		v = &TicketClosed{}
	case TypeDayClosed:
		v = &DayClosed{}
	case TypeWindowPaused:
		v = &WindowPause{}
	case TypeWindowResumed:
		v = &WindowResumed{}
	case TypeWindowOverdue:
		v = &WindowOverdue{}
	case TypeStaffSignedIn:
		v = &StaffSignedIn{}
	case TypeStaffSignedOut:
		v = &StaffSignedOut{}
	case TypeAlertRaised:
		v = &Alert{}
	case TypeAlertCleared:
		v = &AlertCleared{}
	case TypeAlertUpdated:
		v = &AlertUpdated{}
	case TypeAlertAcknowledged:
		v = &AlertAcknowledged{}
	case TypeAlertAssigned:
		v = &AlertAssigned{}
	case TypeAlertClosed:
		v = &AlertClosed{}
	case TypeDeviceEvent:
		v = &DeviceEvent{}
	case TypeSilentCallSet:
		v = &SilentCallSet{}
	case TypeNoticePosted:
		v = &Notice{}
	case TypeServiceOpened:
		v = &ServiceOpened{}
	case TypeServiceClosed:
		v = &ServiceClosed{}
	case TypeDeviceLine:
		v = &DeviceLine{}
	case TypeIDCardRead:
		v = &IDCardRead{}
	case TypeAppointmentBooked:
		v = &Appointment{}
	case TypeAppointmentCheckedIn:
		v = &AppointmentCheckedIn{}
	case TypeAppointmentCancelled:
		v = &AppointmentCancelled{}
	case TypeFollowUpOpened:
		v = &FollowUp{}
	case TypeFollowUpUpdated:
		v = &FollowUpUpdated{}
	case TypeFollowUpOverdue:
		v = &FollowUpOverdue{}
	default:
		f := extraDecoders[typ]
		if f == nil {
			return nil, nil
		}
		v = f()
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, fmt.Errorf("hall: decode %s: %w", typ, err)
	}
	return v, nil
}
