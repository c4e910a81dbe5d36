package web

import (
	"net/http"
	"sort"
	"time"

	"halld/daemon/hall"
	"halld/daemon/pii"
)

// bookAppointment takes a booking (from the central server or a booking
// system). An ID number, when given, is turned into a keyed hash and its
// last four characters at once; the number itself is not kept.
func (s *Server) bookAppointment(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code      string    `json:"code"`
		Service   string    `json:"service"`
		SlotStart time.Time `json:"slot_start"`
		SlotEnd   time.Time `json:"slot_end"`
		IDNumber  string    `json:"id_number"`
		Source    string    `json:"source"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	a := hall.Appointment{Code: req.Code, Service: req.Service, SlotStart: hall.Stamp(req.SlotStart.In(s.d.Config.Location)),
		SlotEnd: hall.Stamp(req.SlotEnd.In(s.d.Config.Location)), Source: req.Source}
	if a.Source == "" {
		a.Source = "api"
	}
	if req.IDNumber != "" {
		if s.d.PII == nil {
			writeError(w, http.StatusServiceUnavailable, "no_pii_key", "未配置证件号加密密钥")
			return
		}
		a.IDHash, a.Last4 = s.d.PII.Hash(req.IDNumber), pii.Last4(req.IDNumber)
		req.IDNumber = ""
	}
	if _, err := s.d.Engine.Submit(r.Context(), hall.Book{Appointment: a}); err != nil {
		writeRuleError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"ok": true, "appointment": a})
}

// checkIn issues an appointment's ticket at a kiosk (booking code).
func (s *Server) checkIn(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code      string `json:"code"`
		Kiosk     string `json:"kiosk"`
		RequestID string `json:"request_id"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Code == "" {
		writeError(w, http.StatusBadRequest, "code_required", "请出示预约码")
		return
	}
	s.issue(w, r, hall.CheckIn{Code: req.Code, Kiosk: req.Kiosk, RequestID: req.RequestID}, req.Kiosk)
}

func (s *Server) listAppointments(w http.ResponseWriter, r *http.Request) {
	day := r.URL.Query().Get("day")
	if day == "" {
		day = s.d.Config.Day(s.d.Engine.Now())
	}
	v, err := s.d.Engine.Query(r.Context(), func(st *hall.State) any {
		out := []hall.Appointment{}
		for _, a := range st.Appointments {
			if s.d.Config.Day(time.Time(a.SlotStart)) == day {
				c := *a
				c.IDHash = "" // the hash stays in halld
				out = append(out, c)
			}
		}
		sort.Slice(out, func(i, j int) bool { return time.Time(out[i].SlotStart).Before(time.Time(out[j].SlotStart)) })
		return out
	})
	if err != nil {
		writeRuleError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"day": day, "appointments": v})
}
