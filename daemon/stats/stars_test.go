package stats

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"halld/daemon/config"
)

// starHall has twelve staff at twelve windows; 国庆 2026-10-01…07 is a
// holiday and Saturday 10-10 a 调休 working day.
func starHall(t *testing.T, staff int) *config.Config {
	t.Helper()
	var b strings.Builder
	b.WriteString(`
hall:
  id: star-hall
  name: 测试大厅
  timezone: Asia/Shanghai
  opening_hours: [{days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}]
areas: [{id: front, name: 前台}]
services:
  - {id: biz, prefix: A, name: 企业开办, area: front}
holidays:
`)
	for d := 1; d <= 7; d++ {
		fmt.Fprintf(&b, "  - {date: \"2026-10-%02d\", name: 国庆节}\n", d)
	}
	b.WriteString("  - {date: \"2026-10-10\", name: 国庆调休, workday: true}\nwindows:\n")
	for i := 1; i <= staff; i++ {
		fmt.Fprintf(&b, "  - {id: w%02d, number: %d, services: [{service: biz}]}\n", i, i)
	}
	b.WriteString("staff:\n")
	for i := 1; i <= staff; i++ {
		fmt.Fprintf(&b, "  - {id: s%02d, name: 员工%02d, windows: [w%02d]}\n", i, i, i)
	}
	cfg, err := config.Parse("star.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

type plan struct {
	days    int           // attends the first n of 10-08, 10-09, 10-10
	perDay  int           // cases a day
	service time.Duration // each case's service time
	levels  []string      // ratings, cycled; one per case
	overdue bool          // one 40-minute pause on its first day (overdue at 30)
}

// starQuarter builds the staff's 2026Q4 so far (three working days) from
// their plans; staff absent from plans only sign in and pause 10 minutes once.
func starQuarter(t *testing.T, cfg *config.Config, plans map[string]plan) *Aggregator {
	t.Helper()
	g := newGen(cfg)
	days := []string{"2026-10-08", "2026-10-09", "2026-10-10"}
	for di, day := range days {
		for i := range cfg.Staff {
			staff, win := cfg.Staff[i].ID, cfg.Staff[i].Windows[0]
			at := func(hm string) time.Time {
				x, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hm, cfg.Location)
				if err != nil {
					t.Fatal(err)
				}
				return x
			}
			p, ok := plans[staff]
			if !ok {
				if di == 0 {
					g.signIn(at("08:30"), win, staff)
					g.pause(at("10:00"), win, staff, 10*time.Minute)
					g.signOut(at("17:30"), win, staff)
				}
				continue
			}
			if di >= p.days {
				continue
			}
			g.signIn(at("08:30"), win, staff)
			if p.overdue && di == 0 {
				g.pause(at("12:00"), win, staff, 40*time.Minute)
			}
			for c := 0; c < p.perDay; c++ {
				n := di*p.perDay + c
				g.serve(ticket{at: at("09:00").Add(time.Duration(c) * 30 * time.Minute), svc: "biz", win: win, staff: staff,
					wait: time.Minute, service: p.service, level: p.levels[n%len(p.levels)], openFollow: true})
			}
			g.signOut(at("17:30"), win, staff)
		}
		g.flush()
	}
	return fold(t, cfg, g.recs)
}

const starInputs = "\uFEFFstaff,inspection,complaints\n" +
	"s01,80,0\ns02,80,0\ns03,100,1\ns04,80,0\ns05,80,0\ns06,80,0\n" +
	"s07,33.33,0\ns08,80,0\ns09,80,0\ns10,80,0\ns11,90,0\n" +
	"\n" + // a blank line is fine
	"s99,50,2\n"

// TestStars: twelve staff, so 10% names one. s03 and s07 did the same work
// (15 cases at 480 s, all 非常满意); s03 has the better inspection but a
// complaint, and both score 90.00 — the tie goes to fewer complaints + 差评: s07.
func TestStars(t *testing.T) {
	cfg := starHall(t, 12)
	ordinary := plan{days: 3, perDay: 4, service: 600 * time.Second, levels: []string{"满意"}}
	star := plan{days: 3, perDay: 5, service: 480 * time.Second, levels: []string{"非常满意"}}
	// s11 works two days, four cases a day; its eight ratings are 满意 but one 不满意,
	// and it has one overdue pause.
	plans := map[string]plan{"s03": star, "s07": star,
		"s11": {days: 2, perDay: 4, service: 600 * time.Second,
			levels: []string{"满意", "满意", "满意", "不满意", "满意", "满意", "满意", "满意"}, overdue: true}}
	for _, s := range []string{"s01", "s02", "s04", "s05", "s06", "s08", "s09", "s10"} {
		plans[s] = ordinary
	}
	// s12 is not in plans: signs in on 10-08, pauses, serves nobody.
	a := starQuarter(t, cfg, plans)

	inputs, err := ParseInputs(strings.NewReader(starInputs))
	if err != nil {
		t.Fatal(err)
	}
	rk := a.Stars("2026Q4", inputs, DefaultFormula())
	if rk.Error != "" {
		t.Fatal(rk.Error)
	}
	// Working days of 2026Q4 up to the last record (10-10): 10-01…07 are holidays,
	// 10-08 Thu and 10-09 Fri are working days, 10-10 (Sat) is a 调休 working day = 3.
	eq(t, "workdays", rk.Workdays, 3)
	eq(t, "span", [2]string{rk.From, rk.To}, [2]string{"2026-10-01", "2027-01-01"})
	// 12 active staff × 10% = 1.2 → 1.
	eq(t, "active, headcount, quota", [3]int{rk.Active, rk.Headcount, rk.Quota}, [3]int{12, 12, 1})

	var order []string
	scores := map[string]float64{}
	byStaff := map[string]Candidate{}
	for _, c := range rk.Candidates {
		order = append(order, c.Staff)
		scores[c.Staff] = c.Score
		byStaff[c.Staff] = c
	}
	// Ordinary staff: 12 cases (80 of the best 15 → 20.00), 600 s against the hall's
	// median 600 s (index 1.0; best 0.8 → 80 → 16.00), 3/3 days (15.00), inspection
	// 80 (12.00), all 满意 (25.00) = 88.00; equal scores go by staff id.
	// s11: 8 cases (53.33 → 13.33), index 1.0 (16.00), 2/3 days (66.67 → 10.00),
	// inspection 90 (13.50), 7/8 满意 (87.5 → 21.88), −5 for the 差评, −2 for the
	// overdue pause = 67.71. s12: only 1/3 days (33.33 → 5.00), no cases: not eligible.
	eq(t, "order", order, []string{"s07", "s03", "s01", "s02", "s04", "s05", "s06", "s08", "s09", "s10", "s11", "s12"})
	eq(t, "scores", scores, map[string]float64{"s07": 90, "s03": 90, "s01": 88, "s02": 88, "s04": 88, "s05": 88,
		"s06": 88, "s08": 88, "s09": 88, "s10": 88, "s11": 67.71, "s12": 5})
	if len(rk.Named) != 1 || rk.Named[0].Staff != "s07" || !byStaff["s07"].Named || byStaff["s03"].Named {
		t.Fatalf("named %+v, want s07 alone", rk.Named)
	}
	if c := byStaff["s12"]; c.Eligible || !strings.Contains(c.Explanation, "不参评") {
		t.Errorf("s12: %+v", c)
	}

	// s07: 15 cases, the most (100 → 25.00); median 480 s over the hall's 600 s = 0.8,
	// the best (100 → 20.00); 3/3 days (15.00); inspection 33.33 (15 × 33.33 / 100 =
	// 4.9995 → 5.00); 15/15 satisfied (25.00). No penalties. 90.00.
	s07 := byStaff["s07"]
	eq(t, "s07 components", s07.Components, []Component{
		{Key: "cases", Name: "办件量", Value: 15, Detail: "15 件（最多 15 件）", Score: 100, Weight: 25, Points: 25},
		{Key: "efficiency", Name: "办件效率", Value: 0.8, Detail: "办理时长中位数为同业务中位数的 0.80 倍（最佳 0.80 倍）", Score: 100, Weight: 20, Points: 20},
		{Key: "attendance", Name: "考勤", Value: 1, Detail: "签到 3 / 3 个工作日", Score: 100, Weight: 15, Points: 15},
		{Key: "inspection", Name: "日常检查", Value: 33.33, Detail: "33.3 分", Score: 33.33, Weight: 15, Points: 5},
		{Key: "satisfaction", Name: "好差评", Value: 1, Detail: "满意率 100.0%（15/15）", Score: 100, Weight: 25, Points: 25},
	})
	eq(t, "s07 penalties", s07.Penalties, []Penalty{
		{Key: "complaints", Name: "投诉举报", Each: 10}, {Key: "bad_ratings", Name: "差评", Each: 5},
		{Key: "overdue_pauses", Name: "超时暂停", Each: 2}})
	for _, want := range []string{"日常检查 33.3 分 → 33.33 分 × 15% = 5.00", "办件量 15 件（最多 15 件） → 100.00 分 × 25% = 25.00", "合计 90.00"} {
		if !strings.Contains(s07.Explanation, want) {
			t.Errorf("s07 explanation %q lacks %q", s07.Explanation, want)
		}
	}
	// s03: the same but inspection 100 (15.00) and one complaint (−10): 90.00.
	eq(t, "s03 complaint", byStaff["s03"].Penalties[0], Penalty{Key: "complaints", Name: "投诉举报", Count: 1, Each: 10, Points: -10})
	s11 := byStaff["s11"]
	eq(t, "s11 satisfaction", s11.Components[4], Component{Key: "satisfaction", Name: "好差评", Value: 0.875,
		Detail: "满意率 87.5%（7/8）", Score: 87.5, Weight: 25, Points: 21.88})
	eq(t, "s11 attendance", s11.Components[2].Points, 10.0)
	eq(t, "s11 penalties", [2]float64{s11.Penalties[1].Points, s11.Penalties[2].Points}, [2]float64{-5, -2})
	if want := "差评 1 次 × −5 = −5.00；超时暂停 1 次 × −2 = −2.00；合计 67.71"; !strings.HasSuffix(s11.Explanation, want) {
		t.Errorf("s11 explanation %q does not end with %q", s11.Explanation, want)
	}
	if strings.Contains(s07.Explanation, "投诉举报") { // penalties that do not apply are left out of the sentence
		t.Errorf("s07 explanation %q names a penalty", s07.Explanation)
	}
	if js, _ := json.Marshal(rk); bytes.Contains(js, []byte(":-0")) {
		t.Errorf("ranking JSON has a negative zero")
	}
	eq(t, "warnings", rk.Warnings, []string{"s12 没有导入日常检查成绩，按 0 分计", "s99 本季度没有活动记录，其检查/投诉数据未使用"})

	// The share is a cap, rounded down; a hall can give its full roster as the base.
	f := DefaultFormula()
	f.Headcount = 25 // 2.5 → 2
	two := a.Stars("2026Q4", inputs, f)
	eq(t, "named of 25", []string{two.Named[0].Staff, two.Named[1].Staff}, []string{"s07", "s03"})
	// Another quarter has no activity: nobody.
	eq(t, "2026Q3", len(a.Stars("2026Q3", inputs, DefaultFormula()).Candidates), 0)
	if bad := a.Stars("2026Q5", nil, DefaultFormula()); bad.Error == "" {
		t.Error("2026Q5 accepted")
	}
	f = DefaultFormula()
	f.Cases = -1
	if bad := a.Stars("2026Q4", nil, f); !strings.Contains(bad.Error, "cases") {
		t.Errorf("negative weight: %q", bad.Error)
	}
}

// TestStarsFewStaff: 10% of 5 staff is 0.5, and the rule is a cap (不超过10%):
// naming one would be 20%, so nobody is named.
func TestStarsFewStaff(t *testing.T) {
	cfg := starHall(t, 5)
	p := plan{days: 3, perDay: 2, service: 5 * time.Minute, levels: []string{"非常满意"}}
	a := starQuarter(t, cfg, map[string]plan{"s01": p, "s02": p, "s03": p, "s04": p, "s05": p})
	rk := a.Stars("2026q4", nil, DefaultFormula())
	eq(t, "quota", [2]int{rk.Active, rk.Quota}, [2]int{5, 0})
	eq(t, "named", len(rk.Named), 0)
	eq(t, "ranked", len(rk.Candidates), 5)
	eq(t, "warning", rk.Warnings, []string{"未导入日常检查和投诉举报数据：日常检查按 0 分、投诉按 0 件计"})
}

func TestParseInputs(t *testing.T) {
	got, err := ParseInputs(strings.NewReader("complaints, staff ,inspection\r\n2,s1,88.5\r\n0,s2,100\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "any column order, CRLF", got, []ExternalInput{{Staff: "s1", Inspection: 88.5, Complaints: 2}, {Staff: "s2", Inspection: 100}})

	cases := []struct {
		name, in string
		want     []string
	}{
		{"empty", "", []string{"inputs: empty file: want the header staff,inspection,complaints"}},
		{"bad header", "staff,score,complaints\ns1,1,0\n", []string{
			`inputs:1: unknown column "score": the header is staff,inspection,complaints`,
			`inputs:1: missing column "inspection": the header is staff,inspection,complaints`}},
		{"every bad line", "staff,inspection,complaints\ns01,80,0\ns02,abc,0\n,50,0\ns01,70,1\ns04,101,-1\ns05,80\n", []string{
			`inputs:3: inspection "abc" is not a score from 0 to 100`,
			`inputs:4: staff is empty`,
			`inputs:5: staff "s01" already given at line 2`,
			`inputs:6: inspection "101" is not a score from 0 to 100`,
			`inputs:6: complaints "-1" is not a whole number ≥ 0`,
			`inputs:7: 2 fields, want 3 (staff,inspection,complaints)`}},
		{"bad quoting", "staff,inspection,complaints\ns1,\"80,0\n", []string{`inputs:2: extraneous or missing " in quoted-field`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseInputs(strings.NewReader(c.in))
			var ie InputErrors
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want InputErrors", err)
			}
			var msgs []string
			for _, e := range ie {
				msgs = append(msgs, e.Error())
			}
			if !reflect.DeepEqual(msgs, c.want) {
				t.Errorf("errors:\n got %q\nwant %q", msgs, c.want)
			}
		})
	}
}
