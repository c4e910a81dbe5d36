package kioskui_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// A supervisor adds a staff member and sets their PIN on /supervise/; they
// sign in with it on the window page's PIN pad; five wrong PINs lock them
// out with a clear message, and the supervisor sees the lock and unlocks.
func TestRosterAddStaffPINSignInAndLockOut(t *testing.T) {
	needBrowser(t)
	h := startHall2(t)
	sup := openBrowser(t, monitorW, monitorH)
	sup.navigate(h.base + "/supervise/#staff")
	sup.waitVisible("#staff-form #staff-id")
	sup.do("fill in 王芳", chromedp.SetValue(chromedp.ID("staff-id"), "s3"),
		chromedp.SetValue(chromedp.ID("staff-name"), "王芳"), chromedp.SetValue(chromedp.ID("staff-title"), "综合受理员"))
	sup.click(`#staff-windows input[value="w2"]`)
	sup.click("#staff-save")
	row := `#staff-list tr[data-staff="s3"]`
	sup.waitContains(row, "王芳")
	sup.waitContains(row, "运行中修改")
	sup.do("type a PIN", chromedp.SetValue(chromedp.CSS(row+" .staff-pin"), "135790"))
	sup.click(row + " .staff-pin-set")
	sup.waitContains(row, "已设置")
	sup.screenshot("supervise-staff")

	win := openBrowser(t, monitorW, monitorH)
	win.navigate(h.base + "/window/w2/")
	win.waitJS("s3 in the staff list", `!!document.querySelector('#staff-select option[value="s3"]')`, `document.getElementById("staff-select").innerHTML`)
	pinIn := func(digits string) {
		t.Helper()
		win.do("choose 王芳", chromedp.SetValue(chromedp.ID("staff-select"), "s3"))
		win.waitEnabled("#btn-sign")
		win.click("#btn-sign")
		win.waitVisible("#pin-dialog #pin-pad")
		win.click(`#pin-pad [data-key="clear"]`)
		for _, d := range digits {
			win.click(`#pin-pad [data-key="` + string(d) + `"]`)
		}
		if got := win.text("#pin-dots"); got != strings.Repeat("●", len(digits)) {
			t.Fatalf("the PIN is shown as %q, not masked", got)
		}
		win.click("#pin-ok")
	}
	pinIn("135790")
	win.waitContains("#staff-name", "王芳")
	win.waitHidden("#pin-dialog")
	win.waitText("#window-status", "服务中")
	win.screenshot("window-signed-in-with-pin")

	// Sign out, then five wrong PINs.
	win.waitEnabled("#btn-sign")
	win.click("#btn-sign")
	win.waitText("#window-status", "未签到")
	pinIn("0000")
	win.waitContains("#pin-error", "还可以再试 4 次")
	win.screenshot("window-wrong-pin")
	for left := 3; left >= 1; left-- {
		win.click(`#pin-pad [data-key="1"]`)
		for range 3 {
			win.click(`#pin-pad [data-key="2"]`)
		}
		win.click("#pin-ok")
		win.waitContains("#pin-error", "还可以再试 "+strconv.Itoa(left)+" 次")
	}
	for _, d := range "9999" {
		win.click(`#pin-pad [data-key="` + string(d) + `"]`)
	}
	win.click("#pin-ok")
	win.waitContains("#pin-error", "签到已锁定")
	win.waitJS("the pad is off while locked", `document.getElementById("pin-ok").disabled`, "")
	win.screenshot("window-pin-locked")
	// Even the right PIN is refused now (through the API, as a window would).
	if code, out := h.call("POST", "/api/v1/windows/w2/sign-in", `{"staff":"s3","pin":"135790"}`); code != 423 {
		t.Fatalf("the right PIN while locked: %d %v", code, out)
	}

	// The supervisor sees it (and the alert), and unlocks.
	sup.waitContains(row, "已锁定")
	sup.screenshot("supervise-staff-locked")
	sup.click(row + " .staff-unlock")
	sup.waitJS("unlocked", `!document.querySelector('#staff-list tr[data-staff="s3"] .staff-unlock')`, "")
	win.click("#pin-cancel")
	pinIn("135790")
	win.waitContains("#staff-name", "王芳")
}

// A notice posted on /supervise/ shows on the board and the kiosk, and is
// gone from both when expired early.
func TestNoticeOnBoardAndKiosk(t *testing.T) {
	needBrowser(t)
	h := startHall2(t)
	sup := openBrowser(t, monitorW, monitorH)
	sup.navigate(h.base + "/supervise/#notices")
	sup.waitVisible("#notice-text")
	const text = "今日15:00–16:00系统升级，税务暂停办理"
	sup.do("type the notice", chromedp.SetValue(chromedp.ID("notice-text"), text))
	sup.click("#notice-post")
	sup.waitContains("#notice-list", text)
	sup.screenshot("supervise-notices")

	board := openBrowser(t, monitorW, monitorH)
	board.navigate(h.base + "/board/")
	board.waitContains("#notice-text", text)
	board.screenshot("board-notice")
	kiosk := openKiosk(t, h, "")
	kiosk.waitContains("#hall-notices", text)
	kiosk.waitVisible("#hall-notices")
	kiosk.screenshot("kiosk-notice")

	// One for the kiosks only stays off the board.
	h.post("/api/v1/notices", `{"text":"取号机专用：请刷身份证取号","where":["kiosk"]}`, 201)
	kiosk.waitContains("#hall-notices", "取号机专用")
	if strings.Contains(board.text("#notice-text"), "取号机专用") {
		t.Fatal("a kiosk-only notice is on the board")
	}

	sup.click(`#notice-list tr button`)
	board.waitJS("the notice gone from the board", `document.getElementById("notice-text").textContent.indexOf(`+js(text)+`)<0`, `document.getElementById("notice-text").textContent`)
	kiosk.waitJS("the notice gone from the kiosk", `document.getElementById("hall-notices").textContent.indexOf(`+js(text)+`)<0`, `document.getElementById("hall-notices").textContent`)
}

// Signing in where that person is already signed in elsewhere asks first,
// naming the other window; confirmed, they move.
func TestWindowSignInAsksBeforeMovingSomeone(t *testing.T) {
	needBrowser(t)
	h := startHall2(t)
	h.post("/api/v1/windows/w1/sign-in", `{"staff":"s1"}`, 200)
	win := openBrowser(t, monitorW, monitorH)
	win.navigate(h.base + "/window/w2/")
	win.waitJS("s1 in the staff list", `!!document.querySelector('#staff-select option[value="s1"]')`, `document.getElementById("staff-select").innerHTML`)
	win.do("choose 张敏", chromedp.SetValue(chromedp.ID("staff-select"), "s1"))
	win.waitEnabled("#btn-sign")
	win.click("#btn-sign")
	win.waitVisible("#pin-confirm")
	win.waitContains("#pin-confirm", "1号窗口")
	win.waitHidden("#pin-pad") // this hall has no PINs: only the question
	win.screenshot("window-signin-confirm")
	if _, out := h.call("GET", "/api/v1/windows/w1", ""); out["window"].(map[string]any)["staff"] == nil {
		t.Fatal("asking moved them already")
	}
	win.click("#pin-ok")
	win.waitContains("#staff-name", "张敏")
	if _, out := h.call("GET", "/api/v1/windows/w1", ""); out["window"].(map[string]any)["staff"] != nil {
		t.Fatalf("still signed in at w1: %v", out["window"])
	}
}
