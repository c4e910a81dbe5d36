package kioskui_test

// TestSuperviseRankingTab: the /supervise/ 窗口排名 tab in headless Chromium over a real in-process
// halld in which three windows served and had rated a visit each: the table in rank order with the
// breakdown, the links to the CSV (with its byte-order mark) and the PDF carrying the page's token,
// a row's calculation, the quarter. Screenshots of both.

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const rankingHallYAML = `
hall:
  id: test-hall
  name: 湖南湘江新区政务服务大厅
  timezone: Asia/Shanghai
  opening_hours:
    - {days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}
storage:
  dir: %s
areas:
  - {id: front, name: 前窗审批服务区}
services:
  - {id: tax, prefix: B, name: 税务, area: front}
windows:
  - {id: w1, number: 1, name: 综合一窗, services: [{service: tax}]}
  - {id: w2, number: 2, name: 综合二窗, services: [{service: tax}]}
  - {id: w3, number: 3, name: 税务窗口, services: [{service: tax}]}
staff:
  - {id: s1, name: 张敏, windows: [w1]}
  - {id: s2, name: 刘洋, windows: [w2]}
  - {id: s3, name: 王芳, windows: [w3]}
ranking: {min_served: 1, min_rated: 1}
devices:
  - {id: kiosk-1, kind: kiosk, area: front, kiosk: {printers: [printer-1]}}
  - {id: printer-1, kind: ticket_printer, area: front, simulate: true, printer: {poll_interval: 100ms}}
`

func TestSuperviseRankingTab(t *testing.T) {
	needBrowser(t)
	base := wednesday10().Add(-55 * time.Minute)
	var offset atomic.Int64
	now := func() time.Time { return base.Add(time.Duration(offset.Load())) }
	h := launchHall(t, t.TempDir(), rankingHallYAML, "127.0.0.1:0", now)
	h.waitDevice("printer-1", "ready")
	for i, lvl := range []string{"非常满意", "满意", "不满意"} {
		win := fmt.Sprintf("w%d", i+1)
		h.post("/api/v1/windows/"+win+"/sign-in", fmt.Sprintf(`{"staff":"s%d"}`, i+1), 200, 201)
		h.issue("tax")
		called := h.post("/api/v1/windows/"+win+"/call-next", `{}`, 200)
		visit := called["ticket"].(map[string]any)["visit"].(float64)
		h.post("/api/v1/windows/"+win+"/start", `{}`, 200)
		offset.Add(int64(8 * time.Minute))
		h.post("/api/v1/windows/"+win+"/finish", `{}`, 200)
		reasons := ""
		if lvl == "不满意" {
			reasons = `,"reasons":["等候时间长"]`
		}
		h.post("/api/v1/ratings", fmt.Sprintf(`{"visit":%d,"level":%q%s}`, int(visit), lvl, reasons), 201)
	}

	p := openBrowser(t, 1440, 900)
	p.navigate(h.base + "/supervise/?token=page-token-0123456789#ranking")
	p.waitAttr("#tab-ranking", "data-state", "loaded")
	if sel := eval[string](p, `document.querySelector('[data-tab="ranking"]').getAttribute("aria-selected")`); sel != "true" {
		p.fail("the 窗口排名 tab is not the open one: %q", sel)
	}
	p.waitAttr("#tab-ranking", "data-period", "2026-11")
	order := eval[string](p, `Array.prototype.map.call(document.querySelectorAll("#rk-table tr.rk-row"),function(r){return r.dataset.window+":"+r.querySelector(".rk-rank").textContent}).join(" ")`)
	if order != "w1:1 w2:2 w3:3" {
		p.fail("rows %q, want w1:1 w2:2 w3:3", order)
	}
	// The breakdown: four parts with their points, the 差评 deduction on w3.
	if n := eval[int](p, `document.querySelectorAll('#rk-table tr[data-window="w1"] td.rk-part b').length`); n != 4 {
		p.fail("w1 has %d part cells, want 4", n)
	}
	if d := p.text(`#rk-table tr[data-window="w3"] td.rk-ded b`); d != "-2.00" {
		p.fail("w3 deduction %q, want -2.00", d)
	}
	if s := p.text("#rk-summary"); !strings.Contains(s, "2026年11月") || !strings.Contains(s, "参与排名 3 个窗口") {
		p.fail("summary %q", s)
	}
	if f := p.text("#rk-formula"); !strings.Contains(f, "满意度×45%") {
		p.fail("formula %q", f)
	}
	// The links carry the period, the format and the page's token (a link cannot send a header).
	for id, format := range map[string]string{"#rk-csv": "csv", "#rk-pdf": "pdf"} {
		href := eval[string](p, fmt.Sprintf(`document.querySelector(%q).getAttribute("href")`, id))
		for _, want := range []string{"/api/v1/rankings?", "period=2026-11", "format=" + format, "token=page-token-0123456789"} {
			if !strings.Contains(href, want) {
				p.fail("%s href %q lacks %q", id, href, want)
			}
		}
	}
	// What the links give: the CSV with its BOM, the PDF as a PDF.
	eval[bool](p, `(function(){window.__rk={};
		fetch(document.getElementById("rk-csv").href).then(function(r){return r.arrayBuffer()}).then(function(b){window.__rk.csv=Array.prototype.slice.call(new Uint8Array(b),0,3).join(",")+"|"+new TextDecoder().decode(b).indexOf("综合一窗")});
		fetch(document.getElementById("rk-pdf").href).then(function(r){window.__rk.pdf=r.status+" "+r.headers.get("Content-Type")});
		return true})()`)
	p.waitJS("the CSV and the PDF fetched", `!!(window.__rk.csv&&window.__rk.pdf)`, `JSON.stringify(window.__rk)`)
	if csv := eval[string](p, `window.__rk.csv`); !strings.HasPrefix(csv, "239,187,191|") || strings.HasSuffix(csv, "|-1") {
		p.fail("CSV %q: want the UTF-8 BOM and the windows", csv)
	}
	if pdf := eval[string](p, `window.__rk.pdf`); pdf != "200 application/pdf" {
		p.fail("PDF link answers %q", pdf)
	}
	p.screenshot("supervise-ranking-month")

	// A row opens its calculation.
	p.click(`#rk-table tr[data-window="w3"]`)
	p.waitVisible(`#rk-table tr[data-window="w3"] + tr.rk-detail`)
	if d := p.text(`#rk-table tr[data-window="w3"] + tr.rk-detail`); !strings.Contains(d, "计算：") || !strings.Contains(d, "差评") {
		p.fail("w3 calculation %q", d)
	}
	p.screenshot("supervise-ranking-detail")

	// The quarter.
	p.click(`.rk-kind-btn[data-kind="quarter"]`)
	p.waitAttr("#tab-ranking", "data-period", "2026Q4")
	if v := eval[string](p, `document.getElementById("rk-period").value`); v != "2026Q4" {
		p.fail("period picker %q", v)
	}
	if s := p.text("#rk-summary"); !strings.Contains(s, "2026年第4季度") {
		p.fail("quarter summary %q", s)
	}
	if href := eval[string](p, `document.getElementById("rk-pdf").getAttribute("href")`); !strings.Contains(href, "period=2026Q4") {
		p.fail("quarter PDF link %q", href)
	}
	// An earlier month: nothing was recorded then, every window is short of data.
	setValue(p, "#rk-period", "2026Q3", "change")
	p.waitAttr("#tab-ranking", "data-period", "2026Q3")
	if n := eval[int](p, `document.querySelectorAll("#rk-table tr.rk-insufficient").length`); n != 3 {
		p.fail("2026Q3: %d windows marked 数据不足, want 3", n)
	}
	p.screenshot("supervise-ranking-quarter")
}
