package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"halld/daemon/hall"
	"halld/daemon/internal/testhall"
	"halld/daemon/rankpdf"
	"halld/daemon/stats"
)

const rankYAML = `
hall:
  id: rank-hall
  name: 湖南湘江新区政务服务大厅
  timezone: Asia/Shanghai
  opening_hours:
    - {days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}
storage:
  dir: %s
http:
  listen: 127.0.0.1:8080
areas:
  - {id: front, name: 前窗}
services:
  - {id: tax, prefix: B, name: 税务, area: front}
windows:
  - {id: w1, number: 1, name: 综合一窗, area: front, services: [{service: tax}]}
  - {id: w2, number: 2, name: 综合二窗, area: front, services: [{service: tax}]}
  - {id: w3, number: 3, name: 综合三窗, area: front, services: [{service: tax}]}
staff:
  - {id: s1, name: 张敏, windows: [w1]}
  - {id: s2, name: 李华, windows: [w2]}
  - {id: s3, name: 王芳, windows: [w3]}
ranking:
  min_served: 1
  min_rated: 1
%s`

// rankServer is a real engine, journal and statistics with three windows that each served and had
// rated one visit on Wednesday 2026-11-25 (w1 非常满意, w2 满意, w3 不满意).
func rankServer(t *testing.T, extra string) *Server {
	t.Helper()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	clk := &clock{t: time.Date(2026, 11, 25, 9, 30, 0, 0, loc)}
	cfg := testhall.Config(t, fmt.Sprintf(rankYAML, t.TempDir(), extra))
	h := testhall.StartAt(t, cfg, testhall.Journal(t), clk.now)
	ctx := context.Background()
	must := func(cmd any) {
		t.Helper()
		if _, err := h.Engine.Submit(ctx, cmd); err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
	}
	for i, lvl := range []string{"非常满意", "满意", "不满意"} {
		win, staff := fmt.Sprintf("w%d", i+1), fmt.Sprintf("s%d", i+1)
		must(hall.SignIn{Window: win, Staff: staff})
		must(hall.IssueTicket{Service: "tax", Channel: "kiosk"})
		must(hall.CallNext{Window: win})
		clk.set(clk.now().Add(5 * time.Minute))
		must(hall.Finish{Window: win})
		v, _ := h.Engine.Query(ctx, func(st *hall.State) any { return st.Windows[win].Awaiting })
		r := hall.Rate{Visit: v.(uint32), Level: lvl, Channel: "pad"}
		if hall.IsBad(lvl) {
			r.Reasons = []string{"等候时间长"}
		}
		must(r)
	}
	live := stats.NewLive(h.Journal, cfg)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { live.Run(lctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(10 * time.Second)
	for live.RankWindows("2026-11", stats.DefaultWindowFormula(), time.Time{}).Seq < h.Journal.Head() {
		if time.Now().After(deadline) {
			t.Fatal("statistics did not catch up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s := New(Deps{Config: cfg, Engine: h.Engine, Journal: h.Journal, Log: h.Log, Registry: prometheus.NewRegistry(),
		Ready: func() []string { return nil }, Stats: live,
		Tokens: []Token{
			{Name: "hall-board", Value: "board-token-0123456789", Scopes: []Scope{ScopeBoard}},
			{Name: "office", Value: "supervisor-token-0123456789", Scopes: []Scope{ScopeSupervisor}},
			{Name: "central", Value: "central-token-0123456789", Scopes: []Scope{ScopeCentral}},
			{Name: "it", Value: "it-token-0123456789", Scopes: []Scope{ScopeIT}},
		}})
	t.Cleanup(s.Close)
	return s
}

func TestRankingsJSON(t *testing.T) {
	s := rankServer(t, "")
	w := s.do(t, req{method: "GET", path: "/api/v1/rankings?period=2026-11"})
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var rk stats.WindowRanking
	if err := json.Unmarshal(w.Body.Bytes(), &rk); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, x := range rk.Windows {
		order = append(order, fmt.Sprintf("%s:%d", x.Window, x.Rank))
		if len(x.Components) != 4 || len(x.Deductions) != 3 {
			t.Errorf("%s breakdown %+v %+v", x.Window, x.Components, x.Deductions)
		}
	}
	if got := strings.Join(order, " "); got != "w1:1 w2:2 w3:3" || rk.Period != "2026-11" || !rk.Partial || rk.Ranked != 3 {
		t.Errorf("ranking %s period %s partial %v ranked %d", got, rk.Period, rk.Partial, rk.Ranked)
	}
	// The default period is the hall's current month; a quarter works too.
	if w := s.do(t, req{method: "GET", path: "/api/v1/rankings"}); w.Code != 200 || !strings.Contains(w.Body.String(), `"period":"2026-11"`) {
		t.Errorf("default period: %d %.200s", w.Code, w.Body)
	}
	if w := s.do(t, req{method: "GET", path: "/api/v1/rankings?period=2026Q4"}); w.Code != 200 || !strings.Contains(w.Body.String(), `"months":["2026-10","2026-11","2026-12"]`) {
		t.Errorf("quarter: %d %.300s", w.Code, w.Body)
	}
	for path, code := range map[string]string{
		"/api/v1/rankings?period=2026-13":                      "bad_period",
		"/api/v1/rankings?period=2026-01-01":                   "bad_period",
		"/api/v1/rankings?period=" + strings.Repeat("9", 5000): "bad_period",
		"/api/v1/rankings?period=2026-12":                      "period_not_begun",
		"/api/v1/rankings?period=2027Q1":                       "period_not_begun",
		"/api/v1/rankings?period=2026-11&format=xls":           "bad_format",
	} {
		w := s.do(t, req{method: "GET", path: path})
		if w.Code != 400 || errCode(t, w) != code {
			t.Errorf("%.60s: %d %s, want 400 %s", path, w.Code, w.Body, code)
		}
		if !regexp.MustCompile(`\p{Han}`).MatchString(w.Body.String()) {
			t.Errorf("%.60s: the message is not Chinese: %s", path, w.Body)
		}
	}
}

func TestRankingsScopes(t *testing.T) {
	s := rankServer(t, "")
	const lan = "10.20.0.7:50000"
	for _, c := range []struct {
		token string
		query bool
		want  int
	}{
		{"", false, 401},
		{"not-a-token", false, 401},
		{"board-token-0123456789", false, 403},
		{"it-token-0123456789", false, 403},
		{"supervisor-token-0123456789", false, 200},
		{"central-token-0123456789", false, 200},
		// The tab's CSV and PDF links cannot send a header: the page's token goes in the query.
		{"supervisor-token-0123456789", true, 200},
		{"board-token-0123456789", true, 403},
	} {
		for _, format := range []string{"json", "csv"} {
			r := req{method: "GET", path: "/api/v1/rankings?period=2026-11&format=" + format, remote: lan}
			if c.query {
				r.path += "&token=" + c.token
			} else {
				r.token = c.token
			}
			if w := s.do(t, r); w.Code != c.want {
				t.Errorf("%s token %q (query %v): %d, want %d", format, c.token, c.query, w.Code, c.want)
			}
		}
	}
}

func TestRankingsCSV(t *testing.T) {
	s := rankServer(t, "")
	w := s.do(t, req{method: "GET", path: "/api/v1/rankings?period=2026-11&format=csv"})
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") {
		t.Fatalf("%d %q", w.Code, w.Header().Get("Content-Type"))
	}
	if !strings.Contains(w.Header().Get("Content-Disposition"), `filename="window-ranking-2026-11.csv"`) {
		t.Errorf("disposition %q", w.Header().Get("Content-Disposition"))
	}
	body := w.Body.Bytes()
	if !bytes.HasPrefix(body, []byte("\xEF\xBB\xBF")) {
		t.Fatal("no UTF-8 byte-order mark: Excel would read the Chinese as mojibake")
	}
	rows, err := csv.NewReader(bytes.NewReader(body[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want a header and 3 windows: %q", len(rows), rows)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, h := range []string{"名次", "窗口", "总分", "满意度(均分)", "满意度权重(%)", "满意度计分", "参评率计分", "办理时效计分", "在岗率计分",
		"差评(次)", "差评扣分", "整改逾期(次)", "暂离超时(次)", "标记", "2026-10名次", "2026-11名次", "计算过程"} {
		if _, ok := col[h]; !ok {
			t.Errorf("no column %q in %q", h, rows[0])
		}
	}
	w3 := rows[3]
	if w3[col["窗口"]] != "综合三窗" || w3[col["名次"]] != "3" || w3[col["差评(次)"]] != "1" || w3[col["差评扣分"]] != "-2.00" ||
		w3[col["满意度(均分)"]] != "20.0000" || w3[col["2026-11名次"]] != "3/3" {
		t.Errorf("w3 row %q", w3)
	}
	// The CSV and the JSON say the same.
	var rk stats.WindowRanking
	json.Unmarshal(s.do(t, req{method: "GET", path: "/api/v1/rankings?period=2026-11"}).Body.Bytes(), &rk)
	for i, x := range rk.Windows {
		if got := rows[i+1][col["总分"]]; got != fmt.Sprintf("%.2f", x.Score) {
			t.Errorf("%s: CSV 总分 %s, JSON %v", x.Window, got, x.Score)
		}
	}
}

var (
	reMediaBox = regexp.MustCompile(`/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\]`)
	rePage     = regexp.MustCompile(`/Type /Page\b`)
)

func TestRankingsPDF(t *testing.T) {
	if _, err := rankpdf.FindFont(""); err != nil {
		t.Skip("no CJK TrueType font on this machine (apt install fonts-droid-fallback):", err)
	}
	s := rankServer(t, "")
	w := s.do(t, req{method: "GET", path: "/api/v1/rankings?period=2026-11&format=pdf"})
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/pdf" {
		t.Fatalf("%d %q %.200s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	pdf := w.Body.Bytes()
	if n := len(rePage.FindAll(pdf, -1)); n != 1 {
		t.Errorf("%d pages, want 1", n)
	}
	if m := reMediaBox.FindSubmatch(pdf); m == nil || string(m[1]) != "595.28" || string(m[2]) != "841.89" {
		t.Errorf("MediaBox %q, want A4 (595.28 × 841.89 pt)", m)
	}
	if !bytes.Contains(pdf, []byte("/FontFile2")) {
		t.Error("the CJK font is not embedded")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "r.pdf")
	os.WriteFile(file, pdf, 0o600)
	if keep := os.Getenv("RANKING_PDF_OUT"); keep != "" {
		os.WriteFile(keep, pdf, 0o644)
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Log("pdftotext (poppler-utils) not installed: the PDF's text is not checked")
		return
	}
	out, err := exec.Command("pdftotext", "-layout", file, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v %s", err, out)
	}
	for _, want := range []string{"湖南湘江新区政务服务大厅", "窗口服务质量排名", "2026年11月", "综合一窗", "综合三窗", "计分", "制表时间 2026-11-25"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the PDF's text lacks %q:\n%s", want, out)
		}
	}
}

// TestRankingsPDFWithoutAFont: a configured font that is not there, or one fpdf cannot embed, is a
// clear JSON error, not a broken file.
func TestRankingsPDFWithoutAFont(t *testing.T) {
	dir := t.TempDir()
	ttc := filepath.Join(dir, "wqy.ttc")
	os.WriteFile(ttc, append([]byte("ttcf"), make([]byte, 64)...), 0o644)
	for _, font := range []string{filepath.Join(dir, "missing.ttf"), ttc} {
		s := rankServer(t, "  font: "+font+"\n")
		w := s.do(t, req{method: "GET", path: "/api/v1/rankings?period=2026-11&format=pdf"})
		if w.Code != 503 || errCode(t, w) != "font_unavailable" || !strings.Contains(w.Body.String(), "字体") {
			t.Errorf("%s: %d %s", font, w.Code, w.Body)
		}
		// JSON and CSV do not need it.
		if w := s.do(t, req{method: "GET", path: "/api/v1/rankings?period=2026-11&format=csv"}); w.Code != 200 {
			t.Errorf("csv without a font: %d", w.Code)
		}
	}
}
