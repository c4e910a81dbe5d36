package web

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Access model (README "Access"):
//
//   - Every request must name an allowed Host (loopback, the listen address,
//     the box's own interface addresses, http.allowed_hosts): a page on
//     another site that rebinds its DNS name to the box is refused before
//     anything else.
//   - Writes and WebSocket upgrades with an Origin must come from an origin
//     built from those same hosts at the listen port, or from
//     http.allowed_origins: never from what the request says about itself.
//   - Loopback is the box itself (the kiosk's webview, hall IT at the box):
//     it may do everything.
//   - Off loopback, a request needs a bearer token whose scopes cover the
//     route; without one it gets the public projection only (what the hall's
//     screens show: numbers, windows, waiting counts, notices).

// Scope is what a token allows off loopback.
type Scope string

const (
	ScopeBoard      Scope = "board"
	ScopeKiosk      Scope = "kiosk"
	ScopeWindow     Scope = "window"
	ScopeSupervisor Scope = "supervisor"
	ScopeIT         Scope = "it"
	ScopeCentral    Scope = "central"
)

// Token is one accepted bearer token.
type Token struct {
	Name   string
	Value  string
	Scopes []Scope
}

// level is how much of the hall a reader may see.
type level int

const (
	levelPublic level = iota // the hall's screens: no names of citizens, no ids, no codes
	levelDesk                // a window or kiosk: public + ticket ids, visits, staff ids, print details
	levelFull                // loopback, supervisor, it, central: everything the journal holds
)

// caller is who made a request.
type caller struct {
	loopback bool
	token    *Token // nil: no (valid) token
}

func (c caller) has(s Scope) bool {
	if c.loopback {
		return true
	}
	if c.token == nil {
		return false
	}
	for _, t := range c.token.Scopes {
		if t == s {
			return true
		}
	}
	return false
}

func (c caller) any(scopes ...Scope) bool {
	for _, s := range scopes {
		if c.has(s) {
			return true
		}
	}
	return false
}

func (c caller) level() level {
	switch {
	case c.any(ScopeSupervisor, ScopeIT, ScopeCentral):
		return levelFull
	case c.any(ScopeWindow, ScopeKiosk):
		return levelDesk
	}
	return levelPublic
}

func (c caller) name() string {
	switch {
	case c.loopback:
		return "loopback"
	case c.token != nil:
		return c.token.Name
	}
	return ""
}

func (s *Server) callerOf(r *http.Request) caller {
	if isLoopback(r) {
		return caller{loopback: true}
	}
	return caller{token: s.tokenOf(r)}
}

func (s *Server) tokenOf(r *http.Request) *Token {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok && r.Method == http.MethodGet {
		// Browsers cannot set headers on a WebSocket: a page may pass ?token=.
		got, ok = r.URL.Query().Get("token"), true
	}
	if !ok || got == "" {
		return nil
	}
	var found *Token
	for i := range s.d.Tokens {
		// Compare with every token, so timing does not say which matched.
		if subtle.ConstantTimeCompare([]byte(got), []byte(s.d.Tokens[i].Value)) == 1 {
			found = &s.d.Tokens[i]
		}
	}
	return found
}

func isLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// allow guards a route: the caller must hold one of scopes (loopback holds
// all). No scopes: anyone who passed the Host check.
func (s *Server) allow(h http.HandlerFunc, scopes ...Scope) http.HandlerFunc {
	if len(scopes) == 0 {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		c := s.callerOf(r)
		if c.any(scopes...) {
			h(w, r)
			return
		}
		if c.token == nil {
			writeError(w, http.StatusUnauthorized, "unauthorized", "需要有效的访问令牌")
			return
		}
		writeError(w, http.StatusForbidden, "forbidden", "此访问令牌无权执行该操作")
	}
}

// write guards state-changing calls: an allowed Origin (when the browser
// sends one), the scopes, and a bounded body.
func (s *Server) write(h http.HandlerFunc, scopes ...Scope) http.HandlerFunc {
	guarded := s.allow(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		h(w, r)
	}, scopes...)
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.origins.originAllowed(r) {
			writeError(w, http.StatusForbidden, "bad_origin", "不允许的来源："+clip(r.Header.Get("Origin"), 100))
			return
		}
		guarded(w, r)
	}
}

// clip bounds what a request makes us echo.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// originPolicy decides Host and Origin from the configuration and the box's
// own addresses.
type originPolicy struct {
	port       string          // the listen port ("" when unknown: any port)
	configured map[string]bool // http.allowed_origins, normalised
	names      map[string]bool // configured host names and the listen host
	wildcard   bool            // listening on every address: the box's interface addresses count
	mu         sync.Mutex      // guards addrs and addrsAt
	addrs      map[string]bool // the box's interface addresses, refreshed now and then
	addrsAt    time.Time
	lookup     func() []net.Addr // net.InterfaceAddrs; replaceable in tests
}

func newOriginPolicy(listen string, allowedOrigins, allowedHosts []string) *originPolicy {
	p := &originPolicy{configured: map[string]bool{}, names: map[string]bool{}, lookup: interfaceAddrs}
	host, port, err := net.SplitHostPort(listen)
	if err == nil {
		if port != "0" {
			p.port = port
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			p.wildcard = true
		} else {
			p.names[normHost(host)] = true
		}
	}
	for _, o := range allowedOrigins {
		o = strings.ToLower(strings.TrimRight(o, "/"))
		p.configured[o] = true
		if u, err := url.Parse(o); err == nil && u.Hostname() != "" {
			p.names[normHost(u.Hostname())] = true
		}
	}
	for _, h := range allowedHosts {
		p.names[normHost(h)] = true
	}
	return p
}

func interfaceAddrs() []net.Addr {
	a, _ := net.InterfaceAddrs()
	return a
}

func normHost(h string) string {
	return strings.ToLower(strings.TrimSuffix(strings.Trim(h, "[]"), "."))
}

// hostAllowed reports whether a host name (no port) is one halld is reached by.
func (p *originPolicy) hostAllowed(host string) bool {
	host = normHost(host)
	if host == "localhost" || p.names[host] {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	if !p.wildcard {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.addrs == nil || time.Since(p.addrsAt) > 30*time.Second {
		p.addrs = map[string]bool{}
		for _, a := range p.lookup() {
			if n, ok := a.(*net.IPNet); ok {
				p.addrs[n.IP.String()] = true
			}
		}
		p.addrsAt = time.Now()
	}
	return p.addrs[ip.String()]
}

// requestHostAllowed checks the Host header. A request without one (HTTP/1.0
// tools) is let through: DNS rebinding needs a browser, and browsers send it.
func (p *originPolicy) requestHostAllowed(r *http.Request) bool {
	if r.Host == "" {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		host = h
	}
	return p.hostAllowed(host)
}

// originAllowed accepts requests without an Origin (non-browser clients),
// configured origins, and http(s) origins on an allowed host at the listen
// port.
func (p *originPolicy) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	origin = strings.ToLower(origin)
	if p.configured[strings.TrimRight(origin, "/")] {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if p.port != "" && port != p.port {
		return false
	}
	return p.hostAllowed(u.Hostname())
}
