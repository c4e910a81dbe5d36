package web

import (
	"net/http"
	"slices"
	"sort"
	"time"

	"halld/daemon/hall"
)

// The monitoring room's alerts (issue 16; the lifecycle is in
// daemon/hall/alerts_life.go):
//
//	GET  /api/v1/alerts?state=open|closed&area=&kind=&severity=&day=
//	GET  /api/v1/alerts/{id}                      one alert with its history
//	POST /api/v1/alerts/{id}/ack|assign|close     {"note","to"}
//
// Reads: supervisor, it, central. Actions: supervisor and it (the central
// server acts over MQTT, daemon/central). Who acted is the caller's name,
// never a field of the body.

var alertSeverities = []string{"critical", "warning", "info"}

// alertFilter is what a list asks for.
type alertFilter struct {
	state, area, kind, severity, day string
}

func (f alertFilter) keep(v hall.AlertView) bool {
	return (f.area == "" || v.Area == f.area) && (f.kind == "" || v.Kind == f.kind) &&
		(f.severity == "" || v.Severity == f.severity)
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := alertFilter{state: q.Get("state"), area: q.Get("area"), kind: q.Get("kind"), severity: q.Get("severity"), day: q.Get("day")}
	if f.state == "" {
		f.state = "open"
	}
	if f.state != "open" && f.state != "closed" {
		writeError(w, http.StatusBadRequest, "bad_state", "state 只能是 open（未关闭）或 closed（已关闭）")
		return
	}
	if f.severity != "" && !slices.Contains(alertSeverities, f.severity) {
		writeError(w, http.StatusBadRequest, "bad_severity", "severity 只能是 critical、warning 或 info")
		return
	}
	if len(f.area) > hall.MaxID || len(f.kind) > hall.MaxID {
		writeError(w, http.StatusBadRequest, "bad_filter", "筛选条件过长")
		return
	}
	cfg := s.d.Config
	if f.day != "" {
		if _, err := time.ParseInLocation("2006-01-02", f.day, cfg.Location); err != nil {
			writeError(w, http.StatusBadRequest, "bad_day", "day 应为 YYYY-MM-DD")
			return
		}
	}
	if f.day == "" {
		f.day = cfg.Day(s.d.Engine.Now()) // the hall's clock, which the events' times are on
	}
	v, err := s.d.Engine.Query(r.Context(), func(st *hall.State) any {
		out := []hall.AlertView{}
		counts := map[string]int{}
		if f.state == "open" {
			for _, a := range st.Alerts {
				av := hall.MakeAlertView(cfg, a, false)
				if f.keep(av) {
					out = append(out, av)
				}
			}
			sort.Slice(out, func(i, j int) bool {
				a, b := out[i], out[j]
				if !time.Time(a.Since).Equal(time.Time(b.Since)) {
					return time.Time(a.Since).After(time.Time(b.Since))
				}
				return a.AlertID < b.AlertID
			})
		} else {
			// Newest ended first; the day is the hall day it ended on.
			for i := len(st.ClosedAlerts) - 1; i >= 0; i-- {
				av := hall.MakeAlertView(cfg, st.ClosedAlerts[i], true)
				if av.Ended != nil && cfg.Day(time.Time(av.Ended.At)) == f.day && f.keep(av) {
					out = append(out, av)
				}
			}
		}
		for _, a := range st.Alerts {
			counts[a.Severity]++
			counts["open"]++
		}
		return map[string]any{"alerts": out, "state": f.state, "day": f.day, "open": counts}
	})
	if err != nil {
		writeRuleError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// alertView is the open alert with id, or the newest ended one.
func alertView(s *Server, st *hall.State, id string) (hall.AlertView, bool) {
	a, ok := st.Alerts[id]
	if !ok {
		if a = st.ClosedAlert(id); a == nil {
			return hall.AlertView{}, false
		}
	}
	return hall.MakeAlertView(s.d.Config, a, true), true
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	v, err := s.d.Engine.Query(r.Context(), func(st *hall.State) any {
		if v, ok := alertView(s, st, id); ok {
			return &v
		}
		return (*hall.AlertView)(nil)
	})
	if err != nil {
		writeRuleError(w, err)
		return
	}
	if v, _ := v.(*hall.AlertView); v == nil {
		writeError(w, http.StatusNotFound, "unknown_alert", "没有这条告警："+clip(id, 64))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"alert": v})
}

func (s *Server) alertAction(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Note string `json:"note"`
		To   string `json:"to"`
	}
	action := r.PathValue("action")
	if action != "ack" && action != "assign" && action != "close" {
		writeError(w, http.StatusNotFound, "unknown_action", "未知的告警操作（ack 确认、assign 指派、close 关闭）")
		return
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.To != "" && action != "assign" {
		writeError(w, http.StatusBadRequest, "bad_request", "只有指派（assign）需要 to")
		return
	}
	id, by := r.PathValue("id"), s.callerOf(r).name()
	var cmd any
	switch action {
	case "ack":
		cmd = hall.AckAlert{AlertID: id, By: by, Note: req.Note}
	case "assign":
		cmd = hall.AssignAlert{AlertID: id, By: by, To: req.To, Note: req.Note}
	case "close":
		cmd = hall.CloseAlert{AlertID: id, By: by, Note: req.Note}
	}
	if _, err := s.d.Engine.Submit(r.Context(), cmd); err != nil {
		writeRuleError(w, err)
		return
	}
	v, _ := s.d.Engine.Query(r.Context(), func(st *hall.State) any {
		if v, ok := alertView(s, st, id); ok {
			return &v
		}
		return (*hall.AlertView)(nil)
	})
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "alert": v})
}
