// Command hall-kiosk is the webview shell of halld: it shows the kiosk page
// that halld serves, full screen, on the kiosk's own screen. It holds no
// business logic; everything the citizen sees comes from halld.
//
// It is its own Go module (cgo, WebKitGTK) so that the halld module's
// `CGO_ENABLED=0 go build ./...` never sees it.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	webview "github.com/webview/webview_go"
)

const usage = `hall-kiosk — 政务服务大厅自助终端外壳 (kiosk webview shell of halld)

全屏显示 halld 提供的取号页面，只允许访问 halld 本身的页面；halld 不可达时显示
“系统连接中…”，每 2 秒探测 /healthz，恢复后自动回到取号页面。
Shows halld's kiosk page full screen, allows only pages of the halld origin;
while halld is unreachable it shows a calm "系统连接中…" page, probes /healthz
every 2 s and returns to the kiosk page as soon as halld answers.

用法 / Usage:
  hall-kiosk [flags]

参数 / Flags:
  -url URL          halld 地址 / halld base URL (default http://127.0.0.1:8080)
  -page PATH        页面路径 / page path (default /kiosk/)
  -kiosk ID         终端编号，作为 ?kiosk= 传给页面 / kiosk id, sent as ?kiosk= (default kiosk-1)
  -fullscreen       全屏（默认开启）；-fullscreen=false 时使用 -width/-height
                    fullscreen (default true); with -fullscreen=false the window is -width x -height
  -width N          窗口宽度 / window width when not fullscreen (default 1080)
  -height N         窗口高度 / window height when not fullscreen (default 1920)
  -probe-file PATH  测试用：把页面标题和大厅名称写入 PATH / testing: write the page title
                    and hall name to PATH whenever they change
  -log-level LEVEL  debug, info, warn, error (default info)

需要图形环境 (DISPLAY 或 WAYLAND_DISPLAY)，例如 cage 或 X 服务器；见 systemd/hall-kiosk.service。
Needs a display (DISPLAY or WAYLAND_DISPLAY), e.g. cage or an X server; see systemd/hall-kiosk.service.

信号 / Signals: SIGTERM/SIGINT 正常退出 (exit 0) / exit cleanly with status 0.
退出码 / Exit codes: 0 正常 / clean, 1 无法启动 (如无显示) / could not start (e.g. no display), 2 参数错误 / bad flags.
`

const (
	probeInterval = 2 * time.Second
	probeTimeout  = 1500 * time.Millisecond
	failsToLeave  = 2 // consecutive failed probes before leaving the kiosk page
)

//go:embed reconnect.html
var reconnectHTML string

//go:embed inject.js
var injectJS string

type options struct {
	base, page, kiosk string
	width, height     int
	fullscreen        bool
	probeFile         string
	logLevel          string
}

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("hall-kiosk", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	fs.StringVar(&o.base, "url", "http://127.0.0.1:8080", "halld base URL")
	fs.StringVar(&o.page, "page", "/kiosk/", "page path")
	fs.StringVar(&o.kiosk, "kiosk", "kiosk-1", "kiosk id")
	fs.IntVar(&o.width, "width", 1080, "window width when not fullscreen")
	fs.IntVar(&o.height, "height", 1920, "window height when not fullscreen")
	fs.BoolVar(&o.fullscreen, "fullscreen", true, "fullscreen")
	fs.StringVar(&o.probeFile, "probe-file", "", "testing: write page title and hall name here")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return o, nil
}

// target is the validated halld origin and kiosk page URL.
type target struct {
	origin   string // scheme://host[:port], no trailing slash
	kioskURL string
	health   string
}

func makeTarget(o options) (target, error) {
	u, err := url.Parse(o.base)
	if err != nil {
		return target{}, fmt.Errorf("-url: %v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return target{}, fmt.Errorf("-url %q: need http(s)://host[:port]", o.base)
	}
	if !strings.HasPrefix(o.page, "/") {
		return target{}, fmt.Errorf("-page %q: must start with /", o.page)
	}
	origin := u.Scheme + "://" + strings.ToLower(u.Host)
	prefix := strings.TrimSuffix(u.Path, "/") // halld behind a path prefix still works
	k := origin + prefix + o.page
	if o.kiosk != "" {
		sep := "?"
		if strings.Contains(k, "?") {
			sep = "&"
		}
		k += sep + "kiosk=" + url.QueryEscape(o.kiosk)
	}
	return target{origin: origin, kioskURL: k, health: origin + prefix + "/healthz"}, nil
}

// allowed reports whether raw is a page of the halld origin.
func (t target) allowed(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		return false
	}
	return strings.ToLower(u.Scheme+"://"+u.Host) == t.origin
}

func run(args []string, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.logLevel)); err != nil {
		fmt.Fprintf(stderr, "-log-level: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	t, err := makeTarget(o)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		log.Error("no display: DISPLAY and WAYLAND_DISPLAY are both unset")
		return 1
	}

	// webview_go wraps a nil C handle in a non-nil WebView when GTK cannot
	// open the display, and the next call segfaults: check the display first.
	if !displayOK() {
		log.Error("cannot open the display", "DISPLAY", os.Getenv("DISPLAY"), "WAYLAND_DISPLAY", os.Getenv("WAYLAND_DISPLAY"))
		return 1
	}
	w := webview.New(false)
	if w == nil {
		log.Error("cannot create the webview window")
		return 1
	}
	s := &shell{w: w, t: t, log: log, probeFile: o.probeFile}
	return s.run(o)
}

type shell struct {
	w         webview.WebView
	t         target
	log       *slog.Logger
	probeFile string

	mu     sync.Mutex
	closed bool // after Run returned: no more Dispatch

	lastProbe string // GTK thread only
}

// dispatch runs f on the GTK thread unless the window is gone.
func (s *shell) dispatch(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.w.Dispatch(f)
	}
}

func (s *shell) run(o options) int {
	w := s.w
	w.SetTitle("政务服务大厅 自助终端")
	if err := setupWebView(w.Window(), s.t.origin); err != nil {
		s.log.Error("webview setup", "err", err)
		w.Destroy()
		return 1
	}
	if o.fullscreen {
		fw, fh := fullscreen(w.Window())
		s.log.Info("fullscreen", "width", fw, "height", fh)
	} else {
		w.SetSize(o.width, o.height, webview.HintNone)
	}

	// Bound functions: the injected script asks Go before leaving the page.
	w.Bind("__hkOpen", func(raw string) bool {
		if s.t.allowed(raw) {
			s.dispatch(func() { s.w.Navigate(raw) })
			return true
		}
		s.logBlocked(raw)
		return false
	})
	w.Bind("__hkBlocked", func(raw string) { s.logBlocked(raw) })
	if s.probeFile != "" {
		w.Bind("__hkProbe", s.writeProbe)
	}
	w.Init(strings.NewReplacer(
		"__HK_ORIGIN__", jsString(s.t.origin),
		"__HK_PROBE__", fmt.Sprint(s.probeFile != ""),
	).Replace(injectJS))

	up := s.healthy(context.Background())
	if up {
		s.log.Info("halld reachable, showing kiosk page", "origin", s.t.origin)
		w.Navigate(s.t.kioskURL)
	} else {
		s.log.Warn("halld unreachable, showing reconnect page", "health", s.t.health)
		w.SetHtml(reconnectHTML)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.watch(ctx, up) }()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		defer wg.Done()
		select {
		case sig := <-sigs:
			s.log.Info("signal, closing", "signal", sig.String())
			s.dispatch(s.w.Terminate)
		case <-ctx.Done():
		}
	}()

	w.Run() // until Terminate or the window is closed
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	cancel()
	wg.Wait()
	signal.Stop(sigs)
	w.Destroy()
	s.log.Info("stopped")
	return 0
}

// watch probes halld every 2 s and switches between the kiosk page and the
// reconnect page.
func (s *shell) watch(ctx context.Context, onKiosk bool) {
	fails := 0
	tick := time.NewTicker(probeInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ok := s.healthy(ctx)
		loadFailed := takeLoadFailed()
		if n := takeBlocked(); n > 0 {
			s.log.Warn("navigation blocked by policy", "count", n)
		}
		if ok {
			fails = 0
		} else {
			fails++
		}
		switch {
		case onKiosk && (loadFailed || fails >= failsToLeave):
			s.log.Warn("halld unreachable, showing reconnect page", "load_failed", loadFailed, "failed_probes", fails)
			onKiosk = false
			s.dispatch(func() { s.w.SetHtml(reconnectHTML) })
		case !onKiosk && ok:
			s.log.Info("halld reachable again, showing kiosk page")
			onKiosk = true
			s.dispatch(func() { s.w.Navigate(s.t.kioskURL) })
		}
	}
}

func (s *shell) healthy(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.t.health, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.log.Debug("health probe failed", "err", err)
		return false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// logBlocked logs only the scheme and host of a refused destination.
func (s *shell) logBlocked(raw string) {
	dest := "(unparsable)"
	if u, err := url.Parse(raw); err == nil {
		dest = u.Scheme + "://" + u.Host
	}
	s.log.Warn("navigation blocked", "destination", dest)
}

// writeProbe writes what the page reports (for scripts/shell-test.sh). It
// runs on the GTK thread; the file is replaced atomically and only on change.
// The contents are never logged.
func (s *shell) writeProbe(page, title, hall, path string, tiles int) {
	clean := func(v string) string { return strings.Join(strings.Fields(v), " ") }
	text := fmt.Sprintf("page=%s\ntitle=%s\nhall=%s\npath=%s\ntiles=%d\n", clean(page), clean(title), clean(hall), clean(path), tiles)
	if text == s.lastProbe {
		return
	}
	s.lastProbe = text
	tmp := filepath.Join(filepath.Dir(s.probeFile), "."+filepath.Base(s.probeFile)+".tmp")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		s.log.Error("probe file", "err", err)
		return
	}
	if err := os.Rename(tmp, s.probeFile); err != nil {
		s.log.Error("probe file", "err", err)
		return
	}
	s.log.Debug("probe file updated", "page", clean(page))
}

func jsString(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "<", `\u003c`)
	return `"` + r.Replace(v) + `"`
}
