// Package broker is the hall's own MQTT broker, embedded in halld so that the
// demo hall (and a small hall) needs nothing else installed. It is
// mochi-mqtt/server/v2 with our authentication and ACL:
//
//   - a device connects with its id as username (and as client id) and its
//     password from Options.Users;
//   - a device may publish and subscribe only inside its own node tree
//     hall/{hall}/{id}/#, and may not publish commands to itself
//     (…/cmd/{name}); it may publish command results (…/cmd/{name}/result);
//   - its last will must be inside its own tree too;
//   - halld itself connects with a privileged internal user (random
//     password, see Internal) that may read and write hall/{hall}/#.
//
// MQTT 3.1.1 has no negative PUBACK: mochi answers a refused QoS 1/2 publish
// of a 3.1.1 client by closing the connection (so its will fires); a refused
// QoS 0 publish is dropped; a refused subscription gets 0x80 in the SUBACK.
//
// Floods (listener.go): mochi's own TCP listener gave up accepting on the
// first accept error (EMFILE) and let connections that never send CONNECT
// hold a descriptor forever. Ours retries accept with a backoff (5 ms to
// 1 s), counts connections from accept against MaxClients and MaxPerIP
// (one over is closed at once), and closes a connection that has not
// sent CONNECT and been authenticated within ConnectTimeout. halld's own
// clients always have a loopback listener of their own (URL) with its own
// budget, so nothing on the LAN can lock them out. Stats counts it all.
//
// mochi v2.7.9 replays an offline QoS 1 backlog out of order (docs/engineering.md):
// everything here uses clean sessions, and consumers must not rely on order
// across a reconnect (events carry ids, statuses are snapshots).
package broker

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// InternalUser is the username halld's own client uses. It cannot collide
// with a device id ([a-z0-9-]).
const InternalUser = "$halld"

// DefaultListen is the default listen address.
const DefaultListen = "127.0.0.1:1883"

var idRe = regexp.MustCompile(`^[a-z0-9-]+$`)

// Options configures a Broker.
type Options struct {
	// Listen is the TCP address; default 127.0.0.1:1883. "127.0.0.1:0" picks
	// a free port (see Addr).
	Listen string
	// Hall is the hall id; topics are hall/{Hall}/….
	Hall string
	// Users maps device id (= MQTT username) to password.
	Users map[string]string
	// AllowAnonymous lets clients without a username connect; they may
	// neither publish nor subscribe (useful only for probes). Default false.
	AllowAnonymous bool
	// Logger receives the broker's logs; default: warnings and errors to
	// stderr.
	Logger *slog.Logger
	// TLS, when set, makes Listen a TLS listener. halld's own clients
	// always use a separate plain listener on loopback (URL): they need no
	// certificate, and a flood on Listen cannot lock them out.
	TLS *tls.Config
	// MaxClients bounds connections at once on Listen (default 256),
	// counted from accept, so connections that have not (yet) sent CONNECT
	// count too; one over it is closed at once. The loopback listener of
	// halld's own clients has a budget of its own of the same size.
	// MaxPacket bounds the size of one packet (default 256 KiB): a device's
	// status is a few hundred bytes, and a flood must not exhaust memory or
	// files.
	MaxClients int
	MaxPacket  uint32
	// FreeFDs, if set, says how many descriptors halld may still open; the
	// device listener refuses LAN connections while fewer than 128 are left.
	FreeFDs func() int
	// MaxPerIP bounds connections at once on Listen from one remote address
	// (default 32; negative: no such bound), so that one LAN host cannot
	// take every place under MaxClients. Connections from the box itself
	// (127.0.0.1, ::1: the demo's and bench's simulated devices) are held
	// to MaxClients only.
	MaxPerIP int
	// ConnectTimeout is how long a new connection has to finish its TLS
	// handshake, send CONNECT and be authenticated (default 5 s); after
	// that mochi's keepalive (1.5 × the client's keepalive) governs.
	ConnectTimeout time.Duration
}

// Defaults of Options.
const (
	DefaultMaxClients     = 256
	DefaultMaxPerIP       = 32
	DefaultConnectTimeout = 5 * time.Second
)

// Broker is the embedded hall broker.
type Broker struct {
	opts     Options
	srv      *mqtt.Server
	tcp      *listener // devices (Listen)
	loop     *listener // halld's own clients, on loopback
	internal string    // the internal user's password
	prefix   string    // "hall/{hall}/"

	mu      sync.Mutex
	started bool
	closed  bool
}

// New checks the options and prepares a broker; Start opens the listener.
func New(opts Options) (*Broker, error) {
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if !idRe.MatchString(opts.Hall) {
		return nil, fmt.Errorf("broker: hall id %q must match [a-z0-9-]+", opts.Hall)
	}
	users := make(map[string]string, len(opts.Users))
	for u, p := range opts.Users {
		if !idRe.MatchString(u) {
			return nil, fmt.Errorf("broker: device id %q must match [a-z0-9-]+", u)
		}
		if p == "" {
			return nil, fmt.Errorf("broker: device %q has an empty password", u)
		}
		users[u] = p
	}
	opts.Users = users
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	var rb [24]byte
	if _, err := rand.Read(rb[:]); err != nil {
		return nil, fmt.Errorf("broker: internal password: %w", err)
	}
	b := &Broker{opts: opts, internal: hex.EncodeToString(rb[:]), prefix: "hall/" + opts.Hall + "/"}
	caps := mqtt.NewDefaultServerCapabilities()
	if opts.MaxClients <= 0 {
		opts.MaxClients = DefaultMaxClients
	}
	if opts.MaxPacket == 0 {
		opts.MaxPacket = 256 << 10
	}
	if opts.MaxPerIP == 0 {
		opts.MaxPerIP = DefaultMaxPerIP
	} else if opts.MaxPerIP < 0 {
		opts.MaxPerIP = 0
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	// Our listeners count every connection from accept, which is stricter
	// than mochi's count of authenticated clients over all listeners; its
	// cap must not lock halld's own clients out when devices fill theirs.
	caps.MaximumClients = int64(2 * opts.MaxClients)
	caps.MaximumPacketSize = opts.MaxPacket
	b.opts = opts
	b.srv = mqtt.New(&mqtt.Options{
		Capabilities: caps,
		// mochi logs every dropped connection as a warning: keep its
		// errors only; refusals are logged by us (authHook).
		Logger: slog.New(minLevel{opts.Logger.Handler(), slog.LevelError}).With("component", "broker"),
		// $SYS topics are not readable by anyone here anyway.
		SysTopicResendInterval: 3600,
	})
	if err := b.srv.AddHook(&authHook{b: b}, nil); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	b.tcp = newListener("hall", opts.Listen, opts.TLS, opts.MaxClients, opts.MaxPerIP, isSelf, opts.ConnectTimeout, opts.Logger)
	b.tcp.freeFDs = opts.FreeFDs
	if err := b.srv.AddListener(b.tcp); err != nil {
		return nil, fmt.Errorf("broker: listen %s: %w", opts.Listen, err)
	}
	b.loop = newListener("loopback", "127.0.0.1:0", nil, opts.MaxClients, 0, nil, opts.ConnectTimeout, opts.Logger)
	if err := b.srv.AddListener(b.loop); err != nil {
		b.tcp.Close(func(string) {})
		return nil, fmt.Errorf("broker: loopback listener: %w", err)
	}
	return b, nil
}

// Start starts serving; the listener is open when it returns.
func (b *Broker) Start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errors.New("broker: closed")
	}
	if b.started {
		return nil
	}
	// AddListener already bound the socket (Init); Serve starts accepting.
	if err := b.srv.Serve(); err != nil {
		return fmt.Errorf("broker: serve: %w", err)
	}
	b.started = true
	return nil
}

// Close closes the listener and every client connection.
func (b *Broker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	return b.srv.Close()
}

// Stats counts the broker's connections, per listener: Devices is Listen,
// Loopback is halld's own clients' (URL).
type Stats struct {
	Devices, Loopback ListenerStats
}

// Stats returns the connection counters.
func (b *Broker) Stats() Stats {
	return Stats{Devices: b.tcp.stats(), Loopback: b.loop.stats()}
}

// Addr is the listen address (host:port), with the real port once bound.
func (b *Broker) Addr() string { return b.tcp.Address() }

// URL is where halld's own clients connect: a plain listener on loopback
// (127.0.0.1, a free port) with its own connection budget, so that neither
// TLS nor a flood on Addr concerns them. Devices may connect there too
// (simulators do); the same authentication and ACL apply.
func (b *Broker) URL() string { return "tcp://" + b.loop.Address() }

// Internal returns the privileged credentials for halld's own client.
func (b *Broker) Internal() (username, password string) { return InternalUser, b.internal }

// Allowed reports whether user may write (publish) or read (subscribe with a
// filter, or receive) topic. It is the ACL the broker enforces.
func (b *Broker) Allowed(user, topic string, write bool) bool {
	if user == InternalUser {
		return strings.HasPrefix(topic, b.prefix) || topic == "hall/"+b.opts.Hall+"/#"
	}
	if _, ok := b.opts.Users[user]; !ok {
		return false
	}
	own := b.prefix + user + "/"
	if !strings.HasPrefix(topic, own) && topic != b.prefix+user+"/#" {
		return false
	}
	if write {
		if strings.ContainsAny(topic, "+#") {
			return false
		}
		// A device must not send itself commands: …/cmd/{name} is
		// halld's; …/cmd/{name}/result is the device's answer.
		seg := strings.Split(topic, "/")
		if len(seg) >= 2 && seg[len(seg)-2] == "cmd" {
			return false
		}
	}
	return true
}

type authHook struct {
	mqtt.HookBase
	b *Broker
}

func (h *authHook) ID() string { return "halld-auth" }

func (h *authHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck}, []byte{b})
}

func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	user := string(pk.Connect.Username)
	pass := pk.Connect.Password
	var ok bool
	switch {
	case user == "":
		ok = h.b.opts.AllowAnonymous && !pk.Connect.WillFlag
	case user == InternalUser:
		ok = subtle.ConstantTimeCompare(pass, []byte(h.b.internal)) == 1
	default:
		want, known := h.b.opts.Users[user]
		ok = known && subtle.ConstantTimeCompare(pass, []byte(want)) == 1 &&
			// The client id is the device id: one device cannot take
			// over another's session.
			cl.ID == user
	}
	if ok && pk.Connect.WillFlag && user != "" {
		ok = h.b.Allowed(user, pk.Connect.WillTopic, true)
	}
	if ok {
		// From now on mochi's keepalive deadline governs the connection.
		if c := connOf(cl.Net.Conn); c != nil {
			c.l.markAuthed(c)
		}
	}
	if !ok {
		h.b.opts.Logger.Warn("mqtt connect refused", "component", "broker", "user", user, "client", cl.ID, "remote", remote(cl))
	}
	return ok
}

func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	ok := h.b.Allowed(string(cl.Properties.Username), topic, write)
	if !ok {
		h.b.opts.Logger.Warn("mqtt acl refused", "component", "broker", "user", string(cl.Properties.Username), "topic", topic, "write", write)
	}
	return ok
}

func remote(cl *mqtt.Client) string {
	if cl.Net.Conn != nil {
		if a := cl.Net.Conn.RemoteAddr(); a != nil {
			return a.String()
		}
	}
	return ""
}

// minLevel drops records below min.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(a), h.min}
}

func (h minLevel) WithGroup(g string) slog.Handler { return minLevel{h.Handler.WithGroup(g), h.min} }
