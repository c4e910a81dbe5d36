package kioskui_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
)

// A request the hall LAN swallows (sent, never answered) ends in a visible
// error within the pages' deadline instead of leaving the action hanging:
// every page's calls go through one client (HallApi in common/stream.js)
// with one deadline. The monitoring room's copy had none: a trace switch
// whose request was lost stayed greyed out for good.
func TestSwallowedRequestFailsVisibly(t *testing.T) {
	needBrowser(t)
	h := startHall(t)
	p := openBrowser(t, monitorW, monitorH)
	p.navigate(h.base + "/monitor/")
	toggle := `tr.device[data-device="printer-1"] input.trace-toggle`
	p.waitEnabled(toggle)

	// From here the browser holds every trace request: never sent on,
	// never answered, as a LAN that drops a connection's replies.
	var held atomic.Int32
	if err := chromedp.Listen(p.ctx, func(ev any) {
		if _, ok := ev.(*fetch.EventRequestPaused); ok {
			held.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	p.do("hold the trace requests", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/trace"}}})
		return chromedp.Void{}, err
	})
	const deadlineMs = 1500
	eval[bool](p, fmt.Sprintf(`(function(){ if (window.HallApi) HallApi.timeoutMs = %d; return true })()`, deadlineMs))
	start := time.Now()
	p.click(toggle)
	p.waitJS("the failure toast", `Array.prototype.some.call(document.querySelectorAll("#toast .toast-item.bad"), function (e) { return e.textContent.indexOf("跟踪设置失败") >= 0 })`,
		`document.getElementById("toast").textContent`)
	took := time.Since(start)
	msg := p.text("#toast .toast-item.bad")
	p.waitEnabled(toggle)
	if checked := eval[bool](p, fmt.Sprintf(`document.querySelector(%s).checked`, js(toggle))); checked {
		t.Errorf("the switch shows tracing on after its request failed")
	}
	if !strings.Contains(msg, "网络连接失败") {
		t.Errorf("toast %q, want it to say the network failed", msg)
	}
	if held.Load() == 0 {
		t.Errorf("no request was held: the test did not test a swallowed request")
	}
	if took < deadlineMs*time.Millisecond {
		t.Errorf("failed after %v, before the %d ms deadline: not the deadline", took, deadlineMs)
	}
	p.screenshot("monitor-swallowed-request")
	t.Logf("a swallowed request failed visibly after %v (deadline %d ms): %q", took.Round(time.Millisecond), deadlineMs, msg)
}
