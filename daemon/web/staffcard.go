package web

import (
	"net/http"

	"halld/daemon/hall"
)

// Staff cards (hall/staffcard.go): a supervisor registers a staff member's
// ID card; the number is hashed with the hall's PII key here and never
// stored or logged. POST /api/v1/staff/{id}/card {"id_number"}; POST
// /api/v1/staff/{id}/card/remove.

func (s *Server) setStaffCard(w http.ResponseWriter, r *http.Request) {
	var req struct {
		IDNumber string `json:"id_number"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if s.d.PII == nil {
		writeError(w, http.StatusServiceUnavailable, "pii_unavailable", "证件功能未启用")
		return
	}
	if n := len(req.IDNumber); n < 8 || n > 32 {
		writeError(w, http.StatusBadRequest, "bad_id_number", "证件号码不正确")
		return
	}
	s.submitOK(w, r, hall.SetStaffCard{Staff: r.PathValue("id"), IDHash: s.d.PII.Hash(req.IDNumber), By: s.by(r)}, http.StatusOK)
}

func (s *Server) removeStaffCard(w http.ResponseWriter, r *http.Request) {
	s.submitOK(w, r, hall.SetStaffCard{Staff: r.PathValue("id"), Remove: true, By: s.by(r)}, http.StatusOK)
}
