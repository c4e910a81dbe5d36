package web

import (
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// kioskSession streams one kiosk's citizen-facing events (card placed,
// scan, check-in). They carry personal data (a greeting, the last four ID
// digits), so only a page on this box — or one holding a token — may listen,
// and only to its own kiosk.
func (s *Server) kioskSession(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !s.kioskOK(w, id) {
		return
	}
	// Scope: the route's guard (kiosk). Subscribe before the upgrade, so nothing sent meanwhile is lost.
	msgs, cancel := s.d.Kiosks.Subscribe(id)
	defer cancel()
	up := websocket.Upgrader{CheckOrigin: s.origins.originAllowed, HandshakeTimeout: 5 * time.Second}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		select {
		case <-gone:
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			if conn.WriteJSON(m) != nil {
				return
			}
		case <-ping.C:
			if conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)) != nil {
				return
			}
		}
	}
}

// kioskTicket takes a number at a kiosk for the citizen there: with a card on
// record, the green channel where a rule says so and the masked ID.
func (s *Server) kioskTicket(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Service   string `json:"service"`
		RequestID string `json:"request_id"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Service == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "请选择要办理的业务（service）")
		return
	}
	if !s.kioskOK(w, r.PathValue("id")) {
		return
	}
	t, created, err := s.d.Kiosks.Take(r.Context(), r.PathValue("id"), req.Service, req.RequestID)
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

// kioskEnd wipes the citizen's data at a kiosk (the page went back home).
func (s *Server) kioskEnd(w http.ResponseWriter, r *http.Request) {
	if !s.kioskOK(w, r.PathValue("id")) {
		return
	}
	s.d.Kiosks.End(r.PathValue("id"))
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) kioskOK(w http.ResponseWriter, id string) bool {
	if !s.d.Kiosks.IsKiosk(id) {
		writeError(w, http.StatusNotFound, "unknown_kiosk", "没有这台取号机："+id)
		return false
	}
	return true
}
