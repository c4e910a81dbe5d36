package web

import (
	"math"
	"net/http"
	"sort"
	"strconv"
	"time"

	"halld/daemon/config"
	"halld/daemon/hall"
)

// 差评 follow-ups (hall/followup.go): the list a supervisor works from, and
// one step at a time. Every step is recorded under the caller's name.

// stageNames maps the API's verbs to follow-up stages (shared with the
// central server's followup.step).
var stageNames = hall.FollowUpVerbs

// Bounds of the list.
const (
	followUpsDefaultLimit = 200
	followUpsMaxLimit     = 1000
)

// followUpView is a follow-up as the API shows it: the record, the names a
// page shows, and how long the step awaited has left.
type followUpView struct {
	hall.FollowUp
	OpenedAt    hall.Stamp `json:"opened_at"`
	WindowName  string     `json:"window_name,omitempty"`
	ServiceName string     `json:"service_name,omitempty"`
	StaffName   string     `json:"staff_name,omitempty"`
	DueName     string     `json:"due_name,omitempty"`
	Remaining   *remaining `json:"remaining,omitempty"`
}

// remaining is the countdown of the step awaited: working days of the hall's
// calendar after today up to its deadline's day (0: due today; negative:
// working days since it passed), and hours (negative once overdue).
type remaining struct {
	WorkingDays int     `json:"working_days"`
	Hours       float64 `json:"hours"`
	Overdue     bool    `json:"overdue"`
}

func countdown(cfg *config.Config, now, by time.Time) *remaining {
	r := &remaining{Hours: math.Round(by.Sub(now).Hours()*10) / 10, Overdue: now.After(by)}
	day := func(t time.Time) time.Time {
		t = t.In(cfg.Location)
		return time.Date(t.Year(), t.Month(), t.Day(), 12, 0, 0, 0, cfg.Location)
	}
	from, to, sign := day(now), day(by), 1
	if to.Before(from) {
		from, to, sign = to, from, -1
	}
	for d := from.AddDate(0, 0, 1); !d.After(to) && r.WorkingDays < 400; d = d.AddDate(0, 0, 1) {
		if cfg.IsWorkday(d) {
			r.WorkingDays++
		}
	}
	r.WorkingDays *= sign
	return r
}

func (s *Server) viewFollowUp(f *hall.FollowUp, now time.Time) followUpView {
	cfg := s.d.Config
	v := followUpView{FollowUp: *f, OpenedAt: hall.Stamp(f.OpenedAt().In(cfg.Location))}
	if w, ok := cfg.Window(f.Window); ok {
		v.WindowName = w.Name
	}
	if svc, ok := cfg.Service(f.Service); ok {
		v.ServiceName = svc.Name
	}
	if st, ok := cfg.StaffMember(f.Staff); ok {
		v.StaffName = st.Name
	}
	if !f.Closed {
		due, by := dueOf(f)
		v.DueName = hall.StepNames[due]
		v.Remaining = countdown(cfg, now, by)
	}
	return v
}

// dueOf is the step an open follow-up awaits and its deadline; a record from
// before steps had deadlines awaits the step after its stage by its one deadline.
func dueOf(f *hall.FollowUp) (string, time.Time) {
	due, by := f.Due, time.Time(f.Deadline)
	if f.DueBy != nil {
		by = time.Time(*f.DueBy)
	}
	if due == "" {
		due = map[string]string{hall.StageOpen: hall.StageCallback, hall.StageCallback: hall.StageRectify,
			hall.StageRectify: hall.StageFeedback, hall.StageAppealed: hall.DueReview}[f.Stage]
	}
	return due, by
}

// listFollowUps: GET /api/v1/followups?status=open|closed|overdue&window=&from=&to=&limit=
// (open=1 is status=open). from/to are hall days the 差评s were given on.
// Newest first; counts (open, closed, overdue: open with the step awaited
// past its deadline, marked_overdue: some step ever was) and reasons (each reason tag
// of the 差评s) are over every follow-up the window and days select.
func (s *Server) listFollowUps(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cfg := s.d.Config
	status := q.Get("status")
	if status == "" && q.Get("open") != "" {
		status = "open"
	}
	if status != "" && status != "open" && status != "closed" && status != "overdue" && status != "all" {
		writeError(w, http.StatusBadRequest, "bad_status", "status 只能是 open（未办结）、closed（已办结）、overdue（超期）或 all")
		return
	}
	var from, to time.Time
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.ParseInLocation("2006-01-02", v, cfg.Location)
			if err != nil {
				writeError(w, http.StatusBadRequest, "bad_date", p.name+" 须为 YYYY-MM-DD")
				return
			}
			*p.t = t
		}
	}
	if !to.IsZero() {
		to = to.AddDate(0, 0, 1)
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		writeError(w, http.StatusBadRequest, "bad_range", "to 不能早于 from")
		return
	}
	limit := followUpsDefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > followUpsMaxLimit {
			writeError(w, http.StatusBadRequest, "bad_limit", "limit 须为 1 到 "+strconv.Itoa(followUpsMaxLimit)+" 的整数")
			return
		}
		limit = n
	}
	window := q.Get("window")
	if len(window) > hall.MaxID {
		writeError(w, http.StatusBadRequest, "bad_window", "窗口编号过长")
		return
	}
	now := s.d.Engine.Now()
	type result struct {
		list   []followUpView
		total  int
		counts map[string]int
		reason map[string]int
	}
	v, err := s.d.Engine.Query(r.Context(), func(st *hall.State) any {
		res := result{list: []followUpView{}, counts: map[string]int{"open": 0, "closed": 0, "overdue": 0, "marked_overdue": 0}, reason: map[string]int{}}
		var picked []*hall.FollowUp
		for _, f := range st.FollowUps {
			opened := f.OpenedAt()
			if (window != "" && f.Window != window) || (!from.IsZero() && opened.Before(from)) || (!to.IsZero() && !opened.Before(to)) {
				continue
			}
			// Overdue: open, and the step awaited is past its deadline (what
			// needs doing now); marked: some step ever was (what the ranking
			// deducts for).
			_, by := dueOf(f)
			late := !f.Closed && now.After(by)
			if f.Closed {
				res.counts["closed"]++
			} else {
				res.counts["open"]++
			}
			if late {
				res.counts["overdue"]++
			}
			if f.Overdue {
				res.counts["marked_overdue"]++
			}
			for _, reason := range f.Reasons {
				res.reason[reason]++
			}
			if (status == "open" && f.Closed) || (status == "closed" && !f.Closed) || (status == "overdue" && !late) {
				continue
			}
			picked = append(picked, f)
		}
		sort.Slice(picked, func(i, j int) bool {
			a, b := picked[i].OpenedAt(), picked[j].OpenedAt()
			if !a.Equal(b) {
				return a.After(b)
			}
			return picked[i].Visit > picked[j].Visit
		})
		res.total = len(picked)
		for _, f := range picked[:min(len(picked), limit)] {
			res.list = append(res.list, s.viewFollowUp(f, now))
		}
		return res
	})
	if err != nil {
		writeRuleError(w, err)
		return
	}
	res := v.(result)
	rules := cfg.FollowUpSteps()
	writeJSON(w, http.StatusOK, map[string]any{
		"now": hall.Stamp(now.In(cfg.Location)), "followups": res.list, "total": res.total, "limit": limit,
		"counts": res.counts, "reasons": res.reason, "reason_keys": cfg.Reasons(),
		"rules": map[string]int{"followup_days": cfg.FollowUpWorkdays(), "callback_days": rules.CallbackDays,
			"rectify_days": rules.RectifyDays, "feedback_days": rules.FeedbackDays, "rating_days": rules.RatingDays,
			"review_days": rules.ReviewDays, "call_attempts": rules.CallAttempts, "rectify_rounds": rules.RectifyRounds},
	})
}

// getFollowUp: GET /api/v1/followups/{id}.
func (s *Server) getFollowUp(w http.ResponseWriter, r *http.Request) {
	id, now := r.PathValue("id"), s.d.Engine.Now()
	v, err := s.d.Engine.Query(r.Context(), func(st *hall.State) any {
		if f, ok := st.FollowUps[id]; ok {
			return s.viewFollowUp(f, now)
		}
		return nil
	})
	if err != nil {
		writeRuleError(w, err)
		return
	}
	if v == nil {
		writeError(w, http.StatusNotFound, "unknown_followup", "没有这条差评整改记录")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"followup": v})
}

// stepFollowUp: POST /api/v1/followups/{id}/{callback|rectify|feedback|rating|appeal|uphold|reject}
// {"note", "reached" (calls: false = did not get through), "level" (rating:
// 满意|基本满意|不满意), "handler" (who did it, 经办人; "by" is the same, as
// before)}. The step is recorded under the caller's name.
func (s *Server) stepFollowUp(w http.ResponseWriter, r *http.Request) {
	stage, ok := stageNames[r.PathValue("stage")]
	if !ok {
		writeError(w, http.StatusNotFound, "unknown_stage", "未知的办理环节（"+hall.FollowUpVerbList+"）")
		return
	}
	var req struct {
		Note    string `json:"note"`
		By      string `json:"by"`
		Handler string `json:"handler"`
		Reached *bool  `json:"reached"`
		Level   string `json:"level"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Handler == "" {
		req.Handler = req.By
	}
	id := r.PathValue("id")
	cmd := hall.FollowUpStep{ID: id, Stage: stage, Note: req.Note, By: s.callerOf(r).name(), Handler: req.Handler,
		Reached: req.Reached, Level: req.Level}
	if _, err := s.d.Engine.Submit(r.Context(), cmd); err != nil {
		writeRuleError(w, err)
		return
	}
	now := s.d.Engine.Now()
	v, _ := s.d.Engine.Query(r.Context(), func(st *hall.State) any { return s.viewFollowUp(st.FollowUps[id], now) })
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "followup": v})
}
