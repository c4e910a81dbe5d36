package hall_test

import (
	"testing"

	"halld/daemon/hall"
)

func TestSilentCallLeavesTheVoiceOut(t *testing.T) {
	h := newHall(t)
	h.must(hall.SignIn{Window: "w3", Staff: "s3"})
	h.issue("est", "")
	h.issue("est", "")
	id1, id2 := h.st.Order[0], h.st.Order[1]
	e := h.must(hall.SetSilentCall{Ticket: id1, Silent: true, By: "phone"})
	if len(e) != 1 || e[0].Type != hall.TypeSilentCallSet {
		t.Fatalf("events %+v", e)
	}
	if ev := e[0].Data.(*hall.SilentCallSet); ev.Number != "C001" || !ev.Silent || ev.By != "phone" {
		t.Fatalf("event %+v", ev)
	}
	if !h.st.Tickets[id1].Silent || h.st.Tickets[id2].Silent {
		t.Fatal("the flag is not the ticket's alone")
	}
	if e := h.must(hall.SetSilentCall{Ticket: id1, Silent: true, By: "phone"}); len(e) != 0 {
		t.Fatalf("setting it again recorded %+v", e)
	}
	c := h.must(hall.CallNext{Window: "w3"})[0].Data.(*hall.TicketCalled)
	if c.Number != "C001" || !c.Silent || c.Voice != "" {
		t.Fatalf("the silent call: %+v", c)
	}
	r := h.must(hall.Recall{Window: "w3"})[0].Data.(*hall.TicketRecalled)
	if !r.Silent || r.Voice != "" || !r.Recall {
		t.Fatalf("the silent recall: %+v", r)
	}
	// Cleared while called: the recall is spoken again.
	h.must(hall.SetSilentCall{Ticket: id1, Silent: false, By: "phone"})
	if r := h.must(hall.Recall{Window: "w3"})[0].Data.(*hall.TicketRecalled); r.Silent || r.Voice == "" {
		t.Fatalf("the recall after clearing: %+v", r)
	}
	h.must(hall.Finish{Window: "w3"})
	c = h.must(hall.CallNext{Window: "w3"})[0].Data.(*hall.TicketCalled)
	if c.Number != "C002" || c.Silent || c.Voice == "" {
		t.Fatalf("another ticket's call: %+v", c)
	}
	h.must(hall.Finish{Window: "w3"})
	// A finished ticket, an unknown one, no one named: refused.
	h.refused(hall.SetSilentCall{Ticket: id1, Silent: true, By: "phone"}, "bad_ticket_state")
	h.refused(hall.SetSilentCall{Ticket: "T-nope", Silent: true, By: "phone"}, "unknown_ticket")
	h.refused(hall.SetSilentCall{Ticket: id2, Silent: true}, "bad_request")
}
