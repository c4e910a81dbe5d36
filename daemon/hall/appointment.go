package hall

import (
	"time"

	"halld/daemon/config"
)

// Appointments (预约服务): booked ahead (API, central server), checked in at the
// kiosk by booking code (scanner) or ID card, each giving an appointment
// ticket that is called ahead of walk-ins in its slot.
const (
	TypeAppointmentBooked    = "appointment.booked"
	TypeAppointmentCheckedIn = "appointment.checked_in"
	TypeAppointmentCancelled = "appointment.cancelled"
)

// Appointment is one booking. The citizen is known only by a keyed hash of
// the ID number and its last four characters (package pii).
type Appointment struct {
	Code      string `json:"code"`
	Service   string `json:"service"`
	SlotStart Stamp  `json:"slot_start"`
	SlotEnd   Stamp  `json:"slot_end"`
	IDHash    string `json:"id_hash,omitempty"`
	Last4     string `json:"id_last4,omitempty"`
	Source    string `json:"source,omitempty"` // api, central
	Ticket    string `json:"ticket_id,omitempty"`
	Cancelled bool   `json:"cancelled,omitempty"`
}

// AppointmentRef names an appointment in check-in and cancel events.
type AppointmentRef struct {
	Code   string `json:"code"`
	Ticket string `json:"ticket_id,omitempty"`
	Kiosk  string `json:"kiosk,omitempty"`
	By     string `json:"by,omitempty"` // code or idcard
}

// An appointment's check-in and cancellation, each its own type of
// AppointmentRef's shape.
type (
	AppointmentCheckedIn AppointmentRef // appointment.checked_in: Ticket
	AppointmentCancelled AppointmentRef // appointment.cancelled
)

// Book records an appointment.
type Book struct{ Appointment }

// CancelAppointment withdraws one.
type CancelAppointment struct{ Code string }

// CheckIn finds today's appointment by booking code or by ID hash and issues
// its ticket.
type CheckIn struct {
	Code, IDHash, Kiosk, RequestID string
}

// checkInGrace is how late after its slot an appointment may still check in
// as an appointment.
const checkInGrace = 30 * time.Minute

func decideAppointment(cfg *config.Config, st *State, cmd any, now time.Time) ([]Emit, error) {
	switch c := cmd.(type) {
	case Book:
		a := c.Appointment
		if a.Code == "" {
			return nil, refuse(400, "code_required", "预约码不能为空")
		}
		if err := badID("bad_code", "预约码", a.Code); err != nil {
			return nil, err
		}
		if _, dup := st.Appointments[a.Code]; dup {
			return nil, refuse(409, "duplicate_code", "预约码已存在："+a.Code)
		}
		if _, ok := cfg.Service(a.Service); !ok {
			return nil, refuse(404, "unknown_service", "没有这项业务："+clip(a.Service, 32))
		}
		start, end := time.Time(a.SlotStart), time.Time(a.SlotEnd)
		if !end.After(start) {
			return nil, refuse(400, "bad_slot", "预约时段不正确")
		}
		if end.Sub(start) > MaxSlot {
			return nil, refuse(400, "bad_slot", "预约时段不能超过一天")
		}
		if start.Sub(now) > MaxBookAhead || now.Sub(end) > MaxBookAhead {
			return nil, refuse(400, "bad_slot", "预约时段须在一年之内")
		}
		if err := badID("bad_appointment", "身份信息", a.IDHash); err != nil {
			return nil, err
		}
		if err := badID("bad_appointment", "身份证号后四位", a.Last4); err != nil {
			return nil, err
		}
		if err := badID("bad_appointment", "来源", a.Source); err != nil {
			return nil, err
		}
		a.Ticket, a.Cancelled = "", false
		return []Emit{{TypeAppointmentBooked, &a}}, nil
	case CancelAppointment:
		a, ok := st.Appointments[c.Code]
		if !ok {
			return nil, refuse(404, "unknown_appointment", "没有这个预约")
		}
		if a.Ticket != "" || a.Cancelled {
			return nil, refuse(409, "appointment_used", "该预约已签到或已取消")
		}
		return []Emit{{TypeAppointmentCancelled, &AppointmentCancelled{Code: c.Code}}}, nil
	case RecordCardRead:
		e := c.IDCardRead
		return []Emit{{TypeIDCardRead, &e}}, nil
	case RecordLine:
		e := c.DeviceLine
		return []Emit{{TypeDeviceLine, &e}}, nil
	case CheckIn:
		if err := badID("no_appointment", "预约码", c.Code); err != nil {
			return nil, err
		}
		day := st.Today(cfg, now)
		var found *Appointment
		for _, code := range sortedKeys(st.Appointments) {
			a := st.Appointments[code]
			if a.Cancelled || cfg.Day(time.Time(a.SlotStart)) != day {
				continue
			}
			if (c.Code != "" && a.Code == c.Code) || (c.IDHash != "" && a.IDHash == c.IDHash && a.Ticket == "") {
				found = a
				break
			}
		}
		if found == nil {
			if c.Code != "" {
				if a, ok := st.Appointments[c.Code]; ok && !a.Cancelled {
					return nil, refuse(409, "wrong_day", "该预约不是今天的，请按预约日期前来")
				}
			}
			return nil, refuse(404, "no_appointment", "没有找到您今天的预约，请现场取号")
		}
		if found.Ticket != "" {
			return nil, &Duplicate{TicketID: found.Ticket}
		}
		if now.After(time.Time(found.SlotEnd).Add(checkInGrace)) {
			return nil, refuse(409, "appointment_expired", "已超过预约时段，请现场取号")
		}
		by := "code"
		if c.Code == "" {
			by = "idcard"
		}
		slot := found.SlotStart
		emits, err := decideIssue(cfg, st, IssueTicket{Service: found.Service, Channel: "appointment", Kiosk: c.Kiosk,
			Priority: PriorityAppointment, MaskedID: found.Last4, RequestID: c.RequestID, SlotStart: &slot}, now)
		if err != nil {
			return nil, err
		}
		t := emits[0].Data.(*TicketIssued).Ticket
		return append(emits, Emit{TypeAppointmentCheckedIn, &AppointmentCheckedIn{Code: found.Code, Ticket: t.ID, Kiosk: c.Kiosk, By: by}}), nil
	}
	return nil, errNotWindowCommand
}

// applyAppointmentUse folds a check-in (the ticket it took) or a
// cancellation.
func applyAppointmentUse(st *State, e *AppointmentRef, cancelled bool) {
	if a, ok := st.Appointments[e.Code]; ok {
		c := *a // copy on write
		if cancelled {
			c.Cancelled = true
		} else {
			c.Ticket = e.Ticket
		}
		st.Appointments[e.Code] = &c
	}
}

// TypeIDCardRead records that a card was read at a kiosk — masked: the last
// four characters and a keyed hash, never the number or the name.
const TypeIDCardRead = "idcard.read"

// IDCardRead is the journal's whole memory of a card read.
type IDCardRead struct {
	Reader  string `json:"reader"`
	Kiosk   string `json:"kiosk"`
	Kind    string `json:"kind"` // resident, hkmo_tw, foreigner_2017, foreigner_2023
	Last4   string `json:"id_last4"`
	IDHash  string `json:"id_hash"`
	Expired bool   `json:"expired"`
}

// RecordCardRead records an IDCardRead.
type RecordCardRead struct{ IDCardRead }

// TypeDeviceLine is one line from a generic line device, in order.
const TypeDeviceLine = "device.line"

// DeviceLine is that line.
type DeviceLine struct {
	Device string `json:"device"`
	Text   string `json:"text"`
}

// RecordLine records a DeviceLine.
type RecordLine struct{ DeviceLine }
