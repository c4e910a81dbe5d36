package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"halld/daemon/app"
	"halld/daemon/config"
	"halld/daemon/hall"
	"halld/daemon/journal"
	"halld/daemon/kiosks"
	"halld/daemon/supervisor"
	"halld/drivers/hpad"
	"halld/internal/syncbuf"
)

const hallYAML = `
hall:
  id: test-hall
  name: 湖南湘江新区政务服务大厅
  timezone: Asia/Shanghai
  hotline: "0731-88995297"
  eval_url: https://eval.example/t?id=
  opening_hours:
    - {days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}
storage:
  dir: %s
areas:
  - {id: front, name: 前窗审批服务区}
services:
  - id: company-setup
    prefix: A
    name: 企业开办
    area: front
    green_channel: {min_age: 60}
    materials: [公司登记（备案）申请书, 公司章程]
    promised_time: 1个工作日
  - {id: tax, prefix: B, name: 税务, area: front}
windows:
  - {id: w1, number: 1, name: 综合窗口, services: [{service: company-setup}, {service: tax}]}
staff:
  - {id: s1, name: 张敏, windows: [w1]}
devices:
  - {id: kiosk-1, kind: kiosk, area: front, kiosk: {printers: [printer-1, printer-2], readers: [idr-1], scanners: [scan-1], session_timeout: 2s}}
  - {id: kiosk-2, kind: kiosk, area: front, kiosk: {printers: [printer-2], readers: [idr-2]}}
  - {id: idr-1, kind: id_reader, area: front, simulate: true}
  - {id: idr-2, kind: id_reader, area: front, simulate: true}
  - {id: scan-1, kind: scanner, area: front, simulate: true}
  - {id: sensor-1, kind: line, area: front, simulate: true, framing: {terminator: lf}}
  - {id: printer-1, kind: ticket_printer, area: front, simulate: true, printer: {poll_interval: 100ms}}
  - {id: printer-2, kind: ticket_printer, area: front, simulate: true, printer: {poll_interval: 100ms}}
  - {id: line-1, kind: bus, area: front, simulate: true}
  - {id: pad-1, kind: eval_pad, area: front, window: w1, bus: line-1, address: 1}
`

// wednesday10 is inside opening hours, so tests do not depend on the hour CI runs.
func wednesday10() time.Time {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	return time.Date(2026, 11, 25, 10, 0, 0, 0, loc)
}

type hallUnderTest struct {
	a        *app.App
	base     string
	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
}

func startHall(t *testing.T, dir string) *hallUnderTest {
	t.Helper()
	return startHallLog(t, dir, nil)
}

// startHallLog starts halld with its log written to w (nil: discarded).
func startHallLog(t *testing.T, dir string, w io.Writer) *hallUnderTest {
	t.Helper()
	return startHallYAML(t, dir, fmt.Sprintf(hallYAML, filepath.Join(dir, "data")), w)
}

// startHallYAML starts halld on a config given in full.
func startHallYAML(t *testing.T, dir, yaml string, w io.Writer) *hallUnderTest {
	t.Helper()
	return startHallAt(t, dir, yaml, wednesday10, w)
}

// startHallAt starts halld with the hall's clock given by now and its log
// written to w (nil: discarded, or stderr with -v).
func startHallAt(t *testing.T, dir, yaml string, now func() time.Time, w io.Writer) *hallUnderTest {
	t.Helper()
	cfg, err := config.Parse(filepath.Join(dir, "devices.yaml"), []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &hallUnderTest{cancel: cancel, done: make(chan error, 1)}
	ready := make(chan *app.App, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if w != nil {
		log = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	} else if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	go func() {
		h.done <- app.Run(ctx, cfg, app.Options{Log: log, Listen: "127.0.0.1:0", Now: now,
			Backoff: supervisor.Backoff{Min: 50 * time.Millisecond, Max: time.Second},
			OnReady: func(a *app.App) { ready <- a }})
	}()
	select {
	case h.a = <-ready:
	case err := <-h.done:
		t.Fatalf("halld did not start: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("halld not ready after 20 s")
	}
	h.base = "http://" + h.a.Addr
	t.Cleanup(h.stop)
	return h
}

func (h *hallUnderTest) stop() {
	h.stopOnce.Do(func() {
		h.cancel()
		select {
		case <-h.done:
		case <-time.After(20 * time.Second):
		}
	})
}

func postJSON(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("POST %s: not JSON: %s", url, b)
	}
	return resp.StatusCode, out
}

func ticketOf(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	tk, ok := m["ticket"].(map[string]any)
	if !ok {
		t.Fatalf("no ticket in %v", m)
	}
	return tk
}

// waitState polls until the device reaches a state or the deadline passes,
// and returns how long it took.
func waitState(t *testing.T, h *hallUnderTest, id, state string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if i, ok := h.a.Supervisor.Info(id); ok && i.State == state {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	i, _ := h.a.Supervisor.Info(id)
	t.Fatalf("%s not %s within %v (is %s %s)", id, state, within, i.State, i.Reason)
	return 0
}

func TestTicketPrintedOnSimulator(t *testing.T) {
	h := startHall(t, t.TempDir())
	waitState(t, h, "printer-1", "ready", 5*time.Second)
	waitState(t, h, "printer-2", "ready", 5*time.Second)

	code, body := postJSON(t, h.base+"/api/v1/tickets", `{"service":"company-setup","channel":"kiosk","kiosk":"kiosk-1"}`)
	if code != 201 {
		t.Fatalf("status %d: %v", code, body)
	}
	tk := ticketOf(t, body)
	if tk["number"] != "A001" || tk["printed_by"] != "printer-1" || tk["print_status"] != "printed" {
		t.Fatalf("ticket %v", tk)
	}
	sim, _ := h.a.Sims.Printer("printer-1")
	tickets := sim.Tickets()
	if len(tickets) != 1 {
		t.Fatalf("simulator printed %d tickets", len(tickets))
	}
	text := strings.Join(tickets[0].Lines, "\n")
	for _, want := range []string{"湖南湘江新区政务服务大厅", "企业开办", "A001", "公司章程", "1个工作日", "0731-88995297", "您前面还有 0 人等候", "1号窗口"} {
		if !strings.Contains(text, want) {
			t.Errorf("printed ticket lacks %q:\n%s", want, text)
		}
	}
	if len(tickets[0].QR) != 1 || tickets[0].QR[0] != "https://eval.example/t?id=T20261125-A001" || !tickets[0].Cut {
		t.Errorf("QR %v cut %v", tickets[0].QR, tickets[0].Cut)
	}

	// A second ticket sees one person ahead.
	_, body = postJSON(t, h.base+"/api/v1/tickets", `{"service":"company-setup","kiosk":"kiosk-1"}`)
	if tk := ticketOf(t, body); tk["number"] != "A002" || tk["ahead"] != 1.0 {
		t.Fatalf("second ticket %v", tk)
	}

	// Bad calls get a JSON error with a code and a Chinese message.
	for _, c := range []struct {
		body string
		code int
		err  string
	}{
		{`{"service":"nope"}`, 404, "unknown_service"},
		{`{"service":"tax","colour":"red"}`, 400, "bad_request"},
		{`not json`, 400, "bad_request"},
		{`{}`, 400, "bad_request"},
		{`{"service":"tax","priority":"vip"}`, 400, "bad_priority"},
	} {
		code, body := postJSON(t, h.base+"/api/v1/tickets", c.body)
		e, _ := body["error"].(map[string]any)
		if code != c.code || e == nil || e["code"] != c.err || e["message"] == "" {
			t.Errorf("%s → %d %v; want %d %s", c.body, code, body, c.code, c.err)
		}
	}
}

func TestFailoverAndReprint(t *testing.T) {
	h := startHall(t, t.TempDir())
	waitState(t, h, "printer-1", "ready", 5*time.Second)
	waitState(t, h, "printer-2", "ready", 5*time.Second)
	p1, _ := h.a.Sims.Printer("printer-1")
	p2, _ := h.a.Sims.Printer("printer-2")

	// printer-1 runs out of paper: the ticket comes out of printer-2.
	if err := h.a.Sims.Simulate("printer-1", "paper_end", ""); err != nil {
		t.Fatal(err)
	}
	waitState(t, h, "printer-1", "fault", 3*time.Second)
	_, body := postJSON(t, h.base+"/api/v1/tickets", `{"service":"tax","kiosk":"kiosk-1"}`)
	if tk := ticketOf(t, body); tk["printed_by"] != "printer-2" {
		t.Fatalf("failover: %v", tk)
	}
	if len(p1.Tickets()) != 0 || len(p2.Tickets()) != 1 {
		t.Fatalf("printed: p1 %d p2 %d", len(p1.Tickets()), len(p2.Tickets()))
	}

	// Both unable: the number is still issued, shown, and reprintable.
	h.a.Sims.Simulate("printer-2", "cover_open", "")
	waitState(t, h, "printer-2", "fault", 3*time.Second)
	code, body := postJSON(t, h.base+"/api/v1/tickets", `{"service":"tax","kiosk":"kiosk-1"}`)
	tk := ticketOf(t, body)
	pe, _ := tk["print_error"].(map[string]any)
	if code != 201 || tk["number"] != "B002" || tk["print_status"] != "failed" || tk["printed_by"] != nil || pe == nil || pe["code"] != "no_printer" {
		t.Fatalf("no printer: %d %v", code, tk)
	}
	id := tk["id"].(string)

	h.a.Sims.Simulate("printer-1", "paper_ok", "")
	waitState(t, h, "printer-1", "ready", 3*time.Second)
	code, body = postJSON(t, h.base+"/api/v1/tickets/"+id+"/reprint", `{"kiosk":"kiosk-1"}`)
	if tk := ticketOf(t, body); code != 200 || tk["number"] != "B002" || tk["printed_by"] != "printer-1" || tk["print_status"] != "printed" {
		t.Fatalf("reprint: %d %v", code, tk)
	}
	if got := p1.Tickets(); len(got) != 1 || !strings.Contains(strings.Join(got[0].Lines, "\n"), "B002") {
		t.Fatalf("reprinted ticket: %+v", got)
	}
	if code, _ := postJSON(t, h.base+"/api/v1/tickets/T20261125-Z999/reprint", `{}`); code != 404 {
		t.Fatalf("reprint of an unknown ticket: %d", code)
	}
}

func TestUnplugReplugWithoutRestart(t *testing.T) {
	h := startHall(t, t.TempDir())
	waitState(t, h, "printer-1", "ready", 5*time.Second)
	port, _ := h.a.Sims.Port("printer-1")
	for i := 0; i < 5; i++ {
		port.Unplug()
		if d := waitState(t, h, "printer-1", "offline", time.Second); d > time.Second {
			t.Fatalf("offline after %v", d)
		}
		// While unplugged, tickets fail over to printer-2.
		_, body := postJSON(t, h.base+"/api/v1/tickets", `{"service":"tax","kiosk":"kiosk-1"}`)
		if tk := ticketOf(t, body); tk["printed_by"] != "printer-2" {
			t.Fatalf("while unplugged: %v", tk)
		}
		if err := port.Replug(); err != nil {
			t.Fatal(err)
		}
		waitState(t, h, "printer-1", "ready", 5*time.Second)
	}
	i, _ := h.a.Supervisor.Info("printer-1")
	if i.Counters.Reconnects != 5 {
		t.Fatalf("reconnects %d", i.Counters.Reconnects)
	}
	_, body := postJSON(t, h.base+"/api/v1/tickets", `{"service":"tax","kiosk":"kiosk-1"}`)
	if tk := ticketOf(t, body); tk["printed_by"] != "printer-1" {
		t.Fatalf("after replug: %v", tk)
	}
}

type wsMsg struct {
	Type  string          `json:"type"`
	Seq   uint64          `json:"seq"`
	Data  json.RawMessage `json:"data"`
	Event json.RawMessage `json:"event"`
}

func dial(t *testing.T, h *hallUnderTest, query string) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(h.base, "http") + "/api/v1/stream" + query
	c, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {h.base}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func read(t *testing.T, c *websocket.Conn) wsMsg {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var m wsMsg
	if err := c.ReadJSON(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStreamOrderResumeAndSlowClient(t *testing.T) {
	h := startHall(t, t.TempDir())
	waitState(t, h, "printer-1", "ready", 5*time.Second)
	waitState(t, h, "printer-2", "ready", 5*time.Second)

	// A bad Origin is refused.
	u := "ws" + strings.TrimPrefix(h.base, "http") + "/api/v1/stream"
	if _, resp, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {"http://evil.example"}}); err == nil || resp.StatusCode != 403 {
		t.Fatalf("foreign origin accepted: %v", err)
	}

	// A client that never reads: it must not hold anyone up.
	stalled := dial(t, h, "")
	defer stalled.Close()

	c := dial(t, h, "")
	defer c.Close()
	first := read(t, c)
	if first.Type != "snapshot" {
		t.Fatalf("first message %s", first.Type)
	}
	var snap struct {
		Services []struct{ ID string } `json:"services"`
	}
	if err := json.Unmarshal(first.Data, &snap); err != nil || len(snap.Services) != 2 {
		t.Fatalf("snapshot data: %v %s", err, first.Data)
	}

	const n = 30
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			postJSON(t, h.base+"/api/v1/tickets", `{"service":"tax","kiosk":"kiosk-1"}`)
		}()
	}
	wg.Wait()
	// Each ticket gives ticket.issued and ticket.printed: at least 2n events,
	// strictly consecutive.
	seq := first.Seq
	issued := 0
	for issued < n {
		m := read(t, c)
		if m.Type != "event" || m.Seq != seq+1 {
			t.Fatalf("got %s seq %d after %d", m.Type, m.Seq, seq)
		}
		var ev struct {
			Seq  uint64 `json:"seq"`
			Type string `json:"type"`
			ID   string `json:"id"`
			TS   string `json:"ts"`
			Hall string `json:"hall"`
		}
		json.Unmarshal(m.Event, &ev)
		if ev.Seq != m.Seq || ev.ID == "" || ev.Hall != "test-hall" || !strings.HasSuffix(ev.TS, "+08:00") {
			t.Fatalf("event envelope %s", m.Event)
		}
		if ev.Type == "ticket.issued" {
			issued++
		}
		seq = m.Seq
	}

	// Resume: a new client asking since=first.Seq gets the same events, no snapshot.
	r := dial(t, h, fmt.Sprintf("?since=%d", first.Seq))
	defer r.Close()
	for s := first.Seq + 1; s <= seq; s++ {
		m := read(t, r)
		if m.Type != "event" || m.Seq != s {
			t.Fatalf("resume: got %s %d, want event %d", m.Type, m.Seq, s)
		}
	}
	// A since beyond the head gets a fresh snapshot.
	f := dial(t, h, "?since=999999")
	defer f.Close()
	if m := read(t, f); m.Type != "snapshot" {
		t.Fatalf("since beyond head: %s", m.Type)
	}
	if code, _ := getStatus(h.base + "/api/v1/stream?since=abc"); code != 400 {
		t.Fatalf("bad since: %d", code)
	}
}

func getStatus(url string) (int, []byte) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestHealthMetricsPages(t *testing.T) {
	h := startHall(t, t.TempDir())
	waitState(t, h, "printer-1", "ready", 5*time.Second)
	for path, want := range map[string]string{
		"/healthz":          "ok",
		"/readyz":           `"ready":true`,
		"/metrics":          `halld_device_up{area="front",device="printer-1",kind="ticket_printer"} 1`,
		"/metrics#conns":    `halld_connections{listener="http",source="loopback"}`,
		"/metrics#commit":   `halld_journal_commit_seconds_bucket{le="2.5"}`,
		"/kiosk/":           "<html",
		"/monitor/":         "<html",
		"/api/v1/snapshot":  `"seq":`,
		"/api/v1/devices":   `"printer-2"`,
		"/api/v1/nonsense":  `"not_found"`,
		"/no-such-page/":    "页面不存在",
		"/api/v1/tickets/x": `"unknown_ticket"`,
	} {
		code, body := getStatus(h.base + strings.Split(path, "#")[0])
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("GET %s: %d, body lacks %q:\n%.300s", path, code, want, body)
		}
	}
	// Writes from a foreign page are refused.
	req, _ := http.NewRequest("POST", h.base+"/api/v1/tickets", strings.NewReader(`{"service":"tax"}`))
	req.Header.Set("Origin", "http://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("foreign origin write: %d", resp.StatusCode)
	}
	// Trace on, and it is written.
	code, _ := postJSON(t, h.base+"/api/v1/devices/printer-1/trace", `{"on":true}`)
	if code != 200 {
		t.Fatalf("trace: %d", code)
	}
	time.Sleep(300 * time.Millisecond)
	b, err := os.ReadFile(h.a.Trace.File("printer-1"))
	if err != nil || !bytes.Contains(b, []byte("tx    3  10 04 01")) {
		t.Fatalf("trace file: %v\n%.400s", err, b)
	}
}

func TestStalledClientIsDroppedOthersKeepUp(t *testing.T) {
	h := startHall(t, t.TempDir())
	stalled := dial(t, h, "") // never reads
	defer stalled.Close()
	c := dial(t, h, "")
	defer c.Close()
	first := read(t, c)

	// ~16 MB of events: far more than loopback socket buffers hold, so the
	// server's writes to the stalled client block.
	const n = 8000
	pad := strings.Repeat("长", 600)
	go func() {
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; i < n; i += 8 {
					h.a.Engine.Submit(context.Background(), hall.ObserveDevice{Device: "flood", Kind: "test", State: "ready",
						Detail: map[string]any{"i": i, "pad": pad}})
				}
			}(w)
		}
		wg.Wait()
	}()
	start := time.Now()
	seq := first.Seq
	for seq < first.Seq+n {
		m := read(t, c)
		if m.Seq != seq+1 {
			t.Fatalf("reader got seq %d after %d", m.Seq, seq)
		}
		seq = m.Seq
	}
	t.Logf("reading client got %d events (~%d MB) in %v beside a stalled one", n, n*len(pad)/1e6, time.Since(start))

	// The stalled client is cut off (write deadline) rather than buffered forever.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		_, body := getStatus(h.base + "/metrics")
		if bytes.Contains(body, []byte(`halld_ws_dropped_total{reason="slow_or_gone"} 1`)) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("stalled client was not dropped")
}

func TestWindowFlowOverHTTP(t *testing.T) {
	h := startHall(t, t.TempDir())
	post := func(path, body string) (int, map[string]any) {
		return postJSON(t, h.base+path, body)
	}
	if code, body := post("/api/v1/windows/w1/call-next", `{}`); code != 409 || body["error"].(map[string]any)["code"] != "not_signed_in" {
		t.Fatalf("call-next before sign-in: %d %v", code, body)
	}
	if code, body := post("/api/v1/windows/w1/sign-in", `{"staff":"s1"}`); code != 200 {
		t.Fatalf("sign-in: %d %v", code, body)
	}
	post("/api/v1/tickets", `{"service":"tax","kiosk":"kiosk-1"}`)
	post("/api/v1/tickets", `{"service":"company-setup","kiosk":"kiosk-1","priority":"green"}`)

	code, body := getStatus(h.base + "/api/v1/windows/w1")
	var detail struct {
		Window struct {
			Status string
			Staff  struct{ Name string }
		}
		Queue []struct{ Number string }
	}
	json.Unmarshal(body, &detail)
	if code != 200 || detail.Window.Status != "open" || detail.Window.Staff.Name != "张敏" || len(detail.Queue) != 2 || detail.Queue[0].Number != "A001" {
		t.Fatalf("window detail: %d %s", code, body)
	}
	c := dial(t, h, "")
	defer c.Close()
	snap := read(t, c)

	code, body2 := post("/api/v1/windows/w1/call-next", `{}`)
	if code != 200 || body2["ticket"].(map[string]any)["number"] != "A001" {
		t.Fatalf("call-next: %d %v", code, body2)
	}
	var called struct {
		Type, Voice string
		Visit       uint32
	}
	// Device state changes may interleave; the sequence must not break.
	for seq := snap.Seq; called.Type != "ticket.called"; {
		m := read(t, c)
		if m.Seq != seq+1 {
			t.Fatalf("stream seq %d after %d", m.Seq, seq)
		}
		seq = m.Seq
		json.Unmarshal(m.Event, &called)
	}
	if called.Voice != "请A001号到1号窗口办理" {
		t.Fatalf("voice line %q", called.Voice)
	}
	post("/api/v1/windows/w1/start", ``)
	if code, _ := post("/api/v1/windows/w1/finish", `{}`); code != 200 {
		t.Fatal("finish")
	}
	if code, body := post("/api/v1/ratings", fmt.Sprintf(`{"visit":%d,"level":"非常满意"}`, called.Visit)); code != 201 {
		t.Fatalf("rating: %d %v", code, body)
	}
	if code, body := post("/api/v1/ratings", fmt.Sprintf(`{"visit":%d,"level":"不满意","reasons":["态度"]}`, called.Visit)); code != 200 || body["duplicate"] != true {
		t.Fatalf("second rating: %d %v", code, body)
	}
	if code, body := post("/api/v1/windows/w1/pause", `{}`); code != 400 || body["error"].(map[string]any)["code"] != "reason_required" {
		t.Fatalf("pause without reason: %d %v", code, body)
	}
	if code, _ := post("/api/v1/windows/w1/dance", `{}`); code != 404 {
		t.Fatalf("unknown action: %d", code)
	}
	if code, _ := post("/api/v1/windows/nope/call-next", `{}`); code != 404 {
		t.Fatalf("unknown window: %d", code)
	}
	if code, _ := getStatus(h.base + "/api/v1/staff"); code != 200 {
		t.Fatal("staff list")
	}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("not within %v: %s", within, what)
}

// TestWindowRunFromItsPad: sign in, call, finish from the pad's keys; the pad
// asks for a rating; the citizen's press becomes one rating bound to the
// ticket, window, staff and service; a second press changes nothing.
func TestWindowRunFromItsPad(t *testing.T) {
	h := startHall(t, t.TempDir())
	pad, ok := h.a.Sims.Pad("pad-1")
	if !ok {
		t.Fatal("no simulated pad")
	}
	waitState(t, h, "pad-1", "ready", 5*time.Second)
	postJSON(t, h.base+"/api/v1/tickets", `{"service":"tax","kiosk":"kiosk-1"}`)

	windowIs := func(check func(st hall.WindowView) bool) func() bool {
		return func() bool {
			v, _ := h.a.Engine.Query(context.Background(), func(st *hall.State) any {
				return hall.MakeWindowView(h.a.Config, st, "w1", h.a.Engine.Now())
			})
			return check(v.(hall.WindowView))
		}
	}
	pad.Key(hpad.KeySignInOut)
	waitFor(t, "signed in from the pad", 3*time.Second, windowIs(func(w hall.WindowView) bool { return w.Staff != nil && w.Staff.ID == "s1" }))
	waitFor(t, "the pad shows the staff", 3*time.Second, func() bool { return pad.Staff().Name == "张敏" })
	pad.Key(hpad.KeyCallNext)
	waitFor(t, "called from the pad", 3*time.Second, windowIs(func(w hall.WindowView) bool { return w.Current != nil && w.Current.Number == "B001" }))
	waitFor(t, "the pad shows the ticket", 3*time.Second, func() bool {
		tk, ok := pad.Ticket()
		return ok && tk.TicketNo == "B001" && pad.State() == hpad.StateServing
	})
	pad.Key(hpad.KeyFinish)
	waitFor(t, "the pad asks for a rating", 3*time.Second, func() bool { return pad.State() == hpad.StateRate })
	if err := pad.Press(hpad.RatingSatisfied, 0); err != nil {
		t.Fatal(err)
	}
	var visit uint32
	waitFor(t, "rating recorded", 3*time.Second, func() bool {
		v, _ := h.a.Engine.Query(context.Background(), func(st *hall.State) any { return st.Tickets["T20261125-B001"].Rating })
		return v.(string) == "满意"
	})
	// The journal holds exactly one rating, bound to everything it should be.
	var ratings []hall.RatingSubmitted
	h.a.Journal.Scan(context.Background(), 0, func(r journal.Record) error {
		if r.Type == hall.TypeRatingSubmitted {
			var e hall.RatingSubmitted
			json.Unmarshal(r.Body, &e)
			ratings = append(ratings, e)
		}
		return nil
	})
	if len(ratings) != 1 {
		t.Fatalf("%d ratings", len(ratings))
	}
	r := ratings[0]
	visit = r.Visit
	if r.TicketID != "T20261125-B001" || r.Window != "w1" || r.Staff != "s1" || r.Service != "tax" || r.Channel != "pad" || r.Device != "pad-1" || visit == 0 {
		t.Fatalf("rating %+v", r)
	}
	// Events were acknowledged: nothing left on the pad.
	waitFor(t, "pad events acknowledged", 3*time.Second, func() bool { return len(pad.Events()) == 0 })
}

func TestBadRatingFollowUpAndExport(t *testing.T) {
	h := startHall(t, t.TempDir())
	post := func(path, body string) (int, map[string]any) { return postJSON(t, h.base+path, body) }
	post("/api/v1/windows/w1/sign-in", `{"staff":"s1"}`)
	post("/api/v1/tickets", `{"service":"tax","kiosk":"kiosk-1"}`)
	_, called := post("/api/v1/windows/w1/call-next", `{}`)
	visit := called["ticket"].(map[string]any)["visit"].(float64)
	post("/api/v1/windows/w1/finish", `{}`)
	if code, body := post("/api/v1/ratings", fmt.Sprintf(`{"visit":%d,"level":"非常不满意","reasons":["服务态度差"]}`, int(visit))); code != 201 {
		t.Fatalf("rating %d %v", code, body)
	}
	code, body := getStatus(h.base + "/api/v1/followups?open=1")
	if code != 200 || !bytes.Contains(body, []byte(`"stage":"open"`)) {
		t.Fatalf("followups: %s", body)
	}
	id := fmt.Sprintf("fu-%d", int(visit))
	if code, b := post("/api/v1/followups/"+id+"/callback", `{"note":"已回访","by":"S900"}`); code != 200 {
		t.Fatalf("callback: %d %v", code, b)
	}
	if code, _ := post("/api/v1/followups/"+id+"/feedback", `{"note":"跳过整改"}`); code != 409 {
		t.Fatalf("skipping 整改: %d", code)
	}
	// GB/T 39046: 非常不满意 = 5; the reverse scheme: 1.
	for scheme, want := range map[string]string{"gbt39046": `"满意度代码":5`, "reverse": `"满意度代码":1`} {
		code, body := getStatus(h.base + "/api/v1/ratings/export?from=2026-11-25&scheme=" + scheme)
		if code != 200 || !bytes.Contains(body, []byte(want)) || !bytes.Contains(body, []byte(`"评价渠道":"政务大厅其他终端"`)) {
			t.Fatalf("export %s: %s", scheme, body)
		}
	}
	code, body = getStatus(h.base + "/api/v1/ratings/export?from=2026-11-25&format=csv")
	if code != 200 || !bytes.Contains(body, []byte("办件编号,评价渠道")) || !bytes.Contains(body, []byte("非常不满意,5,服务态度差")) {
		t.Fatalf("csv: %s", body)
	}
	if code, _ := getStatus(h.base + "/api/v1/ratings/export?scheme=upside-down"); code != 400 {
		t.Fatal("bad scheme accepted")
	}
}

func TestAppointmentCheckInPrintsAndKeepsNoIDNumber(t *testing.T) {
	dir := t.TempDir()
	h := startHall(t, dir)
	waitState(t, h, "printer-1", "ready", 5*time.Second)
	const id = "43010219800101123X"
	code, body := postJSON(t, h.base+"/api/v1/appointments", `{"code":"YY0001","service":"tax","slot_start":"2026-11-25T10:00:00+08:00","slot_end":"2026-11-25T10:30:00+08:00","id_number":"`+id+`"}`)
	if code != 201 {
		t.Fatalf("book: %d %v", code, body)
	}
	code, body = postJSON(t, h.base+"/api/v1/appointments/check-in", `{"code":"YY0001","kiosk":"kiosk-1"}`)
	tk := ticketOf(t, body)
	if code != 201 || tk["priority"] != "appointment" || tk["masked_id"] != "123X" || tk["print_status"] != "printed" {
		t.Fatalf("check-in: %d %v", code, tk)
	}
	sim, _ := h.a.Sims.Printer("printer-1")
	printed := strings.Join(sim.Tickets()[0].Lines, "\n")
	if !strings.Contains(printed, "【预约】") || !strings.Contains(printed, "证件尾号：123X") || strings.Contains(printed, id) {
		t.Fatalf("printed ticket:\n%s", printed)
	}
	// Same code again: the same ticket, not a second one.
	code, body = postJSON(t, h.base+"/api/v1/appointments/check-in", `{"code":"YY0001","kiosk":"kiosk-1"}`)
	if code != 200 || ticketOf(t, body)["id"] != tk["id"] {
		t.Fatalf("second check-in: %d %v", code, body)
	}
	h.stop()
	// The ID number is nowhere on disk.
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(id)) || bytes.Contains(b, []byte("19800101123")) {
				t.Errorf("%s holds the ID number", p)
			}
		}
		return nil
	})
}

func dialKiosk(t *testing.T, h *hallUnderTest, kiosk string) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(h.base, "http") + "/api/v1/kiosks/" + kiosk + "/session"
	c, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {h.base}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readKiosk(t *testing.T, c *websocket.Conn, within time.Duration) (kiosks.Msg, bool) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	var m kiosks.Msg
	if err := c.ReadJSON(&m); err != nil {
		return m, false
	}
	return m, true
}

func TestKioskCardSession(t *testing.T) {
	dir := t.TempDir()
	h := startHall(t, dir)
	waitState(t, h, "printer-1", "ready", 5*time.Second)
	k1, k2 := dialKiosk(t, h, "kiosk-1"), dialKiosk(t, h, "kiosk-2")
	defer k1.Close()
	defer k2.Close()
	time.Sleep(50 * time.Millisecond) // subscriptions in place
	ctx := context.Background()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	const withBooking, elder = "43010219800101123X", "430102195001011234"

	// A same-day appointment checks in the moment the card is placed.
	postJSON(t, h.base+"/api/v1/appointments", `{"code":"YY1","service":"tax","slot_start":"2026-11-25T10:00:00+08:00","slot_end":"2026-11-25T11:00:00+08:00","id_number":"`+withBooking+`"}`)
	h.a.Kiosks.CardPlaced(ctx, "idr-1", kiosks.Person{Kind: "resident", Greeting: "王*", Number: withBooking,
		Birth: time.Date(1980, 1, 1, 0, 0, 0, 0, loc)})
	m, ok := readKiosk(t, k1, 5*time.Second)
	if !ok || m.Type != "checked_in" || m.Ticket == nil || m.Ticket.Priority != "appointment" || m.Ticket.PrintStatus != "printed" || m.Person.Last4 != "123X" {
		t.Fatalf("kiosk-1 after the card: %+v", m)
	}
	if _, got := readKiosk(t, k2, 300*time.Millisecond); got {
		t.Fatal("kiosk-2 heard kiosk-1's card")
	}
	// No appointment: a greeting; the ticket taken next is green (age ≥ 60)
	// with the masked ID, and the session ends with it.
	readKiosk(t, k1, 100*time.Millisecond) // session_end of the check-in
	h.a.Kiosks.CardPlaced(ctx, "idr-1", kiosks.Person{Kind: "resident", Greeting: "李*", Number: elder,
		Birth: time.Date(1950, 1, 1, 0, 0, 0, 0, loc)})
	m, _ = readKiosk(t, k1, 5*time.Second)
	if m.Type != "card" || m.Person == nil || m.Person.Age != 76 || m.Person.Greeting != "李*" {
		t.Fatalf("greeting: %+v", m)
	}
	code, body := postJSON(t, h.base+"/api/v1/kiosks/kiosk-1/tickets", `{"service":"company-setup"}`)
	tk := ticketOf(t, body)
	if code != 201 || tk["priority"] != "green" || tk["masked_id"] != "1234" {
		t.Fatalf("kiosk ticket: %d %v", code, tk)
	}
	if h.a.Kiosks.Active("kiosk-1") {
		t.Fatal("card data kept after the ticket was taken")
	}
	// Without a card the same call is an ordinary ticket.
	if _, body := postJSON(t, h.base+"/api/v1/kiosks/kiosk-1/tickets", `{"service":"company-setup"}`); ticketOf(t, body)["priority"] != "normal" {
		t.Fatal("no card, yet not a normal ticket")
	}
	// An expired card gets a plain Chinese message and no session.
	h.a.Kiosks.CardPlaced(ctx, "idr-1", kiosks.Person{Kind: "resident", Greeting: "赵*", Number: elder,
		ValidTo: time.Date(2020, 1, 1, 0, 0, 0, 0, loc)})
	for {
		m, ok = readKiosk(t, k1, 2*time.Second)
		if !ok || m.Type == "card_error" {
			break
		}
	}
	if !ok || m.Error == nil || m.Error.Code != "card_expired" || h.a.Kiosks.Active("kiosk-1") {
		t.Fatalf("expired card: %+v", m)
	}
	// The time limit wipes a session nobody ended.
	h.a.Kiosks.CardPlaced(ctx, "idr-1", kiosks.Person{Kind: "resident", Greeting: "孙*", Number: elder})
	waitFor(t, "session wiped by its 2 s limit", 5*time.Second, func() bool { return !h.a.Kiosks.Active("kiosk-1") })
	h.stop()
	// The journal has the reads, masked; no ID number anywhere on disk.
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			for _, id := range []string{withBooking, elder, "19800101", "19500101"} {
				if bytes.Contains(b, []byte(id)) {
					t.Errorf("%s holds %s", p, id)
				}
			}
		}
		return nil
	})
}

func TestTTSSpeaksMandarinWAV(t *testing.T) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("espeak-ng missing on CI")
		}
		t.Skip("no espeak-ng")
	}
	h := startHall(t, t.TempDir())
	code, body := getStatus(h.base + "/api/v1/tts?text=" + url.QueryEscape("请A001号到3号窗口办理"))
	if code != 200 || len(body) < 10000 || string(body[:4]) != "RIFF" || string(body[8:12]) != "WAVE" {
		t.Fatalf("tts: %d, %d bytes", code, len(body))
	}
	if code, _ := getStatus(h.base + "/api/v1/tts?text=" + strings.Repeat("长", 61)); code != 400 {
		t.Fatalf("overlong text: %d", code)
	}
}

func TestScannerChecksInAndLineDeviceRecords(t *testing.T) {
	h := startHall(t, t.TempDir())
	waitState(t, h, "printer-1", "ready", 5*time.Second)
	waitState(t, h, "scan-1", "ready", 5*time.Second)
	waitState(t, h, "sensor-1", "ready", 5*time.Second)
	k1 := dialKiosk(t, h, "kiosk-1")
	defer k1.Close()
	time.Sleep(50 * time.Millisecond)
	postJSON(t, h.base+"/api/v1/appointments", `{"code":"YY7788","service":"tax","slot_start":"2026-11-25T09:30:00+08:00","slot_end":"2026-11-25T10:30:00+08:00"}`)
	scanner, _ := h.a.Sims.Liner("scan-1")
	if err := scanner.Send("YY7788"); err != nil {
		t.Fatal(err)
	}
	m, ok := readKiosk(t, k1, 5*time.Second)
	if !ok || m.Type != "checked_in" || m.Ticket == nil || m.Ticket.Priority != "appointment" || m.Ticket.PrintStatus != "printed" {
		t.Fatalf("booking code scan: %+v", m)
	}
	// Anything else is offered to the page as input, and not journaled.
	scanner.Send("https://example.org/some-qr")
	m, _ = readKiosk(t, k1, 5*time.Second)
	if m.Type != "scan" || m.Text != "https://example.org/some-qr" {
		t.Fatalf("other scan: %+v", m)
	}
	// A generic line device: every line a durable event, in order.
	c := dial(t, h, "")
	defer c.Close()
	read(t, c)
	sensor, _ := h.a.Sims.Liner("sensor-1")
	for i := 0; i < 20; i++ {
		sensor.Send(fmt.Sprintf("T=%d", i))
	}
	for i := 0; i < 20; {
		msg := read(t, c)
		var ev struct{ Type, Device, Text string }
		json.Unmarshal(msg.Event, &ev)
		if ev.Type != "device.line" {
			continue
		}
		if ev.Device != "sensor-1" || ev.Text != fmt.Sprintf("T=%d", i) {
			t.Fatalf("line %d: %+v", i, ev)
		}
		i++
	}
	if code, _ := postJSON(t, h.base+"/api/v1/devices/sensor-1/send", `{"line":"RESET"}`); code != 200 {
		t.Fatal("outbound line")
	}
	waitFor(t, "the device got the outbound line", 3*time.Second, func() bool {
		r := sensor.Received()
		return len(r) == 1 && r[0] == "RESET"
	})
	var scans int
	h.a.Journal.Scan(context.Background(), 0, func(r journal.Record) error {
		if bytes.Contains(r.Body, []byte("some-qr")) {
			scans++
		}
		return nil
	})
	if scans != 0 {
		t.Fatal("a scan was journaled")
	}
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer = syncbuf.Buffer

// TestIDCardAtTheKiosk runs the whole check-in through the SAM reader
// simulator on a pty, then searches every log line and every file halld
// wrote for the cards' numbers and names: none may be there.
func TestIDCardAtTheKiosk(t *testing.T) {
	dir := t.TempDir()
	var logs syncBuffer
	h := startHallLog(t, dir, &logs)
	waitState(t, h, "printer-1", "ready", 5*time.Second)
	waitState(t, h, "idr-1", "ready", 5*time.Second)
	k1 := dialKiosk(t, h, "kiosk-1")
	defer k1.Close()
	time.Sleep(50 * time.Millisecond)
	sim, _ := h.a.Sims.Reader("idr-1")
	resident, _ := app.DemoCard("resident")
	elder, _ := app.DemoCard("elder")

	// A resident with a booking for today: checked in as the card lands.
	postJSON(t, h.base+"/api/v1/appointments", `{"code":"YY42","service":"tax","slot_start":"2026-11-25T09:00:00+08:00","slot_end":"2026-11-25T12:00:00+08:00","id_number":"`+resident.Number+`"}`)
	if err := sim.Place(resident); err != nil {
		t.Fatal(err)
	}
	m, ok := readKiosk(t, k1, 10*time.Second)
	if !ok || m.Type != "checked_in" || m.Ticket == nil || m.Ticket.MaskedID != resident.Number[14:] || m.Person.Greeting != "张*" {
		t.Fatalf("card with booking: %+v", m)
	}
	sim.Remove()
	for ok && m.Type != "card_removed" {
		m, ok = readKiosk(t, k1, 10*time.Second)
	}
	// An elder without a booking: greeted; the next ticket is green.
	sim.Place(elder)
	for ok && m.Type != "card" {
		m, ok = readKiosk(t, k1, 10*time.Second)
	}
	if !ok || m.Person.Age != 76 || m.Person.Greeting != "李*" {
		t.Fatalf("elder: %+v", m)
	}
	code, body := postJSON(t, h.base+"/api/v1/kiosks/kiosk-1/tickets", `{"service":"company-setup"}`)
	if tk := ticketOf(t, body); code != 201 || tk["priority"] != "green" {
		t.Fatalf("elder's ticket: %d %v", code, tk)
	}
	sim.Remove()
	// The reader's bytes may never be traced to disk.
	if code, _ := postJSON(t, h.base+"/api/v1/devices/idr-1/trace", `{"on":true}`); code != 403 {
		t.Fatalf("trace of an ID reader: %d", code)
	}
	h.stop()
	secrets := []string{resident.Number, elder.Number, resident.Name, elder.Name, resident.Address, "19900307", "19500101"}
	for _, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the log holds %q", s)
		}
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			for _, s := range secrets {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("%s holds %q", p, s)
				}
			}
		}
		return nil
	})
	if !strings.Contains(logs.String(), "idr-1") {
		t.Fatal("the log is empty: the search above proved nothing")
	}
}

// A citizen's card must never carry over to the next person's ticket, even
// when the next card cannot be used; and kiosk endpoints take kiosk ids only.
func TestNextCardEndsThePreviousSession(t *testing.T) {
	h := startHall(t, t.TempDir())
	ctx := context.Background()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	h.a.Kiosks.CardPlaced(ctx, "idr-1", kiosks.Person{Kind: "resident", Greeting: "李*", Number: "430102195001011234",
		Birth: time.Date(1950, 1, 1, 0, 0, 0, 0, loc)})
	if !h.a.Kiosks.Active("kiosk-1") {
		t.Fatal("no session for the first card")
	}
	h.a.Kiosks.CardPlaced(ctx, "idr-1", kiosks.Person{Kind: "resident", Greeting: "赵*", Number: "430102199001011234",
		ValidTo: time.Date(2020, 1, 1, 0, 0, 0, 0, loc)})
	if h.a.Kiosks.Active("kiosk-1") {
		t.Fatal("an expired card left the previous citizen's session open")
	}
	_, body := postJSON(t, h.base+"/api/v1/kiosks/kiosk-1/tickets", `{"service":"company-setup"}`)
	if tk := ticketOf(t, body); tk["priority"] != "normal" || tk["masked_id"] != nil {
		t.Fatalf("the next ticket carried the previous card: %v", tk)
	}
	for _, path := range []string{"/api/v1/kiosks/printer-1/tickets", "/api/v1/kiosks/nope/end"} {
		if code, _ := postJSON(t, h.base+path, `{"service":"company-setup"}`); code != 404 {
			t.Errorf("%s: %d", path, code)
		}
	}
}

func TestReportsFollowTheJournal(t *testing.T) {
	h := startHall(t, t.TempDir())
	post := func(path, body string) { postJSON(t, h.base+path, body) }
	post("/api/v1/windows/w1/sign-in", `{"staff":"s1"}`)
	for i := 0; i < 3; i++ {
		post("/api/v1/tickets", `{"service":"tax","kiosk":"kiosk-1"}`)
	}
	for i := 0; i < 2; i++ {
		post("/api/v1/windows/w1/call-next", `{}`)
		post("/api/v1/windows/w1/start", `{}`)
		post("/api/v1/windows/w1/finish", `{}`)
	}
	var rep struct {
		Rows []struct {
			Key            string
			Issued, Served int
		}
		Totals struct{ Issued, Served int }
	}
	waitFor(t, "the report counts 3 issued, 2 served", 5*time.Second, func() bool {
		_, body := getStatus(h.base + "/api/v1/reports?from=2026-11-25&by=service")
		json.Unmarshal(body, &rep)
		return rep.Totals.Issued == 3 && rep.Totals.Served == 2
	})
	code, body := getStatus(h.base + "/api/v1/reports?from=2026-11-25&by=staff&format=csv")
	if code != 200 || !bytes.HasPrefix(body, []byte("\xEF\xBB\xBF")) {
		t.Fatalf("csv: %d %.200s", code, body)
	}
	if code, _ := getStatus(h.base + "/api/v1/reports?by=colour"); code != 400 {
		t.Fatalf("bad by: %d", code)
	}
	if code, body := getStatus(h.base + "/api/v1/stars?quarter=2026Q4"); code != 200 || !bytes.Contains(body, []byte(`"quarter":"2026Q4"`)) {
		t.Fatalf("stars: %d %.300s", code, body)
	}
}

// TestPointToPointPad: a pad on its own serial link (RS-232/USB, not a
// shared bus) is driven as a line of one pad.
func TestPointToPointPad(t *testing.T) {
	dir := t.TempDir()
	yaml := fmt.Sprintf(hallYAML, filepath.Join(dir, "data")) +
		"  - {id: pad-usb, kind: eval_pad, area: front, window: w1, simulate: true, serial: {port: /dev/ttyUSB9}}\n"
	h := startHallYAML(t, dir, yaml, nil)
	a := h.a
	waitState(t, h, "pad-usb", "ready", 5*time.Second)
	pad, _ := a.Sims.Pad("pad-usb")
	pad.Key(hpad.KeySignInOut)
	waitFor(t, "signed in from the point-to-point pad", 5*time.Second, func() bool {
		v, _ := a.Engine.Query(context.Background(), func(st *hall.State) any { return hall.MakeWindowView(a.Config, st, "w1", a.Engine.Now()) })
		w := v.(hall.WindowView)
		return w.Staff != nil && w.Staff.ID == "s1"
	})
	waitFor(t, "its screen shows the staff", 5*time.Second, func() bool { return pad.Staff().Name == "张敏" })
}
