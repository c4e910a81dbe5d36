package kioskui_test

// The citizen's phone page (/t/{token}) in headless Chromium at a phone's
// size: the link from the printed ticket's QR, the live position, the
// warning at N, the call, the finish and the rating, once across pad, API
// and phone; guessed and yesterday's links refused. Same harness as
// browser_test.go.

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	hallrules "halld/daemon/hall"
	"halld/daemon/journal"

	"halld/drivers/hpad"
	kioskui "halld/kiosk-ui"
)

const phoneW, phoneH = 360, 780

// phoneBase is hall.phone_url in the test hall: the QR holds it and the
// token; the test opens the token on the hall it started.
const phoneBase = "http://hall-box.example:8080/t/"

const phoneHallYAML = `
hall:
  id: test-hall
  name: 湖南湘江新区政务服务大厅
  timezone: Asia/Shanghai
  hotline: "0731-88995297"
  phone_url: "` + phoneBase + `"
  opening_hours:
    - {days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}
storage:
  dir: %s
areas:
  - {id: front, name: 前窗审批服务区}
services:
  - {id: tax, prefix: B, name: 税务, area: front, avg_service_minutes: 5}
windows:
  - {id: w1, number: 1, name: 综合窗口, area: front, services: [{service: tax}]}
staff:
  - {id: s1, name: 张敏, windows: [w1]}
devices:
  - {id: kiosk-1, kind: kiosk, area: front, kiosk: {printers: [printer-1]}}
  - {id: printer-1, kind: ticket_printer, area: front, simulate: true, printer: {poll_interval: 100ms}}
  - {id: line-1, kind: bus, area: front, simulate: true}
  - {id: pad-1, kind: eval_pad, area: front, window: w1, bus: line-1, address: 1}
`

// testClock is the hall's clock, which a test may move to the next day.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func startPhoneHall(t *testing.T) (*hall, *testClock) {
	t.Helper()
	clk := &testClock{t: wednesday10()}
	// Time moves on from 10:00 (the rules measure waits and service times).
	start := time.Now()
	h := launchHall(t, t.TempDir(), phoneHallYAML, "127.0.0.1:0", func() time.Time { return clk.now().Add(time.Since(start)) })
	return h, clk
}

// phoneLink issues a ticket, reads the QR the simulated printer printed on
// it, and returns the number and the link on this hall.
func (h *hall) phoneLink() (string, string) {
	h.t.Helper()
	number := h.issue("tax")
	sim, _ := h.a.Sims.Printer("printer-1")
	var qr string
	h.waitFor(number+"'s QR printed", func() bool {
		for _, tk := range sim.Tickets() {
			if strings.Contains(strings.Join(tk.Lines, "\n"), number) && len(tk.QR) == 1 {
				qr = tk.QR[0]
				return true
			}
		}
		return false
	})
	token, ok := strings.CutPrefix(qr, phoneBase)
	if !ok || len(token) != 32 || strings.Contains(qr, number) || strings.Contains(qr, "T2026") {
		h.t.Fatalf("the QR of %s holds %q", number, qr)
	}
	return number, h.base + "/t/" + token
}

// countVibrations replaces navigator.vibrate by a counter (headless
// Chromium has nothing to vibrate).
func countVibrations(p *page) {
	eval[bool](p, `(function(){window.__vibrations=0;Object.defineProperty(navigator,"vibrate",{configurable:true,value:function(){window.__vibrations++;return true}});return true})()`)
}

// phonePolls counts the page's GETs of its view (the poll, not the socket).
const phonePolls = `performance.getEntriesByType("resource").filter(function(r){return /\/api\/v1\/phone\/[A-Za-z0-9_-]+$/.test(r.name)}).length`

// callsOf lists the ticket.called events per ticket number.
func callsOf(t *testing.T, h *hall) map[string][]*hallrules.TicketCalled {
	t.Helper()
	out := map[string][]*hallrules.TicketCalled{}
	err := h.a.Journal.Scan(context.Background(), 0, func(rec journal.Record) error {
		if rec.Type != hallrules.TypeTicketCalled {
			return nil
		}
		v, err := hallrules.Decode(rec.Type, rec.Body)
		if err != nil {
			return err
		}
		e := v.(*hallrules.TicketCalled)
		out[e.Number] = append(out[e.Number], e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ratingsOf counts the rating.submitted events per ticket number, with their channels.
func ratingsOf(t *testing.T, h *hall) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := h.a.Journal.Scan(context.Background(), 0, func(rec journal.Record) error {
		if rec.Type != hallrules.TypeRatingSubmitted {
			return nil
		}
		v, err := hallrules.Decode(rec.Type, rec.Body)
		if err != nil {
			return err
		}
		e := v.(*hallrules.RatingSubmitted)
		out[e.Number] = append(out[e.Number], e.Channel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPhonePageFollowsTheTicketToItsRating(t *testing.T) {
	needBrowser(t)
	start := time.Now()
	h, _ := startPhoneHall(t)
	h.waitDevice("printer-1", "ready")
	h.waitDevice("pad-1", "ready")
	h.post("/api/v1/windows/w1/sign-in", `{"staff":"s1"}`, 200)
	for i := 0; i < 4; i++ {
		h.phoneLink()
	}
	number, link := h.phoneLink() // B005, four ahead
	if number != "B005" {
		t.Fatalf("issued %s", number)
	}

	p := openBrowser(t, phoneW, phoneH)
	p.navigate(link)
	p.waitText("#number", "B005")
	p.waitText("#service", "税务")
	p.waitText("#ahead", "前面还有 4 人")
	p.waitContains("#estimate", "预计等候约")
	if s := p.text("body"); strings.Contains(s, "T2026") || strings.Contains(s, "张敏") {
		t.Fatalf("the page shows ids or staff before the call: %q", s)
	}
	// Live over the socket, not polled: one GET for the first paint, then
	// the socket alone until the rating.
	p.waitJS("the live socket", `document.body.getAttribute("data-live")==="socket"`, `String(document.body.getAttribute("data-live"))`)
	if n := eval[string](p, `document.getElementById("warn-n").value`); n != "3" {
		t.Fatalf("warn at %s by default, want 3", n)
	}
	p.click("#warn-on")
	p.waitJS("the reminder on", `document.body.getAttribute("data-reminder")==="on"`, "")
	// 无声叫号: the toggle records the ticket's flag.
	p.click("#silent")
	p.waitJS("无声叫号 on", `document.body.getAttribute("data-silent")==="on"`, `String(document.body.getAttribute("data-silent"))`)
	p.waitContains("#silent-text", "已开启无声叫号")
	countVibrations(p) // after the button's own short buzz
	p.waitHidden("#warn")
	p.screenshot("phone-waiting")

	// B001 is called and served: three ahead, the default N.
	h.post("/api/v1/windows/w1/call-next", "", 200)
	h.post("/api/v1/windows/w1/finish", "", 200)
	p.waitText("#ahead", "前面还有 3 人")
	p.waitVisible("#warn")
	p.waitContains("#warn", "前面还有 3 人")
	p.waitJS("one warning", `document.body.getAttribute("data-warn-alerts")==="1" && window.__vibrations===1`,
		`document.body.getAttribute("data-warn-alerts")+" "+window.__vibrations`)
	p.screenshot("phone-warned")

	// Two more: still warned, not again.
	for i := 0; i < 2; i++ {
		h.post("/api/v1/windows/w1/call-next", "", 200)
		h.post("/api/v1/windows/w1/finish", "", 200)
	}
	p.waitText("#ahead", "前面还有 1 人")
	if n := eval[int](p, `window.__vibrations`); n != 1 {
		t.Fatalf("%d vibrations after the warning, want 1", n)
	}

	// B004 then B005: called, loud and clear.
	h.post("/api/v1/windows/w1/call-next", "", 200)
	h.post("/api/v1/windows/w1/finish", "", 200)
	h.post("/api/v1/windows/w1/call-next", "", 200)
	p.waitVisible("#called")
	p.waitContains("#called", "请 B005 号到 1号窗口 办理")
	p.waitContains("#called", "综合窗口")
	p.waitHidden("#warn")
	p.waitJS("the call alerted", `document.body.getAttribute("data-call-alerts")==="1" && window.__vibrations===2`, `String(window.__vibrations)`)
	p.waitContains("#called", "无声叫号")
	if n := eval[int](p, phonePolls); n != 1 {
		t.Fatalf("%d polls before the call: the page should follow the socket", n)
	}
	if c := callsOf(t, h)["B005"]; len(c) != 1 || !c[0].Silent || c[0].Voice != "" {
		t.Fatalf("B005's call: %+v", c)
	}
	if c := callsOf(t, h)["B004"]; len(c) != 1 || c[0].Silent || c[0].Voice == "" {
		t.Fatalf("B004's call: %+v", c)
	}
	if title := eval[string](p, `document.title`); !strings.Contains(title, "叫号") {
		t.Fatalf("title %q", title)
	}
	p.screenshot("phone-called")
	// A recall is announced again.
	h.post("/api/v1/windows/w1/recall", "", 200)
	p.waitJS("the recall alerted", `document.body.getAttribute("data-call-alerts")==="2"`, `String(document.body.getAttribute("data-call-alerts"))`)

	// Finished: the five levels, a 差评 needs a reason.
	h.post("/api/v1/windows/w1/finish", "", 200)
	p.waitVisible("#rate")
	p.waitText("#rate-title", "请对本次服务进行评价")
	if n := eval[int](p, `document.querySelectorAll("#levels button").length`); n != 5 {
		t.Fatalf("%d levels", n)
	}
	p.click(`#levels button[data-level="不满意"]`)
	p.waitVisible("#tags-box")
	p.click("#rate-send")
	p.waitContains("#rate-msg", "请选择不满意的原因")
	p.click(`#levels button[data-level="满意"]`)
	p.waitHidden("#tags-box")
	p.screenshot("phone-rate")
	p.click("#rate-send")
	p.waitVisible("#rated")
	p.waitText("#rated-text", "您的评价：满意")
	p.waitJS("a new rating", `document.body.getAttribute("data-rated")==="new"`, `String(document.body.getAttribute("data-rated"))`)
	p.screenshot("phone-rated")

	// The pad stops asking once the phone has rated (whichever first), and
	// the visit has one rating, the phone's.
	pad, _ := h.a.Sims.Pad("pad-1")
	h.waitFor("pad-1 out of RATE", func() bool { return pad.State() != hpad.StateRate })
	if got := ratingsOf(t, h)["B005"]; len(got) != 1 || got[0] != "qr" {
		t.Fatalf("B005's ratings: %v", got)
	}
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}

func TestPhoneRatingCountsOnceWithThePadOrTheAPI(t *testing.T) {
	needBrowser(t)
	h, _ := startPhoneHall(t)
	h.waitDevice("printer-1", "ready")
	h.waitDevice("pad-1", "ready")
	h.post("/api/v1/windows/w1/sign-in", `{"staff":"s1"}`, 200)
	n1, link1 := h.phoneLink()
	n2, link2 := h.phoneLink()
	p := openBrowser(t, phoneW, phoneH)

	// The pad first: the phone shows the pad's rating, and offers no form.
	h.post("/api/v1/windows/w1/call-next", "", 200)
	h.post("/api/v1/windows/w1/finish", "", 200)
	h.padToRate("pad-1")
	h.press("pad-1", hpad.RatingVerySatisfied)
	h.waitFor(n1+" rated on the pad", func() bool { return len(ratingsOf(t, h)[n1]) == 1 })
	p.navigate(link1)
	p.waitVisible("#rated")
	p.waitText("#rated-text", "您的评价：非常满意")
	p.waitHidden("#rate")

	// The form is open on the phone when the API's rating lands: the
	// phone's submit is answered as a duplicate, and the first one stands.
	h.post("/api/v1/windows/w1/call-next", "", 200)
	h.post("/api/v1/windows/w1/finish", "", 200)
	p.navigate(link2)
	p.waitVisible("#rate")
	var visit float64
	_, snap := h.call(http.MethodGet, "/api/v1/snapshot", "")
	for _, x := range snap["data"].(map[string]any)["tickets"].([]any) {
		if tk := x.(map[string]any); tk["number"] == n2 {
			visit = tk["visit"].(float64)
		}
	}
	h.post("/api/v1/ratings", fmt.Sprintf(`{"visit":%d,"level":"基本满意"}`, int(visit)), 201)
	// Click straight away (in one script, so a poll in between cannot hide the form first).
	eval[bool](p, `(function(){document.querySelector('#levels button[data-level="非常满意"]').click();document.getElementById("rate-send").click();return true})()`)
	p.waitJS("the duplicate answer", `document.body.getAttribute("data-rated")==="duplicate"`, `String(document.body.getAttribute("data-rated"))`)
	p.waitContains("#rated-text", "只能评价一次")
	p.screenshot("phone-duplicate")
	r := ratingsOf(t, h)
	if fmt.Sprint(r[n1]) != "[pad]" || fmt.Sprint(r[n2]) != "[api]" {
		t.Fatalf("ratings %v", r)
	}
}

func TestPhonePageRefusesGuessedAndYesterdaysLinks(t *testing.T) {
	needBrowser(t)
	h, clk := startPhoneHall(t)
	h.waitDevice("printer-1", "ready")
	number, link := h.phoneLink()
	p := openBrowser(t, phoneW, phoneH)

	// A guessed token: a page that says so, and nothing of any ticket.
	token := link[strings.LastIndex(link, "/")+1:]
	guess := token[:20] + strings.Repeat("A", 12)
	resp, err := http.Get(h.base + "/t/" + guess)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || strings.Contains(string(b), number) {
		t.Fatalf("guessed page: %d %s", resp.StatusCode, b)
	}
	code, body := h.call(http.MethodGet, "/api/v1/phone/"+guess, "")
	if e, _ := body["error"].(map[string]any); code != 404 || e["code"] != "unknown_ticket" {
		t.Fatalf("guessed JSON: %d %v", code, body)
	}
	p.navigate(h.base + "/t/" + guess)
	p.waitContains("h1", "链接无效或已过期")

	// Today's link works; the next day the open page says it has expired.
	p.navigate(link)
	p.waitText("#number", number)
	clk.add(24 * time.Hour)
	p.do("reload", chromedp.Reload())
	p.waitContains("h1", "链接无效或已过期")
	p.screenshot("phone-expired")
}

// TestPhonePageWeight measures what the phone downloads and how soon it
// paints, on a throttled network like a crowded guest Wi-Fi (150 ms
// latency, 1.6 Mbit/s down, 750 kbit/s up: Chrome's "Slow 4G"); logged for
// BENCHMARKS.md, with a generous bound on the page's size.
func TestPhonePageWeight(t *testing.T) {
	needBrowser(t)
	h, _ := startPhoneHall(t)
	h.waitDevice("printer-1", "ready")
	_, link := h.phoneLink()
	p := openBrowser(t, phoneW, phoneH)
	p.do("throttle the network", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return chromedp.Void{}, err
		}
		_, err := cdp.Call(ctx, tg, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{Latency: 150, DownloadThroughput: 1.6e6 / 8, UploadThroughput: 750e3 / 8}}})
		return chromedp.Void{}, err
	})
	p.navigate(link)
	p.waitText("#ahead", "下一位就是您")
	p.waitJS("the first contentful paint is recorded", `performance.getEntriesByName("first-contentful-paint").length > 0`, "")
	p.waitJS("the live socket", `document.body.getAttribute("data-live")==="socket"`, `String(document.body.getAttribute("data-live"))`)
	type perf struct {
		FCP, Load  float64
		Bytes, API int
		Resources  int
	}
	m := eval[perf](p, `(() => {
		const nav = performance.getEntriesByType("navigation")[0];
		const all = performance.getEntriesByType("resource");
		const res = all.filter(r => !r.name.includes("/api/"));
		const api = all.filter(r => r.name.includes("/api/"));
		const size = r => r.transferSize || r.encodedBodySize || 0;
		const fcp = performance.getEntriesByName("first-contentful-paint")[0];
		return {FCP: fcp ? fcp.startTime : 0, Load: nav.loadEventEnd, Bytes: nav.transferSize + res.reduce((s, r) => s + size(r), 0),
			API: api.length ? size(api[0]) : 0, Resources: res.length + 1};
	})()`)
	var files, gz int
	for _, f := range []string{"phone/index.html", "phone/phone.js"} {
		b, err := fs.ReadFile(kioskui.Pages(), f)
		if err != nil {
			t.Fatal(err)
		}
		files += len(b)
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		w.Write(b)
		w.Close()
		gz += buf.Len()
	}
	t.Logf("phone page on a throttled network (150 ms, 1.6 Mbit/s): %d files, %.1f KB transferred; page and script %.1f KB (%.1f KB gzip'd); first view %d bytes; first contentful paint %.0f ms, load %.0f ms",
		m.Resources, float64(m.Bytes)/1024, float64(files)/1024, float64(gz)/1024, m.API, m.FCP, m.Load)
	if m.FCP <= 0 || m.Bytes <= 0 {
		t.Fatalf("nothing measured: %+v", m)
	}
	if files > 40<<10 {
		t.Fatalf("the phone page is %d bytes: keep it small for a phone on the guest Wi-Fi", files)
	}
}

// wsWrapper wraps the page's WebSocket before any script runs: it keeps the
// sockets in window.__sockets (so a test can drop one), and with
// sessionStorage "nows" set it stands in for a guest Wi-Fi proxy that lets
// no socket through (the socket closes without ever opening).
const wsWrapper = `(function(){
	var Real = window.WebSocket;
	window.__sockets = [];
	window.WebSocket = function(u) {
		if (sessionStorage.getItem("nows")) {
			var f = {readyState: 0, close: function(){}};
			setTimeout(function(){ f.readyState = 3; if (f.onclose) f.onclose({code: 1006}); }, 30);
			window.__sockets.push(f);
			return f;
		}
		var s = new Real(u);
		window.__sockets.push(s);
		return s;
	};
	window.WebSocket.prototype = Real.prototype;
})();`

// TestPhonePageReconnectsAndFallsBackToPolling: a dropped socket is opened
// again and the page stays live; where no socket can open at all, the page
// polls slowly and still follows the queue.
func TestPhonePageReconnectsAndFallsBackToPolling(t *testing.T) {
	needBrowser(t)
	h, _ := startPhoneHall(t)
	h.waitDevice("printer-1", "ready")
	h.post("/api/v1/windows/w1/sign-in", `{"staff":"s1"}`, 200)
	for i := 0; i < 3; i++ {
		h.phoneLink()
	}
	_, link := h.phoneLink() // B004, three ahead
	p := openBrowser(t, phoneW, phoneH)
	p.do("wrap WebSocket", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: wsWrapper})
		return chromedp.Void{}, err
	})
	p.navigate(link)
	p.waitText("#ahead", "前面还有 3 人")
	p.waitJS("the live socket", `document.body.getAttribute("data-live")==="socket"`, `String(document.body.getAttribute("data-live"))`)

	// The socket drops (the Wi-Fi roams, a proxy times it out): reconnected.
	eval[bool](p, `(window.__sockets[0].close(), true)`)
	p.waitJS("a second socket", `window.__sockets.length===2 && document.body.getAttribute("data-live")==="socket"`,
		`window.__sockets.length+" "+document.body.getAttribute("data-live")`)
	polls := eval[int](p, phonePolls)
	h.post("/api/v1/windows/w1/call-next", "", 200)
	p.waitText("#ahead", "前面还有 2 人")
	if n := eval[int](p, phonePolls); n != polls {
		t.Fatalf("the change came by %d polls, not the socket", n-polls)
	}

	// No socket gets through: the page says it polls, and follows the queue.
	eval[bool](p, `(sessionStorage.setItem("nows","1"), true)`)
	p.do("reload", chromedp.Reload())
	p.waitText("#ahead", "前面还有 2 人")
	p.waitJS("polling", `document.body.getAttribute("data-live")==="poll"`, `String(document.body.getAttribute("data-live"))`)
	h.post("/api/v1/windows/w1/finish", "", 200)
	h.post("/api/v1/windows/w1/call-next", "", 200)
	p.waitText("#ahead", "前面还有 1 人") // within one slow poll
	if n := eval[int](p, phonePolls); n < 2 || n > 3 {
		t.Fatalf("%d polls", n)
	}
	p.screenshot("phone-polling")
}

// TestBoardShowsASilentCallWithoutSpeakingIt: 无声叫号 set on the phone; the
// board shows the call and does not speak it, and speaks the next one.
func TestBoardShowsASilentCallWithoutSpeakingIt(t *testing.T) {
	needBrowser(t)
	h, _ := startPhoneHall(t)
	h.waitDevice("printer-1", "ready")
	h.post("/api/v1/windows/w1/sign-in", `{"staff":"s1"}`, 200)
	_, link := h.phoneLink()
	h.phoneLink()
	token := link[strings.LastIndex(link, "/")+1:]
	h.post("/api/v1/phone/"+token+"/silent", `{"silent":true}`, 200)
	p := openBrowser(t, 1920, 1080)
	p.navigate(h.base + "/board/")
	p.waitJS("the board's stream connected", `window.halldBoard.stream.state==="connected"`, `window.halldBoard.stream.state`)
	h.post("/api/v1/windows/w1/call-next", "", 200)
	p.waitText(`.window-tile[data-window="w1"] .current-number`, "B001")
	p.waitContains(`#recent-calls li[data-window="w1"]`, "B001")
	time.Sleep(500 * time.Millisecond)
	if s := p.text("#last-spoken"); strings.Contains(s, "B001") {
		t.Fatalf("the board spoke the silent call: %q", s)
	}
	p.screenshot("board-silent-call")
	h.post("/api/v1/windows/w1/finish", "", 200)
	h.post("/api/v1/windows/w1/call-next", "", 200)
	p.waitContains("#last-spoken", "请B002号到1号窗口办理")
}
