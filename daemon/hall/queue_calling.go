package hall

import (
	"time"

	"halld/daemon/config"
)

// Calling: who is called next, and what happens to the called ticket at the window. Each decide
// function is one window command's rule (decideWindowCmd dispatches them); none changes the state.

func decideCallNext(cfg *config.Config, st *State, c CallNext, now time.Time) ([]Emit, error) {
	wc, w, err := st.readyToCall(cfg, c.Window)
	if err != nil {
		return nil, err
	}
	q := Queue(cfg, st, c.Window, now)
	if len(q) == 0 {
		return nil, refuse(409, "queue_empty", "当前没有等候的号码")
	}
	// The call ends the 请评价 of the visit before (after the call: the
	// call is what the command is answered with).
	return append([]Emit{st.call(wc, w, q[0].Ticket, false, q[0].Covering)}, closeAwaiting(st, w.ID, RatingEndNextCall)...), nil
}

func decideCallTicket(cfg *config.Config, st *State, c CallTicket, now time.Time) ([]Emit, error) {
	wc, w, err := st.readyToCall(cfg, c.Window)
	if err != nil {
		return nil, err
	}
	t, ok := st.Tickets[c.Ticket]
	if !ok || t.Day != st.Today(cfg, now) {
		return nil, refuse(404, "unknown_ticket", "没有找到这张号票（只能呼叫当天的号票）")
	}
	if t.Status != StatusWaiting && t.Status != StatusHeld && t.Status != StatusNoShow {
		return nil, refuse(409, "bad_ticket_state", t.Number+" 号"+statusName(t.Status)+"，不能呼叫")
	}
	return append([]Emit{st.call(wc, w, t, true, "")}, closeAwaiting(st, w.ID, RatingEndNextCall)...), nil
}

func decideRecall(cfg *config.Config, st *State, c Recall, now time.Time) ([]Emit, error) {
	wc, w, t, err := st.ticketAt(cfg, c.Window, StatusCalled)
	if err != nil {
		return nil, err
	}
	e := st.call(wc, w, t, false, "")
	ev := (*TicketRecalled)(e.Data.(*TicketCalled))
	ev.Recall, ev.Recalls, ev.Visit = true, t.Recalls+1, t.Visit
	return []Emit{{TypeTicketRecalled, ev}}, nil
}

func decideNoShow(cfg *config.Config, st *State, c NoShow, now time.Time) ([]Emit, error) {
	_, w, t, err := st.ticketAt(cfg, c.Window, StatusCalled)
	if err != nil {
		return nil, err
	}
	return []Emit{{TypeTicketNoShow, &TicketNoShow{TicketID: t.ID, Number: t.Number, Window: w.ID, Visit: t.Visit}}}, nil
}

func decideHold(cfg *config.Config, st *State, c Hold, now time.Time) ([]Emit, error) {
	_, w, t, err := st.ticketAt(cfg, c.Window, StatusCalled, StatusServing)
	if err != nil {
		return nil, err
	}
	return []Emit{{TypeTicketHeld, &TicketHeld{TicketID: t.ID, Number: t.Number, Window: w.ID, Visit: t.Visit}}}, nil
}

func decideStart(cfg *config.Config, st *State, c Start, now time.Time) ([]Emit, error) {
	_, w, t, err := st.ticketAt(cfg, c.Window, StatusCalled)
	if err != nil {
		return nil, err
	}
	return []Emit{{TypeServiceStarted, &ServiceStarted{TicketID: t.ID, Number: t.Number, Service: t.Service, Window: w.ID, Staff: w.Staff, Visit: t.Visit}}}, nil
}

func decideFinish(cfg *config.Config, st *State, c Finish, now time.Time) ([]Emit, error) {
	_, w, t, err := st.ticketAt(cfg, c.Window, StatusCalled, StatusServing)
	if err != nil {
		return nil, err
	}
	se := ServiceFinished{TicketID: t.ID, Number: t.Number, Service: t.Service, Window: w.ID, Staff: w.Staff, Visit: t.Visit}
	var out []Emit
	if t.Status == StatusCalled {
		started := ServiceStarted(se)
		started.Implicit = true
		out = append(out, Emit{TypeServiceStarted, &started})
	}
	return append(out, Emit{TypeServiceFinished, &se}), nil
}

func decideTransfer(cfg *config.Config, st *State, c Transfer, now time.Time) ([]Emit, error) {
	_, w, t, err := st.ticketAt(cfg, c.Window, StatusCalled, StatusServing)
	if err != nil {
		return nil, err
	}
	to := c.Service
	if to == "" {
		to = t.Service
	}
	toSvc, ok := cfg.Service(to)
	if !ok {
		return nil, refuse(404, "unknown_service", "没有这项业务："+clip(to, 32))
	}
	if c.ToWindow != "" {
		if _, err := windowCfg(cfg, c.ToWindow); err != nil {
			return nil, err
		}
		if c.ToWindow == c.Window && to == t.Service {
			return nil, refuse(400, "bad_transfer", "转移的目标与当前相同")
		}
	} else if to == t.Service {
		return nil, refuse(400, "bad_transfer", "请选择要转去的业务或窗口")
	}
	return []Emit{{TypeTicketTransferred, &TicketTransferred{TicketID: t.ID, Number: t.Number, FromService: t.Service,
		ToService: to, FromWindow: w.ID, ToWindow: c.ToWindow, Visit: t.Visit,
		FromServiceName: t.ServiceName, ToServiceName: toSvc.Name}}}, nil
}
