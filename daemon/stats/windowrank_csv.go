package stats

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// CSV writes the ranking for spreadsheets: UTF-8 with a byte-order mark (so Excel reads the Chinese),
// Chinese headers, one row per window (ranked ones by rank, then the others), each part's value,
// score, weight and points and each deduction's count and points as columns, the marks, the months'
// places, the tie note and the whole sum in words.
func (r WindowRanking) CSV(w io.Writer) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	header := []string{"期间", "名次", "窗口编号", "窗口", "窗口号", "总分", "参与排名", "数据不足说明", "办结件数", "有效评价数"}
	parts := []struct{ key, name, unit string }{
		{"satisfaction", "满意度", "均分"}, {"participation", "参评率", "比例"},
		{"timeliness", "办理时效", "倍数"}, {"attendance", "在岗率", "比例"},
	}
	for _, p := range parts {
		header = append(header, p.name+"("+p.unit+")", p.name+"得分", p.name+"权重(%)", p.name+"计分")
	}
	deds := []struct{ key, name string }{{"bad_ratings", "差评"}, {"overdue_followups", "整改逾期"}, {"overdue_pauses", "暂离超时"}}
	for _, d := range deds {
		header = append(header, d.name+"(次)", d.name+"扣分")
	}
	header = append(header, "标记", "标记说明")
	for _, m := range r.monthsLooked() {
		header = append(header, m+"名次")
	}
	header = append(header, "同分说明", "计算过程")
	if err := cw.Write(header); err != nil {
		return err
	}
	f := func(x float64, places int) string { return strconv.FormatFloat(x, 'f', places, 64) }
	for _, ws := range r.Windows {
		rank, ranked := "", "否"
		if ws.Ranked {
			rank, ranked = strconv.Itoa(ws.Rank), "是"
		}
		number := ""
		if ws.Number > 0 {
			number = strconv.Itoa(ws.Number)
		}
		rec := []string{r.Period, rank, text(ws.Window), text(ws.Name), number, f(ws.Score, 2), ranked, text(ws.Insufficient),
			strconv.Itoa(ws.Served), strconv.Itoa(ws.Rated)}
		for _, p := range parts {
			var c Component
			for _, x := range ws.Components {
				if x.Key == p.key {
					c = x
				}
			}
			rec = append(rec, f(c.Value, 4), f(c.Score, 2), f(c.Weight, 0), f(c.Points, 2))
		}
		for _, d := range deds {
			var p Penalty
			for _, x := range ws.Deductions {
				if x.Key == d.key {
					p = x
				}
			}
			rec = append(rec, strconv.Itoa(p.Count), f(p.Points, 2))
		}
		var names, details []string
		for _, m := range ws.Marks {
			names, details = append(names, m.Name), append(details, m.Detail)
		}
		rec = append(rec, strings.Join(names, "；"), strings.Join(details, "；"))
		for _, m := range r.monthsLooked() {
			place := ""
			for _, mr := range ws.MonthRanks {
				if mr.Month == m && mr.Rank > 0 {
					place = strconv.Itoa(mr.Rank) + "/" + strconv.Itoa(mr.Of)
				}
			}
			rec = append(rec, place)
		}
		rec = append(rec, text(ws.Tie), text(ws.Explanation))
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// monthsLooked are the months whose places each window carries (MonthRanks' order).
func (r WindowRanking) monthsLooked() []string {
	if len(r.Windows) == 0 {
		return nil
	}
	// Every window carries the same months: the first one's say which.
	ws := r.Windows[0]
	out := make([]string, len(ws.MonthRanks))
	for i, m := range ws.MonthRanks {
		out[i] = m.Month
	}
	return out
}

// text defuses a text cell a spreadsheet would run as a formula (OWASP CSV injection); numbers
// are written by the code and left alone.
func text(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
