package web

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"halld/daemon/config"
	"halld/daemon/hall"
	"halld/daemon/staffpin"
)

// Changes without a restart and staff who sign in as themselves (issue 16):
// the roster, a window's services for today, services open/closed today,
// notices, per-staff PINs. Every change is a journal event naming who made
// it (the token's name, or loopback). Scopes: supervisor for the roster,
// notices, services and PINs; window for sign-in and a staff member's own
// PIN change; the central server reads.

type rosterDeps struct {
	pins        *staffpin.Store
	pinErr      error
	pinFailures prometheus.Counter
	pinLockouts prometheus.Counter
}

func (s *Server) rosterRoutes(m *http.ServeMux) {
	const window, super, central = ScopeWindow, ScopeSupervisor, ScopeCentral
	s.roster.pinFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "halld_staff_pin_failures_total",
		Help: "Wrong staff sign-in PINs (and attempts while locked out)."})
	s.roster.pinLockouts = prometheus.NewCounter(prometheus.CounterOpts{Name: "halld_staff_pin_lockouts_total",
		Help: "Staff sign-ins locked after too many wrong PINs."})
	if s.d.Registry != nil {
		_ = s.d.Registry.Register(s.roster.pinFailures)
		_ = s.d.Registry.Register(s.roster.pinLockouts)
	}
	if cfg := s.d.Config; cfg != nil && cfg.Storage.Dir != "" {
		s.roster.pins, s.roster.pinErr = staffpin.Open(cfg.Storage.Dir, cfg.PINMaxAttempts(), cfg.LockoutDuration())
		if s.roster.pinErr != nil && s.d.Log != nil {
			s.d.Log.Error("staff PIN store", "err", s.roster.pinErr)
		}
	}
	if s.d.Pages != nil {
		// The window page's sign-in pad: files, not /window/{id}/ pages.
		files := newGzipFiles(http.FileServerFS(s.d.Pages), s.d.Pages)
		m.Handle("GET /window/signin.js", files)
		m.Handle("GET /window/signin.css", files)
	}
	m.HandleFunc("GET /api/v1/roster", s.allow(s.getRoster, super, central))
	m.HandleFunc("POST /api/v1/staff", s.write(s.setStaff, super))
	m.HandleFunc("POST /api/v1/staff/{id}/remove", s.write(s.removeStaff, super))
	m.HandleFunc("POST /api/v1/staff/{id}/pin", s.write(s.setPIN, super))
	m.HandleFunc("POST /api/v1/staff/{id}/pin/change", s.write(s.changePIN, window))
	m.HandleFunc("POST /api/v1/staff/{id}/unlock", s.write(s.unlockPIN, super))
	m.HandleFunc("POST /api/v1/staff/{id}/card", s.write(s.setStaffCard, super))           // staffcard.go
	m.HandleFunc("POST /api/v1/staff/{id}/card/remove", s.write(s.removeStaffCard, super)) // staffcard.go
	m.HandleFunc("POST /api/v1/windows/{id}/services", s.write(s.setWindowServices, super))
	m.HandleFunc("POST /api/v1/services/{id}/{action}", s.write(s.setServiceOpen, super))
	m.HandleFunc("POST /api/v1/notices", s.write(s.postNotice, super))
	m.HandleFunc("POST /api/v1/notices/{id}/expire", s.write(s.expireNotice, super))
}

func (s *Server) by(r *http.Request) string { return s.callerOf(r).name() }

func (s *Server) submitOK(w http.ResponseWriter, r *http.Request, cmd any, status int) bool {
	res, err := s.d.Engine.Submit(r.Context(), cmd)
	if err != nil {
		writeRuleError(w, err)
		return false
	}
	writeJSON(w, status, map[string]any{"ok": true, "events": len(res.Events)})
	return true
}

type staffRow struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Title      string          `json:"title,omitempty"`
	Windows    []string        `json:"windows"`
	Source     string          `json:"source"` // devices.yaml, runtime
	ChangedBy  string          `json:"changed_by,omitempty"`
	SignedInAt string          `json:"signed_in_at,omitempty"`
	PIN        staffpin.Status `json:"pin"`
}

type windowRow struct {
	ID              string   `json:"id"`
	Number          int      `json:"number"`
	Name            string   `json:"name"`
	Services        []string `json:"services"`
	DefaultServices []string `json:"default_services"`
	ChangedBy       string   `json:"changed_by,omitempty"`
	Staff           string   `json:"staff,omitempty"`
}

type serviceRow struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Open     bool   `json:"open"`
	Reason   string `json:"reason,omitempty"`
	ForToday bool   `json:"for_today,omitempty"`
}

func svcIDs(ws []config.WindowService) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.Service)
	}
	return out
}

// rosterView is the staff, windows, services and notices as they stand, with
// the conflicts devices.yaml has with the runtime changes.
func (s *Server) rosterView(r *http.Request) (map[string]any, error) {
	base := s.d.Config
	now := s.d.Engine.Now()
	v, err := s.d.Engine.Query(r.Context(), func(st *hall.State) any {
		cfg := hall.Effective(base, st)
		staff := []staffRow{}
		for _, p := range cfg.Staff {
			row := staffRow{ID: p.ID, Name: p.Name, Title: p.Title, Windows: p.Windows, Source: "devices.yaml",
				SignedInAt: st.SignedInAt(p.ID)}
			if row.Windows == nil {
				row.Windows = []string{}
			}
			if st.Roster != nil {
				if ch, ok := st.Roster.Staff[p.ID]; ok && ch.Base == hall.StaffKey(staffOf(base, p.ID)) {
					row.Source, row.ChangedBy = "runtime", ch.By
				}
			}
			if s.roster.pins != nil {
				row.PIN = s.roster.pins.Status(p.ID, now)
			}
			staff = append(staff, row)
		}
		windows := []windowRow{}
		for i, wc := range cfg.Windows {
			row := windowRow{ID: wc.ID, Number: wc.Number, Name: wc.Name, Services: svcIDs(wc.Services),
				DefaultServices: svcIDs(base.Windows[i].Services)}
			if ws := st.Windows[wc.ID]; ws != nil {
				row.Staff = ws.Staff
			}
			if st.Roster != nil && st.Roster.WindowServices[wc.ID] != nil {
				row.ChangedBy = st.Roster.WindowServices[wc.ID].By
			}
			windows = append(windows, row)
		}
		services := []serviceRow{}
		for _, svc := range cfg.Services {
			reason, closed := st.ClosedServices[svc.ID]
			row := serviceRow{ID: svc.ID, Name: svc.Name, Open: !closed, Reason: reason}
			row.ForToday = closed && st.Roster != nil && st.Roster.ClosedFor[svc.ID] != ""
			services = append(services, row)
		}
		view := hall.MakeView(base, st, now)
		return map[string]any{"staff": staff, "windows": windows, "services": services, "notices": view.Notices,
			"pin_required": hall.PINRequired(cfg, st), "pin_mode": pinMode(base), "conflicts": hall.RosterConflicts(base, st)}
	})
	if err != nil {
		return nil, err
	}
	out := v.(map[string]any)
	if s.roster.pinErr != nil {
		out["pin_store_error"] = "签到密码文件无法读取：" + clip(s.roster.pinErr.Error(), 200)
	}
	return out, nil
}

func pinMode(cfg *config.Config) string {
	if m := cfg.Hall.StaffPIN.Mode; m != "" {
		return m
	}
	return "auto"
}

func staffOf(cfg *config.Config, id string) *config.Staff {
	p, _ := cfg.StaffMember(id)
	return p
}

func (s *Server) getRoster(w http.ResponseWriter, r *http.Request) {
	v, err := s.rosterView(r)
	if err != nil {
		writeRuleError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) setStaff(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID      string   `json:"id"`
		Name    string   `json:"name"`
		Title   string   `json:"title"`
		Windows []string `json:"windows"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	s.submitOK(w, r, hall.SetStaff{ID: req.ID, Name: req.Name, Title: req.Title, Windows: req.Windows, By: s.by(r)}, http.StatusOK)
}

func (s *Server) removeStaff(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !s.submitOK(w, r, hall.RemoveStaff{ID: id, By: s.by(r)}, http.StatusOK) {
		return
	}
	if s.roster.pins != nil && s.roster.pins.Status(id, s.d.Engine.Now()).Set {
		if err := s.roster.pins.Remove(id); err == nil {
			_, _ = s.d.Engine.Submit(r.Context(), hall.RecordPIN{PINEvent: hall.PINEvent{Staff: id, Action: "removed", By: s.by(r)}})
		}
	}
}

func (s *Server) pinStore(w http.ResponseWriter) *staffpin.Store {
	if s.roster.pins == nil {
		writeError(w, http.StatusServiceUnavailable, "pin_store_unavailable", "签到密码文件不可用，请联系大厅信息技术人员")
	}
	return s.roster.pins
}

// knownStaff answers 404 unless id is on the roster as it stands.
func (s *Server) knownStaff(w http.ResponseWriter, r *http.Request, id string) bool {
	v, err := s.d.Engine.Query(r.Context(), func(st *hall.State) any {
		_, ok := hall.Effective(s.d.Config, st).StaffMember(id)
		return ok
	})
	if err != nil {
		writeRuleError(w, err)
		return false
	}
	if !v.(bool) {
		writeError(w, http.StatusNotFound, "unknown_staff", "没有这个工号："+clip(id, 32))
		return false
	}
	return true
}

func pinRefused(w http.ResponseWriter) {
	writeError(w, http.StatusBadRequest, "bad_pin", "签到密码须为 4–12 位数字")
}

// setPIN is a supervisor's set or reset of a staff member's PIN.
func (s *Server) setPIN(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req struct {
		PIN string `json:"pin"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	store := s.pinStore(w)
	if store == nil || !s.knownStaff(w, r, id) {
		return
	}
	if !staffpin.ValidPIN(req.PIN) {
		pinRefused(w)
		return
	}
	action := "set"
	if store.Status(id, s.d.Engine.Now()).Set {
		action = "reset"
	}
	if err := store.Set(id, req.PIN, s.d.Engine.Now()); err != nil {
		writeError(w, http.StatusServiceUnavailable, "pin_store_failed", "签到密码保存失败，请重试")
		return
	}
	s.submitOK(w, r, hall.RecordPIN{PINEvent: hall.PINEvent{Staff: id, Action: action, By: s.by(r)}}, http.StatusOK)
}

// changePIN is the staff member's own change: the old PIN, then the new.
// A wrong old PIN counts towards the lock-out like a wrong sign-in.
func (s *Server) changePIN(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req struct {
		Old string `json:"old"`
		New string `json:"new"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	store := s.pinStore(w)
	if store == nil || !s.knownStaff(w, r, id) {
		return
	}
	if !staffpin.ValidPIN(req.New) {
		pinRefused(w)
		return
	}
	if !s.checkPIN(w, r, store, id, req.Old, "") {
		return
	}
	if err := store.Set(id, req.New, s.d.Engine.Now()); err != nil {
		writeError(w, http.StatusServiceUnavailable, "pin_store_failed", "签到密码保存失败，请重试")
		return
	}
	s.submitOK(w, r, hall.RecordPIN{PINEvent: hall.PINEvent{Staff: id, Action: "changed", By: s.by(r)}}, http.StatusOK)
}

func (s *Server) unlockPIN(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	store := s.pinStore(w)
	if store == nil || !s.knownStaff(w, r, id) {
		return
	}
	ok, err := store.Unlock(id)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "pin_store_failed", "签到密码文件写入失败，请重试")
		return
	}
	if !ok {
		writeError(w, http.StatusConflict, "not_locked", "该人员的签到未被锁定")
		return
	}
	s.submitOK(w, r, hall.RecordPIN{PINEvent: hall.PINEvent{Staff: id, Action: "unlocked", By: s.by(r)}}, http.StatusOK)
}

// checkPIN checks a staff member's PIN, records a wrong one and a lock-out in
// the journal (never the PIN), and answers the refusal itself.
func (s *Server) checkPIN(w http.ResponseWriter, r *http.Request, store *staffpin.Store, id, pin, window string) bool {
	now := s.d.Engine.Now()
	res, err := store.Check(id, pin, now)
	by := s.by(r)
	switch {
	case err == nil:
		if res.WasLocked {
			_, _ = s.d.Engine.Submit(r.Context(), hall.RecordPIN{PINEvent: hall.PINEvent{Staff: id, Action: "unlocked", By: "lockout_expired", Window: window}})
		}
		return true
	case errors.Is(err, staffpin.ErrNoPIN):
		writeError(w, http.StatusForbidden, "no_pin", "尚未设置签到密码，请联系大厅管理员设置")
	case errors.Is(err, staffpin.ErrLocked):
		s.roster.pinFailures.Inc()
		if res.JustLocked {
			s.roster.pinLockouts.Inc()
			until := hall.Stamp(res.LockedUntil.In(s.d.Config.Location))
			if _, err := s.d.Engine.Submit(r.Context(), hall.RecordPIN{PINEvent: hall.PINEvent{Staff: id, Action: "locked",
				By: by, Window: window, Attempts: res.Failures, Until: &until}}); err != nil {
				writeRuleError(w, err)
				return false
			}
		}
		mins := max(int((res.LockedUntil.Sub(s.d.Engine.Now())+time.Minute-1)/time.Minute), 1)
		writeJSON(w, http.StatusLocked, map[string]any{"error": hall.ErrorInfo{Code: "pin_locked",
			Message: "密码错误次数过多，签到已锁定，请 " + strconv.Itoa(mins) + " 分钟后再试或联系大厅管理员解锁"},
			"locked_until": hall.Stamp(res.LockedUntil.In(s.d.Config.Location)), "remaining": 0})
	case errors.Is(err, staffpin.ErrWrong):
		s.roster.pinFailures.Inc()
		if _, err := s.d.Engine.Submit(r.Context(), hall.RecordPIN{PINEvent: hall.PINEvent{Staff: id, Action: "wrong",
			By: by, Window: window, Attempts: res.Failures}}); err != nil {
			writeRuleError(w, err)
			return false
		}
		writeJSON(w, http.StatusForbidden, map[string]any{"error": hall.ErrorInfo{Code: "wrong_pin",
			Message: "密码错误，还可以再试 " + strconv.Itoa(res.Remaining) + " 次"}, "remaining": res.Remaining})
	default:
		writeError(w, http.StatusServiceUnavailable, "pin_store_failed", "签到密码文件不可用，请联系大厅信息技术人员")
	}
	return false
}

// signIn: the staff member's PIN when the hall has PINs (a supervisor may
// sign someone in without it, recorded under the supervisor's name); asks
// first (409 with the other window) when they are signed in elsewhere.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, id string, req windowRequest) {
	v, err := s.d.Engine.Query(r.Context(), func(st *hall.State) any {
		return hall.PINRequired(hall.Effective(s.d.Config, st), st)
	})
	if err != nil {
		writeRuleError(w, err)
		return
	}
	checked := false
	c := s.callerOf(r)
	switch {
	case req.PIN != "" || (v.(bool) && !c.has(ScopeSupervisor)):
		if req.PIN == "" {
			writeError(w, http.StatusForbidden, "pin_required", "请输入本人签到密码")
			return
		}
		store := s.pinStore(w)
		if store == nil || !s.knownStaff(w, r, req.Staff) {
			return
		}
		if !s.checkPIN(w, r, store, req.Staff, req.PIN, id) {
			return
		}
		checked = true
	case v.(bool):
		checked = true // a supervisor's 代签到, under their name
	}
	_, err = s.d.Engine.Submit(r.Context(), hall.SignIn{Window: id, Staff: req.Staff, Ask: !req.Confirm, PINChecked: checked, By: c.name()})
	var re *hall.RuleError
	if errors.As(err, &re) && re.Code == "signed_in_elsewhere" {
		other, _ := s.d.Engine.Query(r.Context(), func(st *hall.State) any { return st.SignedInAt(req.Staff) })
		writeJSON(w, http.StatusConflict, map[string]any{"error": re.ErrorInfo, "window": other, "confirm": "再次提交并带上 confirm: true"})
		return
	}
	if err != nil {
		writeRuleError(w, err)
		return
	}
	view, err := s.windowView(r, id)
	if err != nil {
		writeRuleError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "window": view.Window})
}

func (s *Server) setWindowServices(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Services []config.WindowService `json:"services"`
		Reset    bool                   `json:"reset"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if len(req.Services) > 200 {
		writeError(w, http.StatusBadRequest, "too_many_services", "业务过多")
		return
	}
	s.submitOK(w, r, hall.SetWindowServices{Window: r.PathValue("id"), Services: req.Services, Reset: req.Reset, By: s.by(r)}, http.StatusOK)
}

func (s *Server) setServiceOpen(w http.ResponseWriter, r *http.Request) {
	action := r.PathValue("action")
	if action != "open" && action != "close" {
		writeError(w, http.StatusNotFound, "unknown_action", "没有这个业务操作："+clip(action, 32))
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 && !decodeBody(w, r, &req) {
		return
	}
	s.submitOK(w, r, hall.SetServiceOpen{Service: r.PathValue("id"), Open: action == "open", Reason: req.Reason,
		ForToday: action == "close", By: s.by(r)}, http.StatusOK)
}

func (s *Server) postNotice(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID    string      `json:"id"`
		Text  string      `json:"text"`
		Where []string    `json:"where"`
		Until *hall.Stamp `json:"until"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.ID == "" {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		req.ID = "n-" + hex.EncodeToString(b)
	}
	res, err := s.d.Engine.Submit(r.Context(), hall.PostNotice{Notice: hall.Notice{ID: req.ID, Text: req.Text,
		Where: req.Where, Until: req.Until, By: s.by(r)}})
	if err != nil {
		writeRuleError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"ok": true, "id": req.ID, "events": len(res.Events)})
}

func (s *Server) expireNotice(w http.ResponseWriter, r *http.Request) {
	s.submitOK(w, r, hall.ExpireNotice{ID: r.PathValue("id"), By: s.by(r)}, http.StatusOK)
}
