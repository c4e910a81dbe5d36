package web

import (
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"halld/daemon/hall"
	"halld/daemon/journal"
)

// RatingCode maps a level to a target system's 满意度代码. GB/T 39046 Annex A.8
// runs 1 = 非常满意 … 5 = 非常不满意; several provincial feeds run the other way.
func RatingCode(level, scheme string) int {
	for i, l := range hall.RatingLevels {
		if l == level {
			if scheme == "reverse" {
				return 5 - i
			}
			return i + 1
		}
	}
	return 0
}

// exportRow is one evaluation record, GB/T 39046-2020 表9.
type exportRow struct {
	CaseID   string `json:"办件编号"`
	Channel  string `json:"评价渠道"`
	Rater    string `json:"评价人"`
	Time     string `json:"评价时间"`
	Count    int    `json:"评价次数"`
	Level    string `json:"满意度"`
	Code     int    `json:"满意度代码"`
	Text     string `json:"文字评价"`
	Region   string `json:"行政区划"`
	Window   string `json:"窗口"`
	Staff    string `json:"工作人员"`
	Service  string `json:"事项"`
	Excluded bool   `json:"申诉成立剔除"`
	EventID  string `json:"事件编号"`
}

var channelNames = map[string]string{"pad": "政务大厅平板电脑", "mqtt": "政务大厅平板电脑", "api": "政务大厅其他终端", "qr": "移动端（扫码）"}

// exportRatings lists the ratings given on days from..to (hall time), from
// the journal, with each upheld appeal marked.
func (s *Server) exportRatings(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cfg := s.d.Config
	scheme := q.Get("scheme")
	if scheme == "" {
		scheme = "gbt39046"
	}
	if scheme != "gbt39046" && scheme != "reverse" {
		writeError(w, http.StatusBadRequest, "bad_scheme", "scheme 只能是 gbt39046（1=非常满意）或 reverse（1=非常不满意）")
		return
	}
	day := func(name, def string) (time.Time, bool) {
		v := q.Get(name)
		if v == "" {
			v = def
		}
		t, err := time.ParseInLocation("2006-01-02", v, cfg.Location)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_date", name+" 须为 YYYY-MM-DD")
			return t, false
		}
		return t, true
	}
	today := cfg.Day(s.d.Engine.Now())
	from, ok := day("from", today)
	if !ok {
		return
	}
	to, ok := day("to", from.Format("2006-01-02"))
	if !ok {
		return
	}
	to = to.AddDate(0, 0, 1)
	excluded := map[uint32]bool{}
	s.d.Engine.Query(r.Context(), func(st *hall.State) any {
		for _, f := range st.FollowUps {
			if f.Excluded {
				excluded[f.Visit] = true
			}
		}
		return nil
	})
	rows := []exportRow{}
	err := s.d.Journal.Scan(context.WithoutCancel(r.Context()), 0, func(rec journal.Record) error {
		if rec.Type != hall.TypeRatingSubmitted || rec.TS.Before(from) || !rec.TS.Before(to) {
			return nil
		}
		v, err := hall.Decode(rec.Type, rec.Body)
		if err != nil {
			return err
		}
		e := v.(*hall.RatingSubmitted)
		text := strings.Join(e.Reasons, "；")
		if e.Comment != "" {
			text = strings.TrimPrefix(text+"；"+e.Comment, "；")
		}
		rows = append(rows, exportRow{CaseID: e.TicketID + "-" + strconv.FormatUint(uint64(e.Visit), 10),
			Channel: channelNames[e.Channel], Rater: "匿名", Time: rec.TS.In(cfg.Location).Format("20060102T150405"),
			Count: 1, Level: e.Level, Code: RatingCode(e.Level, scheme), Text: text, Region: cfg.Hall.RegionCode,
			Window: e.Window, Staff: e.Staff, Service: e.Service, Excluded: excluded[e.Visit], EventID: rec.ID})
		return nil
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "journal_read", "读取评价记录失败")
		return
	}
	// Ratings older than storage.retention are pruned from the journal
	// (their numbers live on in the statistics): say where the record starts
	// when the period asked for begins before it.
	var heldFrom string
	if first, err := s.d.Journal.Read(r.Context(), s.d.Journal.Oldest()-1, 1); err == nil && len(first) == 1 && s.d.Journal.Oldest() > 1 && first[0].TS.After(from) {
		heldFrom = first[0].TS.In(cfg.Location).Format(time.RFC3339)
		w.Header().Set("X-Halld-Journal-From", heldFrom)
	}
	if q.Get("format") != "csv" {
		out := map[string]any{"scheme": scheme, "ratings": rows}
		if heldFrom != "" {
			out["journal_from"] = heldFrom
			out["note"] = "此前的评价记录已按保存期限（storage.retention）清理，统计数字仍在报表中"
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="ratings-`+from.Format("20060102")+`.csv"`)
	w.Write([]byte("\xEF\xBB\xBF")) // BOM: Excel opens UTF-8 Chinese correctly
	cw := csv.NewWriter(w)
	cw.Write([]string{"办件编号", "评价渠道", "评价人", "评价时间", "评价次数", "满意度", "满意度代码", "文字评价", "行政区划", "窗口", "工作人员", "事项", "申诉成立剔除", "事件编号"})
	for _, x := range rows {
		rec := []string{x.CaseID, x.Channel, x.Rater, x.Time, strconv.Itoa(x.Count), x.Level, strconv.Itoa(x.Code), x.Text,
			x.Region, x.Window, x.Staff, x.Service, strconv.FormatBool(x.Excluded), x.EventID}
		for i := range rec {
			rec[i] = csvCell(rec[i])
		}
		cw.Write(rec)
	}
	cw.Flush()
}

// csvCell defuses a cell a spreadsheet would run as a formula (OWASP "CSV
// Injection"): a comment typed on a pad as =HYPERLINK(…) or +cmd|… must
// open as text. A cell starting with = + - @, tab or CR gets a leading
// single quote, which Excel and LibreOffice show as text and do not display.
// Every cell goes through it; the numeric ones never start with those.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
