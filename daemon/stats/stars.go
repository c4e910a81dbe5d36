package stats

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ExternalInput is what halld cannot see about one staff member for a
// quarter: the 日常检查 (daily inspection) score, 0–100, and the number of
// 投诉举报 (complaints and reports) found against them.
type ExternalInput struct {
	Staff      string  `json:"staff"`
	Inspection float64 `json:"inspection"`
	Complaints int     `json:"complaints"`
}

// InputError is one problem in an inputs file, at a line (1-based, the
// header is line 1; 0 when the file could not be read at all).
type InputError struct {
	Line int
	Msg  string
}

func (e InputError) Error() string {
	if e.Line == 0 {
		return "inputs: " + e.Msg
	}
	return "inputs:" + strconv.Itoa(e.Line) + ": " + e.Msg
}

// InputErrors is every problem found in an inputs file, in file order.
type InputErrors []InputError

func (e InputErrors) Error() string {
	lines := make([]string, len(e))
	for i, x := range e {
		lines[i] = x.Error()
	}
	return strings.Join(lines, "\n")
}

// ParseInputs reads the external inputs as CSV with the header
// staff,inspection,complaints (in any order; a UTF-8 byte-order mark and
// blank lines are fine). inspection is a number from 0 to 100, complaints a
// whole number ≥ 0; a staff id may appear once. It reports every problem, as
// InputErrors, each with its line.
func ParseInputs(r io.Reader) ([]ExternalInput, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var errs InputErrors
	header, err := cr.Read()
	if err == io.EOF {
		return nil, InputErrors{{0, "empty file: want the header staff,inspection,complaints"}}
	}
	if err != nil {
		return nil, InputErrors{csvError(err)}
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")))
		switch h {
		case "staff", "inspection", "complaints":
			if _, dup := col[h]; dup {
				errs = append(errs, InputError{1, fmt.Sprintf("column %q appears twice", h)})
			}
			col[h] = i
		default:
			errs = append(errs, InputError{1, fmt.Sprintf("unknown column %q: the header is staff,inspection,complaints", h)})
		}
	}
	for _, h := range []string{"staff", "inspection", "complaints"} {
		if _, ok := col[h]; !ok {
			errs = append(errs, InputError{1, fmt.Sprintf("missing column %q: the header is staff,inspection,complaints", h)})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	var out []ExternalInput
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, csvError(err))
			var pe *csv.ParseError
			if errors.As(err, &pe) && pe.Err == csv.ErrFieldCount {
				continue
			}
			break // a quoting error: the rest cannot be trusted
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			errs = append(errs, InputError{line, fmt.Sprintf("%d fields, want %d (staff,inspection,complaints)", len(rec), len(header))})
			continue
		}
		field := func(name string) string { return strings.TrimSpace(rec[col[name]]) }
		in := ExternalInput{Staff: field("staff")}
		bad := false
		if in.Staff == "" {
			errs, bad = append(errs, InputError{line, "staff is empty"}), true
		} else if first, dup := seen[in.Staff]; dup {
			errs, bad = append(errs, InputError{line, fmt.Sprintf("staff %q already given at line %d", in.Staff, first)}), true
		} else {
			seen[in.Staff] = line
		}
		if v, err := strconv.ParseFloat(field("inspection"), 64); err != nil || math.IsNaN(v) || v < 0 || v > 100 {
			errs, bad = append(errs, InputError{line, fmt.Sprintf("inspection %q is not a score from 0 to 100", field("inspection"))}), true
		} else {
			in.Inspection = v
		}
		if n, err := strconv.Atoi(field("complaints")); err != nil || n < 0 {
			errs, bad = append(errs, InputError{line, fmt.Sprintf("complaints %q is not a whole number ≥ 0", field("complaints"))}), true
		} else {
			in.Complaints = n
		}
		if !bad {
			out = append(out, in)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

func csvError(err error) InputError {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return InputError{pe.Line, pe.Err.Error()}
	}
	return InputError{0, err.Error()}
}

// Formula is how the 政务服务之星 score is made (附件1 第十条: 办卷量、办卷效率、
// 考勤情况、日常检查、投诉举报、好差评). Each component is scored 0–100 and
// weighted; a staff member's score is
//
//	Σ weight × component / 100  −  penalties
//
// so with weights summing to 100 the best possible score is 100. Components:
//
//   - Cases (办件量): visits handled in the quarter — finished, or
//     transferred on after the service started — scored 100 × n / the most
//     anyone handled.
//   - Efficiency (办件效率): for each service the person handled, their
//     median service time over the hall's median for that service (all
//     staff, same quarter); the index is the average of those ratios weighted
//     by their case counts (1 = as fast as the hall's median for the same
//     mix of services, lower is faster), scored 100 × the best index / theirs.
//     No timed service: 0.
//   - Attendance (考勤): working days (cfg.IsWorkday) of the quarter with a
//     sign-in, over the working days of the quarter up to the last record,
//     scored 100 × ratio (at most 100).
//   - Inspection (日常检查): the imported score as is; none imported: 0.
//   - Satisfaction (好差评): 100 × satisfaction rate (excluded ratings left
//     out); nothing rated: 0.
//
// Penalties: each 投诉举报 (imported), each 差评 that was not excluded by an
// upheld appeal, and each overdue pause (暂离超过时限, the attendance rule of
// 附件3).
//
// Who is named: the candidates are the staff with any activity in the
// quarter. The rule (附件1 第九条) caps the number at 10% of the window and
// approval staff (不超过…总数的10%), so the quota is
// floor(Headcount × SharePercent / 100) — rounded down, never up: with fewer
// than 10 staff nobody is named, because naming one of 5 would be 20%, over
// the cap. Headcount is the staff active in the quarter unless set higher (a
// hall can set it to its full roster of 进驻窗口人员 and 审批人员, whom halld
// does not all see; it is never taken below the active staff). Only candidates with at least MinCases cases can be named.
//
// Ties (equal scores to 0.01) are broken by more cases, then higher
// satisfaction rate, then fewer complaints + 差评, then staff id (ascending).
type Formula struct {
	Cases        float64 `json:"cases"`
	Efficiency   float64 `json:"efficiency"`
	Attendance   float64 `json:"attendance"`
	Inspection   float64 `json:"inspection"`
	Satisfaction float64 `json:"satisfaction"`

	ComplaintPenalty    float64 `json:"complaint_penalty"`     // points off per 投诉举报
	BadRatingPenalty    float64 `json:"bad_rating_penalty"`    // points off per 差评 (not excluded)
	OverduePausePenalty float64 `json:"overdue_pause_penalty"` // points off per overdue pause

	SharePercent int `json:"share_percent"` // at most this percent of Headcount named (10)
	Headcount    int `json:"headcount"`     // the base of the share; 0: staff active in the quarter
	MinCases     int `json:"min_cases"`     // a star has handled at least this many cases
}

// DefaultFormula weighs 办件量 25, 效率 20, 考勤 15, 日常检查 15, 好差评 25;
// −10 per complaint, −5 per 差评, −2 per overdue pause; 10%; at least one case.
func DefaultFormula() Formula {
	return Formula{Cases: 25, Efficiency: 20, Attendance: 15, Inspection: 15, Satisfaction: 25,
		ComplaintPenalty: 10, BadRatingPenalty: 5, OverduePausePenalty: 2, SharePercent: 10, MinCases: 1}
}

// Validate tells a usable formula.
func (f Formula) Validate() error {
	for _, w := range []struct {
		name string
		v    float64
	}{{"cases", f.Cases}, {"efficiency", f.Efficiency}, {"attendance", f.Attendance}, {"inspection", f.Inspection},
		{"satisfaction", f.Satisfaction}, {"complaint_penalty", f.ComplaintPenalty},
		{"bad_rating_penalty", f.BadRatingPenalty}, {"overdue_pause_penalty", f.OverduePausePenalty}} {
		if w.v < 0 || math.IsNaN(w.v) || math.IsInf(w.v, 0) {
			return fmt.Errorf("stats: formula %s must be a number ≥ 0, got %v", w.name, w.v)
		}
	}
	if f.SharePercent < 0 || f.SharePercent > 100 {
		return fmt.Errorf("stats: formula share_percent must be 0–100, got %d", f.SharePercent)
	}
	if f.Headcount < 0 || f.MinCases < 0 {
		return fmt.Errorf("stats: formula headcount and min_cases must be ≥ 0")
	}
	return nil
}

// Ranking is a quarter's 政务服务之星 ranking.
type Ranking struct {
	Quarter        string      `json:"quarter"`
	From           string      `json:"from"` // first day
	To             string      `json:"to"`   // the day after the last
	Workdays       int         `json:"workdays"`
	Active         int         `json:"active"`    // staff with any activity in the quarter
	Headcount      int         `json:"headcount"` // the base of the share
	Quota          int         `json:"quota"`     // at most this many named
	Formula        Formula     `json:"formula"`
	Named          []Candidate `json:"named"`
	Candidates     []Candidate `json:"candidates"` // everyone, best first
	Warnings       []string    `json:"warnings,omitempty"`
	Error          string      `json:"error,omitempty"`
	Seq            uint64      `json:"seq"`
	AsOf           string      `json:"as_of,omitempty"`
	BestCases      int         `json:"best_cases"`
	BestEfficiency float64     `json:"best_efficiency_index"`
}

// Candidate is one staff member's score with its parts.
type Candidate struct {
	Rank        int         `json:"rank"`
	Staff       string      `json:"staff"`
	Name        string      `json:"name,omitempty"`
	Score       float64     `json:"score"`
	Named       bool        `json:"named"`
	Eligible    bool        `json:"eligible"`
	Components  []Component `json:"components"`
	Penalties   []Penalty   `json:"penalties"`
	Explanation string      `json:"explanation"`

	cases   int
	rate    float64
	demerit int
}

// Component is one weighted part of a score.
type Component struct {
	Key    string  `json:"key"`   // cases, efficiency, attendance, inspection, satisfaction
	Name   string  `json:"name"`  // 办件量 …
	Value  float64 `json:"value"` // cases; efficiency index; attendance ratio; inspection score; satisfaction rate
	Detail string  `json:"detail"`
	Score  float64 `json:"score"` // 0–100
	Weight float64 `json:"weight"`
	Points float64 `json:"points"` // weight × score / 100, rounded to 0.01
}

// Penalty is one kind of deduction.
type Penalty struct {
	Key    string  `json:"key"` // complaints, bad_ratings, overdue_pauses
	Name   string  `json:"name"`
	Count  int     `json:"count"`
	Each   float64 `json:"each"`
	Points float64 `json:"points"` // ≤ 0
}

// ParseQuarter reads "2026Q4" (also "2026-Q4", "2026q4") into its first day
// and the day after its last, at midnight in loc.
func ParseQuarter(s string, loc *time.Location) (from, to time.Time, err error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.Replace(t, "-Q", "Q", 1)
	y, q, ok := strings.Cut(t, "Q")
	year, err1 := strconv.Atoi(y)
	n, err2 := strconv.Atoi(q)
	if !ok || err1 != nil || err2 != nil || len(y) != 4 || n < 1 || n > 4 {
		return time.Time{}, time.Time{}, fmt.Errorf("stats: quarter %q: want a year and a quarter such as 2026Q4", s)
	}
	from = time.Date(year, time.Month(3*(n-1)+1), 1, 0, 0, 0, 0, loc)
	return from, from.AddDate(0, 3, 0), nil
}

type staffQ struct {
	active   bool
	cases    int
	times    map[uint16][]float32 // service → service-time samples
	levels   [5]int
	overdue  int
	attended map[int32]bool
}

// Stars ranks the quarter's staff for 政务服务之星 with formula f and the
// imported inputs (see Formula for every rule). A bad quarter or formula
// gives a Ranking with Error set.
func (a *Aggregator) Stars(quarter string, inputs []ExternalInput, f Formula) Ranking {
	rk := Ranking{Quarter: quarter, Formula: f, Seq: a.seq, Named: []Candidate{}, Candidates: []Candidate{}}
	if !a.last.IsZero() {
		rk.AsOf = a.last.Format(stampLayout)
	}
	from, to, err := ParseQuarter(quarter, a.loc)
	if err == nil {
		err = f.Validate()
	}
	if err != nil {
		rk.Error = err.Error()
		return rk
	}
	lo, hi := a.dayOf(from), a.dayOf(to)
	rk.From, rk.To = dayString(lo), dayString(hi)

	// Working days so far: the quarter, cut at the last record's day.
	end := hi
	if !a.last.IsZero() {
		end = min(hi, a.dayOf(a.last)+1)
	}
	for d := lo; d < end; d++ {
		if a.cfg.IsWorkday(a.dayTime(d)) {
			rk.Workdays++
		}
	}

	per := map[uint16]*staffQ{}
	hallTimes := map[uint16][]float32{}
	get := func(id uint16) *staffQ {
		s := per[id]
		if s == nil {
			s = &staffQ{times: map[uint16][]float32{}, attended: map[int32]bool{}}
			per[id] = s
		}
		return s
	}
	a.scan(lo, hi, -1, -1, -1, func(x *fact, val float32) {
		if x.staff == 0 {
			return
		}
		s := get(x.staff)
		s.active = true
		switch x.kind {
		case kServed, kTransfer:
			if x.kind == kServed || x.flags&fDur != 0 {
				s.cases++
			}
			if x.flags&fDur != 0 {
				s.times[x.svc] = append(s.times[x.svc], val)
				hallTimes[x.svc] = append(hallTimes[x.svc], val)
			}
		case kRating:
			if x.flags&fExcluded == 0 {
				s.levels[x.level]++
			}
		case kPause:
			if x.flags&fOverdue != 0 {
				s.overdue++
			}
		case kSignIn:
			if a.cfg.IsWorkday(a.dayTime(x.day)) {
				s.attended[x.day] = true
			}
		}
	})
	hallMedian := map[uint16]float64{}
	for svc, xs := range hallTimes {
		hallMedian[svc] = quantile(xs, 0.5)
	}

	ext := map[string]ExternalInput{}
	for _, in := range inputs {
		if _, dup := ext[in.Staff]; dup {
			rk.Warnings = append(rk.Warnings, fmt.Sprintf("%s 的检查/投诉数据重复，采用最后一条", in.Staff))
		}
		ext[in.Staff] = in
	}
	if len(inputs) == 0 {
		rk.Warnings = append(rk.Warnings, "未导入日常检查和投诉举报数据：日常检查按 0 分、投诉按 0 件计")
	}

	ids := make([]uint16, 0, len(per))
	for id := range per {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return a.names[ids[i]] < a.names[ids[j]] })

	// Efficiency index per staff, and the bests for normalising.
	index := map[uint16]float64{}
	bestIdx := math.Inf(1)
	for _, id := range ids {
		s := per[id]
		num, den := 0.0, 0
		svcs := make([]int, 0, len(s.times))
		for svc := range s.times {
			svcs = append(svcs, int(svc))
		}
		sort.Ints(svcs)
		for _, svc := range svcs {
			xs := s.times[uint16(svc)]
			m := hallMedian[uint16(svc)]
			if m <= 0 {
				continue
			}
			num += float64(len(xs)) * quantile(xs, 0.5) / m
			den += len(xs)
		}
		if den > 0 {
			index[id] = num / float64(den)
			bestIdx = min(bestIdx, index[id])
		}
		rk.BestCases = max(rk.BestCases, s.cases)
	}
	if !math.IsInf(bestIdx, 1) {
		rk.BestEfficiency = round(bestIdx, 4)
	}

	for _, id := range ids {
		s := per[id]
		staff := a.names[id]
		in, has := ext[staff]
		if !has && len(inputs) > 0 {
			rk.Warnings = append(rk.Warnings, fmt.Sprintf("%s 没有导入日常检查成绩，按 0 分计", staff))
		}
		c := Candidate{Staff: staff, Name: a.name(id, ByStaff), cases: s.cases}
		comp := func(key, name string, value float64, detail string, score, weight float64) {
			score = round(math.Max(0, math.Min(100, score)), 2)
			c.Components = append(c.Components, Component{Key: key, Name: name, Value: value, Detail: detail,
				Score: score, Weight: weight, Points: round(weight*score/100, 2)})
		}
		// 办件量
		casesScore := 0.0
		if rk.BestCases > 0 {
			casesScore = 100 * float64(s.cases) / float64(rk.BestCases)
		}
		comp("cases", "办件量", float64(s.cases), fmt.Sprintf("%d 件（最多 %d 件）", s.cases, rk.BestCases), casesScore, f.Cases)
		// 办件效率
		if idx, ok := index[id]; ok {
			sc := 100.0
			if idx > 0 {
				sc = 100 * bestIdx / idx
			}
			comp("efficiency", "办件效率", round(idx, 4),
				fmt.Sprintf("办理时长中位数为同业务中位数的 %.2f 倍（最佳 %.2f 倍）", idx, bestIdx), sc, f.Efficiency)
		} else {
			comp("efficiency", "办件效率", 0, "无计时办件", 0, f.Efficiency)
		}
		// 考勤
		att := 0.0
		if rk.Workdays > 0 {
			att = math.Min(1, float64(len(s.attended))/float64(rk.Workdays))
		}
		comp("attendance", "考勤", round(att, 4), fmt.Sprintf("签到 %d / %d 个工作日", len(s.attended), rk.Workdays), 100*att, f.Attendance)
		// 日常检查
		detail := fmt.Sprintf("%.1f 分", in.Inspection)
		if !has {
			detail = "未导入（按 0 分）"
		}
		comp("inspection", "日常检查", in.Inspection, detail, in.Inspection, f.Inspection)
		// 好差评
		l := s.levels
		rated := l[0] + l[1] + l[2] + l[3] + l[4]
		if rated > 0 {
			c.rate = float64(l[0]+l[1]+l[2]) / float64(rated)
			comp("satisfaction", "好差评", round(c.rate, 4),
				fmt.Sprintf("满意率 %.1f%%（%d/%d）", 100*c.rate, l[0]+l[1]+l[2], rated), 100*c.rate, f.Satisfaction)
		} else {
			comp("satisfaction", "好差评", 0, "无有效评价", 0, f.Satisfaction)
		}
		pen := func(key, name string, n int, each float64) {
			pts := 0.0 // never −0 (it would print as "-0")
			if n > 0 && each > 0 {
				pts = round(-float64(n)*each, 2)
			}
			c.Penalties = append(c.Penalties, Penalty{Key: key, Name: name, Count: n, Each: each, Points: pts})
		}
		pen("complaints", "投诉举报", in.Complaints, f.ComplaintPenalty)
		pen("bad_ratings", "差评", l[3]+l[4], f.BadRatingPenalty)
		pen("overdue_pauses", "超时暂停", s.overdue, f.OverduePausePenalty)
		c.demerit = in.Complaints + l[3] + l[4]

		total := 0.0
		var parts []string
		for _, p := range c.Components {
			total += p.Points
			parts = append(parts, fmt.Sprintf("%s %s → %.2f 分 × %g%% = %.2f", p.Name, p.Detail, p.Score, p.Weight, p.Points))
		}
		for _, p := range c.Penalties {
			total += p.Points
			if p.Points != 0 {
				parts = append(parts, fmt.Sprintf("%s %d 次 × −%g = −%.2f", p.Name, p.Count, p.Each, -p.Points))
			}
		}
		c.Score = round(total, 2)
		c.Eligible = s.cases >= f.MinCases
		c.Explanation = strings.Join(parts, "；") + fmt.Sprintf("；合计 %.2f", c.Score)
		if !c.Eligible {
			c.Explanation += fmt.Sprintf("（办件少于 %d 件，不参评）", f.MinCases)
		}
		rk.Candidates = append(rk.Candidates, c)
	}
	var unused []string
	for staff := range ext {
		if id, ok := a.ids[staff]; !ok || per[id] == nil {
			unused = append(unused, staff)
		}
	}
	sort.Strings(unused)
	for _, staff := range unused {
		rk.Warnings = append(rk.Warnings, fmt.Sprintf("%s 本季度没有活动记录，其检查/投诉数据未使用", staff))
	}

	sort.SliceStable(rk.Candidates, func(i, j int) bool {
		x, y := rk.Candidates[i], rk.Candidates[j]
		switch {
		case x.Score != y.Score:
			return x.Score > y.Score
		case x.cases != y.cases:
			return x.cases > y.cases
		case x.rate != y.rate:
			return x.rate > y.rate
		case x.demerit != y.demerit:
			return x.demerit < y.demerit
		}
		return x.Staff < y.Staff
	})
	rk.Active = len(rk.Candidates)
	rk.Headcount = max(f.Headcount, rk.Active)
	rk.Quota = rk.Headcount * f.SharePercent / 100
	for i := range rk.Candidates {
		c := &rk.Candidates[i]
		c.Rank = i + 1
		if c.Eligible && len(rk.Named) < rk.Quota {
			c.Named = true
			rk.Named = append(rk.Named, *c)
		}
	}
	return rk
}

func round(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}
