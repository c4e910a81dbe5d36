package kioskui_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func alertCard(id string) string { return fmt.Sprintf(`#tab-alerts .a-card[data-alert=%q]`, id) }

// The monitoring room's 告警 tab: a printer runs out of paper → the alert
// flashes and beeps → acknowledged with a note → assigned → closing it is
// refused while the printer is still out of paper → a 差评 arrives (no
// flash: not critical) and is closed by hand → the paper is refilled and
// the printer's alert ends by itself → both are in 今日已关闭 with their
// histories.
func TestSuperviseAlertsTab(t *testing.T) {
	needBrowser(t)
	h := startHall(t)
	h.waitDevice("printer-1", "ready")
	p := openBrowser(t, monitorW, monitorH)
	p.navigate(h.base + "/supervise/#alerts")
	p.waitJS("the alerts tab", `document.querySelector("#tab-alerts .a-summary") && /未关闭告警 0 条/.test(document.querySelector("#tab-alerts .a-summary").textContent)`,
		`document.body.innerText.slice(0,300)`)
	// The one gesture browsers want before a sound.
	p.waitText("#tab-alerts .a-sound", "声音提醒：未开启（点此开启）")
	p.click("#tab-alerts .a-sound")
	p.waitText("#tab-alerts .a-sound", "声音提醒：已开启")
	beeps := eval[int](p, `SuperviseAlerts.beeps`)
	// The shell keeps at most three toasts: quick steps do not stack a column.
	if n := eval[int](p, `(function(){ for (var i = 0; i < 6; i++) Supervise.ctx.toast("提示 " + i); return document.getElementById("toast").children.length; })()`); n != 3 {
		t.Errorf("%d toasts on screen after six, want 3", n)
	}

	// A critical alert: flash, beep, badge.
	h.simulate("printer-1", "paper_end")
	dev := alertCard("device-printer-1")
	p.waitVisible(dev)
	p.waitJS("the banner flashing", `document.querySelector("#tab-alerts .a-banner.flash") !== null && !document.querySelector("#tab-alerts .a-banner").hidden`, "")
	p.waitJS("the card flashing", fmt.Sprintf(`document.querySelector(%s).classList.contains("flash")`, js(dev)), "")
	p.waitJS("a beep", fmt.Sprintf(`SuperviseAlerts.beeps > %d`, beeps), `String(SuperviseAlerts.beeps)`)
	p.waitText(`[data-tab="alerts"] .s-badge`, "1")
	if got := p.text("#tab-alerts .a-banner"); !strings.Contains(got, "printer-1") || !strings.Contains(got, "缺纸") || !strings.Contains(got, "前窗审批服务区") {
		t.Errorf("banner %q", got)
	}
	if got := p.text(dev + " .a-sev"); got != "紧急" {
		t.Errorf("severity %q", got)
	}
	if got := p.text(dev + " .a-area"); got != "前窗审批服务区" {
		t.Errorf("area %q", got)
	}
	p.screenshot("supervise-alerts-1-flash")

	// Acknowledge with a note.
	p.click(dev + ` button[data-act="ack"]`)
	p.waitVisible(dev + " form textarea")
	setValue(p, dev+" form textarea", "已通知保洁补纸", "input")
	p.click(dev + ` form button[type="submit"]`)
	p.waitJS("acknowledged", fmt.Sprintf(`/已确认 · loopback/.test(document.querySelector(%s + " .a-state").textContent)`, js(dev)), fmt.Sprintf(`document.querySelector(%s).textContent`, js(dev)))
	// Assign.
	p.click(dev + ` button[data-act="assign"]`)
	p.waitVisible(dev + ` form input[name="to"]`)
	setValue(p, dev+` form input[name="to"]`, "王师傅", "input")
	setValue(p, dev+" form textarea", "请去一号取号机换纸", "input")
	p.click(dev + ` form button[type="submit"]`)
	p.waitJS("assigned", fmt.Sprintf(`/处理人：王师傅/.test(document.querySelector(%s).textContent)`, js(dev)), fmt.Sprintf(`document.querySelector(%s).textContent`, js(dev)))
	// Closing while the printer is still out of paper is refused, saying why.
	p.click(dev + ` button[data-act="close"]`)
	setValue(p, dev+" form textarea", "已处理", "input")
	p.click(dev + ` form button[type="submit"]`)
	p.waitJS("the refusal", fmt.Sprintf(`/仍.*缺纸.*确认/.test(document.querySelector(%s + " .a-err").textContent)`, js(dev)), fmt.Sprintf(`document.querySelector(%s).textContent`, js(dev)))
	p.screenshot("supervise-alerts-2-refused")
	p.click(dev + ` form button[type="button"]`) // 取消

	// A 差评 from a window: a warning, no flash, no beep.
	beeps = eval[int](p, `SuperviseAlerts.beeps`)
	alarms := eval[int](p, `SuperviseAlerts.alarms`)
	h.post("/api/v1/windows/w1/sign-in", `{"staff":"S007"}`, 200)
	h.issue("tax")
	h.post("/api/v1/windows/w1/call-next", `{}`, 200)
	h.post("/api/v1/windows/w1/finish", `{}`, 200)
	_, win := h.call("GET", "/api/v1/windows/w1", "")
	b, _ := json.Marshal(win)
	var w struct {
		Window struct {
			Awaiting int `json:"awaiting_rating"`
		} `json:"window"`
	}
	json.Unmarshal(b, &w)
	if w.Window.Awaiting == 0 {
		t.Fatalf("no visit awaiting its rating: %s", b)
	}
	h.post("/api/v1/ratings", fmt.Sprintf(`{"visit":%d,"level":"非常不满意","reasons":["服务态度差"],"channel":"api"}`, w.Window.Awaiting), 200, 201)
	badID := fmt.Sprintf("bad-rating-%d", w.Window.Awaiting)
	bad := alertCard(badID)
	p.waitVisible(bad)
	p.waitText(`[data-tab="alerts"] .s-badge`, "2")
	if first := eval[string](p, `document.querySelector("#tab-alerts .a-card").dataset.alert`); first != badID {
		t.Errorf("newest first: the first card is %s", first)
	}
	if got := p.text(bad + " .a-kind"); got != "差评" {
		t.Errorf("kind %q", got)
	}
	if b, a := eval[int](p, `SuperviseAlerts.beeps`), eval[int](p, `SuperviseAlerts.alarms`); b != beeps || a != alarms {
		t.Errorf("a warning beeped (%d → %d) or flashed (%d → %d)", beeps, b, alarms, a)
	}
	// Filter by severity: only the printer's.
	setValue(p, `#tab-alerts select[name="severity"]`, "critical", "change")
	p.waitJS("filtered", `document.querySelectorAll("#tab-alerts .a-card").length === 1`, `String(document.querySelectorAll("#tab-alerts .a-card").length)`)
	setValue(p, `#tab-alerts select[name="severity"]`, "", "change")
	p.waitVisible(bad)
	// Close the 差评 by hand.
	p.click(bad + ` button[data-act="close"]`)
	p.click(bad + ` form button[type="submit"]`) // without a note: refused on the page
	p.waitText(bad+" .a-err", "请填写处理说明")
	setValue(p, bad+" form textarea", "已电话回访，转差评整改", "input")
	p.click(bad + ` form button[type="submit"]`)
	p.waitHidden(bad)
	p.waitText(`[data-tab="alerts"] .s-badge`, "1")

	// The paper is refilled: the printer's alert ends by itself.
	h.simulate("printer-1", "paper_ok")
	p.waitHidden(dev)
	p.waitHidden("#tab-alerts .a-banner") // what it announced is over
	p.waitJS("no badge", `document.querySelector('[data-tab="alerts"] .s-badge').hidden`, "")
	p.waitJS("nothing open", `/当前没有未关闭的告警/.test(document.querySelector("#tab-alerts .a-list").textContent)`, `document.querySelector("#tab-alerts .a-list").textContent`)

	// 今日已关闭: both, newest first, with their histories.
	p.click(`#tab-alerts .a-view[data-view="closed"]`)
	p.waitVisible(dev)
	p.waitVisible(bad)
	if got := p.text(bad + " .a-state"); !strings.Contains(got, "已关闭 · loopback") || !strings.Contains(got, "已电话回访") {
		t.Errorf("closed 差评 reads %q", got)
	}
	if got := p.text(dev + " .a-state"); !strings.Contains(got, "已自动恢复（设备恢复正常）") || !strings.Contains(got, "王师傅") {
		t.Errorf("cleared printer alert reads %q", got)
	}
	p.click(dev + ` button[data-act="history"]`)
	p.waitVisible(dev + " .a-history")
	steps := eval[string](p, fmt.Sprintf(`Array.prototype.map.call(document.querySelectorAll(%s + " .a-history li"), function(li){return li.querySelector(".a-h-what").textContent + "/" + li.querySelector(".a-h-who").textContent}).join(" | ")`, js(dev)))
	if want := "产生/系统 | 确认/loopback | 指派 → 王师傅/loopback | 自动恢复（设备恢复正常）/系统"; steps != want {
		t.Errorf("history %q, want %q", steps, want)
	}
	if got := p.text(dev + " .a-history"); !strings.Contains(got, "已通知保洁补纸") || !strings.Contains(got, "请去一号取号机换纸") {
		t.Errorf("history without the notes: %q", got)
	}
	p.screenshot("supervise-alerts-3-closed-today")
}
