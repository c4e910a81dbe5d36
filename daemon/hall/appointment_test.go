package hall_test

import (
	"errors"
	"testing"

	"halld/daemon/hall"
)

func book(h *hallT, code, svc, from, to, idHash string) {
	h.t.Helper()
	h.must(hall.Book{Appointment: hall.Appointment{Code: code, Service: svc,
		SlotStart: hall.Stamp(at(from)), SlotEnd: hall.Stamp(at(to)), IDHash: idHash, Last4: "123X"}})
}

func TestAppointmentCheckIn(t *testing.T) {
	h := newHall(t)
	h.now = at("2026-11-25 09:00")
	book(h, "YY0001", "tax", "2026-11-25 10:00", "2026-11-25 10:30", "hash-a")
	book(h, "YY0002", "tax", "2026-11-26 10:00", "2026-11-26 10:30", "hash-b")
	h.refused(hall.Book{Appointment: hall.Appointment{Code: "YY0001", Service: "tax"}}, "duplicate_code")
	h.refused(hall.Book{Appointment: hall.Appointment{Code: "YY9", Service: "tax", SlotStart: hall.Stamp(at("2026-11-25 10:00")), SlotEnd: hall.Stamp(at("2026-11-25 09:00"))}}, "bad_slot")

	h.refused(hall.CheckIn{Code: "YY0002", Kiosk: "k1"}, "wrong_day")
	h.refused(hall.CheckIn{Code: "NOPE", Kiosk: "k1"}, "no_appointment")

	// By ID card (its keyed hash): an appointment ticket that waits as normal
	// until its slot, then goes first.
	h.must(hall.SignIn{Window: "w2", Staff: "s2"})
	h.issue("tax", "")
	e := h.must(hall.CheckIn{IDHash: "hash-a", Kiosk: "k1"})
	tk := *issued(e)
	if tk.Priority != hall.PriorityAppointment || tk.MaskedID != "123X" || tk.SlotStart == nil || e[1].Type != hall.TypeAppointmentCheckedIn {
		t.Fatalf("check-in ticket %+v", tk)
	}
	h.issue("tax", "")
	if n := h.serve("w2"); n != "B001" {
		t.Fatalf("before its slot the appointment jumped the queue: %s", n)
	}
	h.now = at("2026-11-25 10:05")
	if n := h.serve("w2"); n != tk.Number {
		t.Fatalf("in its slot the appointment was not first: %s", n)
	}
	// A second check-in of the same appointment returns the same ticket.
	_, err := h.do(hall.CheckIn{Code: "YY0001", Kiosk: "k1"})
	var dup *hall.Duplicate
	if !errors.As(err, &dup) || dup.TicketID != tk.ID {
		t.Fatalf("second check-in: %v", err)
	}
	// Too late: past the slot and its grace.
	book(h, "YY0003", "tax", "2026-11-25 10:00", "2026-11-25 10:30", "")
	h.now = at("2026-11-25 11:01")
	h.refused(hall.CheckIn{Code: "YY0003"}, "appointment_expired")
	h.must(hall.CancelAppointment{Code: "YY0003"})
	h.refused(hall.CheckIn{Code: "YY0003"}, "no_appointment")
	h.refused(hall.CancelAppointment{Code: "YY0001"}, "appointment_used")
}
