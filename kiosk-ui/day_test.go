package kioskui_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"halld/drivers/hpad"
)

// TestHallDayFourPagesAtOnce runs a piece of a hall day with every role's
// page open at once, as in a hall: the citizen at the kiosk, staff at the
// window page, the board, hall IT at the monitor. Each step is done where
// its user does it, and checked on the pages that must show it. The parts
// met here are where a review found them disagreeing: a transfer that kept
// the old service's name, a visit whose 好差评 outcome vanished when the next
// number was called.
func TestHallDayFourPagesAtOnce(t *testing.T) {
	needBrowser(t)
	start := time.Now()
	h := startHall2(t)
	h.waitDevice("printer-1", "ready")
	h.waitDevice("pad-1", "ready")

	kiosk := openKiosk(t, h, "")
	win := openBrowser(t, monitorW, monitorH)
	win.navigate(h.base + "/window/w1/")
	board := openBrowser(t, monitorW, monitorH)
	board.navigate(h.base + "/board/")
	board.waitVisible(`.window-tile[data-window="w1"]`)
	mon := openBrowser(t, monitorW, monitorH)
	mon.navigate(h.base + "/monitor/")
	mon.waitText("#conn-state", "实时已连接")

	// Staff sign in at the window page.
	win.waitJS("s1 in the staff list", `!!document.querySelector('#staff-select option[value="s1"]')`, `document.getElementById("staff-select").innerHTML`)
	win.do("choose 张敏", chromedp.SetValue(chromedp.ID("staff-select"), "s1"))
	win.waitEnabled("#btn-sign")
	win.click("#btn-sign")
	win.waitContains("#staff-name", "张敏")
	board.waitContains(`.window-tile[data-window="w1"]`, "张敏")

	// A citizen takes 企业开办 at the kiosk; the window's queue and the board follow.
	kiosk.click(tile("company-setup"))
	kiosk.waitText("#take-ticket", "取号")
	kiosk.click("#take-ticket")
	kiosk.waitText("#ticket-number", "A001")
	kiosk.waitAttr("#print-status", "data-status", "printed")
	win.waitText("#queue-count", "1")

	// Called from the window page: the board shows and speaks it, the
	// monitor logs it in Chinese.
	win.waitEnabled("#btn-call-next")
	win.click("#btn-call-next")
	win.waitText("#current-number", "A001")
	board.waitText(`.window-tile[data-window="w1"] .current-number`, "A001")
	board.waitContains("#last-spoken", "请A001号到1号窗口办理")
	mon.waitContains("#event-log", "A001")

	// Served and rated on the pad: the window page shows the citizen's rating.
	win.waitEnabled("#btn-start")
	win.click("#btn-start")
	win.waitEnabled("#btn-finish")
	win.click("#btn-finish")
	h.padToRate("pad-1")
	win.waitAttr("#rating-result", "data-result", "waiting")
	h.press("pad-1", hpad.RatingVerySatisfied)
	win.waitAttr("#rating-result", "data-result", "good")
	mon.waitContains("#event-log", "A001 评价：非常满意")

	// A 税务 ticket is transferred to 企业开办 at the window: everything that
	// names its service follows (the window page, the board's call line).
	if n := h.issue("tax"); n != "B001" {
		t.Fatalf("issued %s, want B001", n)
	}
	win.waitText("#queue-count", "1")
	win.waitEnabled("#btn-call-next")
	win.click("#btn-call-next")
	win.waitText("#current-number", "B001")
	win.waitContains("#current-service", "税务")
	h.post("/api/v1/windows/w1/transfer", `{"service":"company-setup"}`, 200)
	if n := h.issue("company-setup"); n != "A002" {
		t.Fatalf("issued %s, want A002", n)
	}
	// B001 now waits as 企业开办, ahead of A002 (it was called first).
	win.waitEnabled("#btn-call-next")
	win.click("#btn-call-next")
	win.waitText("#current-number", "B001")
	win.waitContains("#current-service", "企业开办")
	board.waitText(`.window-tile[data-window="w1"] .current-number`, "B001")

	// Finished, then the next number is called before the citizen rates:
	// the visit's outcome is 未评价 (已叫下一号), on the window page and in
	// the journal, never "等待评价…" forever.
	win.waitEnabled("#btn-start")
	win.click("#btn-start")
	win.waitEnabled("#btn-finish")
	win.click("#btn-finish")
	win.waitAttr("#rating-result", "data-result", "waiting")
	win.waitEnabled("#btn-call-next")
	win.click("#btn-call-next")
	win.waitText("#current-number", "A002")
	win.waitAttr("#rating-result", "data-result", "timeout")
	win.waitContains("#rating-result", "B001 号：未评价（已叫下一号）")
	board.waitContains("#last-spoken", "请A002号到1号窗口办理")

	for name, p := range map[string]*page{"day-kiosk": kiosk, "day-window": win, "day-board": board, "day-monitor": mon} {
		p.screenshot(name)
	}
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}
