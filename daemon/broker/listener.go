package broker

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
)

// listener replaces mochi's listeners.TCP, whose accept loop returns for
// good on the first accept error (EMFILE under a connection flood) and which
// lets a connection that never sends CONNECT sit on a descriptor forever.
//
//   - The accept loop retries errors with a capped backoff (5 ms doubling to
//     1 s, as net/http's Server does) and returns only once closed.
//   - Connections are counted from accept, authenticated or not: at most max
//     at once, and at most perIP from one remote address. One over a cap is
//     accepted and closed at once (with RST), never left in the backlog.
//   - Until it is authenticated a connection may not hold a deadline later
//     than accept+connectTimeout: the TLS handshake, the CONNECT packet and
//     the CONNACK must all fit. Once authenticated (authHook calls
//     markAuthed) deadlines pass through untouched, so mochi's own keepalive
//     deadline (1.5 × keepalive, none for keepalive 0), which it sets before
//     every read, takes over.
type listener struct {
	id             string
	address        string
	tlsCfg         *tls.Config
	max            int                   // connections at once
	perIP          int                   // per remote address; 0: no limit
	exempt         func(netip.Addr) bool // addresses perIP does not apply to
	connectTimeout time.Duration
	log            *slog.Logger
	// freeFDs, if set, says how many descriptors halld may still open: a
	// LAN connection is refused under fdReserve, so a flood never takes
	// the ports', the journal's and loopback's (Options.FreeFDs).
	freeFDs func() int

	ln        net.Listener
	done      chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex
	closed  bool
	pending int // open and not yet authenticated
	byIP    map[netip.Addr]int
	conns   map[*conn]struct{}

	accepted, refusedMax, refusedPerIP, timeouts, acceptErrors atomic.Uint64

	errLog, refuseMaxLog, refusePerIPLog, timeoutLog every
}

var _ listeners.Listener = (*listener)(nil)

// fdReserve is the descriptors left to the rest of halld before the device
// listener stops admitting LAN connections.
const fdReserve = 128

func fdsShort(free int) bool { return free >= 0 && free < fdReserve }

// Accept backoff, as net/http's Server.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// logEvery is how often a repeated listener warning (accept errors,
// refusals, timeouts) is logged; the ones in between are counted.
var logEvery = 10 * time.Second

func newListener(id, address string, tlsCfg *tls.Config, max, perIP int, exempt func(netip.Addr) bool, connectTimeout time.Duration, log *slog.Logger) *listener {
	if exempt == nil {
		exempt = func(netip.Addr) bool { return false }
	}
	return &listener{id: id, address: address, tlsCfg: tlsCfg, max: max, perIP: perIP, exempt: exempt,
		connectTimeout: connectTimeout, log: log.With("component", "broker", "listener", id),
		done: make(chan struct{}), byIP: map[netip.Addr]int{}, conns: map[*conn]struct{}{}}
}

func (l *listener) ID() string       { return l.id }
func (l *listener) Protocol() string { return "tcp" }

func (l *listener) Address() string {
	if l.ln != nil {
		return l.ln.Addr().String()
	}
	return l.address
}

// Init binds the socket (mochi's AddListener calls it).
func (l *listener) Init(*slog.Logger) error {
	ln, err := net.Listen("tcp", l.address)
	if err != nil {
		return err
	}
	l.ln = ln
	return nil
}

// Serve accepts until Close.
func (l *listener) Serve(establish listeners.EstablishFn) {
	var delay time.Duration
	for {
		raw, err := l.ln.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if delay == 0 {
				delay = acceptBackoffMin
			} else if delay *= 2; delay > acceptBackoffMax {
				delay = acceptBackoffMax
			}
			l.acceptErrors.Add(1)
			if n, ok := l.errLog.ok(); ok {
				l.log.Error("mqtt accept failed; retrying", "err", err, "retry_in", delay, "errors_since_last_log", n)
			}
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-l.done:
				t.Stop()
				return
			}
			continue
		}
		delay = 0
		c := l.admit(raw)
		if c == nil {
			continue
		}
		go func() {
			var nc net.Conn = c
			if l.tlsCfg != nil {
				nc = tls.Server(c, l.tlsCfg)
			}
			// Refusals are logged by authHook, timeouts by conn; the rest
			// (EOF, a client's garbage) is not news.
			if err := establish(l.id, nc); err != nil {
				l.log.Debug("mqtt connection ended", "remote", c.ip, "err", err)
			}
		}()
	}
}

// admit counts raw against the caps and wraps it, or closes it and returns
// nil.
func (l *listener) admit(raw net.Conn) *conn {
	ip := remoteIP(raw)
	l.mu.Lock()
	var reason string
	var limit int
	var lg *every
	switch {
	case l.closed:
		reason = "closed"
	case len(l.conns) >= l.max:
		reason, limit, lg = "max_clients", l.max, &l.refuseMaxLog
		l.refusedMax.Add(1)
	case l.perIP > 0 && l.byIP[ip] >= l.perIP && !l.exempt(ip):
		reason, limit, lg = "max_per_ip", l.perIP, &l.refusePerIPLog
		l.refusedPerIP.Add(1)
	case l.freeFDs != nil && !l.exempt(ip) && fdsShort(l.freeFDs()):
		reason, limit, lg = "descriptors", fdReserve, &l.refuseMaxLog
		l.refusedMax.Add(1)
	}
	if reason != "" {
		l.mu.Unlock()
		if tc, ok := raw.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST: no TIME_WAIT here for a flood
		}
		_ = raw.Close()
		if lg != nil {
			if n, ok := lg.ok(); ok {
				l.log.Warn("mqtt connection refused", "remote", ip, "reason", reason, "limit", limit, "refused_since_last_log", n)
			}
		}
		return nil
	}
	l.accepted.Add(1)
	c := &conn{Conn: raw, l: l, ip: ip, connectBy: time.Now().Add(l.connectTimeout)}
	l.conns[c] = struct{}{}
	l.byIP[ip]++
	l.pending++
	l.mu.Unlock()
	_ = raw.SetDeadline(c.connectBy)
	return c
}

func (l *listener) release(c *conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c)
	if l.byIP[c.ip]--; l.byIP[c.ip] <= 0 {
		delete(l.byIP, c.ip)
	}
	if !c.authed.Load() {
		l.pending--
	}
}

func (l *listener) markAuthed(c *conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.authed.Load() {
		return
	}
	c.authed.Store(true)
	if _, open := l.conns[c]; open {
		l.pending--
	}
}

func (l *listener) timedOut(c *conn) {
	l.timeouts.Add(1)
	if n, ok := l.timeoutLog.ok(); ok {
		l.log.Warn("mqtt connection closed: no CONNECT within the connect timeout", "remote", c.ip,
			"connect_timeout", l.connectTimeout, "timeouts_since_last_log", n)
	}
}

// Close stops accepting and closes every connection: mochi disconnects the
// authenticated clients (closeClients), we close the rest.
func (l *listener) Close(closeClients listeners.CloseFn) {
	l.closeOnce.Do(func() {
		close(l.done)
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		if l.ln != nil {
			_ = l.ln.Close()
		}
		l.closeClientsBounded(closeClients)
		l.mu.Lock()
		cs := make([]*conn, 0, len(l.conns))
		for c := range l.conns {
			cs = append(cs, c)
		}
		l.mu.Unlock()
		for _, c := range cs {
			_ = c.Close()
		}
	})
}

// closeClientsWait bounds mochi's disconnect of the listener's clients.
var closeClientsWait = 2 * time.Second

// closeClientsBounded runs mochi's closeClients for at most closeClientsWait.
// mochi v2.7.9's Clients.GetByListener read-locks the client map and, inside,
// read-locks it again (Clients.Len): when a client with a clean session ends
// between the two (its Clients.Delete waits for the write lock), both wait
// for ever — halld hung on SIGTERM (seen under qemu-riscv64 in CI). Past the
// bound the connections are closed below all the same, and the stuck
// goroutine is left behind: the broker is going away.
func (l *listener) closeClientsBounded(closeClients listeners.CloseFn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		closeClients(l.id)
	}()
	select {
	case <-done:
	case <-time.After(closeClientsWait):
		l.log.Warn("mqtt broker: disconnecting clients did not finish (mochi lock); closing their connections", "listener", l.id,
			"waited", closeClientsWait)
	}
}

// ListenerStats counts one listener's connections.
type ListenerStats struct {
	Open    int // connections now, authenticated or not
	Pending int // of which not yet authenticated
	// Accepted counts connections admitted (not refused at accept).
	Accepted uint64
	// RefusedMaxClients and RefusedPerIP count connections closed at accept
	// because the listener, or their remote address, was at its cap.
	RefusedMaxClients, RefusedPerIP uint64
	// ConnectTimeouts counts connections closed because they had not sent
	// a CONNECT (or finished the TLS handshake) within the connect timeout.
	ConnectTimeouts uint64
	// AcceptErrors counts failed accepts (EMFILE…), each retried.
	AcceptErrors uint64
}

func (l *listener) stats() ListenerStats {
	l.mu.Lock()
	s := ListenerStats{Open: len(l.conns), Pending: l.pending}
	l.mu.Unlock()
	s.Accepted = l.accepted.Load()
	s.RefusedMaxClients = l.refusedMax.Load()
	s.RefusedPerIP = l.refusedPerIP.Load()
	s.ConnectTimeouts = l.timeouts.Load()
	s.AcceptErrors = l.acceptErrors.Load()
	return s
}

// conn is an admitted connection: it holds its place under the caps until
// closed, and clamps deadlines to connectBy until authenticated.
type conn struct {
	net.Conn
	l         *listener
	ip        netip.Addr
	connectBy time.Time
	authed    atomic.Bool
	timedOut  atomic.Bool
	closeOnce sync.Once
}

func (c *conn) clamp(t time.Time) time.Time {
	if c.authed.Load() {
		return t
	}
	if t.IsZero() || t.After(c.connectBy) {
		return c.connectBy
	}
	return t
}

func (c *conn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(c.clamp(t)) }
func (c *conn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(c.clamp(t)) }
func (c *conn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.clamp(t)) }

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.checkTimeout(err)
	}
	return n, err
}

func (c *conn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil {
		c.checkTimeout(err)
	}
	return n, err
}

func (c *conn) checkTimeout(err error) {
	if !c.authed.Load() && errors.Is(err, os.ErrDeadlineExceeded) && c.timedOut.CompareAndSwap(false, true) {
		c.l.timedOut(c)
	}
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() { c.l.release(c) })
	return err
}

// connOf finds our conn under what mochi holds (ours, or a *tls.Conn on it).
func connOf(nc net.Conn) *conn {
	for range 3 {
		switch x := nc.(type) {
		case *conn:
			return x
		case interface{ NetConn() net.Conn }:
			nc = x.NetConn()
		default:
			return nil
		}
	}
	return nil
}

func remoteIP(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// isSelf is the box itself: its simulated devices (demo, bench) connect to
// the device listener from there, and are not held to MaxPerIP.
func isSelf(ip netip.Addr) bool {
	return ip == netip.AddrFrom4([4]byte{127, 0, 0, 1}) || ip == netip.IPv6Loopback()
}

// every rate-limits a repeated log line.
type every struct {
	mu   sync.Mutex
	last time.Time
	n    int // suppressed since last
}

// ok reports whether to log now, and how many were suppressed before.
func (e *every) ok() (int, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	if !e.last.IsZero() && now.Sub(e.last) < logEvery {
		e.n++
		return 0, false
	}
	n := e.n
	e.last, e.n = now, 0
	return n, true
}
