// Package netlimit bounds the connections a listener holds, by source: a
// total for hosts on the LAN, a share per LAN address, and a reserve of its
// own for loopback (the kiosk's webview, hall IT at the box, halld's own
// clients), so that no flood from the LAN can take what the box itself needs.
//
// A connection over its bound is accepted and closed at once: left in the
// kernel's backlog it would still hold the listener up.
package netlimit

import (
	"net"
	"sync"
	"sync/atomic"
)

// Options are the bounds; zero values take the defaults.
type Options struct {
	MaxLAN      int // connections from off loopback at once; default 512
	MaxPerIP    int // from one off-loopback address; default 64
	MaxLoopback int // from loopback; default 512
	// FreeFDs, if set, says how many descriptors the process may still
	// open; LAN connections are refused while fewer than Reserve (default
	// 128) are left, so that a flood never takes the ports', the journal's
	// and loopback's. Loopback is held to MaxLoopback alone.
	FreeFDs func() int
	Reserve int
	// OnRefuse, if set, is told of each refused connection (not while
	// holding any lock); why is "lan", "per_ip", "descriptors" or "loopback".
	OnRefuse func(remote net.Addr, why string)
}

func (o *Options) defaults() {
	if o.MaxLAN <= 0 {
		o.MaxLAN = 512
	}
	if o.MaxPerIP <= 0 {
		o.MaxPerIP = 64
	}
	if o.MaxLoopback <= 0 {
		o.MaxLoopback = 512
	}
	if o.Reserve <= 0 {
		o.Reserve = 128
	}
}

// Listener is a net.Listener that enforces Options.
type Listener struct {
	net.Listener
	o Options

	mu       sync.Mutex
	lan      int
	loopback int
	perIP    map[string]int

	refused atomic.Uint64
}

// Wrap bounds ln.
func Wrap(ln net.Listener, o Options) *Listener {
	o.defaults()
	return &Listener{Listener: ln, o: o, perIP: map[string]int{}}
}

// Accept returns the next connection within the bounds. Errors of the
// underlying Accept are returned as they are: net/http and our callers back
// off and retry on temporary ones (EMFILE).
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip, loop := source(c.RemoteAddr())
		why := l.take(ip, loop)
		if why == "" {
			return &conn{Conn: c, l: l, ip: ip, loop: loop}, nil
		}
		l.refused.Add(1) // before the close, so whoever sees the close sees the count
		c.Close()
		if l.o.OnRefuse != nil {
			l.o.OnRefuse(c.RemoteAddr(), why)
		}
	}
}

func (l *Listener) take(ip string, loop bool) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if loop {
		if l.loopback >= l.o.MaxLoopback {
			return "loopback"
		}
		l.loopback++
		return ""
	}
	if l.lan >= l.o.MaxLAN {
		return "lan"
	}
	if l.o.FreeFDs != nil {
		if free := l.o.FreeFDs(); free >= 0 && free < l.o.Reserve {
			return "descriptors"
		}
	}
	if l.perIP[ip] >= l.o.MaxPerIP {
		return "per_ip"
	}
	l.lan++
	l.perIP[ip]++
	return ""
}

func (l *Listener) release(ip string, loop bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if loop {
		l.loopback--
		return
	}
	l.lan--
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
}

// Stats are the listener's counts now.
type Stats struct {
	LAN, Loopback, Addresses int
	Refused                  uint64
}

// Stats returns the open connections and how many were refused so far.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Stats{LAN: l.lan, Loopback: l.loopback, Addresses: len(l.perIP), Refused: l.refused.Load()}
}

func source(a net.Addr) (ip string, loopback bool) {
	host := a.String()
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String(), t.IP.IsLoopback()
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	p := net.ParseIP(host)
	return host, p != nil && p.IsLoopback()
}

type conn struct {
	net.Conn
	l    *Listener
	ip   string
	loop bool
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.ip, c.loop) })
	return err
}
