package hall

import (
	"time"

	"halld/daemon/config"
)

// 无声叫号: a citizen may ask, from the phone page, that their ticket be
// called without the voice. The call still happens and the board still shows
// the number and the window (so the hall's record and the queue are as
// before); the voice line of the call is left empty and the call is marked
// silent, so the board does not speak it, while the citizen's phone alerts.
// It is the ticket's flag, set and cleared by ticket.silent_call events that
// carry public fields only (the ticket, its number, the flag, who set it).

// TypeSilentCallSet records the flag being set or cleared.
const TypeSilentCallSet = "ticket.silent_call"

// SetSilentCall sets or clears a ticket's 无声叫号. By names who asked
// ("phone" for the citizen's phone page, a token's or staff's name else).
type SetSilentCall struct {
	Ticket string
	Silent bool
	By     string
}

// SilentCallSet is the event of SetSilentCall.
type SilentCallSet struct {
	TicketID string `json:"ticket_id"`
	Number   string `json:"number"`
	Silent   bool   `json:"silent"`
	By       string `json:"by"`
}

func decideSilent(cfg *config.Config, st *State, c SetSilentCall, now time.Time) ([]Emit, error) {
	if err := badID("bad_request", "操作人", c.By); err != nil {
		return nil, err
	}
	if c.By == "" {
		return nil, refuse(400, "bad_request", "需要注明操作人")
	}
	t, ok := st.Tickets[c.Ticket]
	if !ok || t.Day != st.Today(cfg, now) {
		return nil, refuse(404, "unknown_ticket", "没有找到这张号票（仅当天有效）")
	}
	switch t.Status {
	case StatusWaiting, StatusCalled, StatusHeld, StatusNoShow:
	default:
		return nil, refuse(409, "bad_ticket_state", t.Number+" 号"+statusName(t.Status)+"，无需设置无声叫号")
	}
	if t.Silent == c.Silent {
		return nil, nil // already so: nothing to record
	}
	return []Emit{{TypeSilentCallSet, &SilentCallSet{TicketID: t.ID, Number: t.Number, Silent: c.Silent, By: c.By}}}, nil
}

func applySilent(st *State, e *SilentCallSet) {
	if t, ok := st.ticketW(e.TicketID); ok {
		t.Silent = e.Silent
	}
}

// silenced leaves a silent call without its voice line.
func (e *TicketCalled) silenced() *TicketCalled {
	if e.Silent {
		e.Voice = ""
	}
	return e
}
