package hall

import (
	"fmt"
	"time"

	"halld/daemon/config"
)

// The lifecycle of an alert in the monitoring room (issue 16).
//
// An alert is raised (alert.raised) by the rules, a device or halld's own
// health; it may recur (alert.updated: count, message). A supervisor or
// hall IT acknowledges it (alert.acknowledged, "I have seen it"), assigns
// it to someone (alert.assigned, which acknowledges it too) and closes it
// (alert.closed), each with a note and the name of who did it. The rules
// end it themselves when its condition is gone (alert.cleared: a device
// ready again, a window resumed, a queue back under its peak).
//
// Closing by hand an alert whose condition the rules can see still holds —
// a device still offline or out of paper, a window still paused past its
// limit, a queue still above its clear level — is refused (409
// condition_holds): the alert would only be raised again, and a closed
// alert for a printer still out of paper hides the fault. Such an alert is
// acknowledged and assigned instead; it closes by itself when the cause is
// gone. Every other alert (差评, terminal and pad faults, a stopped trace,
// follow-up overdue, too many faults) is closed by hand; if its cause
// happens again later it is raised afresh as a new alert, with a history
// of its own. halld's own health alerts (disk low, uplink down, uplink
// backlog) are re-checked every 15 s outside the rules: closed while the
// disk is still low, disk-low is raised again at the next check.
//
// An ended alert (closed or cleared) leaves State.Alerts for
// State.ClosedAlerts with its whole history; the last MaxClosedAlerts are
// kept there (the page's "closed today"), older ones are in the journal.

// Alert lifecycle event types.
const (
	TypeAlertAcknowledged = "alert.acknowledged"
	TypeAlertAssigned     = "alert.assigned"
	TypeAlertClosed       = "alert.closed"
)

// Bounds of the alert lifecycle.
const (
	// MaxClosedAlerts is how many ended alerts State keeps.
	MaxClosedAlerts = 500
	// MaxAlertHistory bounds one alert's history: its first step (raised)
	// and the newest ones. Recurrences fold into one step between actions.
	MaxAlertHistory = 50
	// MaxAlertNote bounds the note of an action (characters).
	MaxAlertNote = 500
)

// Alert history actions.
const (
	StepRaised       = "raised"
	StepRecurred     = "recurred"
	StepUpdated      = "updated"
	StepAcknowledged = "acknowledged"
	StepAssigned     = "assigned"
	StepClosed       = "closed"
	StepCleared      = "cleared"
)

// AckAlert acknowledges an open alert; AssignAlert assigns it to someone
// (a staff id or a name); CloseAlert closes it by hand. By is who does it
// (a token's name, a staff id, the central server's name).
type (
	AckAlert    struct{ AlertID, By, Note string }
	AssignAlert struct{ AlertID, By, To, Note string }
	CloseAlert  struct{ AlertID, By, Note string }
)

// AlertAction is the payload of alert.acknowledged, alert.assigned and
// alert.closed.
type AlertAction struct {
	AlertID string `json:"alert_id"`
	By      string `json:"by"`
	Note    string `json:"note,omitempty"`
	To      string `json:"to,omitempty"`      // assigned: a staff id or a name
	ToName  string `json:"to_name,omitempty"` // assigned to a staff id of the roster: their name
}

// The alert lifecycle's events, each its own type of AlertAction's shape.
type (
	AlertAcknowledged AlertAction // alert.acknowledged
	AlertAssigned     AlertAction // alert.assigned: To, ToName
	AlertClosed       AlertAction // alert.closed
)

// AlertStep is one entry of an alert's history.
type AlertStep struct {
	Action string    `json:"action"`
	At     time.Time `json:"at"`
	By     string    `json:"by,omitempty"`
	Note   string    `json:"note,omitempty"`
	To     string    `json:"to,omitempty"`
	ToName string    `json:"to_name,omitempty"`
	Count  int       `json:"count,omitempty"`  // raised, recurred: occurrences so far
	Reason string    `json:"reason,omitempty"` // cleared: why (ready, resumed, served, …)
}

func decideAlertAction(cfg *config.Config, st *State, cmd any, now time.Time) ([]Emit, error) {
	var id, by, note string
	switch c := cmd.(type) {
	case AckAlert:
		id, by, note = c.AlertID, c.By, c.Note
	case AssignAlert:
		id, by, note = c.AlertID, c.By, c.Note
	case CloseAlert:
		id, by, note = c.AlertID, c.By, c.Note
	}
	if by == "" {
		return nil, refuse(400, "by_required", "缺少操作人")
	}
	if err := badID("bad_by", "操作人", by); err != nil {
		return nil, err
	}
	if err := tooLong("note_too_long", "说明", note, MaxAlertNote); err != nil {
		return nil, err
	}
	r, ok := st.Alerts[id]
	if !ok {
		if old := st.ClosedAlert(id); old != nil {
			return nil, refuse(409, "alert_closed", "该告警已关闭"+stepWho(cfg, old.Ended()))
		}
		return nil, refuse(404, "unknown_alert", "没有这条告警："+clip(id, 64))
	}
	a := &AlertAction{AlertID: id, By: by, Note: note}
	switch c := cmd.(type) {
	case AckAlert:
		if r.Acked != nil {
			return nil, refuse(409, "already_acknowledged", "该告警已确认"+stepWho(cfg, r.Acked))
		}
		return []Emit{{TypeAlertAcknowledged, (*AlertAcknowledged)(a)}}, nil
	case AssignAlert:
		if c.To == "" {
			return nil, refuse(400, "to_required", "请填写指派给谁（工号或姓名）")
		}
		if err := badID("bad_to", "指派对象", c.To); err != nil {
			return nil, err
		}
		if err := tooLong("bad_to", "指派对象", c.To, 32); err != nil {
			return nil, err
		}
		if c.To == r.Assignee {
			return nil, refuse(409, "already_assigned", "该告警已指派给 "+r.assigneeText())
		}
		a.To = c.To
		if s, ok := staffOf(cfg, c.To); ok {
			a.ToName = s.Name
		}
		return []Emit{{TypeAlertAssigned, (*AlertAssigned)(a)}}, nil
	case CloseAlert:
		if note == "" {
			return nil, refuse(400, "note_required", "关闭告警请填写处理说明")
		}
		if why := conditionHolds(cfg, st, r, now); why != "" {
			return nil, refuse(409, "condition_holds", "告警情况仍存在（"+why+"），不能关闭；请确认并指派处理，情况消除后告警自动关闭")
		}
		return []Emit{{TypeAlertClosed, (*AlertClosed)(a)}}, nil
	}
	return nil, fmt.Errorf("hall: not an alert action %T", cmd)
}

func staffOf(cfg *config.Config, id string) (*config.Staff, bool) {
	for i := range cfg.Staff {
		if cfg.Staff[i].ID == id {
			return &cfg.Staff[i], true
		}
	}
	return nil, false
}

// stepWho says who did a step and when, for a refusal: "（张三 09:41）".
func stepWho(cfg *config.Config, s *AlertStep) string {
	if s == nil {
		return ""
	}
	who := s.By
	if who == "" {
		who = "系统"
	}
	return "（" + who + " " + s.At.In(cfg.Location).Format("01-02 15:04") + "）"
}

func (r *AlertRecord) assigneeText() string {
	if r.AssigneeName != "" {
		return r.AssigneeName + "（" + r.Assignee + "）"
	}
	return r.Assignee
}

// conditionHolds says, in Chinese, why an open alert's cause is still there
// as far as the rules can see, or "" when it may be closed by hand.
func conditionHolds(cfg *config.Config, st *State, r *AlertRecord, now time.Time) string {
	switch {
	case r.AlertID == "device-"+r.deviceOf():
		if d, ok := st.Devices[r.deviceOf()]; ok && d.State != "ready" {
			msg := "设备 " + d.Device + " 仍" + deviceStateText[d.State]
			if t := reasonText[d.Reason]; t != "" {
				msg += "：" + t
			}
			return msg
		}
	case r.Kind == "pause_overdue":
		if w, ok := st.Windows[r.Window]; ok && w.Status == WindowPaused && overdueAlertID(w) == r.AlertID {
			return "窗口仍在暂停"
		}
	case r.Kind == KindPeakLoad:
		if svc, ok := cfg.Service(r.Service); ok {
			if p := peakOf(cfg, st, svc, now); !p.cleared() {
				return p.text()
			}
		}
	}
	return ""
}

// deviceOf is the device an alert is about: its Device, or the one its
// device-… id names (alerts from before Device was recorded).
func (r *AlertRecord) deviceOf() string {
	if r.Device != "" {
		return r.Device
	}
	if len(r.AlertID) > 7 && r.AlertID[:7] == "device-" {
		return r.AlertID[7:]
	}
	return ""
}

// ClosedAlert is the newest ended alert with id, or nil.
func (st *State) ClosedAlert(id string) *AlertRecord {
	for i := len(st.ClosedAlerts) - 1; i >= 0; i-- {
		if st.ClosedAlerts[i].AlertID == id {
			return st.ClosedAlerts[i]
		}
	}
	return nil
}

// Ended is the step that ended an alert (closed or cleared), nil while open.
func (r *AlertRecord) Ended() *AlertStep {
	if n := len(r.History); n > 0 && (r.History[n-1].Action == StepClosed || r.History[n-1].Action == StepCleared) {
		return &r.History[n-1]
	}
	return nil
}

// withStep returns the history with step added: never written in place
// (the record's old copy may be the committed state's), bounded to
// MaxAlertHistory with the first step kept. A recurrence right after
// another replaces it (its count and time are the news).
func withStep(h []AlertStep, s AlertStep) []AlertStep {
	if n := len(h); n > 0 && s.Action == StepRecurred && h[n-1].Action == StepRecurred {
		h = h[:n-1]
	}
	out := make([]AlertStep, 0, min(len(h)+1, MaxAlertHistory))
	if len(h)+1 > MaxAlertHistory {
		out = append(out, h[0])
		h = h[len(h)+2-MaxAlertHistory:]
	}
	out = append(out, h...)
	return append(out, s)
}

// endAlert moves an open alert to ClosedAlerts with its last step.
func endAlert(st *State, id string, s AlertStep) {
	r, ok := st.Alerts[id]
	if !ok {
		return
	}
	c := *r
	c.History = withStep(r.History, s)
	delete(st.Alerts, id)
	keep := st.ClosedAlerts
	if len(keep) >= MaxClosedAlerts {
		keep = keep[len(keep)-MaxClosedAlerts+1:]
	}
	next := make([]*AlertRecord, 0, len(keep)+1)
	st.ClosedAlerts = append(append(next, keep...), &c)
}

// applyAlertLife folds the lifecycle events. Records are replaced, never
// mutated.
func applyAlertLife(st *State, ts time.Time, a *AlertAction, action string) {
	r, open := st.Alerts[a.AlertID]
	if !open {
		return
	}
	s := AlertStep{Action: action, At: ts, By: a.By, Note: a.Note}
	if action == StepClosed {
		endAlert(st, a.AlertID, s)
		return
	}
	if action == StepAssigned {
		s.To, s.ToName = a.To, a.ToName
	}
	c := *r
	c.History = withStep(r.History, s)
	if c.Acked == nil {
		c.Acked = &s
	}
	if action == StepAssigned {
		c.Assignee, c.AssigneeName = a.To, a.ToName
	}
	st.Alerts[a.AlertID] = &c
}

// fillAlertAreas gives each alert raised the area of its device, window or
// service (config areas), so the monitoring room can filter by area.
func fillAlertAreas(cfg *config.Config, out []Emit) {
	for _, e := range out {
		if a, ok := e.Data.(*Alert); ok && a.Area == "" {
			a.Area = AlertArea(cfg, a)
		}
	}
}

// AlertArea is the area of an alert's device, window or service ("" when
// it names none, or none has an area).
func AlertArea(cfg *config.Config, a *Alert) string {
	dev := a.Device
	if dev == "" && len(a.AlertID) > 7 && a.AlertID[:7] == "device-" {
		dev = a.AlertID[7:]
	}
	if d, ok := cfg.Device(dev); ok && d.Area != "" {
		return d.Area
	}
	if w, ok := cfg.Window(a.Window); ok && w.Area != "" {
		return w.Area
	}
	if s, ok := cfg.Service(a.Service); ok && s.Area != "" {
		return s.Area
	}
	if d, ok := cfg.Device(dev); ok && d.Window != "" {
		if w, ok := cfg.Window(d.Window); ok {
			return w.Area
		}
	}
	return ""
}
