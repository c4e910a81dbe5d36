// Package web is halld's HTTP and WebSocket face: the JSON API of
// docs/contracts.md, the live event stream, health, metrics and the pages. It
// changes hall state only by submitting commands to the engine.
package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"halld/daemon/config"
	"halld/daemon/engine"
	"halld/daemon/hall"
	"halld/daemon/issuer"
	"halld/daemon/journal"
	"halld/daemon/kiosks"
	"halld/daemon/phonetoken"
	"halld/daemon/stats"
	"halld/daemon/supervisor"
	"halld/daemon/uplink"
)

// Simulators drives built-in device simulators (demo and tests).
type Simulators interface {
	Simulate(device, action, text string) error
}

// LineSender sends an outbound line to a line device.
type LineSender interface {
	SendLine(ctx context.Context, device, line string) error
}

// Tracer switches a device's hex trace.
type Tracer interface {
	Set(device string, on bool) error
}

// Deps is what the web layer is built on.
type Deps struct {
	Config     *config.Config
	Engine     *engine.Engine
	Journal    *journal.Journal
	Issuer     *issuer.Issuer
	Supervisor *supervisor.Supervisor
	Simulators Simulators // nil when nothing is simulated
	Tracer     Tracer
	Pages      fs.FS
	Log        *slog.Logger
	Registry   *prometheus.Registry
	// Ready reports why halld is not ready yet (nil when ready).
	Ready func() []string
	// Tokens are the accepted bearer tokens and their scopes (access.go).
	Tokens []Token
	// ListenAddr is the address the server listens on (host:port), from
	// which the allowed Hosts and Origins are derived; "" = the config's.
	ListenAddr string
	// Uplink reports the central uplink's state (ok false: not configured).
	Uplink func() (uplink.Status, bool)
	// Stats answers reports and the quarterly ranking.
	Stats *stats.Live
	// Commander sends commands to MQTT devices (terminals).
	Commander interface {
		DeviceCommand(ctx context.Context, device, name string, args any) ([]byte, error)
	}
	// Lines sends outbound lines to line devices.
	Lines LineSender
	// Kiosks holds each kiosk's citizen session (card, scans).
	Kiosks *kiosks.Manager
	// PII hashes ID numbers (appointments, ID cards); nil disables them.
	PII interface{ Hash(string) string }
	// PhoneKey makes and checks the phone pages' ticket tokens (phone.go);
	// nil: no phone pages.
	PhoneKey *phonetoken.Key
}

// Server is the HTTP handler.
type Server struct {
	d        Deps
	mux      *http.ServeMux
	metrics  *httpMetrics
	hub      *streamHub
	ttsCache *ttsCache
	origins  *originPolicy
	public   publicCache

	roster rosterDeps // roster.go

	phoneMu sync.Mutex
	phoneSt *phoneState // phone.go; nil until the first phone request
}

// New builds the handler.
func New(d Deps) *Server {
	s := &Server{d: d, mux: http.NewServeMux(), ttsCache: newTTSCache()}
	listen := d.ListenAddr
	if listen == "" && d.Config != nil {
		listen = d.Config.HTTP.Listen
	}
	var origins, hosts []string
	if d.Config != nil {
		origins, hosts = d.Config.HTTP.AllowedOrigins, d.Config.HTTP.AllowedHosts
	}
	s.origins = newOriginPolicy(listen, origins, hosts)
	s.metrics = newHTTPMetrics(d.Registry)
	s.hub = newStreamHub(s, s.metrics)
	s.phoneMetrics(d.Registry) // phonelive.go
	m := s.mux
	// Scopes per route (access.go): none = the public projection or a public
	// page; loopback holds every scope.
	const (
		board, kiosk, window, super, it, central = ScopeBoard, ScopeKiosk, ScopeWindow, ScopeSupervisor, ScopeIT, ScopeCentral
	)
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	m.HandleFunc("GET /readyz", s.readyz)
	m.Handle("GET /metrics", s.allow(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{}).ServeHTTP, it, central))
	m.HandleFunc("GET /api/v1/whoami", s.whoami)
	m.HandleFunc("GET /api/v1/snapshot", s.snapshot) // projected by the caller's level
	m.HandleFunc("GET /api/v1/stream", s.hub.serve)  // projected by the caller's level
	m.HandleFunc("POST /api/v1/tickets", s.write(s.issueTicket, kiosk))
	m.HandleFunc("GET /api/v1/tickets/{id}", s.allow(s.getTicket, kiosk, window, super, it, central))
	m.HandleFunc("POST /api/v1/tickets/{id}/reprint", s.write(s.reprint, kiosk, window))
	m.HandleFunc("GET /api/v1/windows", s.allow(s.listWindows, window, super, it, central))
	m.HandleFunc("GET /api/v1/windows/{id}", s.allow(s.getWindow, window, super, it, central))
	m.HandleFunc("POST /api/v1/windows/{id}/{action}", s.write(s.windowAction, window))
	m.HandleFunc("GET /api/v1/staff", s.allow(s.listStaff, window, super, central))
	// The board's voice costs a synthesis: off loopback, a screen's token.
	m.HandleFunc("GET /api/v1/tts", s.allow(s.tts, board, kiosk, window, super, it))
	m.HandleFunc("POST /api/v1/ratings", s.write(s.rate, window))
	m.HandleFunc("GET /api/v1/ratings/export", s.allow(s.exportRatings, super, central))
	m.HandleFunc("GET /api/v1/followups", s.allow(s.listFollowUps, super, central))
	m.HandleFunc("GET /api/v1/followups/{id}", s.allow(s.getFollowUp, super, central))
	m.HandleFunc("GET /api/v1/reports", s.allow(s.reports, super, central))
	m.HandleFunc("GET /api/v1/uplink", s.allow(s.uplinkStatus, it, central))
	m.HandleFunc("GET /api/v1/stars", s.allow(s.stars, super, central))
	m.HandleFunc("POST /api/v1/stars", s.write(s.stars, super))
	m.HandleFunc("GET /api/v1/rankings", s.allow(s.rankings, super, central)) // rankings.go
	m.HandleFunc("GET /api/v1/kiosks/{id}/session", s.allow(s.kioskSession, kiosk))
	m.HandleFunc("POST /api/v1/kiosks/{id}/tickets", s.write(s.kioskTicket, kiosk))
	m.HandleFunc("POST /api/v1/kiosks/{id}/end", s.write(s.kioskEnd, kiosk))
	m.HandleFunc("GET /api/v1/appointments", s.allow(s.listAppointments, super, central))
	m.HandleFunc("POST /api/v1/appointments", s.write(s.bookAppointment, super, central))
	m.HandleFunc("POST /api/v1/appointments/check-in", s.write(s.checkIn, kiosk))
	m.HandleFunc("POST /api/v1/followups/{id}/{stage}", s.write(s.stepFollowUp, super))
	m.HandleFunc("GET /api/v1/alerts", s.allow(s.listAlerts, super, it, central))
	m.HandleFunc("GET /api/v1/alerts/{id}", s.allow(s.getAlert, super, it, central))
	m.HandleFunc("POST /api/v1/alerts/{id}/{action}", s.write(s.alertAction, super, it))
	m.HandleFunc("GET /api/v1/devices", s.allow(s.devices, it, super, central))
	m.HandleFunc("POST /api/v1/devices/{id}/simulate", s.write(s.simulate, it))
	m.HandleFunc("POST /api/v1/devices/{id}/trace", s.write(s.trace, it))
	m.HandleFunc("POST /api/v1/devices/{id}/send", s.write(s.sendLine, it))
	m.HandleFunc("POST /api/v1/devices/{id}/command", s.write(s.deviceCommand, it))
	// The citizen's phone (phone.go): no scope, the ticket's token guards them.
	m.HandleFunc("GET /api/v1/phone/{token}", s.phoneStatus)
	m.HandleFunc("GET /api/v1/phone/{token}/live", s.phoneLive) // WebSocket (phonelive.go)
	m.HandleFunc("POST /api/v1/phone/{token}/rating", s.write(s.phoneRate))
	m.HandleFunc("POST /api/v1/phone/{token}/silent", s.write(s.phoneSilent))
	s.rosterRoutes(m) // roster.go: roster, notices, services today, PINs
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "没有这个接口："+r.Method+" "+r.URL.Path)
	})
	if d.Pages != nil {
		files := newGzipFiles(http.FileServerFS(d.Pages), d.Pages)
		m.Handle("/", notFoundChinese(files, d.Pages))
		m.HandleFunc("GET /window/{id}/{$}", s.windowPage)
		m.HandleFunc("GET /t/{token}", s.phonePage)
		// More specific than the page route, so the page's script is served as a
		// file, not redirected to /window/window.js/.
		m.Handle("GET /window/window.js", files)
		m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/kiosk/", http.StatusFound)
		})
	}
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w, status: 200}
	if !s.origins.requestHostAllowed(r) && r.URL.Path != "/healthz" {
		// A name that is not the box's: DNS rebinding, or a misconfigured
		// proxy (http.allowed_hosts adds names).
		writeError(rw, http.StatusMisdirectedRequest, "bad_host", "不允许的主机名："+clip(r.Host, 100))
		s.metrics.observe(r, rw.status, time.Since(start))
		return
	}
	s.mux.ServeHTTP(rw, r)
	s.metrics.observe(r, rw.status, time.Since(start))
}

// Close ends every stream.
func (s *Server) Close() { s.hub.close() }

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack is needed by the WebSocket upgrade, which asserts http.Hijacker
// directly rather than unwrapping.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// readyz: 503 while halld itself cannot serve (the journal, or devices it
// cannot open for want of its own resources: descriptors, memory); devices
// that are merely unplugged or out of paper are listed, and halld stays
// ready, since the hall works on without them.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	reasons := s.d.Ready()
	type down struct {
		ID     string `json:"id"`
		State  string `json:"state"`
		Reason string `json:"reason,omitempty"`
	}
	var devices []down
	total := 0
	if s.d.Supervisor != nil {
		for _, i := range s.d.Supervisor.Infos() {
			total++
			if i.State == "ready" {
				continue
			}
			why := i.Reason
			if why == "" {
				why = i.LastError
			}
			devices = append(devices, down{ID: i.ID, State: i.State, Reason: why})
			if ownResources(i.LastError) || ownResources(i.Reason) {
				reasons = append(reasons, "device "+i.ID+" cannot be opened: "+clip(i.LastError, 200))
			}
		}
	}
	body := map[string]any{"ready": len(reasons) == 0, "devices": total, "devices_not_ready": devices}
	if len(reasons) > 0 {
		body["reasons"] = reasons
		writeJSON(w, http.StatusServiceUnavailable, body)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// ownResources says whether an error is halld's own shortage rather than the
// device's (an unplugged cable is not halld's fault; EMFILE is).
func ownResources(err string) bool {
	for _, s := range []string{"too many open files", "cannot allocate memory", "no space left on device"} {
		if strings.Contains(err, s) {
			return true
		}
	}
	return false
}

func (s *Server) snapshot(w http.ResponseWriter, r *http.Request) {
	seq, body, err := s.snapshotFor(r.Context(), s.callerOf(r).level())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "系统暂时不可用，请稍后再试")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, `{"seq":`)
	io.WriteString(w, strconv.FormatUint(seq, 10))
	io.WriteString(w, `,"data":`)
	w.Write(body)
	io.WriteString(w, "}\n")
}

// apiError is the contract's error body.
type apiError struct {
	Error hall.ErrorInfo `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{hall.ErrorInfo{Code: code, Message: msg}})
}

func writeRuleError(w http.ResponseWriter, err error) {
	var re *hall.RuleError
	if errors.As(err, &re) {
		writeJSON(w, re.Status, apiError{re.ErrorInfo})
		return
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusServiceUnavailable, "timeout", "请求超时，请重试")
		return
	}
	writeError(w, http.StatusServiceUnavailable, "unavailable", "系统暂时不可用，请稍后再试")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decodeBody reads a JSON object strictly: unknown fields are a clear error,
// not silently ignored.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "请求格式不正确："+bodyError(err))
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "bad_request", "请求格式不正确：多余的内容")
		return false
	}
	return true
}

// bodyError says in Chinese what is wrong with a request body, naming the
// field, without Go's own error text.
func bodyError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var big *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return "请求内容为空"
	case errors.As(err, &big):
		return "请求内容过大（最多 " + strconv.FormatInt(big.Limit>>10, 10) + " KB）"
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return "不是有效的 JSON"
	case errors.As(err, &typ):
		return "字段 " + clip(typ.Field, 60) + " 的类型应为 " + typ.Type.String()
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "未知字段 " + clip(f, 60)
	}
	return "无法解析"
}

func (s *Server) uplinkStatus(w http.ResponseWriter, r *http.Request) {
	if s.d.Uplink == nil {
		writeJSON(w, http.StatusOK, map[string]any{"configured": false})
		return
	}
	st, ok := s.d.Uplink()
	writeJSON(w, http.StatusOK, map[string]any{"configured": ok, "status": st})
}

// notFoundChinese serves the pages, and a page in Chinese for any path that
// has none (Go's file server would say "404 page not found").
func notFoundChinese(files http.Handler, pages fs.FS) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if p == "" || p == "." {
			files.ServeHTTP(w, r)
			return
		}
		if f, err := fs.Stat(pages, p); err == nil && (!f.IsDir() || fileExists(pages, p+"/index.html")) {
			files.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, notFoundPage)
	})
}

func fileExists(fsys fs.FS, p string) bool { _, err := fs.Stat(fsys, p); return err == nil }

const notFoundPage = `<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>页面不存在</title>` +
	`<link rel="icon" href="/common/favicon.png"><link rel="stylesheet" href="/common/style.css"></head>` +
	`<body style="display:flex;align-items:center;justify-content:center;height:100vh;margin:0"><div style="text-align:center">` +
	`<h1 style="color:#0a2f66">页面不存在</h1><p>请检查地址。可用页面：<a href="/kiosk/">自助取号</a> · <a href="/board/">叫号屏</a> · ` +
	`<a href="/monitor/">设备监控</a> · <a href="/supervise/">大厅监管</a> · <a href="/reports/">报表</a></p></div></body></html>`
