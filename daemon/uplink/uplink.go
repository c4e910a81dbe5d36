// Package uplink sends every journal event to the central server over MQTT,
// in seq order, losing nothing while the network or the broker is down and
// surviving crashes of halld.
//
// The outbox is the journal itself plus one durable cursor (journal meta key
// "uplink_cursor"): the seq of the last event the broker acknowledged, with
// every event before it acknowledged too. Events after the cursor are
// published to hall/{hall}/{node}/events (QoS 1, not retained) strictly in
// seq order, at most Options.Batch in flight; the cursor advances only over
// the contiguous prefix whose PUBACKs arrived and is written at most every
// ~100 ms by a goroutine of its own (and always before Run returns). After
// a disconnect or a crash the events after the cursor are published again:
// consumers see duplicates, never a gap, and dedupe on the event id.
//
// Nothing is handed to paho while the connection is not open, so paho's
// in-memory offline queue is never used for events. The uplink also does
// not use paho's auto-reconnect: each connection is a fresh paho client,
// redialled by Run with capped, jittered backoff. paho v1.5.1 with
// CleanSession=false and AutoReconnect resends its stored in-flight
// publishes after a reconnect in map order (not seq order), concurrently
// with new publishes, and completes the old tokens without an error when it
// does (claimID), before any PUBACK: an ack we could not trust.
//
// Besides events the uplink keeps the node's lifecycle ($state ready /
// disconnected, last will lost, all retained), its $info, retained device
// status, and answers commands on …/cmd/{name} and …/dev/{dev}/cmd/{name}.
package uplink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"halld/daemon/internal/backoff"
	"halld/daemon/journal"
)

// CursorKey is the journal meta key holding the last seq the broker
// acknowledged (contiguously).
const CursorKey = "uplink_cursor"

// Options configure an Uplink.
type Options struct {
	URL                       string // tcp://host:1883 (or mqtt://), ssl://host:8883 (or mqtts://, tls://, tcps://)
	ClientID                  string // fixed, for a persistent session
	Hall, Node                string // topic root hall/{hall}/{node}
	Username, Password        string // already read from files by the caller
	CAFile, CertFile, KeyFile string // TLS: CA to verify the server (system roots when empty), client cert/key (optional)
	// MaxRate bounds the replay of a backlog (after an outage, a restart,
	// a resync), in events per second (default 5,000; negative: unlimited).
	// Live events are never held by it.
	MaxRate int
	// Batch is the in-flight window: events published and not yet
	// acknowledged (default 32; a quarter of it is kept for live events).
	Batch int
	// LiveFirst: events appended since the connection opened go ahead of
	// the backlog being replayed, which is marked "replay": true. Consumers
	// then order by seq themselves (each lane is in seq order on the wire).
	// Off when false (the zero value): the wire carries one seq order,
	// bodies exactly as recorded, and live events wait behind the backlog.
	// halld turns it on (mqtt.uplink.live_first, default true).
	LiveFirst bool
	// Heartbeat: every so often (default 30 s; negative: never) the outbox's
	// depth and oldest event age go to …/heartbeat.
	Heartbeat time.Duration
	// ReconnectMin, ReconnectMax: a redial waits a random time in [0, d)
	// (full jitter), d doubling from ReconnectMin (default 100 ms) up to
	// ReconnectMax (default 1.5 s), so a broker that is back is reached
	// within ~2 s.
	ReconnectMin, ReconnectMax time.Duration
	// MaxConnectsPerMinute: at most this many connections reach the broker
	// in any minute (default 10): a cluster that bans flapping clients
	// (EMQX: 15 connects a minute by default) never bans this one.
	MaxConnectsPerMinute int
	Info                 func() any
	Log                  *slog.Logger
}

// Status is a snapshot for /metrics and the monitor page.
type Status struct {
	Connected bool      `json:"connected"`
	Since     time.Time `json:"since"` // when Connected last changed (zero before the first attempt)
	Cursor    uint64    `json:"cursor"`
	Head      uint64    `json:"head"`
	Lag       uint64    `json:"lag"` // Head - Cursor
	// OldestUnsent is the age of the oldest event the broker has not
	// acknowledged (0 when Lag is 0).
	OldestUnsent time.Duration `json:"oldest_unsent"`
	InFlight     int           `json:"in_flight"`
	Published    uint64        `json:"published"`  // event publishes, re-publishes included
	Connects     uint64        `json:"connects"`   // successful connections
	LastError    string        `json:"last_error"` // "" when none yet
	LastErrorAt  time.Time     `json:"last_error_at"`
}

// ErrUnknownCommand is what a command handler returns for a name it does not
// know; the requester gets {"ok":false,"error":"unknown command …"}.
var ErrUnknownCommand = errors.New("unknown command")

// CommandFunc handles one command. dev is "" for node-level commands
// (hall/{hall}/{node}/cmd/{name}); args is the raw JSON of the request's
// "args" member ("null" when absent).
type CommandFunc func(dev, name string, args []byte) (result any, err error)

// Uplink is the central uplink. Its methods are safe for concurrent use;
// Run is called once at a time.
type Uplink struct {
	j    *journal.Journal
	o    Options
	log  *slog.Logger
	tls  *tls.Config // nil for plain TCP
	addr string      // host:port
	root string      // hall/{hall}/{node}

	// Tunables, fixed after New (tests shorten some).
	minBackoff, maxBackoff time.Duration
	connectWindow          time.Duration // MaxConnectsPerMinute counts over this
	stableAfter            time.Duration // a connection that lasted this long resets the backoff
	persistEvery           time.Duration
	ackTimeout             time.Duration
	connectTimeout         time.Duration
	keepAlive              time.Duration
	drainTimeout           time.Duration // on a clean stop: wait for in-flight acks
	stopTimeout            time.Duration // on a clean stop: wait for the "disconnected" ack
	cmdTimeout             time.Duration

	running     atomic.Bool
	kick        chan struct{} // device status changed or a rewind asked for
	cursorMoved chan struct{}
	cmds        chan command

	pmu   sync.Mutex // serialises cursor writes
	saved uint64     // cursor value in journal meta

	mu        sync.Mutex
	st        Status
	alert     bool // $state "alert" rather than "ready": some device is in fault
	alertSent bool // what the broker has now
	devStatus map[string][]byte
	devDirty  map[string]bool
	ret       retainedSet // retained.go
	cmdFn     CommandFunc
	recent    recentResults
	rewind    *uint64 // pending Rewind

	cmu      sync.Mutex
	connects []time.Time // when TCP connections reached the broker, last connectWindow
}

var idRe = regexp.MustCompile(`^[a-z0-9-]+$`)

// New checks opts and loads the TLS files; it does not connect.
func New(j *journal.Journal, opts Options) (*Uplink, error) {
	if j == nil {
		return nil, errors.New("uplink: nil journal")
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("uplink: "+format, a...)) }
	if !idRe.MatchString(opts.Hall) {
		bad("hall id %q: want [a-z0-9-]+", opts.Hall)
	}
	if !idRe.MatchString(opts.Node) {
		bad("node id %q: want [a-z0-9-]+", opts.Node)
	}
	if opts.ClientID == "" {
		bad("client id is empty (a fixed id is needed for the persistent session)")
	}
	if opts.Password != "" && opts.Username == "" {
		bad("a password needs a username (MQTT 3.1.1)")
	}
	u := &Uplink{
		j: j, o: opts, log: opts.Log,
		root:           "hall/" + opts.Hall + "/" + opts.Node,
		minBackoff:     100 * time.Millisecond,
		maxBackoff:     1500 * time.Millisecond,
		connectWindow:  time.Minute,
		stableAfter:    10 * time.Second,
		persistEvery:   100 * time.Millisecond,
		ackTimeout:     60 * time.Second,
		connectTimeout: 20 * time.Second,
		keepAlive:      30 * time.Second,
		drainTimeout:   time.Second,
		stopTimeout:    2 * time.Second,
		cmdTimeout:     30 * time.Second,
		kick:           make(chan struct{}, 1),
		cursorMoved:    make(chan struct{}, 1),
		cmds:           make(chan command, 64),
		devStatus:      map[string][]byte{},
		devDirty:       map[string]bool{},
	}
	if u.log == nil {
		u.log = slog.New(slog.DiscardHandler)
	}
	u.log = u.log.With("component", "uplink")
	if u.o.MaxRate == 0 {
		u.o.MaxRate = 5000
	}
	if u.o.Batch <= 0 {
		u.o.Batch = 32
	}
	if u.o.Heartbeat == 0 {
		u.o.Heartbeat = 30 * time.Second
	}
	if u.o.ReconnectMin > 0 {
		u.minBackoff = u.o.ReconnectMin
	}
	if u.o.ReconnectMax > 0 {
		u.maxBackoff = u.o.ReconnectMax
	}
	u.maxBackoff = max(u.maxBackoff, u.minBackoff)
	if u.o.MaxConnectsPerMinute <= 0 {
		u.o.MaxConnectsPerMinute = 10
	}
	u.o.Batch = min(u.o.Batch, 10000) // MQTT packet ids are 16 bits

	uri, err := url.Parse(opts.URL)
	switch {
	case err != nil:
		bad("url %q: %v", opts.URL, err)
	case uri.Hostname() == "":
		bad("url %q: no host", opts.URL)
	default:
		port := uri.Port()
		switch uri.Scheme {
		case "tcp", "mqtt":
			if port == "" {
				port = "1883"
			}
			if opts.CAFile != "" || opts.CertFile != "" || opts.KeyFile != "" {
				bad("url %q is plain TCP but TLS files are set: use ssl:// or mqtts://", opts.URL)
			}
		case "ssl", "tls", "mqtts", "tcps":
			if port == "" {
				port = "8883"
			}
			u.tls, err = loadTLS(uri.Hostname(), opts)
			if err != nil {
				errs = append(errs, err)
			}
		default:
			bad("url %q: scheme must be tcp, mqtt, ssl, tls, mqtts or tcps", opts.URL)
		}
		u.addr = net.JoinHostPort(uri.Hostname(), port)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return u, nil
}

func loadTLS(host string, o Options) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("uplink: CA file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("uplink: CA file %s: no PEM certificate", o.CAFile)
		}
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("uplink: client certificate and key go together: set both CertFile and KeyFile or neither")
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("uplink: client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// Pacing is the uplink's effective pacing, defaults filled in: what the
// central side's operator needs to know of a hall (and what the config set).
type Pacing struct {
	MaxRate              int           `json:"max_rate"` // backlog lane, events/s; negative: unlimited
	Window               int           `json:"max_inflight"`
	LiveFirst            bool          `json:"live_first"`
	Heartbeat            time.Duration `json:"heartbeat"` // negative: none
	ReconnectMin         time.Duration `json:"reconnect_min"`
	ReconnectMax         time.Duration `json:"reconnect_max"`
	MaxConnectsPerMinute int           `json:"max_connects_per_minute"`
}

// Pacing returns the effective pacing.
func (u *Uplink) Pacing() Pacing {
	return Pacing{MaxRate: u.o.MaxRate, Window: u.o.Batch, LiveFirst: u.o.LiveFirst, Heartbeat: u.o.Heartbeat,
		ReconnectMin: u.minBackoff, ReconnectMax: u.maxBackoff, MaxConnectsPerMinute: u.o.MaxConnectsPerMinute}
}

// Status returns a snapshot. It may read the journal (one row) to age the
// oldest unsent event.
func (u *Uplink) Status() Status {
	u.mu.Lock()
	s := u.st
	u.mu.Unlock()
	s.Head = u.j.Head()
	if s.Head > s.Cursor {
		s.Lag = s.Head - s.Cursor
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		recs, err := u.j.Read(ctx, s.Cursor, 1)
		cancel()
		if err == nil && len(recs) == 1 && !recs[0].TS.IsZero() {
			s.OldestUnsent = max(time.Since(recs[0].TS), 0)
		}
	}
	return s
}

// PublishDeviceStatus publishes payload, retained at QoS 1, on
// hall/{hall}/{node}/dev/{dev}/status. It never blocks: the latest payload
// per device is kept and (re)published whenever a connection is open, so
// the broker always ends with the latest one. payload is sent as is when it
// is []byte or json.RawMessage, else as JSON.
func (u *Uplink) PublishDeviceStatus(dev string, payload any) {
	if !idRe.MatchString(dev) {
		u.log.Warn("device status dropped: bad device id", "dev", dev)
		return
	}
	var b []byte
	switch p := payload.(type) {
	case []byte:
		b = append([]byte(nil), p...)
	case json.RawMessage:
		b = append([]byte(nil), p...)
	default:
		var err error
		if b, err = json.Marshal(payload); err != nil {
			u.log.Warn("device status dropped: not JSON", "dev", dev, "err", err)
			return
		}
	}
	u.mu.Lock()
	u.devStatus[dev] = b
	u.devDirty[dev] = true
	u.mu.Unlock()
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// SetAlert makes the node's $state "alert" (some device is in fault) or
// back to "ready"; it is published at once when connected, and on connect.
func (u *Uplink) SetAlert(on bool) {
	u.mu.Lock()
	changed := u.alert != on
	u.alert = on
	u.mu.Unlock()
	if changed {
		select {
		case u.kick <- struct{}{}:
		default:
		}
	}
}

func (u *Uplink) nodeState() (state string, alert bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.alert {
		return "alert", true
	}
	return "ready", false
}

// publishNodeState sends $state when it differs from what was sent.
func (u *Uplink) publishNodeState(c *conn) {
	state, alert := u.nodeState()
	u.mu.Lock()
	same := u.alertSent == alert
	u.mu.Unlock()
	if same {
		return
	}
	if _, err := u.publish(c, u.root+"/$state", true, []byte(state)); err == nil {
		u.mu.Lock()
		u.alertSent = alert
		u.mu.Unlock()
	}
}

// Rewind makes the uplink publish again every event after seq after (0:
// the whole journal), in order, as for a consumer that lost its copy; it
// never moves the cursor forward. It applies at once when Run is running,
// else when it next starts.
func (u *Uplink) Rewind(after uint64) {
	u.mu.Lock()
	if u.rewind == nil || after < *u.rewind {
		u.rewind = &after
	}
	u.mu.Unlock()
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// applyRewind moves ob back when a Rewind is pending.
func (u *Uplink) applyRewind(ob *outbox) {
	u.mu.Lock()
	r := u.rewind
	u.rewind = nil
	if r != nil && *r < ob.cursor {
		u.log.Info("uplink rewinds", "from", ob.cursor, "to", *r)
		ob.cursor = *r
		u.st.Cursor = *r
	}
	u.mu.Unlock()
	if r == nil {
		return
	}
	// Whatever is in flight may still be acked: those acks no longer move
	// the cursor; what was read is read again, as replay, up to what was
	// handed out; live events continue after it.
	ob.reset(max(ob.split, ob.live.last, ob.replay.last))
	select {
	case u.cursorMoved <- struct{}{}:
	default:
	}
}

// OnCommand sets the command handler. Without one every command gets
// {"ok":false,"error":"unknown command"}.
func (u *Uplink) OnCommand(fn func(dev, name string, payload []byte) (result any, err error)) {
	u.mu.Lock()
	u.cmdFn = fn
	u.mu.Unlock()
}

// Run keeps the uplink connected and publishing until ctx ends. On a clean
// stop it waits briefly for in-flight acks, publishes $state
// "disconnected", persists the cursor and returns nil. It returns an error
// only when it cannot start (the cursor cannot be read, or Run is already
// running).
func (u *Uplink) Run(ctx context.Context) error {
	if !u.running.CompareAndSwap(false, true) {
		return errors.New("uplink: Run is already running")
	}
	defer u.running.Store(false)

	ob, err := u.loadCursor()
	if err != nil {
		return err
	}
	u.applyRewind(ob)
	u.mu.Lock()
	u.st.Since = time.Now()
	u.mu.Unlock()

	var wg sync.WaitGroup
	bg, stopBg := context.WithCancel(context.Background())
	wg.Add(2)
	go func() { defer wg.Done(); u.commandWorker(bg) }()
	go func() { defer wg.Done(); u.persister(bg) }()
	defer func() {
		stopBg()
		wg.Wait()
		u.saveCursor()
	}()

	retry := backoff.New(backoff.Policy{Min: u.minBackoff, Max: u.maxBackoff, Stable: u.stableAfter})
	for {
		if !u.connectBudget(ctx) {
			return nil
		}
		start := time.Now()
		connected, err := u.session(ctx, ob)
		u.saveCursor()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			u.setError(err)
			u.log.Warn("uplink connection ended", "err", err, "cursor", ob.cursor)
		}
		if connected {
			retry.Ended(time.Since(start))
		}
		// Full jitter: halls cut off together do not come back together.
		if !retry.Wait(ctx) {
			return nil
		}
	}
}

// connectBudget waits while MaxConnectsPerMinute connections reached the
// broker in the last minute; false when ctx ended meanwhile.
func (u *Uplink) connectBudget(ctx context.Context) bool {
	for {
		u.cmu.Lock()
		now := time.Now()
		keep := u.connects[:0]
		for _, t := range u.connects {
			if now.Sub(t) < u.connectWindow {
				keep = append(keep, t)
			}
		}
		u.connects = keep
		var wait time.Duration
		if len(keep) >= u.o.MaxConnectsPerMinute {
			wait = keep[0].Add(u.connectWindow).Sub(now) + time.Duration(rand.N(int64(time.Second)))
		}
		u.cmu.Unlock()
		if wait <= 0 {
			return true
		}
		u.log.Warn("uplink holds off reconnecting: connection budget spent", "connects", len(keep), "window", u.connectWindow, "wait", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

func (u *Uplink) noteConnect() {
	u.cmu.Lock()
	u.connects = append(u.connects, time.Now())
	u.cmu.Unlock()
}

func (u *Uplink) loadCursor() (*outbox, error) {
	v, ok, err := u.j.Meta(CursorKey)
	if err != nil {
		return nil, fmt.Errorf("uplink: read cursor: %w", err)
	}
	var c uint64
	if ok {
		if c, err = strconv.ParseUint(strings.TrimSpace(v), 10, 64); err != nil {
			return nil, fmt.Errorf("uplink: cursor %q in journal meta: %w", v, err)
		}
	}
	if h := u.j.Head(); c > h {
		// Only a journal restored from an older copy gets here.
		u.log.Error("uplink cursor is past the journal head; continuing after the head", "cursor", c, "head", h)
		c = h
	}
	u.mu.Lock()
	u.st.Cursor = c
	u.mu.Unlock()
	u.pmu.Lock()
	u.saved = c
	u.pmu.Unlock()
	ob := &outbox{cursor: c}
	ob.reset(c)
	return ob, nil
}

// persister writes the cursor when it moved, at most every persistEvery:
// SetMeta fsyncs and competes with the engine for SQLite's write lock (whose
// busy handler sleeps), so it must never hold up publishing.
func (u *Uplink) persister(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-u.cursorMoved:
		}
		u.saveCursor()
		t := time.NewTimer(u.persistEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// saveCursor writes the acknowledged cursor to journal meta if it moved.
func (u *Uplink) saveCursor() {
	u.pmu.Lock()
	defer u.pmu.Unlock()
	u.mu.Lock()
	c := u.st.Cursor
	u.mu.Unlock()
	if c == u.saved {
		return
	}
	if err := u.j.SetMeta(CursorKey, strconv.FormatUint(c, 10)); err != nil {
		u.setError(err)
		u.log.Error("uplink cursor not saved", "err", err)
		return
	}
	u.saved = c
}

func (u *Uplink) setError(err error) {
	u.mu.Lock()
	u.st.LastError, u.st.LastErrorAt = err.Error(), time.Now()
	u.mu.Unlock()
}

func (u *Uplink) setConnected(up bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.st.Connected != up {
		u.st.Since = time.Now()
	}
	u.st.Connected = up
	if up {
		u.st.Connects++
	} else {
		u.st.InFlight = 0
	}
}

// conn is one connection: a fresh paho client whose network connection we
// can cut without a DISCONNECT (so the broker publishes the will).
type conn struct {
	client   mqtt.Client
	lost     chan struct{}
	lostOnce sync.Once
	lostErr  atomic.Value // error

	nmu sync.Mutex
	nc  *wireConn
}

func (c *conn) markLost(err error) {
	c.lostOnce.Do(func() {
		if err == nil {
			err = errors.New("connection lost")
		}
		c.lostErr.Store(err)
		close(c.lost)
	})
}

func (c *conn) cut() {
	c.nmu.Lock()
	if c.nc != nil {
		c.nc.Abort()
	}
	c.nmu.Unlock()
}

var errLost = errors.New("connection lost")

// writeTimeout bounds every write to the broker: a broker (or a NAT on the
// way) that stops taking bytes ends the connection instead of holding it.
const writeTimeout = 15 * time.Second

// session runs one connection from dial to loss or ctx end. connected
// reports whether the broker accepted the connection.
func (u *Uplink) session(ctx context.Context, ob *outbox) (connected bool, err error) {
	c := &conn{lost: make(chan struct{})}
	o := mqtt.NewClientOptions().
		AddBroker("tcp://"+u.addr). // only for paho's bookkeeping: dial() connects
		SetClientID(u.o.ClientID).
		SetProtocolVersion(4).
		SetCleanSession(false).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(u.connectTimeout).
		SetKeepAlive(u.keepAlive).
		SetPingTimeout(10*time.Second).
		SetWriteTimeout(writeTimeout).
		SetWill(u.root+"/$state", "lost", 1, true).
		SetDefaultPublishHandler(u.onMessage).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { c.markLost(err) }).
		SetCustomOpenConnectionFn(func(*url.URL, mqtt.ClientOptions) (net.Conn, error) {
			nc, err := u.dial(ctx)
			if err == nil {
				u.noteConnect() // the broker sees this one: it counts for flapping
				wc := newWireConn(nc, writeTimeout)
				c.nmu.Lock()
				c.nc = wc
				c.nmu.Unlock()
				return wc, nil
			}
			return nil, err
		})
	if u.o.Username != "" {
		o.SetUsername(u.o.Username)
		o.SetPassword(u.o.Password)
	}
	c.client = mqtt.NewClient(o)

	tok := c.client.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		c.cut()
		<-tok.Done()
		if tok.Error() == nil { // connected after all, just now
			c.client.Disconnect(250)
		}
		return false, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		c.cut()
		return false, fmt.Errorf("connect %s: %w", u.addr, err)
	}
	u.setConnected(true)
	defer u.setConnected(false)
	u.log.Info("uplink connected", "broker", u.addr, "cursor", ob.cursor, "head", u.j.Head())

	err = u.startSession(ctx, c)
	if err == nil {
		err = u.pump(ctx, c, ob)
	}
	if ctx.Err() != nil {
		u.stop(c, ob)
		return true, nil
	}
	// Something went wrong on an open connection: cut it rather than
	// DISCONNECT, so the broker publishes the will until we are back.
	c.cut()
	if errors.Is(err, errLost) {
		if e, _ := c.lostErr.Load().(error); e != nil {
			err = fmt.Errorf("%w: %v", errLost, e)
		}
	}
	return true, err
}

func (u *Uplink) dial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, u.connectTimeout)
	defer cancel()
	if u.tls == nil {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", u.addr)
	}
	d := tls.Dialer{Config: u.tls}
	return d.DialContext(ctx, "tcp", u.addr)
}

// startSession announces the node and subscribes to commands.
func (u *Uplink) startSession(ctx context.Context, c *conn) error {
	state, alert := u.nodeState()
	if err := u.publishWait(ctx, c, u.root+"/$state", true, []byte(state)); err != nil {
		return fmt.Errorf("publish $state: %w", err)
	}
	u.mu.Lock()
	u.alertSent = alert
	u.mu.Unlock()
	if info := u.info(); info != nil {
		if _, err := u.publish(c, u.root+"/$info", true, info); err != nil {
			return fmt.Errorf("publish $info: %w", err)
		}
	}
	u.mu.Lock()
	for dev := range u.devStatus {
		u.devDirty[dev] = true
	}
	u.mu.Unlock()
	u.publishDeviceStatus(c)
	u.publishRetained(c, true)

	tok := c.client.SubscribeMultiple(map[string]byte{
		u.root + "/dev/+/cmd/+": 1,
		u.root + "/cmd/+":       1,
	}, nil) // nil: the default handler takes them, also those queued while we were away
	if err := waitToken(ctx, c, tok, 10*time.Second); err != nil {
		return fmt.Errorf("subscribe to commands: %w", err)
	}
	for topic, code := range tok.(*mqtt.SubscribeToken).Result() {
		if code > 2 {
			u.log.Error("uplink command subscription refused by the broker (ACL?)", "topic", topic, "code", code)
		}
	}
	return nil
}

func (u *Uplink) info() []byte {
	if u.o.Info == nil {
		return nil
	}
	var v any
	func() {
		defer func() {
			if r := recover(); r != nil {
				u.log.Error("uplink Info panicked", "panic", r)
			}
		}()
		v = u.o.Info()
	}()
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		u.log.Error("uplink $info is not JSON", "err", err)
		return nil
	}
	return b
}

func (u *Uplink) publishDeviceStatus(c *conn) {
	u.mu.Lock()
	type pub struct {
		dev string
		b   []byte
	}
	var pubs []pub
	for dev := range u.devDirty {
		pubs = append(pubs, pub{dev, u.devStatus[dev]})
	}
	clear(u.devDirty)
	u.mu.Unlock()
	for i, p := range pubs {
		if _, err := u.publish(c, u.root+"/dev/"+p.dev+"/status", true, p.b); err != nil {
			u.mu.Lock()
			for _, q := range pubs[i:] {
				u.devDirty[q.dev] = true // sent again on the next connection
			}
			u.mu.Unlock()
			return
		}
	}
}

// publish hands one QoS 1 message to paho. paho's Publish can block for
// its WriteTimeout (15 s) when the connection dies under it: it checks the
// status, then waits on a channel nobody reads any more. So it runs on a
// goroutine of its own and we stop waiting once the connection is lost;
// the next publish starts only after this one returned, which keeps the
// order on the wire.
func (u *Uplink) publish(c *conn, topic string, retained bool, payload []byte) (mqtt.Token, error) {
	if !c.client.IsConnectionOpen() {
		return nil, errLost
	}
	ch := make(chan mqtt.Token, 1)
	go func() { ch <- c.client.Publish(topic, 1, retained, payload) }()
	var tok mqtt.Token
	select {
	case tok = <-ch:
	case <-c.lost:
		return nil, errLost
	}
	if done(tok) && tok.Error() != nil {
		return nil, tok.Error()
	}
	return tok, nil
}

// publishWait publishes at QoS 1 and waits for the PUBACK.
func (u *Uplink) publishWait(ctx context.Context, c *conn, topic string, retained bool, payload []byte) error {
	tok, err := u.publish(c, topic, retained, payload)
	if err != nil {
		return err
	}
	return waitToken(ctx, c, tok, 10*time.Second)
}

func waitToken(ctx context.Context, c *conn, tok mqtt.Token, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-c.lost:
		return errLost
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("no answer from the broker in %v", timeout)
	}
}

// stop ends a connection cleanly: in-flight acks (briefly), the cursor,
// $state "disconnected", then DISCONNECT (so no will).
func (u *Uplink) stop(c *conn, ob *outbox) {
	deadline := time.NewTimer(u.drainTimeout)
	defer deadline.Stop()
drain:
	for ob.inflight() > 0 {
		if _, err := u.collect(ob); err != nil {
			break
		}
		var r, l <-chan struct{}
		if len(ob.replay.inflight) > 0 {
			r = ob.replay.inflight[0].tok.Done()
		}
		if len(ob.live.inflight) > 0 {
			l = ob.live.inflight[0].tok.Done()
		}
		if r == nil && l == nil {
			break
		}
		select {
		case <-r:
		case <-l:
		case <-c.lost:
			break drain
		case <-deadline.C:
			break drain
		}
	}
	u.saveCursor()
	ctx, cancel := context.WithTimeout(context.Background(), u.stopTimeout)
	defer cancel()
	if err := u.publishWait(ctx, c, u.root+"/$state", true, []byte("disconnected")); err != nil {
		u.log.Warn("uplink could not publish $state disconnected", "err", err)
	}
	c.client.Disconnect(250)
	u.log.Info("uplink stopped", "cursor", ob.cursor)
}
