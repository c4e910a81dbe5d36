package web

import (
	"io"
	"net/http"
	"time"

	"halld/daemon/hall"
)

type windowRequest struct {
	Ticket  string `json:"ticket"`  // call
	Service string `json:"service"` // transfer
	Window  string `json:"window"`  // transfer
	Reason  string `json:"reason"`  // pause
	Minutes int    `json:"minutes"` // pause
	Staff   string `json:"staff"`   // sign-in
	PIN     string `json:"pin"`     // sign-in: the staff member's own PIN
	Confirm bool   `json:"confirm"` // sign-in: yes, sign them out where they are
}

// windowCommand maps a staff action to a hall command; by is who asks
// (caller.name()), recorded in the action's events.
func windowCommand(id, action, by string, r windowRequest) (any, bool) {
	switch action {
	case "call-next":
		return hall.CallNext{Window: id, By: by}, true
	case "call":
		return hall.CallTicket{Window: id, Ticket: r.Ticket, By: by}, true
	case "recall":
		return hall.Recall{Window: id, By: by}, true
	case "no-show":
		return hall.NoShow{Window: id, By: by}, true
	case "start":
		return hall.Start{Window: id, By: by}, true
	case "finish":
		return hall.Finish{Window: id, By: by}, true
	case "hold":
		return hall.Hold{Window: id, By: by}, true
	case "transfer":
		return hall.Transfer{Window: id, Service: r.Service, ToWindow: r.Window, By: by}, true
	case "pause":
		return hall.Pause{Window: id, Reason: r.Reason, Minutes: r.Minutes, By: by}, true
	case "resume":
		return hall.Resume{Window: id, By: by}, true
	case "sign-in":
		return hall.SignIn{Window: id, Staff: r.Staff, By: by}, true
	case "sign-out":
		return hall.SignOut{Window: id, By: by}, true
	}
	return nil, false
}

func (s *Server) windowAction(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	var req windowRequest
	if r.ContentLength != 0 {
		if !decodeBody(w, r, &req) {
			return
		}
	}
	if action == "sign-in" {
		s.signIn(w, r, id, req) // roster.go: PIN, ask before moving
		return
	}
	cmd, ok := windowCommand(id, action, s.callerOf(r).name(), req)
	if !ok {
		writeError(w, http.StatusNotFound, "unknown_action", "没有这个窗口操作："+action)
		return
	}
	res, err := s.d.Engine.Submit(r.Context(), cmd)
	if err != nil {
		writeRuleError(w, err)
		return
	}
	view, err := s.windowView(r, id)
	if err != nil {
		writeRuleError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "window": view.Window, "ticket": res.Ticket, "events": len(res.Events)})
}

// queueItem is a waiting ticket as the caller screen lists it.
type queueItem struct {
	TicketID      string `json:"ticket_id"`
	Number        string `json:"number"`
	Service       string `json:"service"`
	ServiceName   string `json:"service_name"`
	Priority      string `json:"priority"`
	IssuedAt      Stamp  `json:"issued_at"`
	WaitedMinutes int    `json:"waited_minutes"`
	Covering      string `json:"covering,omitempty"`
}

// Stamp is hall.Stamp, for brevity here.
type Stamp = hall.Stamp

type windowDetail struct {
	Window hall.WindowView `json:"window"`
	Queue  []queueItem     `json:"queue"`
	Held   []queueItem     `json:"held"`
}

func (s *Server) windowView(r *http.Request, id string) (windowDetail, error) {
	cfg := s.d.Config
	if _, ok := cfg.Window(id); !ok {
		return windowDetail{}, &hall.RuleError{Status: 404, ErrorInfo: hall.ErrorInfo{Code: "unknown_window", Message: "没有这个窗口：" + id}}
	}
	v, err := s.d.Engine.Query(r.Context(), func(st *hall.State) any {
		now := s.d.Engine.Now()
		d := windowDetail{Window: hall.MakeWindowView(cfg, st, id, now), Queue: []queueItem{}, Held: []queueItem{}}
		item := func(t *hall.Ticket, covering string) queueItem {
			return queueItem{TicketID: t.ID, Number: t.Number, Service: t.Service, ServiceName: t.ServiceName,
				Priority: t.Priority, IssuedAt: t.IssuedAt, Covering: covering,
				WaitedMinutes: int(now.Sub(time.Time(t.IssuedAt)).Minutes())}
		}
		for _, c := range hall.Queue(cfg, st, id, now) {
			d.Queue = append(d.Queue, item(c.Ticket, c.Covering))
		}
		for _, t := range st.TicketsOf(cfg.Day(now)) {
			if (t.Status == hall.StatusHeld || t.Status == hall.StatusNoShow) && t.Window == id {
				d.Held = append(d.Held, item(t, ""))
			}
		}
		return d
	})
	if err != nil {
		return windowDetail{}, err
	}
	return v.(windowDetail), nil
}

func (s *Server) getWindow(w http.ResponseWriter, r *http.Request) {
	d, err := s.windowView(r, r.PathValue("id"))
	if err != nil {
		writeRuleError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) listWindows(w http.ResponseWriter, r *http.Request) {
	cfg := s.d.Config
	v, err := s.d.Engine.Query(r.Context(), func(st *hall.State) any {
		out := []hall.WindowView{}
		for i := range cfg.Windows {
			out = append(out, hall.MakeWindowView(cfg, st, cfg.Windows[i].ID, s.d.Engine.Now()))
		}
		return out
	})
	if err != nil {
		writeRuleError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"windows": v})
}

func (s *Server) listStaff(w http.ResponseWriter, r *http.Request) {
	type staff struct {
		ID      string   `json:"id"`
		Name    string   `json:"name"`
		Title   string   `json:"title,omitempty"`
		Windows []string `json:"windows"`
	}
	// The roster as it stands (runtime changes included), and whether
	// sign-in needs a PIN.
	v, err := s.d.Engine.Query(r.Context(), func(hs *hall.State) any {
		out := []staff{}
		cfg := hall.Effective(s.d.Config, hs)
		for _, st := range cfg.Staff {
			ws := st.Windows
			if ws == nil {
				ws = []string{}
			}
			out = append(out, staff{st.ID, st.Name, st.Title, ws})
		}
		return map[string]any{"staff": out, "pin_required": hall.PINRequired(cfg, hs)}
	})
	if err != nil {
		writeRuleError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// rate takes a rating through the API (a pad on the network, the QR page).
// The pad protocols deliver theirs through the drivers; all end in hall.Rate.
func (s *Server) rate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Visit   uint32   `json:"visit"`
		Level   string   `json:"level"`
		Reasons []string `json:"reasons"`
		Comment string   `json:"comment"`
		Channel string   `json:"channel"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Channel == "" {
		req.Channel = "api"
	}
	res, err := s.d.Engine.Submit(r.Context(), hall.Rate{Visit: req.Visit, Level: req.Level, Reasons: req.Reasons,
		Comment: req.Comment, Channel: req.Channel})
	switch {
	case err != nil:
		writeRuleError(w, err)
	case len(res.Events) == 0:
		// 一次一评: this visit was rated already; the first rating stands.
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "duplicate": true})
	default:
		writeJSON(w, http.StatusCreated, map[string]any{"ok": true, "events": len(res.Events)})
	}
}

// windowPage serves the caller page for any window id (the page reads the id
// from its path).
func (s *Server) windowPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.d.Config.Window(r.PathValue("id")); !ok {
		http.NotFound(w, r)
		return
	}
	f, err := s.d.Pages.Open("window/index.html")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	io.Copy(w, f.(io.Reader))
}
