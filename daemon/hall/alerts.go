package hall

import (
	"fmt"
	"time"
)

// TypeAlertUpdated records that an open alert happened again (its count)
// or now reads differently (its message): the alert stays one, open since
// it was raised, and the journal records a few bytes instead of a new alert.
const TypeAlertUpdated = "alert.updated"

// AlertUpdated changes an open alert. The event's time is when it was last
// seen.
type AlertUpdated struct {
	AlertID string `json:"alert_id"`
	Count   int    `json:"count,omitempty"`   // occurrences so far, this one included; 0 = unchanged
	Message string `json:"message,omitempty"` // the new text; "" = unchanged
}

// Bounds on alerts raised through RaiseAlert.
const (
	// MaxCausesPerDevice is the most alerts open at once for one device,
	// each for its own cause (a fault code). Past it, one "too many faults"
	// alert of the device counts the rest.
	MaxCausesPerDevice = 32
	// MaxOpenPerKind bounds the open alerts of one kind that name no device
	// (each id its own alert); past it one alert of the kind counts the rest.
	MaxOpenPerKind = 64
	// MaxAlertMessage and MaxCause bound what a device may put in an alert
	// (characters); longer text is cut.
	MaxAlertMessage = 200
	MaxCause        = 64
)

// CauseAlertID is the id of a device's alert for one cause: a device has
// one open alert per cause, however often it recurs.
func CauseAlertID(device, cause string) string { return "fault-" + device + "-" + cause }

// TooManyAlertID is the id of a device's "too many faults" alert.
func TooManyAlertID(device string) string { return "fault-" + device + "-too-many" }

// decideRaise is RaiseAlert. An alert about a device and a cause
// (Alert.Device and Alert.Cause, the id left empty) is one alert per device
// and cause: a recurrence while it is open counts (alert.updated), it does
// not open another, and a device has at most MaxCausesPerDevice open. An
// alert with an id of its own is raised once while open (the hall's own
// health alerts are raised again every few seconds while the condition
// lasts, so they do not count); MaxOpenPerKind of a kind at most.
func decideRaise(st *State, a Alert) ([]Emit, error) {
	a.Message = clip(a.Message, MaxAlertMessage)
	if a.Device != "" && a.AlertID == "" {
		if a.Cause == "" {
			a.Cause = "unspecified"
		}
		a.Cause = clip(a.Cause, MaxCause)
		a.AlertID = CauseAlertID(a.Device, a.Cause)
	}
	if a.AlertID == "" {
		return nil, refuse(400, "bad_alert", "告警缺少编号或设备")
	}
	if open, ok := st.Alerts[a.AlertID]; ok {
		if a.Device == "" {
			return nil, nil
		}
		return []Emit{open.recurred(a.Message)}, nil
	}
	switch {
	case a.Device != "" && a.Cause != "" && st.openCauses(a.Device) >= MaxCausesPerDevice:
		id := TooManyAlertID(a.Device)
		if open, ok := st.Alerts[id]; ok {
			return []Emit{open.recurred(open.Message)}, nil
		}
		return []Emit{{TypeAlertRaised, &Alert{AlertID: id, Kind: "too_many_faults", Severity: "critical", Device: a.Device,
			Message: fmt.Sprintf("%s 同时有超过 %d 种故障，其余不再逐条告警（次数累计在此），请尽快检修", a.Device, MaxCausesPerDevice)}}}, nil
	case a.Device == "" && st.openOfKind(a.Kind) >= MaxOpenPerKind:
		id := "too-many-" + a.Kind
		if open, ok := st.Alerts[id]; ok {
			return []Emit{open.recurred(open.Message)}, nil
		}
		return []Emit{{TypeAlertRaised, &Alert{AlertID: id, Kind: "too_many_alerts", Severity: "critical",
			Message: fmt.Sprintf("同类告警（%s）已超过 %d 条，其余不再逐条告警（次数累计在此），请尽快处理", a.Kind, MaxOpenPerKind)}}}, nil
	}
	a.Count = 0 // 1: the raise itself
	return []Emit{{TypeAlertRaised, &a}}, nil
}

// recurred is the event counting one more occurrence of an open alert.
func (r *AlertRecord) recurred(msg string) Emit {
	u := &AlertUpdated{AlertID: r.AlertID, Count: r.count() + 1}
	if msg != r.Message {
		u.Message = msg
	}
	return Emit{TypeAlertUpdated, u}
}

func (r *AlertRecord) count() int { return max(r.Count, 1) }

// openCauses counts a device's open alerts that have a cause.
func (st *State) openCauses(device string) int {
	n := 0
	for _, a := range st.Alerts {
		if a.Device == device && a.Cause != "" {
			n++
		}
	}
	return n
}

func (st *State) openOfKind(kind string) int {
	n := 0
	for _, a := range st.Alerts {
		if a.Device == "" && a.Kind == kind {
			n++
		}
	}
	return n
}

// applyAlert folds alert events. Records are replaced, never mutated: the
// engine's committed state shares them with the batch being applied. An
// ended alert moves to ClosedAlerts with its history (alerts_life.go).
func applyAlert(st *State, ts time.Time, data any) {
	switch e := data.(type) {
	case *Alert:
		r := &AlertRecord{Alert: *e, Since: ts, LastSeen: ts}
		r.Count = max(e.Count, 1)
		r.History = []AlertStep{{Action: StepRaised, At: ts, Count: r.Count, Note: e.Message}}
		st.Alerts[e.AlertID] = r
	case *AlertUpdated:
		open, ok := st.Alerts[e.AlertID]
		if !ok {
			return
		}
		c := *open
		if e.Count > 0 {
			c.Count = e.Count
			c.History = withStep(open.History, AlertStep{Action: StepRecurred, At: ts, Count: e.Count})
		}
		if e.Message != "" {
			c.Message = e.Message
			if e.Count == 0 {
				c.History = withStep(open.History, AlertStep{Action: StepUpdated, At: ts, Note: e.Message})
			}
		}
		c.LastSeen = ts
		st.Alerts[e.AlertID] = &c
	case *AlertCleared:
		endAlert(st, e.AlertID, AlertStep{Action: StepCleared, At: ts, Reason: e.Reason})
	}
}
