package kioskui_test

// /supervise/ 差评整改: a 差评 given through the ratings API (what networked
// pads use) followed through every step on the page, on a hall clock that
// crosses the National Day holiday (with a weekend inside) and its 调休
// Saturday. Same harness as browser_test.go.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const followUpHallYAML = hallYAML + `staff:
  - {id: s1, name: 张敏, windows: [w1]}
holidays:
  - {date: "2026-10-01", name: 国庆节}
  - {date: "2026-10-02", name: 国庆节}
  - {date: "2026-10-05", name: 国庆节}
  - {date: "2026-10-06", name: 国庆节}
  - {date: "2026-10-07", name: 国庆节}
  - {date: "2026-10-10", name: 国庆调休, workday: true}
`

func TestSuperviseFollowUpThroughEveryStep(t *testing.T) {
	needBrowser(t)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	clk := &testClock{t: time.Date(2026, 9, 30, 10, 0, 0, 0, loc)} // Wednesday, the day before the holiday
	start := time.Now()
	h := launchHall(t, t.TempDir(), followUpHallYAML, "127.0.0.1:0", func() time.Time { return clk.now().Add(time.Since(start)) })
	setDay := func(s string) { // moves the hall's clock to s, hall time
		t.Helper()
		to, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		clk.add(to.Sub(clk.now().Add(time.Since(start))))
	}

	// A 差评 with its reasons, as a networked pad sends it.
	h.post("/api/v1/windows/w1/sign-in", `{"staff":"s1"}`, 200)
	number := h.issue("tax")
	called := h.post("/api/v1/windows/w1/call-next", `{}`, 200)
	visit := int(called["ticket"].(map[string]any)["visit"].(float64))
	h.post("/api/v1/windows/w1/finish", `{}`, 200)
	h.post("/api/v1/ratings", fmt.Sprintf(`{"visit":%d,"level":"不满意","reasons":["等候时间长","告知不清楚"],"comment":"材料要求没有一次说清","channel":"api"}`, visit), 201)
	if !alertOpen(h, fmt.Sprintf("bad-rating-%d", visit)) {
		t.Fatal("no bad-rating alert")
	}

	p := openBrowser(t, 1440, 900)
	p.navigate(h.base + "/supervise/#followups")
	row := `#fu-list tr[data-id="fu-1"]`
	p.waitVisible(row)
	// 回访 is due Thu 10-08: 10-01 … 10-07 are off.
	p.waitText(row+" .fu-countdown", "回访 · 剩 1 个工作日")
	if got := p.text(row + " .fu-rtags"); got != "等候时间长告知不清楚" {
		t.Fatalf("reason tags %q", got)
	}
	p.waitText(`.fu-reasons .fu-tag[data-reason="等候时间长"] b`, "1")
	p.click(row)
	p.waitVisible(`#fu-detail form[data-step="callback"]`)
	if got := p.text("#fu-detail .fu-due"); !strings.Contains(got, "10-08 23:59") {
		t.Fatalf("due %q", got)
	}

	// Friday 10-09: the 回访 is late — red, the badge counts it.
	setDay("2026-10-09 09:00")
	p.waitJS("the 回访 overdue", `(function(){var e=document.querySelector('#fu-list tr[data-id="fu-1"] .fu-late');return !!e && e.textContent==="回访 · 已超期 9 小时"})()`,
		`document.querySelector('#fu-list tr[data-id="fu-1"] .fu-countdown').textContent`)
	p.waitText(`[data-tab="followups"] .s-badge`, "1")
	p.waitVisible(`#fu-detail .fu-steps li.now.late[data-step="callback"]`)
	p.screenshot("supervise-followups-overdue")

	// 回访: first not reached, then reached.
	form := `#fu-detail form[data-step="callback"]`
	p.click(form + ` input[name="reached"][value="no"]`)
	p.do("handler", chromedp.SendKeys(chromedp.CSS(form+` input[name="handler"]`), "王主任"))
	p.click(form + " .fu-submit")
	p.waitJS("attempt recorded", `document.querySelector("#fu-detail .fu-history").textContent.indexOf("未接通（第 1 次）")>=0`,
		`document.querySelector("#fu-detail").textContent`)
	p.click(form + ` input[name="reached"][value="yes"]`)
	p.do("note", chromedp.SendKeys(chromedp.CSS(form+` textarea[name="note"]`), "已电话回访，群众反映等候一个多小时"))
	p.click(form + " .fu-submit")
	// 整改: 3 working days from Fri 10-09 — Sat 10-10 is a 调休 working day — due Tue 10-13.
	p.waitVisible(`#fu-detail form[data-step="rectify"]`)
	p.waitText(row+" .fu-countdown", "整改 · 剩 3 个工作日曾超期")
	p.waitHidden(`[data-tab="followups"] .s-badge`) // nothing is late now
	if alertOpen(h, "followup-overdue-fu-1-callback") {
		t.Fatal("the 回访's overdue alert is still open")
	}

	step := func(name, note string) {
		t.Helper()
		f := fmt.Sprintf(`#fu-detail form[data-step=%q]`, name)
		p.waitVisible(f)
		p.do(name+" note", chromedp.SendKeys(chromedp.CSS(f+` textarea[name="note"]`), note))
		p.click(f + " .fu-submit")
	}
	rate := func(level string) {
		t.Helper()
		f := `#fu-detail form[data-step="rating"]`
		p.waitVisible(f)
		p.click(fmt.Sprintf(`%s input[name="level"][value=%q]`, f, level))
		p.click(f + " .fu-submit")
	}
	setDay("2026-10-12 10:00")
	step("rectify", "高峰期增开税务窗口，材料清单张贴在窗口")
	step("feedback", "已电话告知整改措施")
	// The citizen is not satisfied: back to 整改, a second round.
	rate("不满意")
	p.waitVisible(`#fu-detail form[data-step="rectify"]`)
	p.waitJS("second round", `document.querySelector('#fu-list tr[data-id="fu-1"] .fu-stage').textContent.indexOf("第 2 轮整改")>=0`,
		`document.querySelector('#fu-list tr[data-id="fu-1"] .fu-stage').textContent`)
	step("rectify", "对窗口人员进行一次性告知培训")
	step("feedback", "再次电话反馈")
	rate("满意")
	p.waitText("#fu-detail .fu-closed", "已办结 · 群众对整改的评价：满意")
	p.click(`.fu-filter[data-status="closed"]`)
	p.waitVisible(row)
	p.waitText(row+" .fu-stage", "已办结")
	if alertOpen(h, fmt.Sprintf("bad-rating-%d", visit)) {
		t.Fatal("the bad-rating alert is still open after the follow-up closed")
	}
	p.waitHidden(`[data-tab="followups"] .s-badge`)  // nothing overdue now
	p.waitText(row+" .fu-countdown .fu-mark", "曾超期") // still marked, for the ranking
	hist := p.text("#fu-detail .fu-history")
	for _, want := range []string{"收到差评", "回访：未接通（第 1 次）", "回访：已接通", "经办：王主任 · 记录：loopback", "群众评价：不满意", "群众评价：满意"} {
		if !strings.Contains(hist, want) {
			t.Errorf("history lacks %q:\n%s", want, hist)
		}
	}
	p.screenshot("supervise-followups-closed")
	_ = number
}

// alertOpen tells whether the hall has the alert open.
func alertOpen(h *hall, id string) bool {
	h.t.Helper()
	_, snap := h.call("GET", "/api/v1/snapshot", "")
	data, _ := snap["data"].(map[string]any)
	if data == nil {
		data = snap
	}
	alerts, _ := data["alerts"].([]any)
	for _, a := range alerts {
		if m, _ := a.(map[string]any); m["alert_id"] == id {
			return true
		}
	}
	return false
}

// An appeal from the page: the step pauses, 复核 is due, and 申诉成立 closes
// the follow-up with the rating excluded and the 差评's alert cleared.
func TestSuperviseFollowUpAppealUpheld(t *testing.T) {
	needBrowser(t)
	h := launchHall(t, t.TempDir(), followUpHallYAML, "127.0.0.1:0", wednesday10)
	h.post("/api/v1/windows/w1/sign-in", `{"staff":"s1"}`, 200)
	h.issue("tax")
	called := h.post("/api/v1/windows/w1/call-next", `{}`, 200)
	visit := int(called["ticket"].(map[string]any)["visit"].(float64))
	h.post("/api/v1/windows/w1/finish", `{}`, 200)
	h.post("/api/v1/ratings", fmt.Sprintf(`{"visit":%d,"level":"非常不满意","reasons":["服务态度差"],"channel":"api"}`, visit), 201)

	p := openBrowser(t, 1440, 900)
	p.navigate(h.base + "/supervise/#followups")
	row := `#fu-list tr[data-id="fu-1"]`
	p.waitVisible(row)
	p.click(row)
	p.waitVisible("#fu-detail .fu-appeal")
	p.click("#fu-detail .fu-appeal summary")
	form := `#fu-detail form[data-step="appeal"]`
	p.waitVisible(form + " textarea")
	p.click(form + " .fu-submit") // no reason: refused, in Chinese
	p.waitText(form+" .fu-error", "请填写申诉理由")
	p.do("reason", chromedp.SendKeys(chromedp.CSS(form+` textarea[name="note"]`), "群众误按评价键，监控可查"))
	p.click(form + " .fu-submit")
	review := `#fu-detail form[data-step="review"]`
	p.waitVisible(review)
	p.waitText(row+" .fu-stage", "申诉复核中")
	p.waitText(row+" .fu-countdown span", "申诉复核 · 剩 5 个工作日")
	p.do("opinion", chromedp.SendKeys(chromedp.CSS(review+` textarea[name="note"]`), "调取监控，确认误评"))
	p.screenshot("supervise-followups-review")
	p.click(review + " .fu-uphold")
	p.waitText("#fu-detail .fu-closed", "申诉成立：该差评不计入统计，已办结")
	if alertOpen(h, fmt.Sprintf("bad-rating-%d", visit)) {
		t.Fatal("the bad-rating alert is still open after the appeal was upheld")
	}
	_, one := h.call("GET", "/api/v1/followups/fu-1", "")
	if f := one["followup"].(map[string]any); f["excluded"] != true || f["closed"] != true {
		t.Fatalf("upheld: %v", f)
	}
}
