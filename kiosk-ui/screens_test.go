package kioskui_test

// Every page at every screen size the hall has, with the demo hall's data
// (devices.yaml: six services, four windows, every device simulated), in
// headless Chromium. Each screen is judged by the page's own geometry
// (getBoundingClientRect): nothing that should be seen may lie outside the
// viewport, be clipped by a box around it, be cut short in its own box, or
// lie under another element; and no visible text may be English, except
// what hall IT and citizens need as it is (ticket numbers, service letters,
// device and window ids, port paths, key names; latinAllowed).
//
// Same harness as browser_test.go. Screenshots go to $HALLD_ARTIFACTS.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	hallrules "halld/daemon/hall"
)

// demoHall starts halld on the demo hall's own devices.yaml (storage and
// the hall broker moved to the test's own directory and a free port).
func demoHall(t *testing.T) *hall {
	t.Helper()
	b, err := os.ReadFile("../devices.yaml")
	if err != nil {
		t.Fatal(err)
	}
	y := strings.ReplaceAll(string(b), "%", "%%")
	for old, repl := range map[string]string{
		"dir: ./data":             "dir: %s",
		"listen: 127.0.0.1:18830": "listen: 127.0.0.1:0",
	} {
		if !strings.Contains(y, old) {
			t.Fatalf("devices.yaml has no %q any more; update demoHall", old)
		}
		y = strings.Replace(y, old, repl, 1)
	}
	return launchHall(t, t.TempDir(), y, "127.0.0.1:0", wednesday10)
}

// demoDay fills the demo hall as a busy morning: staff signed in, numbers
// waiting for every service, some called, an alert open.
func demoDay(t *testing.T, h *hall) {
	t.Helper()
	for _, id := range []string{"printer-1", "printer-2", "printer-3", "rs485-1", "pad-1", "scanner-1", "idreader-1"} {
		h.waitDevice(id, "ready")
	}
	for win, staff := range map[string]string{"window-1": "S001", "window-2": "S002", "window-3": "S003", "window-4": "S004"} {
		h.post("/api/v1/windows/"+win+"/sign-in", fmt.Sprintf(`{"staff":%q}`, staff), 200)
	}
	for i := 0; i < 3; i++ {
		for _, svc := range []string{"company-setup", "real-estate", "social-insurance", "housing-fund", "assisted", "pickup"} {
			h.post("/api/v1/tickets", fmt.Sprintf(`{"service":%q,"channel":"kiosk","kiosk":"kiosk-1"}`, svc), 201)
		}
	}
	for _, win := range []string{"window-1", "window-2", "window-3", "window-4"} {
		h.post("/api/v1/windows/"+win+"/call-next", "", 200)
	}
	h.post("/api/v1/windows/window-3/finish", "", 200)
	h.post("/api/v1/windows/window-3/call-next", "", 200)
	if _, err := h.a.Engine.Submit(context.Background(), hallrules.RaiseAlert{Alert: hallrules.Alert{AlertID: "test-disk", Kind: "disk_low",
		Severity: "critical", Message: "数据盘剩余空间不足 5%（测试）"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.a.Engine.Submit(context.Background(), hallrules.PostNotice{Notice: hallrules.Notice{ID: "n1",
		Text: "今日下午 16:00 起不动产登记窗口系统升级，请提前取号办理"}}); err != nil {
		t.Fatal(err)
	}
}

// viewport sets the page's viewport.
func (p *page) viewport(w, h int) {
	p.t.Helper()
	p.do(fmt.Sprintf("viewport %dx%d", w, h), chromedp.EmulateViewport(int64(w), int64(h)))
}

type screenProblem struct {
	What string `json:"what"`
	El   string `json:"el"`
	Rect string `json:"rect"`
}

// screenCheckJS finds what a person at the screen would miss. It returns
// {problems: [...], text: "<all visible text>"}.
const screenCheckJS = `(function (scrollOK) {
  var W = document.documentElement.clientWidth, H = document.documentElement.clientHeight;
  var out = [], texts = [];
  function cs(e) { return getComputedStyle(e); }
  function shown(e) {
    if (!e.getClientRects().length) return false;
    var s = cs(e);
    if (s.visibility !== "visible") return false;
    for (var a = e; a && a !== document.documentElement; a = a.parentElement) {
      if (cs(a).opacity === "0") return false;
    }
    return true;
  }
  function name(e) {
    var n = e.tagName.toLowerCase();
    if (e.id) n += "#" + e.id;
    if (typeof e.className === "string" && e.className.trim()) n += "." + e.className.trim().split(/\s+/).join(".");
    var t = (e.innerText || e.value || "").trim().replace(/\s+/g, " ");
    return n + (t ? " «" + t.slice(0, 40) + "»" : "");
  }
  function rs(r) { return Math.round(r.left) + "," + Math.round(r.top) + " " + Math.round(r.width) + "×" + Math.round(r.height); }
  function ownText(e) {
    for (var c = e.firstChild; c; c = c.nextSibling) if (c.nodeType === 3 && c.nodeValue.trim()) return true;
    return /^(INPUT|SELECT|BUTTON|IMG|TEXTAREA)$/.test(e.tagName) || e.matches("[data-must-show]");
  }
  function scrollable(a) {
    var s = cs(a);
    return (/(auto|scroll)/.test(s.overflowY) && a.scrollHeight > a.clientHeight + 1) ||
           (/(auto|scroll)/.test(s.overflowX) && a.scrollWidth > a.clientWidth + 1);
  }
  function hinted(a) {
    // A scroll box that says there is more: a visible [data-scroll-hint] for it.
    var hs = document.querySelectorAll("[data-scroll-hint]");
    for (var i = 0; i < hs.length; i++) {
      var h = hs[i];
      if (!shown(h)) continue;
      var box = h.closest("[data-scroll-box]") || h.parentElement;
      if (box && (box === a || box.contains(a) || a.contains(box))) return true;
    }
    return false;
  }
  var allowed = scrollOK.map(function (css) { return Array.prototype.slice.call(document.querySelectorAll(css)); })
    .reduce(function (a, b) { return a.concat(b); }, []);
  var all = document.body.querySelectorAll("*");
  for (var i = 0; i < all.length; i++) {
    var e = all[i];
    if (!ownText(e) || !shown(e)) continue;
    if (e.closest("[data-marquee]")) continue; // a ticker moves through its box on purpose
    var r = e.getBoundingClientRect();
    if (r.width < 2 && r.height < 2) continue;  // visually hidden for screen readers
    if (e.tagName === "OPTION") continue;
    var t = (e.tagName === "INPUT" ? (/^(checkbox|radio)$/.test(e.type) ? "" : (e.value || e.placeholder)) : e.innerText) || "";
    if (e.tagName === "SELECT" && e.selectedOptions.length) t = e.selectedOptions[0].text;
    texts.push(t);
    var inScroll = null, clipped = null;
    for (var a = e.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      var s = cs(a);
      if (s.overflowX === "visible" && s.overflowY === "visible") continue;
      var ar = a.getBoundingClientRect();
      var outside = r.left < ar.left - 1 || r.top < ar.top - 1 || r.right > ar.right + 1 || r.bottom > ar.bottom + 1;
      if (!outside) continue;
      if (scrollable(a)) { inScroll = a; break; }
      clipped = a; break;
    }
    if (clipped) { out.push({ what: "clipped by " + name(clipped).split(" «")[0], el: name(e), rect: rs(r) }); continue; }
    if (inScroll) {
      if (allowed.indexOf(inScroll) >= 0 || allowed.some(function (x) { return x.contains(inScroll); }) || hinted(inScroll)) continue;
      out.push({ what: "scrolled out of sight in " + name(inScroll).split(" «")[0] + " with no hint to scroll", el: name(e), rect: rs(r) });
      continue;
    }
    if (r.left < -1 || r.top < -1 || r.right > W + 1 || r.bottom > H + 1) {
      out.push({ what: "outside the " + W + "×" + H + " viewport", el: name(e), rect: rs(r) });
      continue;
    }
    var s = cs(e);
    if (s.overflowX !== "visible" && e.scrollWidth > e.clientWidth + 1 && e.tagName !== "SELECT" && e.tagName !== "INPUT") {
      out.push({ what: "text cut short (" + e.scrollWidth + " > " + e.clientWidth + " px)", el: name(e), rect: rs(r) });
      continue;
    }
    if (s.overflowY !== "visible" && e.scrollHeight > e.clientHeight + 2 && !scrollable(e)) {
      out.push({ what: "text cut off below (" + e.scrollHeight + " > " + e.clientHeight + " px)", el: name(e), rect: rs(r) });
      continue;
    }
    // Covered: what is on top at the middle and near the corners of its box.
    if (s.pointerEvents === "none") continue; // elementFromPoint cannot see it: an overlay on top
    var cy = r.top + r.height / 2;
    var pts = [[r.left + r.width / 2, cy], [r.left + Math.min(r.width / 4, 12), cy], [r.right - Math.min(r.width / 4, 12), cy]];
    for (var k = 0; k < pts.length; k++) {
      var x = Math.min(Math.max(pts[k][0], 0), W - 1), y = Math.min(Math.max(pts[k][1], 0), H - 1);
      var top = document.elementFromPoint(x, y);
      if (!top || top === e || e.contains(top) || top.contains(e)) continue;
      if (cs(top).pointerEvents === "none") continue;
      // Hit testing counts a big font's glyph overflow; only a box that
      // really lies over the point covers it.
      var tr = top.getBoundingClientRect();
      if (x < tr.left || x > tr.right || y < tr.top || y > tr.bottom) continue;
      out.push({ what: "covered by " + name(top).split(" «")[0], el: name(e), rect: rs(r) });
      break;
    }
  }
  return JSON.stringify({ problems: out, text: texts.join("\n") });
})`

// latinRE finds Latin words (with the digits, dashes, dots and slashes
// that belong to them).
var latinRE = regexp.MustCompile(`[A-Za-z][A-Za-z0-9]*(?:[-_./:][A-Za-z0-9]+)*`)

// latinAllowed are the Latin words a page may show besides those that
// checkScreen is given: ticket numbers (A001), a service's letter (A),
// keyboard keys (F1), and the names hall IT knows things by.
var latinAllowed = []*regexp.Regexp{
	regexp.MustCompile(`^[A-Z]\d{3,4}$`), // ticket numbers
	regexp.MustCompile(`^[A-Z]$`),        // a service's letter
	regexp.MustCompile(`^F\d{1,2}$`),     // keys on the window page
	regexp.MustCompile(`^(RS-485|MQTT|USB|HPAD-1|ESC/POS|hex)$`),
}

// checkScreen checks the page as it stands and saves a screenshot. ids are
// further Latin words it may show (device and window ids, port paths);
// scrollOK are the boxes meant to be scrolled (a log).
func checkScreen(t *testing.T, p *page, name string, ids map[string]bool, scrollOK ...string) {
	t.Helper()
	time.Sleep(300 * time.Millisecond) // transitions
	p.screenshot("screen-" + name)
	if scrollOK == nil {
		scrollOK = []string{}
	}
	sj, _ := json.Marshal(scrollOK)
	raw := eval[string](p, screenCheckJS+"("+string(sj)+")")
	var res struct {
		Problems []screenProblem `json:"problems"`
		Text     string          `json:"text"`
	}
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, pr := range res.Problems {
		t.Errorf("%s: %s: %s at %s", name, pr.What, pr.El, pr.Rect)
	}
	bad := map[string]bool{}
	for _, w := range latinRE.FindAllString(res.Text, -1) {
		if ids[w] || allowedLatin(w) {
			continue
		}
		bad[w] = true
	}
	if len(bad) > 0 {
		var ws []string
		for w := range bad {
			ws = append(ws, w)
		}
		sort.Strings(ws)
		t.Errorf("%s: English or raw ids on the screen: %s", name, strings.Join(ws, " "))
	}
}

func allowedLatin(w string) bool {
	for _, re := range latinAllowed {
		if re.MatchString(w) {
			return true
		}
	}
	return false
}

// hallIDs are the ids hall IT knows the hall's things by, and the ports
// its devices are on: the monitor may show them.
func hallIDs(t *testing.T, h *hall) map[string]bool {
	ids := map[string]bool{}
	for _, d := range h.a.Config.Devices {
		ids[d.ID] = true
	}
	for _, st := range h.a.Config.Staff {
		ids[st.ID] = true
	}
	for _, i := range h.a.Supervisor.Infos() {
		for _, w := range latinRE.FindAllString(i.Port, -1) {
			ids[w] = true
		}
	}
	return ids
}

func TestScreensFit(t *testing.T) {
	needBrowser(t)
	start := time.Now()
	h := demoHall(t)
	demoDay(t, h)
	ids := hallIDs(t, h)
	none := map[string]bool{}
	kioskIDs := map[string]bool{"kiosk-1": true} // the footer names the kiosk for hall IT
	p := openBrowser(t, 1280, 1024)

	// ---- kiosk: home, a long guide, a result; normal and 大字模式
	for _, sz := range [][2]int{{1280, 1024}, {1080, 1920}} {
		for _, large := range []bool{false, true} {
			tag := fmt.Sprintf("kiosk-%dx%d", sz[0], sz[1])
			if large {
				tag += "-large"
			}
			p.viewport(sz[0], sz[1])
			p.navigate(h.base + "/kiosk/?kiosk=kiosk-1")
			p.waitVisible(tile("pickup"))
			if large {
				p.click("#large-text-toggle")
				p.waitJS("大字模式", `document.body.classList.contains("large")`, "")
			}
			checkScreen(t, p, tag+"-home", kioskIDs)
			p.click(tile("real-estate"))
			p.waitVisible("#screen-guide")
			checkScreen(t, p, tag+"-guide", kioskIDs)
			p.waitEnabled("#take-ticket")
			p.click("#take-ticket")
			p.waitVisible("#screen-result")
			p.waitAttr("#print-status", "data-status", "printed")
			checkScreen(t, p, tag+"-result", kioskIDs)
		}
	}

	// ---- board
	for _, sz := range [][2]int{{1366, 768}, {1920, 1080}, {3840, 2160}} {
		p.viewport(sz[0], sz[1])
		p.navigate(h.base + "/board/")
		p.waitJS("the board's windows and waiting list", `document.querySelectorAll("#window-grid > *").length===4 && document.querySelectorAll("#waiting-list li").length===6`, "")
		checkScreen(t, p, fmt.Sprintf("board-%dx%d", sz[0], sz[1]), none)
	}

	// ---- window: window-2 paused, so window-1 (its AB backup) also
	// calls window-2's queue and says so.
	h.post("/api/v1/windows/window-2/finish", "", 200)
	h.post("/api/v1/windows/window-2/pause", `{"reason":"会议","minutes":15}`, 200)
	p.viewport(1280, 800)
	p.navigate(h.base + "/window/window-1/")
	p.waitJS("the window signed in", `document.getElementById("staff-name").textContent.indexOf("张敏")>=0`, `document.getElementById("staff-name").textContent`)
	p.waitContains("#covering-note", "2号窗口")
	p.waitContains("#queue .q-cover", "代2号窗口")
	// The queue and held lists are the staff's own, with their count in
	// the panel head: they scroll.
	checkScreen(t, p, "window-1280x800", none, "#queue", "#held")

	// ---- monitor
	p.viewport(1920, 1080)
	p.navigate(h.base + "/monitor/")
	p.waitJS("device rows", `document.querySelectorAll("tr.device").length>=10`, "")
	checkScreen(t, p, "monitor-1920x1080", ids, "#event-log", "#alert-list")
	// What happened before the page was opened: the open alert, and the
	// journal's events in Chinese.
	p.waitContains("#alert-list", "数据盘剩余空间不足")
	p.waitContains(`#alert-list .a-sev`, "严重")
	p.waitContains("#event-log", "出号 A001 · 企业开办")
	p.waitContains("#event-log", "张敏 在 1号窗口 签到")
	if got := p.text("#event-log"); strings.Contains(got, "{") || strings.Contains(got, "door") {
		t.Errorf("raw event text in the log: %.300s", got)
	}
	// The bus polls its pads and nothing changes: its last contact stays
	// seconds old, never stale.
	time.Sleep(4 * time.Second)
	seen := `tr.device[data-device="rs485-1"] .seen`
	p.waitJS("the bus's last contact fresh", fmt.Sprintf(`(function(){var e=document.querySelector(%s);return /^(刚刚|[1-5]秒前)$/.test(e.textContent)&&!e.classList.contains("stale")})()`, js(seen)),
		fmt.Sprintf(`document.querySelector(%s).textContent`, js(seen)))
	if i, _ := h.a.Supervisor.Info("rs485-1"); i.LastSeen == nil || time.Since(*i.LastSeen) > 2*time.Second {
		t.Errorf("rs485-1 last seen %v", i.LastSeen)
	}
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}

// 大字模式 is one citizen's choice: it ends with their visit (the kiosk
// left alone, or a ticket taken and 完成 pressed) and is not kept for the
// next citizen, nor over a reload.
func TestKioskLargeTextEndsWithVisit(t *testing.T) {
	needBrowser(t)
	h := startHall(t)
	p := openKiosk(t, h, "&idle=1")
	large := `document.body.classList.contains("large")`
	p.click("#large-text-toggle")
	p.waitJS("大字模式 on", large, "")
	// Left alone on the home screen: back to normal text.
	p.waitJS("大字模式 off after the idle time", "!"+large, "")

	// Chosen, a number taken, 完成: the next citizen gets normal text.
	p.click("#large-text-toggle")
	p.waitJS("大字模式 on", large, "")
	p.click(tile("tax"))
	p.waitEnabled("#take-ticket")
	p.click("#take-ticket")
	p.waitVisible("#screen-result")
	if !eval[bool](p, large) {
		t.Fatal("大字模式 ended before the citizen was done")
	}
	p.click(`#screen-result [data-action=home]`)
	p.waitVisible("#screen-home")
	p.waitJS("大字模式 off after 完成", "!"+large, "")

	// Nor does a reload bring it back.
	p.click("#large-text-toggle")
	p.waitJS("大字模式 on", large, "")
	p.navigate(h.base + "/kiosk/?kiosk=kiosk-1")
	p.waitVisible(tile("tax"))
	if eval[bool](p, large) {
		t.Error("大字模式 kept over a reload")
	}
}
