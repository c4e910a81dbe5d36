package web

import (
	"context"
	"net/http"

	"halld/daemon/config"
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
	// EstWaitMinutes is the estimate's middle; null when no staffed window
	// can call the ticket now (ticket.estimate says why, and the band).
	EstWaitMinutes *int     `json:"est_wait_minutes"`
	Windows        []string `json:"windows"`
}

func (s *Server) respondTicket(w http.ResponseWriter, status int, t *hall.Ticket) {
	resp := ticketResponse{Ticket: t, Windows: hall.TicketWindows(s.d.Config, t)}
	switch {
	case t.Estimate != nil:
		resp.EstWaitMinutes = t.Estimate.Minutes
	default: // a ticket from before estimates were recorded (devices.yaml's windows)
		m := hall.EstimatedWait(s.d.Config, t.Service, t.Ahead)
		resp.EstWaitMinutes = &m
	}
	writeJSON(w, status, map[string]any{"ticket": resp})
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

// issue runs a ticket-issuing command through the issuer and answers with
// the ticket: 201 when new, 200 for an idempotent repeat.
func (s *Server) issue(w http.ResponseWriter, r *http.Request, cmd any, kiosk string) {
	t, created, err := s.d.Issuer.Issue(r.Context(), cmd, kiosk)
	if err != nil {
		writeRuleError(w, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.respondTicket(w, status, t)
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
	} else if d, ok := s.d.Config.Device(kiosk); !ok || d.Kind != config.KindKiosk {
		// A reprint goes to the kiosk's own printers: an unknown kiosk must
		// not print on whichever printer comes first.
		writeError(w, http.StatusNotFound, "unknown_kiosk", "没有这台取号机："+clip(kiosk, 32))
		return
	}
	t = s.d.Issuer.Print(ctx, kiosk, t, true)
	s.respondTicket(w, http.StatusOK, t)
}
