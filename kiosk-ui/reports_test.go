package kioskui_test

// Tests of hall IT's reporting and alerting:
//
//   - TestAlertRules*: monitoring/halld-alerts.yml passes `promtool check rules`
//     (skipped without promtool unless $CI is set) and names only metrics
//     halld exports.
//   - TestGrafanaDashboard: monitoring/grafana-halld.json parses, has panels
//     with targets on ${DS_PROMETHEUS}, and every expr names only metrics
//     halld exports (parsed from the Go source) or standard ones.
//   - TestReportsPage: the /reports/ page in headless Chromium over a real
//     in-process halld with some activity (same harness as browser_test.go),
//     with a screenshot.

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// ---------------------------------------------------------------- metric names

var (
	quotedMetric = regexp.MustCompile(`"(halld_[a-z0-9_]+)"`)
	histogramNew = regexp.MustCompile(`New(?:Histogram|Summary)(?:Vec)?\(`)
	// A collector's histogram: a field's Desc emitted with MustNewConstHistogram.
	descField  = regexp.MustCompile(`(\w+):\s*prometheus\.NewDesc\("(halld_[a-z0-9_]+)"`)
	constHisto = regexp.MustCompile(`MustNewConstHistogram\(c\.(\w+)`)
)

// halldMetrics parses the metric names halld exports from its Go source
// (non-test files under daemon/): every quoted "halld_…" string. For
// histograms the _bucket, _count and _sum series are added.
func halldMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	err := filepath.WalkDir("../daemon", func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == "bench" {
			return filepath.SkipDir // the benchmark tool reads metrics, it does not export them
		}
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		src := string(b)
		for _, loc := range quotedMetric.FindAllStringSubmatchIndex(src, -1) {
			name := src[loc[2]:loc[3]]
			names[name] = true
			// A histogram: its constructor shortly before the name.
			if before := src[max(0, loc[0]-200):loc[0]]; histogramNew.MatchString(before) {
				for _, s := range []string{"_bucket", "_count", "_sum"} {
					names[name+s] = true
				}
			}
		}
		histo := map[string]bool{}
		for _, m := range constHisto.FindAllStringSubmatch(src, -1) {
			histo[m[1]] = true
		}
		for _, m := range descField.FindAllStringSubmatch(src, -1) {
			if histo[m[1]] {
				for _, s := range []string{"_bucket", "_count", "_sum"} {
					names[m[2]+s] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"halld_device_up", "halld_journal_commit_seconds_bucket", "halld_tickets_issued_total", "halld_http_request_duration_seconds_count", "halld_ticket_print_seconds_bucket", "halld_ws_clients"} {
		if !names[must] {
			t.Fatalf("parsing halld's source found no %s (found %d names): the parser is broken", must, len(names))
		}
	}
	return names
}

var (
	promString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promMatchers = regexp.MustCompile(`\{[^{}]*\}`)
	promRange    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`(?i)\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	promIdent    = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	promKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
		"inf": true, "nan": true, "e": true}
)

// metricNames returns the metric names a PromQL expression selects:
// identifiers that are not functions, keywords, label names or numbers.
func metricNames(expr string) []string {
	s := promString.ReplaceAllString(expr, `""`)
	s = promMatchers.ReplaceAllString(s, "{}")
	s = promRange.ReplaceAllString(s, "[]")
	s = promGrouping.ReplaceAllString(s, " ")
	var out []string
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		id := s[loc[0]:loc[1]]
		if loc[0] > 0 && (s[loc[0]-1] >= '0' && s[loc[0]-1] <= '9' || s[loc[0]-1] == '.') {
			continue // the exponent or unit of a number (1e3, 5m)
		}
		if promKeywords[strings.ToLower(id)] || strings.HasPrefix(id, "$") {
			continue
		}
		rest := strings.TrimLeft(s[loc[1]:], " \t\n")
		if strings.HasPrefix(rest, "(") {
			continue // a function
		}
		out = append(out, id)
	}
	return out
}

func standardMetric(name string) bool {
	return name == "up" || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "go_")
}

func checkExprMetrics(t *testing.T, where, expr string, known map[string]bool) []string {
	t.Helper()
	names := metricNames(expr)
	if len(names) == 0 {
		t.Errorf("%s: expr %q selects no metric", where, expr)
	}
	for _, n := range names {
		if !known[n] && !standardMetric(n) {
			t.Errorf("%s: expr %q uses metric %q, which halld does not export (and is not process_*, go_* or up)", where, expr, n)
		}
	}
	return names
}

func TestMetricNamesParser(t *testing.T) {
	got := metricNames(`histogram_quantile(0.9, sum by (le, route) (rate(halld_http_request_duration_seconds_bucket{route!="stream", job=~"$job"}[5m]))) > 1e3 and on (instance) up{job="halld"} == 0 or changes(process_start_time_seconds[1h]) > 2`)
	want := []string{"halld_http_request_duration_seconds_bucket", "up", "process_start_time_seconds"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("metricNames = %v, want %v", got, want)
	}
}

// ---------------------------------------------------------------- alert rules

func TestAlertRulesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but promtool is missing (apt-get install -y prometheus): %v", err)
		}
		t.Skip("promtool not installed (apt-get install -y prometheus); set CI to fail instead")
	}
	out, err := exec.Command(promtool, "check", "rules", "../monitoring/halld-alerts.yml").CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))
}

func TestAlertRulesUseKnownMetrics(t *testing.T) {
	known := halldMetrics(t)
	b, err := os.ReadFile("../monitoring/halld-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	// No YAML library in the module: promtool converts the file to JSON-ish
	// checks; here the exprs are read with a small line parser (expr: …
	// on one line, or a | block).
	var exprs []string
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "expr:") {
			continue
		}
		v := strings.TrimSpace(strings.TrimPrefix(l, "expr:"))
		if v == "|" || v == "|-" || v == ">" {
			indent := -1
			var block []string
			for i+1 < len(lines) {
				next := lines[i+1]
				ind := len(next) - len(strings.TrimLeft(next, " "))
				if strings.TrimSpace(next) != "" && indent == -1 {
					indent = ind
				}
				if strings.TrimSpace(next) != "" && ind < indent {
					break
				}
				block = append(block, next)
				i++
			}
			v = strings.Join(block, "\n")
		}
		exprs = append(exprs, v)
	}
	alerts := strings.Count(string(b), "- alert:")
	if len(exprs) != alerts || alerts < 10 {
		t.Fatalf("found %d exprs for %d alerts", len(exprs), alerts)
	}
	used := map[string]bool{}
	for i, e := range exprs {
		for _, n := range checkExprMetrics(t, fmt.Sprintf("rule %d", i+1), e, known) {
			used[n] = true
		}
	}
	for _, want := range []string{"halld_device_up", "halld_device_state", "halld_padbus_timeouts_total", "halld_uplink_connected",
		"halld_uplink_lag_events", "halld_uplink_oldest_unsent_seconds", "halld_journal_bytes",
		"halld_http_request_duration_seconds_count", "halld_ws_dropped_total", "process_start_time_seconds", "up"} {
		if !used[want] {
			t.Errorf("no alert rule uses %s", want)
		}
	}
	// Every alert has a severity, a Chinese summary and an English description.
	han := regexp.MustCompile(`\p{Han}`)
	for _, block := range strings.Split(string(b), "- alert:")[1:] {
		name := strings.Fields(block)[0]
		if !regexp.MustCompile(`severity: (critical|warning|info)`).MatchString(block) {
			t.Errorf("%s: no severity label", name)
		}
		m := regexp.MustCompile(`summary: "([^"\n]*)"`).FindStringSubmatch(block)
		if m == nil || !han.MatchString(m[1]) {
			t.Errorf("%s: summary missing or not Chinese", name)
		}
		d := regexp.MustCompile(`description: "([^"\n]*)"`).FindStringSubmatch(block)
		if d == nil || han.MatchString(d[1]) || len(d[1]) < 20 {
			t.Errorf("%s: description missing or not English", name)
		}
	}
}

// ---------------------------------------------------------------- Grafana

type grafanaPanel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource map[string]any `json:"datasource"`
	GridPos    struct{ H, W, X, Y int }
	Targets    []struct {
		Expr       string         `json:"expr"`
		RefID      string         `json:"refId"`
		Datasource map[string]any `json:"datasource"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"`
}

func TestGrafanaDashboard(t *testing.T) {
	known := halldMetrics(t)
	b, err := os.ReadFile("../monitoring/grafana-halld.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		SchemaVersion int            `json:"schemaVersion"`
		Title         string         `json:"title"`
		UID           string         `json:"uid"`
		Panels        []grafanaPanel `json:"panels"`
		Templating    struct {
			List []struct{ Name, Type string } `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("grafana-halld.json: %v", err)
	}
	if dash.SchemaVersion < 36 || dash.Title == "" || dash.UID == "" {
		t.Errorf("schemaVersion %d, title %q, uid %q", dash.SchemaVersion, dash.Title, dash.UID)
	}
	hasDS := false
	for _, v := range dash.Templating.List {
		hasDS = hasDS || (v.Name == "DS_PROMETHEUS" && v.Type == "datasource")
	}
	if !hasDS {
		t.Error("no datasource variable DS_PROMETHEUS")
	}
	var all []grafanaPanel
	for _, p := range dash.Panels {
		all = append(all, p)
		all = append(all, p.Panels...)
	}
	ids := map[int]bool{}
	used := map[string]bool{}
	queries := 0
	for _, p := range all {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: bad gridPos %+v", p.Title, p.GridPos)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no targets", p.Title)
		}
		if uid, _ := p.Datasource["uid"].(string); uid != "${DS_PROMETHEUS}" {
			t.Errorf("panel %q: datasource uid %q, want ${DS_PROMETHEUS}", p.Title, uid)
		}
		for _, tg := range p.Targets {
			queries++
			for _, n := range checkExprMetrics(t, "panel "+p.Title, tg.Expr, known) {
				used[n] = true
			}
		}
	}
	if queries < 10 {
		t.Errorf("only %d queries", queries)
	}
	for _, want := range []string{"halld_device_state", "halld_tickets_issued_total", "halld_ticket_print_seconds_bucket",
		"halld_padbus_cycle_seconds", "halld_uplink_lag_events", "halld_journal_head_seq", "halld_journal_bytes",
		"halld_http_request_duration_seconds_bucket", "halld_ws_clients"} {
		if !used[want] {
			t.Errorf("no panel shows %s", want)
		}
	}
	var unused []string
	for n := range known {
		if !used[n] && !used[n+"_bucket"] && !used[n+"_count"] && !regexp.MustCompile(`_(bucket|count|sum)$`).MatchString(n) {
			unused = append(unused, n)
		}
	}
	sort.Strings(unused)
	t.Logf("%d panels, %d queries; halld metrics not on the dashboard: %v", len(all), queries, unused)
}

// ---------------------------------------------------------------- /reports/ in a browser

const reportsHallYAML = `
hall:
  id: test-hall
  name: 湖南湘江新区政务服务大厅
  timezone: Asia/Shanghai
  hotline: "0731-88995297"
  opening_hours:
    - {days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}
storage:
  dir: %s
areas:
  - {id: front, name: 前窗审批服务区}
services:
  - {id: company-setup, prefix: A, name: 企业开办, area: front}
  - {id: tax, prefix: B, name: 税务, area: front}
windows:
  - {id: w1, number: 1, name: 综合窗口, services: [{service: company-setup}, {service: tax}]}
  - {id: w2, number: 2, name: 税务窗口, services: [{service: tax}]}
staff:
  - {id: s1, name: 张敏, windows: [w1]}
  - {id: s2, name: 刘洋, windows: [w2]}
devices:
  - {id: kiosk-1, kind: kiosk, area: front, kiosk: {printers: [printer-1]}}
  - {id: printer-1, kind: ticket_printer, area: front, simulate: true, printer: {poll_interval: 100ms}}
`

// startReportsHall starts halld on a clock the test moves forward (from
// Wednesday 2026-11-25 09:05), so waits and service times are not zero and
// the day has several hours.
func startReportsHall(t *testing.T) (*hall, func(time.Duration)) {
	t.Helper()
	base := wednesday10().Add(-55 * time.Minute)
	var offset atomic.Int64
	now := func() time.Time { return base.Add(time.Duration(offset.Load())) }
	h := launchHall(t, t.TempDir(), reportsHallYAML, "127.0.0.1:0", now)
	return h, func(d time.Duration) { offset.Add(int64(d)) }
}

func TestReportsPage(t *testing.T) {
	needBrowser(t)
	h, advance := startReportsHall(t)
	h.waitDevice("printer-1", "ready")

	h.post("/api/v1/windows/w1/sign-in", `{"staff":"s1"}`, 200, 201)
	h.post("/api/v1/windows/w2/sign-in", `{"staff":"s2"}`, 200, 201)
	// 09:05–09:20: six tickets.
	for _, svc := range []string{"company-setup", "tax", "company-setup", "tax", "tax", "company-setup"} {
		h.issue(svc)
		advance(3 * time.Minute)
	}
	levels := []string{"非常满意", "满意", "非常满意", "不满意"}
	served := 0
	serve := func(win string, minutes int) {
		called := h.post("/api/v1/windows/"+win+"/call-next", `{}`, 200)
		visit := called["ticket"].(map[string]any)["visit"].(float64)
		h.post("/api/v1/windows/"+win+"/start", `{}`, 200)
		advance(time.Duration(minutes) * time.Minute)
		h.post("/api/v1/windows/"+win+"/finish", `{}`, 200)
		if served < len(levels) {
			reasons := ""
			if levels[served] == "不满意" {
				reasons = `,"reasons":["等候时间长"]`
			}
			h.post("/api/v1/ratings", fmt.Sprintf(`{"visit":%d,"level":%q%s}`, int(visit), levels[served], reasons), 201)
		}
		served++
	}
	serve("w1", 12) // A001
	serve("w2", 8)  // B001
	advance(40 * time.Minute)
	serve("w1", 20) // B002 or A002
	serve("w2", 15)
	advance(30 * time.Minute)
	h.post("/api/v1/windows/w1/call-next", `{}`, 200)
	advance(6 * time.Minute)
	h.post("/api/v1/windows/w1/no-show", `{}`, 200)
	// Served 4, no-show 1, waiting 1; 4 ratings, 1 差评.

	p := openBrowser(t, 1440, 2000)
	p.navigate(h.base + "/reports/")
	p.waitText("#kpi-issued", "6")
	p.waitText("#kpi-served", "4")
	p.waitText("#kpi-bad", "1")
	p.waitText("#kpi-noshow", "1")
	p.waitText("#kpi-satisfaction", "75.0%")
	p.waitJS("the charts rendered", `document.body.getAttribute("data-charts")==="rendered"`, `String(document.body.getAttribute("data-charts"))`)
	// The volume chart drew bars: Chart.js has it, with the two services and nonzero data, and the canvas has pixels.
	p.waitJS("the volume chart has both services",
		`(function(){var c=Chart.getChart("chart-volume");return !!c&&c.data.labels.join(",")==="企业开办,税务"&&c.data.datasets[0].data.join(",")==="3,3"})()`,
		`(function(){var c=Chart.getChart("chart-volume");return c?JSON.stringify([c.data.labels,c.data.datasets.map(function(d){return d.data})]):"no chart"})()`)
	inked := eval[bool](p, `(function(){var c=document.getElementById("chart-volume");var d=c.getContext("2d").getImageData(0,0,c.width,c.height).data;var n=0;for(var i=0;i<d.length;i+=4){if(d[i+3]>0&&!(d[i]>240&&d[i+1]>240&&d[i+2]>240))n++}return n>2000})()`)
	if !inked {
		p.fail("#chart-volume canvas is blank")
	}
	if n := eval[int](p, `Chart.getChart("chart-hours").data.labels.length`); n < 3 {
		p.fail("hour chart has %d hours", n)
	}
	if rows := eval[int](p, `document.querySelectorAll("#report-table tbody tr").length`); rows < 2 {
		p.fail("report table has %d rows, want a row per service", rows)
	}
	if got := p.text(`#report-table tbody tr[data-key="company-setup"] th`); got != "企业开办" {
		p.fail("company-setup row labelled %q", got)
	}
	if href := eval[string](p, `document.getElementById("csv-report").getAttribute("href")`); !strings.Contains(href, "from=2026-11-25") || !strings.Contains(href, "format=csv") {
		p.fail("CSV link %q", href)
	}
	// Stars: two active staff, 10% of 2 is 0 — nobody named, and the page says why.
	p.waitJS("the stars loaded", `document.body.getAttribute("data-stars")==="2026Q4"`, `String(document.body.getAttribute("data-stars"))`)
	p.waitVisible("#stars-note")
	if note := p.text("#stars-note"); !strings.Contains(note, "10%") {
		p.fail("stars note %q does not explain the 10%% cap", note)
	}
	if n := eval[int](p, `document.querySelectorAll("#stars-named li").length`); n != 0 {
		p.fail("%d stars named with 2 staff", n)
	}
	if n := eval[int](p, `document.querySelectorAll("#stars-rows tr").length`); n != 2 {
		p.fail("%d candidates, want 2", n)
	}
	p.screenshot("reports-today")

	// A headcount of 10 gives one place: one named star with the explanation.
	setValue(p, "#headcount", "10", "")
	p.click("#stars-load")
	p.waitJS("one star named", `document.querySelectorAll("#stars-named li").length===1`, `document.getElementById("stars-named").textContent`)
	if why := p.text("#stars-named li .r-star-why"); len([]rune(why)) < 10 {
		p.fail("star explanation %q", why)
	}
	p.waitHidden("#stars-note")

	// Grouping by window: a row per window and the unassigned (issued) row.
	setValue(p, "#by", "window", "change")
	p.waitJS("grouped by window", `(document.body.getAttribute("data-loaded")||"").endsWith("/window")`, `String(document.body.getAttribute("data-loaded"))`)
	if got := p.text(`#report-table tbody tr[data-key="w1"] th`); got != "综合窗口" {
		p.fail("w1 row labelled %q", got)
	}
	p.click(`.r-range[data-range="month"]`)
	p.waitJS("this month", `(document.body.getAttribute("data-loaded")||"").indexOf("2026-11-01/2026-11-26/")===0`, `String(document.body.getAttribute("data-loaded"))`)
	p.waitText("#kpi-issued", "6")
	eval[bool](p, `(window.scrollTo(0,0), true)`)
	p.screenshot("reports-month-by-window")
}

// setValue sets the value of the form control css and, when event is set,
// dispatches that event on it (as the user's choice would).
func setValue(p *page, css, value, event string) {
	p.t.Helper()
	ok := eval[bool](p, fmt.Sprintf(`(function(){var e=document.querySelector(%s);if(!e)return false;e.value=%s;if(%s)e.dispatchEvent(new Event(%s,{bubbles:true}));return true})()`,
		js(css), js(value), js(event), js(event)))
	if !ok {
		p.fail("no element %s", css)
	}
}
