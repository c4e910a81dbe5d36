package web

import (
	"net/http"
	"strconv"
	"time"

	"halld/daemon/stats"
)

// reports serves the statistics: GET /api/v1/reports?from=YYYY-MM-DD&to=…&by=service|window|staff|day|hour
// [&service=&window=&staff=][&format=csv|attendance.csv]. to is exclusive; default: today.
func (s *Server) reports(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cfg := s.d.Config
	day := func(name string, def time.Time) (time.Time, bool) {
		v := q.Get(name)
		if v == "" {
			return def, true
		}
		t, err := time.ParseInLocation("2006-01-02", v, cfg.Location)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_date", name+" 须为 YYYY-MM-DD")
			return t, false
		}
		return t, true
	}
	today, _ := time.ParseInLocation("2006-01-02", cfg.Day(s.d.Engine.Now()), cfg.Location)
	from, ok := day("from", today)
	if !ok {
		return
	}
	to, ok := day("to", from.AddDate(0, 0, 1))
	if !ok {
		return
	}
	by := q.Get("by")
	if by == "" {
		by = stats.ByService
	}
	query := stats.Query{From: from, To: to, By: by, Service: q.Get("service"), Window: q.Get("window"), Staff: q.Get("staff")}
	if err := query.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, "bad_query", "查询条件不正确：by 只能是 service、window、staff、day 或 hour，且 to 须晚于 from")
		return
	}
	// A report is folded in memory: bound what one request can ask for.
	if days := to.Sub(from).Hours() / 24; days > 3700 || (by == stats.ByHour && days > 93) {
		writeError(w, http.StatusBadRequest, "range_too_long", "查询时间范围过长：按小时最多 93 天，其他最多 10 年")
		return
	}
	rep := s.d.Stats.Report(query)
	switch q.Get("format") {
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="report-`+by+"-"+from.Format("20060102")+`.csv"`)
		rep.CSV(w)
	case "attendance.csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="attendance-`+from.Format("20060102")+`.csv"`)
		rep.AttendanceCSV(w)
	default:
		writeJSON(w, http.StatusOK, rep)
	}
}

// stars ranks a quarter: GET /api/v1/stars?quarter=2026Q4[&headcount=N], or
// POST with the CSV of imported inputs (staff,inspection,complaints).
func (s *Server) stars(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := stats.DefaultFormula()
	if v := q.Get("headcount"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100000 {
			writeError(w, http.StatusBadRequest, "bad_headcount", "headcount 须为 0 到 100000 之间的整数")
			return
		}
		f.Headcount = n
	}
	var inputs []stats.ExternalInput
	if r.Method == http.MethodPost {
		var err error
		if inputs, err = stats.ParseInputs(http.MaxBytesReader(w, r.Body, 1<<20)); err != nil {
			writeError(w, http.StatusBadRequest, "bad_inputs", err.Error())
			return
		}
	}
	quarter := q.Get("quarter")
	if quarter == "" {
		now := s.d.Engine.Now().In(s.d.Config.Location)
		quarter = strconv.Itoa(now.Year()) + "Q" + strconv.Itoa((int(now.Month())-1)/3+1)
	}
	rk := s.d.Stats.Stars(quarter, inputs, f)
	if rk.Error != "" {
		writeError(w, http.StatusBadRequest, "bad_quarter", rk.Error)
		return
	}
	writeJSON(w, http.StatusOK, rk)
}
