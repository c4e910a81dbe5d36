package stats

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"halld/daemon/config"
	"halld/daemon/hall"
)

// rankHall has n windows w1…wn of one service, open Mon–Fri 09:00–17:00 (480 minutes), no holidays.
func rankHall(t *testing.T, n int, extra string) *config.Config {
	t.Helper()
	var b strings.Builder
	b.WriteString(`
hall:
  id: rank-hall
  name: 排名测试大厅
  timezone: Asia/Shanghai
  opening_hours: [{days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}]
services:
  - {id: biz, prefix: A, name: 企业开办}
windows:
`)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  - {id: w%d, number: %d, services: [{service: biz}]}\n", i, i)
	}
	b.WriteString(extra)
	cfg, err := config.Parse("rank.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// winDay is one window's day: signed in from 09:00 to 17:00 (unless absent), cases from 09:00 every
// 30 minutes, each with its service time and rating ("" = 未评价), and an optional overdue pause.
type winDay struct {
	absent   bool
	service  []time.Duration
	levels   []string
	pause40  bool   // a 40-minute pause at 14:00 (overdue at 30)
	overdue  string // the level whose 差评 follow-up goes overdue
	openBads bool   // open follow-ups for 差评
}

func (g *gen) windowDay(t *testing.T, day string, win string, d winDay) {
	t.Helper()
	at := func(hm string) time.Time {
		x, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hm, g.cfg.Location)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	staff := "s-" + win
	if d.absent {
		return
	}
	g.signIn(at("09:00"), win, staff)
	for c, svc := range d.service {
		lvl := d.levels[c]
		g.serve(ticket{at: at("09:00").Add(time.Duration(c) * 30 * time.Minute).Add(-time.Minute), svc: "biz", win: win, staff: staff,
			wait: time.Minute, service: svc, level: lvl, openFollow: d.openBads || (d.overdue != "" && lvl == d.overdue)})
		if d.overdue != "" && lvl == d.overdue {
			g.emit(at("16:00"), hall.TypeFollowUpOverdue, &hall.FollowUpOverdue{ID: fmt.Sprintf("fu-%d", g.visit), Stage: hall.StageOpen})
		}
	}
	if d.pause40 {
		g.pause(at("14:00"), win, staff, 40*time.Minute)
	}
	g.signOut(at("17:00"), win, staff)
}

func rep(n int, d time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func levels(xs ...string) []string { return xs }

func times(n int, s string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

const (
	vs  = "非常满意"
	sat = "满意"
	bs  = "基本满意"
	ds  = "不满意"
)

// rankFixture: six windows. October 2026 (Mon 10-12 only): w1, w2, w4 all 非常满意, w3 满意,
// w5 不满意 — so October's foot is w3 (4th) and w5 (5th). November so far (Mon 11-02 with the cases,
// Tue 11-03 only signed in, the last record at 17:00 that day):
//
//	w1: 4 × 600 s, 非常满意 ×4                 → 满意度 100, 参评率 1, 时效 1×, 在岗 1
//	w2: 5 × 600 s, 非常满意 满意 满意 非常满意, 1 未评价 → 满意度 90, 参评率 0.8
//	w3: 4 × 1200 s, 非常满意 ×4                → 时效 2× the hall's median (600 s) → 50
//	w4: 4 × 600 s, 满意 ×4, a 40-minute pause  → 满意度 80; 在岗 (440/480 + 1)/2; −1 暂离超时
//	w5: 4 × 600 s, 非常满意 ×3 + 不满意 whose follow-up is overdue; absent 11-03
//	                                            → 满意度 80, 在岗 0.5, −2 差评, −5 整改逾期
//	w6: 1 case                                  → 数据不足 (min_served 2 a month)
func rankFixture(t *testing.T) *Aggregator {
	cfg := rankHall(t, 6, "")
	g := newGen(cfg)
	oct := map[string]winDay{
		"w1": {service: rep(4, 600*time.Second), levels: times(4, vs)},
		"w2": {service: rep(4, 600*time.Second), levels: times(4, vs)},
		"w3": {service: rep(4, 600*time.Second), levels: times(4, sat)},
		"w4": {service: rep(4, 600*time.Second), levels: times(4, vs)},
		"w5": {service: rep(4, 600*time.Second), levels: times(4, ds)},
	}
	for _, w := range []string{"w1", "w2", "w3", "w4", "w5"} {
		g.windowDay(t, "2026-10-12", w, oct[w])
	}
	g.flush()
	nov := map[string]winDay{
		"w1": {service: rep(4, 600*time.Second), levels: times(4, vs)},
		"w2": {service: rep(5, 600*time.Second), levels: levels(vs, sat, sat, vs, "")},
		"w3": {service: rep(4, 1200*time.Second), levels: times(4, vs)},
		"w4": {service: rep(4, 600*time.Second), levels: times(4, sat), pause40: true},
		"w5": {service: rep(4, 600*time.Second), levels: levels(vs, vs, ds, vs), overdue: ds},
		"w6": {service: rep(1, 600*time.Second), levels: times(1, vs)},
	}
	for _, w := range []string{"w1", "w2", "w3", "w4", "w5", "w6"} {
		g.windowDay(t, "2026-11-02", w, nov[w])
	}
	for _, w := range []string{"w1", "w2", "w3", "w4", "w6"} {
		g.windowDay(t, "2026-11-03", w, winDay{})
	}
	g.flush()
	return fold(t, cfg, g.recs)
}

func testFormula() WindowFormula {
	f := DefaultWindowFormula()
	f.MinServed, f.MinRated = 2, 2
	return f
}

func byWindow(t *testing.T, rk WindowRanking, id string) WindowScore {
	t.Helper()
	for _, w := range rk.Windows {
		if w.Window == id {
			return w
		}
	}
	t.Fatalf("no window %s in %+v", id, rk.Windows)
	return WindowScore{}
}

func parts(w WindowScore) map[string]float64 {
	m := map[string]float64{}
	for _, c := range w.Components {
		m[c.Key] = c.Points
	}
	for _, d := range w.Deductions {
		m[d.Key] = d.Points
	}
	return m
}

// TestRankWindowsHandComputed checks each window's parts and score against the fixture's
// hand-computed values (default weights 45/10/20/25, −2/−5/−1).
func TestRankWindowsHandComputed(t *testing.T) {
	a := rankFixture(t)
	rk := a.RankWindows("2026-11", testFormula())
	if rk.Error != "" {
		t.Fatal(rk.Error)
	}
	eq(t, "period", [4]string{rk.Period, rk.Kind, rk.From, rk.To}, [4]string{"2026-11", "month", "2026-11-01", "2026-12-01"})
	eq(t, "partial", rk.Partial, true)
	eq(t, "workdays (11-02 and 11-03, closed at the last record)", rk.Workdays, 2)
	want := map[string]struct {
		score float64
		parts map[string]float64
	}{
		// 45 + 10 + 20 + 25
		"w1": {100, map[string]float64{"satisfaction": 45, "participation": 10, "timeliness": 20, "attendance": 25}},
		// 45×90% = 40.5; 10×80% = 8
		"w2": {93.5, map[string]float64{"satisfaction": 40.5, "participation": 8, "timeliness": 20, "attendance": 25}},
		// 20 × 100/2 = 10
		"w3": {90, map[string]float64{"satisfaction": 45, "participation": 10, "timeliness": 10, "attendance": 25}},
		// 45×80% = 36; 在岗 ((480−40)/480 + 1)/2 = 95.83 % → 25×95.83% = 23.96; −1
		"w4": {88.96, map[string]float64{"satisfaction": 36, "participation": 10, "timeliness": 20, "attendance": 23.96, "overdue_pauses": -1}},
		// (3×100 + 20)/4 = 80 → 36; 在岗 (1 + 0)/2 → 12.5; −2 −5
		"w5": {71.5, map[string]float64{"satisfaction": 36, "participation": 10, "timeliness": 20, "attendance": 12.5, "bad_ratings": -2, "overdue_followups": -5}},
	}
	for id, wnt := range want {
		w := byWindow(t, rk, id)
		eq(t, id+" score", w.Score, wnt.score)
		got := parts(w)
		for k, v := range wnt.parts {
			eq(t, id+" "+k, got[k], v)
		}
		for k, v := range got {
			if _, ok := wnt.parts[k]; !ok && v != 0 {
				t.Errorf("%s %s = %v, want 0", id, k, v)
			}
		}
	}
	var order []string
	for _, w := range rk.Windows {
		order = append(order, fmt.Sprintf("%s:%d", w.Window, w.Rank))
	}
	eq(t, "order", strings.Join(order, " "), "w1:1 w2:2 w3:3 w4:4 w5:5 w6:0")
	w6 := byWindow(t, rk, "w6")
	if w6.Ranked || w6.Rank != 0 || !strings.Contains(w6.Insufficient, "数据不足") {
		t.Errorf("w6 = %+v, want not ranked, 数据不足", w6)
	}
	eq(t, "ranked", rk.Ranked, 5)
	// The breakdown says what each part is made of.
	w5 := byWindow(t, rk, "w5")
	for _, d := range w5.Deductions {
		if d.Key == "overdue_followups" && (d.Count != 1 || d.Each != 5) {
			t.Errorf("w5 overdue follow-ups = %+v", d)
		}
	}
	if !strings.Contains(rk.FormulaText, "满意度×45%") || !strings.Contains(rk.FormulaText, "整改逾期×5") {
		t.Errorf("formula text %q", rk.FormulaText)
	}
	// The same journal folded again gives the same ranking (a restart).
	b := rankFixture(t)
	x, _ := json.Marshal(rk)
	y, _ := json.Marshal(b.RankWindows("2026-11", testFormula()))
	if string(x) != string(y) {
		t.Error("the same journal ranks differently")
	}
}

// TestRankWindowsBottomTwoMonths: October's foot is w3, w5; November's w4, w5: only w5 is marked.
func TestRankWindowsBottomTwoMonths(t *testing.T) {
	a := rankFixture(t)
	rk := a.RankWindows("2026-11", testFormula())
	eq(t, "month ranked", rk.MonthRanked, map[string]int{"2026-10": 5, "2026-11": 5})
	for _, w := range rk.Windows {
		marked := len(w.Marks) > 0
		if marked != (w.Window == "w5") {
			t.Errorf("%s marks = %+v", w.Window, w.Marks)
		}
	}
	w5 := byWindow(t, rk, "w5")
	eq(t, "w5 mark", w5.Marks[0], Mark{Key: MarkBottomTwoMonths, Name: "连续两月排名末位", Detail: "2026-10 第 5/5 名、2026-11 第 5/5 名"})
	eq(t, "w5 months", w5.MonthRanks, []MonthRank{{"2026-10", 5, 5, true}, {"2026-11", 5, 5, true}})
	eq(t, "w4 months", byWindow(t, rk, "w4").MonthRanks, []MonthRank{{"2026-10", 3, 5, false}, {"2026-11", 4, 5, true}})
	eq(t, "w3 months", byWindow(t, rk, "w3").MonthRanks, []MonthRank{{"2026-10", 4, 5, true}, {"2026-11", 3, 5, false}})

	// October alone has no month before it with data: nobody is marked.
	oct := a.RankWindows("2026-10", testFormula())
	for _, w := range oct.Windows {
		if len(w.Marks) > 0 {
			t.Errorf("October: %s marked %+v", w.Window, w.Marks)
		}
	}
	eq(t, "October partial", oct.Partial, false)

	// The quarter: two consecutive months of it (10, 11) put w5 at the foot.
	q := a.RankWindows("2026Q4", testFormula())
	if q.Error != "" {
		t.Fatal(q.Error)
	}
	eq(t, "quarter months", q.Months, []string{"2026-10", "2026-11", "2026-12"})
	for _, w := range q.Windows {
		if (len(w.Marks) > 0) != (w.Window == "w5") {
			t.Errorf("quarter: %s marks = %+v", w.Window, w.Marks)
		}
	}
	// A quarter needs min_served × 3: w1…w5 served 8 or 9, w6 1.
	eq(t, "quarter ranked", q.Ranked, 5)

	// With more places at the foot than the hall can bear (bottom 3 of 5 ranked), no month counts.
	f := testFormula()
	f.Bottom = 3
	none := a.RankWindows("2026-11", f)
	for _, w := range none.Windows {
		if len(w.Marks) > 0 {
			t.Errorf("bottom 3 of 5: %s marked", w.Window)
		}
	}
	if len(none.Notes) == 0 || !strings.Contains(strings.Join(none.Notes, " "), "不计末位") {
		t.Errorf("notes %q", none.Notes)
	}
}

// TestRankWindowsTies: wA and wC did the same (98.00 each); wB scores 98.00 too with a lower
// 满意度 and a full 参评率. wA goes before wB by 满意度, and before wC by its number.
func TestRankWindowsTies(t *testing.T) {
	cfg := rankHall(t, 3, "")
	g := newGen(cfg)
	// w1 (A) and w3 (C): 5 cases, 4 非常满意 and one 未评价: 45 + 8 + 20 + 25 = 98.
	// w2 (B): 9 cases, 8 非常满意 + 1 基本满意: (800+60)/9 = 95.56 → 45×95.56% = 43.00; + 10 + 20 + 25 = 98.
	days := map[string]winDay{
		"w1": {service: rep(5, 600*time.Second), levels: levels(vs, vs, vs, vs, "")},
		"w2": {service: rep(9, 600*time.Second), levels: append(times(8, vs), bs)},
		"w3": {service: rep(5, 600*time.Second), levels: levels(vs, vs, vs, vs, "")},
	}
	for _, w := range []string{"w3", "w2", "w1"} { // journal order must not matter
		g.windowDay(t, "2026-11-02", w, days[w])
	}
	g.flush()
	a := fold(t, cfg, g.recs)
	rk := a.RankWindows("2026-11", testFormula())
	var order []string
	for _, w := range rk.Windows {
		order = append(order, w.Window)
		eq(t, w.Window+" score", w.Score, 98.0)
	}
	eq(t, "order", order, []string{"w1", "w3", "w2"})
	w1, w3, w2 := rk.Windows[0], rk.Windows[1], rk.Windows[2]
	if !strings.Contains(w1.Tie, "与3号窗口同分") || !strings.Contains(w1.Tie, "窗口号较小") {
		t.Errorf("w1 tie %q", w1.Tie)
	}
	if !strings.Contains(w3.Tie, "与1号窗口同分") || !strings.Contains(w3.Tie, "与2号窗口同分") || !strings.Contains(w3.Tie, "满意度均分较高（100.00 对 95.56）") {
		t.Errorf("w3 tie %q", w3.Tie)
	}
	if !strings.Contains(w2.Tie, "排其后") {
		t.Errorf("w2 tie %q", w2.Tie)
	}
	if !strings.Contains(rk.TieRule, "满意度得分高者在前") {
		t.Errorf("tie rule %q", rk.TieRule)
	}
}

func TestParsePeriod(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	for in, want := range map[string]string{"2026-11": "2026-11 month 2026-11-01", "202611": "2026-11 month 2026-11-01",
		"2026Q4": "2026Q4 quarter 2026-10-01", "2026-q1": "2026Q1 quarter 2026-01-01"} {
		p, err := ParsePeriod(in, loc)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		eq(t, in, p.Key+" "+p.Kind+" "+p.From.Format(time.DateOnly), want)
	}
	for _, bad := range []string{"", "2026", "2026-13", "2026-00", "2026Q5", "1999-01", "2026-11-01", "abc", "2026-1"} {
		if _, err := ParsePeriod(bad, loc); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestWindowFormulaOfConfig: devices.yaml's ranking keys override the defaults, 0 included; absent
// ones keep them.
func TestWindowFormulaOfConfig(t *testing.T) {
	eq(t, "no ranking section", WindowFormulaOf(rankHall(t, 1, "").Ranking), DefaultWindowFormula())
	cfg := rankHall(t, 1, "ranking: {satisfaction: 60, participation: 0, overdue_followup_penalty: 10, min_served: 5, bottom: 1}\n")
	f := WindowFormulaOf(cfg.Ranking)
	want := DefaultWindowFormula()
	want.Satisfaction, want.Participation, want.OverdueFollowUpPenalty, want.MinServed, want.Bottom = 60, 0, 10, 5, 1
	eq(t, "formula", f, want)
	if _, err := config.Parse("x.yaml", []byte(strings.Replace(
		"hall: {id: h, name: H, opening_hours: [{days: [mon], open: \"09:00\", close: \"17:00\"}]}\nranking: {satisfaction: 0, participation: 0, timeliness: 0, attendance: 0}\n",
		"\n", "\n", -1))); err == nil || !strings.Contains(err.Error(), "ranking") {
		t.Errorf("all-zero weights: %v", err)
	}
	if _, err := config.Parse("x.yaml", []byte("hall: {id: h, name: H, opening_hours: [{days: [mon], open: \"09:00\", close: \"17:00\"}]}\nranking: {satisfaction: 101}\n")); err == nil || !strings.Contains(err.Error(), "ranking.satisfaction") {
		t.Errorf("101: %v", err)
	}
}

// TestRankWindowsAttendanceToday: on the day of the last record the opening hours so far count, so a
// ranking looked at at 13:00 does not hold the afternoon against anyone. w1 was at its window
// 09:00–13:00 (4 of the 4 hours so far), w2 from 11:00 and still is (2 of 4).
func TestRankWindowsAttendanceToday(t *testing.T) {
	cfg := rankHall(t, 2, "")
	g := newGen(cfg)
	at := func(hm string) time.Time {
		x, _ := time.ParseInLocation("2006-01-02 15:04", "2026-12-01 "+hm, cfg.Location)
		return x
	}
	g.signIn(at("09:00"), "w1", "s1")
	g.signIn(at("11:00"), "w2", "s2")
	g.signOut(at("13:00"), "w1", "s1")
	g.flush()
	rk := fold(t, cfg, g.recs).RankWindows("2026-12", testFormula()) // Tuesday 12-01 is its first working day
	eq(t, "workdays", rk.Workdays, 1)
	for id, want := range map[string]float64{"w1": 1, "w2": 0.5} {
		for _, c := range byWindow(t, rk, id).Components {
			if c.Key == "attendance" {
				eq(t, id+" attendance", c.Value, want)
			}
		}
	}
}

// TestRankWindowsAtTheHallsClock: the journal's last record is Monday 11-02 17:00, but the hall's
// clock says 12-01: November is over (not provisional) and all its 21 working days count, so a
// window present on one of them is at 1/21 — a quiet end of month is not a shorter month.
func TestRankWindowsAtTheHallsClock(t *testing.T) {
	cfg := rankHall(t, 1, "")
	g := newGen(cfg)
	g.windowDay(t, "2026-11-02", "w1", winDay{service: rep(2, 600*time.Second), levels: times(2, vs)})
	g.flush()
	a := fold(t, cfg, g.recs)
	byLast := a.RankWindows("2026-11", testFormula())
	eq(t, "by the last record: partial, workdays", [2]any{byLast.Partial, byLast.Workdays}, [2]any{true, 1})
	dec1 := time.Date(2026, 12, 1, 10, 0, 0, 0, cfg.Location)
	rk := a.RankWindowsAt("2026-11", testFormula(), dec1)
	eq(t, "by the clock: partial, workdays", [2]any{rk.Partial, rk.Workdays}, [2]any{false, 21})
	for _, c := range rk.Windows[0].Components {
		if c.Key == "attendance" {
			eq(t, "attendance", c.Value, round(1.0/21, 4))
		}
	}
}

// TestRankingConfigDocsStateTheDefaults: each ranking key's doc in daemon/config (which feeds the
// JSON Schema and the docs) names the default DefaultWindowFormula really has.
func TestRankingConfigDocsStateTheDefaults(t *testing.T) {
	var def map[string]float64
	b, _ := json.Marshal(DefaultWindowFormula())
	json.Unmarshal(b, &def)
	rt := reflect.TypeOf(config.Ranking{})
	seen := 0
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		key := strings.Split(f.Tag.Get("yaml"), ",")[0]
		want, ok := def[key]
		if !ok {
			continue
		}
		seen++
		m := regexp.MustCompile(`Default (\d+)\.`).FindStringSubmatch(f.Tag.Get("doc"))
		if m == nil || m[1] != strconv.FormatFloat(want, 'f', -1, 64) {
			t.Errorf("ranking.%s doc says %q, the default is %v", key, m, want)
		}
	}
	if seen != len(def) {
		t.Errorf("%d of the formula's %d keys are in config.Ranking", seen, len(def))
	}
}
