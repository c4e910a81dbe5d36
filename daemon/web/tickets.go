package web

import (
	"context"
	"net/http"
	"time"

	"halld/daemon/hall"
)

type ticketRequest struct {
	Service   string `json:"service"`
	Channel   string `json:"channel"`
	Kiosk     string `json:"kiosk"`
	Priority  string `json:"priority"`
	RequestID string `json:"request_id"`
}

// ticketResponse is a ticket with what the citizen needs to know now.
type ticketResponse struct {
	*hall.Ticket
	EstWaitMinutes int      `json:"est_wait_minutes"`
	Windows        []string `json:"windows"`
}

func (s *Server) respondTicket(w http.ResponseWriter, status int, t *hall.Ticket) {
	writeJSON(w, status, map[string]any{"ticket": ticketResponse{
		Ticket:         t,
		EstWaitMinutes: hall.EstimatedWait(s.d.Config, t.Service, t.Ahead),
		Windows:        hall.WindowsFor(s.d.Config, t.Service),
	}})
}

// issueTicket takes a number for a service.
func (s *Server) issueTicket(w http.ResponseWriter, r *http.Request) {
	var req ticketRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Service == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "请选择要办理的业务（service）")
		return
	}
	if req.Channel == "" {
		req.Channel = "kiosk"
	}
	s.issue(w, r, hall.IssueTicket{Service: req.Service, Channel: req.Channel, Kiosk: req.Kiosk,
		Priority: req.Priority, RequestID: req.RequestID}, req.Kiosk)
}

// issue runs a command that issues a ticket (taking a number, an appointment
// check-in), then prints it. The number is durable before anything is
// printed; the print's outcome is recorded after, so a crash in between shows
// up as an interrupted print (reprintable), never as a lost or doubled number.
func (s *Server) issue(w http.ResponseWriter, r *http.Request, cmd any, kiosk string) {
	// The citizen's request must not be cut short by a closed browser tab:
	// once the number exists, printing and recording it finish regardless.
	ctx := context.WithoutCancel(r.Context())
	res, err := s.d.Engine.Submit(ctx, cmd)
	if err != nil {
		writeRuleError(w, err)
		return
	}
	t := res.Ticket
	if len(res.Events) == 0 {
		// An idempotent retry: answer with the ticket as it stands.
		s.respondTicket(w, http.StatusOK, t)
		return
	}
	s.metrics.ticketsIssued.WithLabelValues(t.Service).Inc()
	t = s.print(ctx, kiosk, t, false)
	s.respondTicket(w, http.StatusCreated, t)
}

func (s *Server) print(ctx context.Context, kiosk string, t *hall.Ticket, reprint bool) *hall.Ticket {
	start := time.Now()
	out := s.d.Printing.Print(ctx, kiosk, t)
	s.metrics.printSeconds.Observe(time.Since(start).Seconds())
	cmd := hall.PrintOutcome{TicketID: t.ID, Printer: out.Printer, Reprint: reprint, Tried: out.Tried}
	if out.Err != nil {
		cmd.Code, cmd.Message = out.Err.Code, out.Err.Message
		s.metrics.printFailures.WithLabelValues(out.Err.Code).Inc()
	}
	res, err := s.d.Engine.Submit(ctx, cmd)
	if err != nil || res.Ticket == nil {
		// The outcome could not be recorded; the ticket stays pending and is
		// resolved as interrupted at the next start. Tell the truth now.
		c := *t
		c.PrintStatus = hall.PrintFailed
		c.PrintError = &hall.ErrorInfo{Code: "storage_failed", Message: "打印结果未能记录，请记住您的号码"}
		return &c
	}
	return res.Ticket
}

func (s *Server) findTicket(ctx context.Context, id string) (*hall.Ticket, error) {
	v, err := s.d.Engine.Query(ctx, func(st *hall.State) any {
		if t, ok := st.Tickets[id]; ok {
			c := *t
			return &c
		}
		return (*hall.Ticket)(nil)
	})
	if err != nil {
		return nil, err
	}
	return v.(*hall.Ticket), nil
}

func (s *Server) getTicket(w http.ResponseWriter, r *http.Request) {
	t, err := s.findTicket(r.Context(), r.PathValue("id"))
	if err != nil {
		writeRuleError(w, err)
		return
	}
	if t == nil {
		writeError(w, http.StatusNotFound, "unknown_ticket", "没有找到这张号票")
		return
	}
	s.respondTicket(w, http.StatusOK, t)
}

// reprint (补打) prints a ticket of today again, on the kiosk's printers.
func (s *Server) reprint(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Kiosk string `json:"kiosk"`
	}
	if r.ContentLength != 0 && !decodeBody(w, r, &req) {
		return
	}
	ctx := context.WithoutCancel(r.Context())
	t, err := s.findTicket(ctx, r.PathValue("id"))
	if err != nil {
		writeRuleError(w, err)
		return
	}
	if t == nil {
		writeError(w, http.StatusNotFound, "unknown_ticket", "没有找到这张号票（只能补打当天的号票）")
		return
	}
	kiosk := req.Kiosk
	if kiosk == "" {
		kiosk = t.Kiosk
	}
	t = s.print(ctx, kiosk, t, true)
	s.respondTicket(w, http.StatusOK, t)
}
