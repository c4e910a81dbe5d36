package stats

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"halld/daemon/config"
)

// WindowFormula is how the monthly and quarterly window ranking (窗口排名) scores a window, after the
// hall's rules: 好差评 (附件4 十二, 第十九条(四)) with 一次一评, 差评 就近从快处置 with a working-day
// deadline, 电子监察 of 办理时间 (附件1 第七条), 坐班制 (附件1 第八条) and 暂离 ≤ 30 分钟 (附件3). Four
// parts are each scored 0–100 and weighted; a window's score is
//
//	Σ weight × part / 100  −  deductions
//
// so with weights summing to 100 (the default) the best is 100. Parts:
//
//   - Satisfaction (满意度): the mean of its ratings' level points, 非常满意 100, 满意 80, 基本满意 60,
//     不满意 20, 非常不满意 0; ratings excluded by an upheld appeal (申诉成立) left out. A mean of levels
//     rather than the 满意率 (usually 98–100 % everywhere) so that the ranking follows the citizens'
//     ratings, not noise.
//   - Participation (参评率): finished visits that were rated (excluded ones included: they were rated),
//     over those rated or 未评价.
//   - Timeliness (办理时效): for each service the window handled, its median service time over the
//     hall's median for that service (all windows, same period), averaged weighted by the window's
//     timed visits: the index. Score 100 × min(1, 1 / index): as fast as the hall's median or faster
//     is 100, twice as slow 50.
//   - Attendance (在岗率): each working day (cfg.IsWorkday) of the period up to now (RankWindowsAt;
//     else the last record) scores min(1, (signed-in − paused time at the window) / the hall's
//     opening minutes that day — today, those so far); the part is their mean.
//
// Deductions: each 差评 not excluded by an appeal, each 差评 follow-up that went overdue, each pause
// past hall.pause_limit (all as of the last record, counted in the period where they began).
//
// Ranked are the windows with at least MinServed finished visits and MinRated ratings per month of
// the period; the others are listed, marked 数据不足, after them. Ties (equal scores to 0.01) are
// broken by the higher satisfaction part, then fewer 差评, fewer overdue follow-ups, more finished
// visits, then the window's number (and id), each tie explained on both windows.
//
// The 连续两月排名末位 mark: a window among the last Bottom ranked windows of two consecutive months
// (for a month: the month before and this one; for a quarter: two consecutive months of it). A
// month counts only with more than 2 × Bottom windows ranked (the foot of a hall of four is half
// of it).
type WindowFormula struct {
	Satisfaction  float64 `json:"satisfaction"`
	Participation float64 `json:"participation"`
	Timeliness    float64 `json:"timeliness"`
	Attendance    float64 `json:"attendance"`

	BadRatingPenalty       float64 `json:"bad_rating_penalty"`
	OverdueFollowUpPenalty float64 `json:"overdue_followup_penalty"`
	OverduePausePenalty    float64 `json:"overdue_pause_penalty"`

	MinServed int `json:"min_served"` // per month
	MinRated  int `json:"min_rated"`  // per month
	Bottom    int `json:"bottom"`
}

// LevelPoints are the 满意度 points of the five levels, in hall.RatingLevels order.
var LevelPoints = [5]float64{100, 80, 60, 20, 0}

// DefaultWindowFormula: 满意度 45, 参评率 10, 办理时效 20, 在岗率 25; −2 per 差评, −5 per overdue
// follow-up, −1 per overdue pause; 20 visits and 10 ratings a month; the last 2 places.
func DefaultWindowFormula() WindowFormula {
	return WindowFormula{Satisfaction: 45, Participation: 10, Timeliness: 20, Attendance: 25,
		BadRatingPenalty: 2, OverdueFollowUpPenalty: 5, OverduePausePenalty: 1,
		MinServed: 20, MinRated: 10, Bottom: 2}
}

// WindowFormulaOf is the formula devices.yaml's ranking section gives: its keys over the defaults.
func WindowFormulaOf(r config.Ranking) WindowFormula {
	f := DefaultWindowFormula()
	set := func(dst *float64, v *int) {
		if v != nil {
			*dst = float64(*v)
		}
	}
	set(&f.Satisfaction, r.Satisfaction)
	set(&f.Participation, r.Participation)
	set(&f.Timeliness, r.Timeliness)
	set(&f.Attendance, r.Attendance)
	set(&f.BadRatingPenalty, r.BadRatingPenalty)
	set(&f.OverdueFollowUpPenalty, r.OverdueFollowUpPenalty)
	set(&f.OverduePausePenalty, r.OverduePausePenalty)
	if r.MinServed != nil {
		f.MinServed = *r.MinServed
	}
	if r.MinRated != nil {
		f.MinRated = *r.MinRated
	}
	if r.Bottom != nil {
		f.Bottom = *r.Bottom
	}
	return f
}

// Validate tells a usable formula.
func (f WindowFormula) Validate() error {
	for _, w := range []struct {
		name string
		v    float64
	}{{"satisfaction", f.Satisfaction}, {"participation", f.Participation}, {"timeliness", f.Timeliness},
		{"attendance", f.Attendance}, {"bad_rating_penalty", f.BadRatingPenalty},
		{"overdue_followup_penalty", f.OverdueFollowUpPenalty}, {"overdue_pause_penalty", f.OverduePausePenalty}} {
		if w.v < 0 || math.IsNaN(w.v) || math.IsInf(w.v, 0) {
			return fmt.Errorf("stats: ranking %s must be a number ≥ 0, got %v", w.name, w.v)
		}
	}
	if f.Satisfaction+f.Participation+f.Timeliness+f.Attendance == 0 {
		return fmt.Errorf("stats: ranking weights are all 0")
	}
	if f.MinServed < 0 || f.MinRated < 0 || f.Bottom < 0 {
		return fmt.Errorf("stats: ranking min_served, min_rated and bottom must be ≥ 0")
	}
	return nil
}

// Text is the formula in one line, in Chinese (for the report's foot).
func (f WindowFormula) Text() string {
	return fmt.Sprintf("总分 = 满意度×%g%% + 参评率×%g%% + 办理时效×%g%% + 在岗率×%g%% - 差评×%g - 整改逾期×%g - 暂离超时×%g"+
		"（满意度：非常满意100、满意80、基本满意60、不满意20、非常不满意0；每月办结不少于%d件且评价不少于%d次方参与排名）",
		f.Satisfaction, f.Participation, f.Timeliness, f.Attendance,
		f.BadRatingPenalty, f.OverdueFollowUpPenalty, f.OverduePausePenalty, f.MinServed, f.MinRated)
}

// Period is a month (2026-11) or a quarter (2026Q4) in the hall's zone.
type Period struct {
	Key    string    // 2026-11 or 2026Q4
	Kind   string    // month or quarter
	From   time.Time // first day, midnight
	To     time.Time // the day after the last, midnight
	Months []string  // the months it covers, 2026-10 …
}

// Name is the period in Chinese: 2026年11月, 2026年第4季度.
func (p Period) Name() string {
	if p.Kind == "quarter" {
		return fmt.Sprintf("%d年第%d季度", p.From.Year(), (int(p.From.Month())-1)/3+1)
	}
	return fmt.Sprintf("%d年%d月", p.From.Year(), int(p.From.Month()))
}

// ParsePeriod reads a month "2026-11" (also "202611") or a quarter "2026Q4" ("2026-Q4", "2026q4").
// Years 2000–2199.
func ParsePeriod(s string, loc *time.Location) (Period, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	bad := fmt.Errorf("stats: period %q: want a month such as 2026-11 or a quarter such as 2026Q4", s)
	if strings.Contains(t, "Q") {
		from, to, err := ParseQuarter(t, loc)
		if err != nil || from.Year() < 2000 || from.Year() > 2199 {
			return Period{}, bad
		}
		p := Period{Key: fmt.Sprintf("%dQ%d", from.Year(), (int(from.Month())-1)/3+1), Kind: "quarter", From: from, To: to}
		for m := from; m.Before(to); m = m.AddDate(0, 1, 0) {
			p.Months = append(p.Months, m.Format("2006-01"))
		}
		return p, nil
	}
	if len(t) == 6 {
		t = t[:4] + "-" + t[4:]
	}
	if len(t) != 7 || t[4] != '-' {
		return Period{}, bad
	}
	y, err1 := strconv.Atoi(t[:4])
	m, err2 := strconv.Atoi(t[5:])
	if err1 != nil || err2 != nil || y < 2000 || y > 2199 || m < 1 || m > 12 {
		return Period{}, bad
	}
	from := time.Date(y, time.Month(m), 1, 0, 0, 0, 0, loc)
	return Period{Key: from.Format("2006-01"), Kind: "month", From: from, To: from.AddDate(0, 1, 0), Months: []string{from.Format("2006-01")}}, nil
}

// WindowRanking is a period's window ranking.
type WindowRanking struct {
	Period  string        `json:"period"` // 2026-11 or 2026Q4
	Kind    string        `json:"kind"`   // month or quarter
	Name    string        `json:"name"`   // 2026年11月
	From    string        `json:"from"`   // first day
	To      string        `json:"to"`     // the day after the last
	Months  []string      `json:"months"`
	Partial bool          `json:"partial"` // the period had not ended at the last record: provisional
	Formula WindowFormula `json:"formula"`
	// FormulaText is the formula in one line; TieRule how equal scores are ordered; MarkRule what the
	// 连续两月排名末位 mark means.
	FormulaText string        `json:"formula_text"`
	TieRule     string        `json:"tie_rule"`
	MarkRule    string        `json:"mark_rule"`
	Workdays    int           `json:"workdays"` // working days counted for attendance
	Ranked      int           `json:"ranked"`   // windows with enough data
	Windows     []WindowScore `json:"windows"`  // ranked ones by rank, then the others by number
	// MonthRanked is how many windows each month (Months and, for a month, the month before) ranked.
	MonthRanked map[string]int `json:"month_ranked"`
	Notes       []string       `json:"notes,omitempty"`
	Seq         uint64         `json:"seq"`
	AsOf        string         `json:"as_of,omitempty"`
	Error       string         `json:"error,omitempty"`
}

// WindowScore is one window's place, score and its parts.
type WindowScore struct {
	Rank         int         `json:"rank"` // 1…; 0 when not ranked
	Window       string      `json:"window"`
	Name         string      `json:"name"`
	Number       int         `json:"number,omitempty"`
	Score        float64     `json:"score"`
	Ranked       bool        `json:"ranked"`
	Insufficient string      `json:"insufficient,omitempty"` // why it is not ranked
	Served       int         `json:"served"`
	Rated        int         `json:"rated"`
	Components   []Component `json:"components"`
	Deductions   []Penalty   `json:"deductions"`
	Tie          string      `json:"tie,omitempty"` // how an equal score was ordered
	Marks        []Mark      `json:"marks"`
	MonthRanks   []MonthRank `json:"month_ranks"` // its place in each month looked at
	Explanation  string      `json:"explanation"`

	sat          float64
	bad, overdue int
}

// Mark is a flag on a window.
type Mark struct {
	Key    string `json:"key"`  // bottom_two_months
	Name   string `json:"name"` // 连续两月排名末位
	Detail string `json:"detail"`
}

// MonthRank is a window's place in one month's ranking.
type MonthRank struct {
	Month  string `json:"month"`
	Rank   int    `json:"rank"` // 0: not ranked that month
	Of     int    `json:"of"`
	Bottom bool   `json:"bottom"`
}

// MarkBottomTwoMonths is the key of the 连续两月排名末位 mark.
const MarkBottomTwoMonths = "bottom_two_months"

type winAcc struct {
	served, timed int
	times         map[uint16][]float32
	levels        [5]int
	excluded      int
	unrated       int
	fuOverdue     int
	pauseOverdue  int
	presence      map[int32]float64 // seconds signed in, by day
	paused        map[int32]float64 // seconds paused, by day
}

// monthAcc is one month's facts by window, and the hall's service times.
type monthAcc struct {
	lo, hi int32
	wins   map[uint16]*winAcc
	hall   map[uint16][]float32
}

func (m *monthAcc) win(id uint16) *winAcc {
	w := m.wins[id]
	if w == nil {
		w = &winAcc{times: map[uint16][]float32{}, presence: map[int32]float64{}, paused: map[int32]float64{}}
		m.wins[id] = w
	}
	return w
}

// RankWindows ranks the windows for period (a month or a quarter) with formula f, as of the last
// record folded. A bad period or formula gives a WindowRanking with Error set.
func (a *Aggregator) RankWindows(period string, f WindowFormula) WindowRanking {
	return a.RankWindowsAt(period, f, time.Time{})
}

// RankWindowsAt is RankWindows as of now (the hall's clock; zero: the last record): whether the
// period is over, and how much of today's opening hours attendance counts, go by it — a hall that
// fell quiet on the last day of a month has still finished that month.
func (a *Aggregator) RankWindowsAt(period string, f WindowFormula, now time.Time) WindowRanking {
	ref := a.last
	if !now.IsZero() && now.After(ref) {
		ref = now.In(a.loc)
	}
	rk := WindowRanking{Period: period, Formula: f, Seq: a.seq, Windows: []WindowScore{}, MonthRanked: map[string]int{},
		TieRule:  "同分（精确到0.01）时依次比较：满意度得分高者在前、差评少者在前、整改逾期少者在前、办结件数多者在前、窗口号小者在前",
		MarkRule: fmt.Sprintf("连续两个月均处于当月参与排名窗口的最后%d名（当月参与排名的窗口须多于%d个）", f.Bottom, 2*f.Bottom)}
	if !a.last.IsZero() {
		rk.AsOf = a.last.Format(stampLayout)
	}
	p, err := ParsePeriod(period, a.loc)
	if err == nil {
		err = f.Validate()
	}
	if err != nil {
		rk.Error = err.Error()
		return rk
	}
	rk.Period, rk.Kind, rk.Name, rk.Months, rk.FormulaText = p.Key, p.Kind, p.Name(), p.Months, f.Text()
	lo, hi := a.dayOf(p.From), a.dayOf(p.To)
	rk.From, rk.To = dayString(lo), dayString(hi)
	rk.Partial = ref.IsZero() || a.dayOf(ref) < hi

	// The months to fold: the period's, and for a month the one before (for the mark).
	var months []*monthAcc
	var names []string
	start := p.From
	if p.Kind == "month" {
		start = p.From.AddDate(0, -1, 0)
	}
	for m := start; m.Before(p.To); m = m.AddDate(0, 1, 0) {
		months = append(months, &monthAcc{lo: a.dayOf(m), hi: a.dayOf(m.AddDate(0, 1, 0)), wins: map[uint16]*winAcc{}, hall: map[uint16][]float32{}})
		names = append(names, m.Format("2006-01"))
	}
	a.scan(months[0].lo, hi, -1, -1, -1, func(x *fact, val float32) {
		if x.win == 0 {
			return
		}
		var m *monthAcc
		for _, c := range months {
			if x.day >= c.lo && x.day < c.hi {
				m = c
				break
			}
		}
		if m == nil {
			return
		}
		w := m.win(x.win)
		switch x.kind {
		case kServed, kTransfer:
			if x.kind == kServed || x.flags&fDur != 0 {
				w.served++
			}
			if x.flags&fDur != 0 {
				w.timed++
				w.times[x.svc] = append(w.times[x.svc], val)
				m.hall[x.svc] = append(m.hall[x.svc], val)
			}
		case kRating:
			if x.flags&fExcluded != 0 {
				w.excluded++
			} else {
				w.levels[x.level]++
			}
		case kTimeout:
			if x.flags&fExcluded == 0 {
				w.unrated++
			}
		case kFollowUp:
			if x.flags&fOverdue != 0 && x.flags&fExcluded == 0 {
				w.fuOverdue++
			}
		case kPause:
			w.paused[x.day] += float64(val)
			if x.flags&fOverdue != 0 {
				w.pauseOverdue++
			}
		case kPresence:
			w.presence[x.day] += float64(val)
		}
	})

	// The windows: configured ones, and any others that have facts in these months.
	winSet := map[uint16]bool{}
	var order []uint16
	for _, cw := range a.cfg.Windows { // first, in config order (windowLabel relies on it)
		id, ok := a.ids[cw.ID]
		if !ok {
			id = maxIDs // no facts name it (yet): a row all the same
		}
		winSet[id] = true
		order = append(order, id)
	}
	for _, m := range months {
		for id := range m.wins {
			if !winSet[id] {
				winSet[id] = true
				order = append(order, id)
			}
		}
	}

	// Each month on its own (for the mark), then the period (the merged months).
	monthly := map[string][]WindowScore{}
	first := 0
	if p.Kind == "month" {
		first = 1 // months[0] is the month before
	}
	for i, m := range months {
		if p.Kind == "month" && i == first {
			continue // the period itself, below
		}
		ws, _ := a.scoreWindows(order, []*monthAcc{m}, f, ref)
		monthly[names[i]] = ws
	}
	ws, workdays := a.scoreWindows(order, months[first:], f, ref)
	if p.Kind == "month" {
		monthly[names[first]] = ws
	}
	rk.Workdays = workdays

	// Places by month.
	type place struct{ rank, of int }
	places := map[string]map[string]place{}
	bottoms := map[string]map[string]bool{}
	for _, mn := range names {
		list := monthly[mn]
		n := 0
		for _, w := range list {
			if w.Ranked {
				n++
			}
		}
		rk.MonthRanked[mn] = n
		places[mn] = map[string]place{}
		bottoms[mn] = map[string]bool{}
		for _, w := range list {
			if w.Ranked {
				places[mn][w.Window] = place{w.Rank, n}
				if f.Bottom > 0 && n > 2*f.Bottom && w.Rank > n-f.Bottom {
					bottoms[mn][w.Window] = true
				}
			}
		}
		if f.Bottom > 0 && n > 0 && n <= 2*f.Bottom {
			rk.Notes = append(rk.Notes, fmt.Sprintf("%s 参与排名的窗口只有 %d 个（不多于 %d 个），该月不计末位", mn, n, 2*f.Bottom))
		}
	}
	for i := range ws {
		w := &ws[i]
		for _, mn := range names {
			pl := places[mn][w.Window]
			w.MonthRanks = append(w.MonthRanks, MonthRank{Month: mn, Rank: pl.rank, Of: pl.of, Bottom: bottoms[mn][w.Window]})
		}
		for j := 1; j < len(names); j++ {
			a1, a2 := names[j-1], names[j]
			if bottoms[a1][w.Window] && bottoms[a2][w.Window] {
				p1, p2 := places[a1][w.Window], places[a2][w.Window]
				w.Marks = append(w.Marks, Mark{Key: MarkBottomTwoMonths, Name: "连续两月排名末位",
					Detail: fmt.Sprintf("%s 第 %d/%d 名、%s 第 %d/%d 名", a1, p1.rank, p1.of, a2, p2.rank, p2.of)})
				break
			}
		}
		if w.Marks == nil {
			w.Marks = []Mark{}
		}
	}
	if p.Kind == "month" && rk.MonthRanked[names[0]] == 0 {
		rk.Notes = append(rk.Notes, fmt.Sprintf("上月（%s）没有可排名的窗口数据，本月不判定连续两月末位", names[0]))
	}
	if rk.Partial {
		rk.Notes = append(rk.Notes, "本期尚未结束，排名为截至数据时间的临时结果")
	}
	rk.Windows = ws
	for _, w := range ws {
		if w.Ranked {
			rk.Ranked++
		}
	}
	return rk
}

// scoreWindows scores and orders the windows over the months ms (merged); it returns the scores
// (ranked ones first, by rank) and the working days counted.
func (a *Aggregator) scoreWindows(order []uint16, ms []*monthAcc, f WindowFormula, ref time.Time) ([]WindowScore, int) {
	months := len(ms)
	merged := map[uint16]*winAcc{}
	hallTimes := map[uint16][]float32{}
	for _, m := range ms {
		for svc, xs := range m.hall {
			hallTimes[svc] = append(hallTimes[svc], xs...)
		}
		for id, w := range m.wins {
			t := merged[id]
			if t == nil {
				t = &winAcc{times: map[uint16][]float32{}, presence: map[int32]float64{}, paused: map[int32]float64{}}
				merged[id] = t
			}
			t.served += w.served
			t.timed += w.timed
			for svc, xs := range w.times {
				t.times[svc] = append(t.times[svc], xs...)
			}
			for i := range w.levels {
				t.levels[i] += w.levels[i]
			}
			t.excluded += w.excluded
			t.unrated += w.unrated
			t.fuOverdue += w.fuOverdue
			t.pauseOverdue += w.pauseOverdue
			for d, v := range w.presence {
				t.presence[d] += v
			}
			for d, v := range w.paused {
				t.paused[d] += v
			}
		}
	}
	hallMedian := map[uint16]float64{}
	for svc, xs := range hallTimes {
		hallMedian[svc] = quantile(append([]float32(nil), xs...), 0.5)
	}

	// Working days and their opening minutes, up to ref (on its day, the minutes open so far).
	type wd struct {
		day  int32
		open float64 // seconds
	}
	var days []wd
	lastDay := int32(math.MinInt32)
	lastMin := 0
	if !ref.IsZero() {
		lastDay = a.dayOf(ref)
		lastMin = ref.Hour()*60 + ref.Minute()
	}
	for _, m := range ms {
		for d := m.lo; d < m.hi && d <= lastDay; d++ {
			t := a.dayTime(d)
			if !a.cfg.IsWorkday(t) {
				continue
			}
			openAt, closeAt, mins := a.cfg.OpeningSpan(t)
			if d == lastDay && lastMin < closeAt { // today, still open: the hours so far
				mins = min(mins, lastMin-openAt)
			}
			if mins <= 0 {
				continue
			}
			days = append(days, wd{d, float64(mins) * 60})
		}
	}

	out := make([]WindowScore, 0, len(order))
	for i, id := range order {
		wid, name, number := a.windowLabel(id, i)
		w := merged[id]
		if w == nil {
			w = &winAcc{times: map[uint16][]float32{}, presence: map[int32]float64{}, paused: map[int32]float64{}}
		}
		l := w.levels
		rated := l[0] + l[1] + l[2] + l[3] + l[4]
		s := WindowScore{Window: wid, Name: name, Number: number, Served: w.served, Rated: rated,
			bad: l[3] + l[4], overdue: w.fuOverdue}
		comp := func(key, name string, value float64, detail string, score, weight float64) {
			score = round(math.Max(0, math.Min(100, score)), 2)
			s.Components = append(s.Components, Component{Key: key, Name: name, Value: value, Detail: detail,
				Score: score, Weight: weight, Points: round(weight*score/100, 2)})
		}
		// 满意度
		if rated > 0 {
			sum := 0.0
			for i, n := range l {
				sum += float64(n) * LevelPoints[i]
			}
			s.sat = sum / float64(rated)
			comp("satisfaction", "满意度", round(s.sat, 2), fmt.Sprintf("非常满意%d 满意%d 基本满意%d 不满意%d 非常不满意%d，均分 %.2f", l[0], l[1], l[2], l[3], l[4], s.sat), s.sat, f.Satisfaction)
		} else {
			comp("satisfaction", "满意度", 0, "无有效评价", 0, f.Satisfaction)
		}
		// 参评率
		if n := rated + w.excluded + w.unrated; n > 0 {
			r := float64(rated+w.excluded) / float64(n)
			comp("participation", "参评率", round(r, 4), fmt.Sprintf("评价 %d / %d 件（未评价 %d）", rated+w.excluded, n, w.unrated), 100*r, f.Participation)
		} else {
			comp("participation", "参评率", 0, "无办结评价记录", 0, f.Participation)
		}
		// 办理时效
		num, den := 0.0, 0
		svcs := make([]int, 0, len(w.times))
		for svc := range w.times {
			svcs = append(svcs, int(svc))
		}
		sort.Ints(svcs)
		for _, svc := range svcs {
			xs := w.times[uint16(svc)]
			if m := hallMedian[uint16(svc)]; m > 0 {
				num += float64(len(xs)) * quantile(xs, 0.5) / m
				den += len(xs)
			}
		}
		if den > 0 {
			idx := num / float64(den)
			sc := 100.0
			if idx > 1 {
				sc = 100 / idx
			}
			comp("timeliness", "办理时效", round(idx, 4), fmt.Sprintf("办理时长中位数为全厅同业务中位数的 %.2f 倍", idx), sc, f.Timeliness)
		} else {
			comp("timeliness", "办理时效", 0, "无计时办件", 0, f.Timeliness)
		}
		// 在岗率
		if len(days) > 0 {
			sum := 0.0
			for _, d := range days {
				sum += math.Min(1, math.Max(0, w.presence[d.day]-w.paused[d.day])/d.open)
			}
			r := sum / float64(len(days))
			comp("attendance", "在岗率", round(r, 4), fmt.Sprintf("统计 %d 个工作日的开放时间，在岗（扣除暂停）平均 %.1f%%", len(days), 100*r), 100*r, f.Attendance)
		} else {
			comp("attendance", "在岗率", 0, "期内尚无开放过的工作日", 0, f.Attendance)
		}
		pen := func(key, name string, n int, each float64) {
			pts := 0.0 // never −0
			if n > 0 && each > 0 {
				pts = round(-float64(n)*each, 2)
			}
			s.Deductions = append(s.Deductions, Penalty{Key: key, Name: name, Count: n, Each: each, Points: pts})
		}
		pen("bad_ratings", "差评", s.bad, f.BadRatingPenalty)
		pen("overdue_followups", "整改逾期", w.fuOverdue, f.OverdueFollowUpPenalty)
		pen("overdue_pauses", "暂离超时", w.pauseOverdue, f.OverduePausePenalty)

		total := 0.0
		var parts []string
		for _, c := range s.Components {
			total += c.Points
			parts = append(parts, fmt.Sprintf("%s %.2f×%g%%=%.2f", c.Name, c.Score, c.Weight, c.Points))
		}
		for _, d := range s.Deductions {
			total += d.Points
			if d.Points != 0 {
				parts = append(parts, fmt.Sprintf("%s %d次×%g=%.2f", d.Name, d.Count, d.Each, d.Points))
			}
		}
		s.Score = round(total, 2)
		s.Explanation = strings.Join(parts, "；") + fmt.Sprintf("；合计 %.2f", s.Score)
		needServed, needRated := f.MinServed*months, f.MinRated*months
		switch {
		case w.served < needServed && rated < needRated:
			s.Insufficient = fmt.Sprintf("数据不足：办结 %d 件（需 %d）、评价 %d 次（需 %d）", w.served, needServed, rated, needRated)
		case w.served < needServed:
			s.Insufficient = fmt.Sprintf("数据不足：办结 %d 件（需 %d）", w.served, needServed)
		case rated < needRated:
			s.Insufficient = fmt.Sprintf("数据不足：评价 %d 次（需 %d）", rated, needRated)
		default:
			s.Ranked = true
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if x.Ranked != y.Ranked {
			return x.Ranked
		}
		if !x.Ranked { // not ranked: by number, then id
			if x.Number != y.Number {
				return x.Number < y.Number
			}
			return x.Window < y.Window
		}
		return tieCriterion(x, y) < 0
	})
	rank := 0
	for i := range out {
		if !out[i].Ranked {
			continue
		}
		rank++
		out[i].Rank = rank
	}
	for i := 1; i < len(out); i++ {
		x, y := &out[i-1], &out[i]
		if !x.Ranked || !y.Ranked || x.Score != y.Score {
			continue
		}
		why := tieReason(*x, *y)
		add := func(w *WindowScore, s string) {
			if w.Tie != "" {
				w.Tie += "；"
			}
			w.Tie += s
		}
		add(x, fmt.Sprintf("与%s同分（%.2f），%s，排其前", y.Name, x.Score, why))
		add(y, fmt.Sprintf("与%s同分（%.2f），%s，排其后", x.Name, y.Score, why))
	}
	return out, len(days)
}

// tieCriterion orders two ranked windows: negative when x goes first.
func tieCriterion(x, y WindowScore) int {
	switch {
	case x.Score != y.Score:
		return cmpDesc(x.Score, y.Score)
	case round(x.sat, 6) != round(y.sat, 6):
		return cmpDesc(x.sat, y.sat)
	case x.bad != y.bad:
		return x.bad - y.bad
	case x.overdue != y.overdue:
		return x.overdue - y.overdue
	case x.Served != y.Served:
		return y.Served - x.Served
	case x.Number != y.Number:
		return x.Number - y.Number
	}
	return strings.Compare(x.Window, y.Window)
}

// tieReason words what put x (first) before y when their scores are equal.
func tieReason(x, y WindowScore) string {
	switch {
	case round(x.sat, 6) != round(y.sat, 6):
		return fmt.Sprintf("满意度均分较高（%.2f 对 %.2f）", x.sat, y.sat)
	case x.bad != y.bad:
		return fmt.Sprintf("差评较少（%d 对 %d）", x.bad, y.bad)
	case x.overdue != y.overdue:
		return fmt.Sprintf("整改逾期较少（%d 对 %d）", x.overdue, y.overdue)
	case x.Served != y.Served:
		return fmt.Sprintf("办结件数较多（%d 对 %d）", x.Served, y.Served)
	case x.Number != y.Number:
		return fmt.Sprintf("其余相同，窗口号较小（%d 对 %d）", x.Number, y.Number)
	}
	return "其余相同，按窗口编号"
}

func cmpDesc(x, y float64) int {
	if x > y {
		return -1
	}
	return 1
}

// windowLabel is the id, display name and number of the window at order index i.
func (a *Aggregator) windowLabel(id uint16, i int) (string, string, int) {
	var s string
	if id == maxIDs { // a configured window with no facts: its id is the config's
		s = a.cfg.Windows[i].ID
	} else {
		s = a.names[id]
	}
	name, number := "", 0
	if cw, ok := a.cfg.Window(s); ok {
		name, number = cw.Name, cw.Number
	}
	if name == "" && id != maxIDs {
		name = a.label[id]
	}
	if name == "" {
		name = s
	}
	return s, name, number
}

// RankWindows ranks the windows for a month or a quarter over what has been folded so far, as of
// now (zero: the last record).
func (l *Live) RankWindows(period string, f WindowFormula, now time.Time) WindowRanking {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.agg.RankWindowsAt(period, f, now)
}
