// Package terminals watches the hall's 24-hour self-service terminals
// (自助终端) over MQTT (docs/contracts.md, docs/protocols.md §4) and sends them
// commands. It works at any hour: nothing here looks at opening hours.
//
// A terminal's node id is its device id: it publishes
//
//	hall/{hall}/{id}/$state               init|ready|alert|disconnected, will lost (retained)
//	hall/{hall}/{id}/dev/{id}/status      {"peripherals":{…},"disk":{"free_pct"},"uptime","door"} on change and every heartbeat
//	hall/{hall}/{id}/dev/{id}/event       {"id","ts","type":"fault","data":{"code","message"}}
//	hall/{hall}/{id}/cmd/{name}/result    {"id","ok","error","result"}
//
// # State mapping (OnState)
//
//	offline   $state lost (last will) or disconnected (clean stop), or no
//	          status for Missed (3) heartbeat intervals (60 s default)
//	fault     card_reader fault (no identity check, so no service) or
//	          printer fault (no receipts): the terminal cannot serve
//	degraded  scanner or camera fault, printer paper_low, any other
//	          peripheral not "ok", door open (maintenance door open: a
//	          security matter at night), disk free_pct < 10, or $state alert
//	          with no peripheral explaining it
//	ready     otherwise
//
// A retained status delivered on (re)subscribe gives the peripherals but is
// not a heartbeat (it may be old); only live status messages are. Before its
// first status a terminal is reported only when it goes offline or its
// $state is lost/disconnected.
package watcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/google/uuid"
)

// States reported through OnState.
const (
	Ready    = "ready"
	Degraded = "degraded"
	Fault    = "fault"
	Offline  = "offline"
)

// ErrTimeout is wrapped by Command when no result came in time.
var ErrTimeout = errors.New("command timed out")

// ErrFailed is wrapped by Command when the terminal answered ok=false.
var ErrFailed = errors.New("command failed")

// ErrUnknownTerminal is returned by Command for a terminal not configured.
var ErrUnknownTerminal = errors.New("unknown terminal")

// Clock gives the time; tests inject a fake one and call Check.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Options configures a Watcher.
type Options struct {
	URL                string   // broker, tcp://host:port (broker.Broker.URL() or an external mosquitto)
	Hall               string   // hall id
	Username, Password string   // e.g. broker.Broker.Internal()
	ClientID           string   // default "halld-terminals-" + Hall
	Terminals          []string // terminal ids to watch
	Heartbeat          time.Duration
	// HeartbeatOf overrides Heartbeat for some terminals (each may be set
	// to its own interval).
	HeartbeatOf map[string]time.Duration
	// Missed heartbeats before offline; default 3.
	Missed int
	// Poll is how often staleness is checked; default Heartbeat/4, at most 1 s.
	Poll  time.Duration
	Clock Clock // default real time
	// OnState is called on every change of a terminal's state or reason,
	// in order, never concurrently.
	OnState func(terminal, state, reason string, detail map[string]any)
	// OnFault is called once per fault event id (the code and message cut
	// to MaxFaultCode and MaxFaultMessage bytes). A terminal may send the
	// same code thousands of times: raise its alert per terminal and code
	// (hall.RaiseAlert with Device and Cause), not per event id.
	OnFault func(terminal, id, code, message string)
	Logger  *slog.Logger
}

// Status is what the watcher knows of one terminal.
type Status struct {
	State       string            // ready|degraded|fault|offline, "" before anything is known
	Reason      string            // why, "" when ready
	MQTTState   string            // last $state
	Peripherals map[string]string // last status
	Door        string
	DiskFreePct *int
	Uptime      int64
	LastSeen    time.Time // last live status (heartbeat); zero if none
}

type term struct {
	id        string
	mqttState string
	status    *statusMsg
	lastSeen  time.Time
	state     string
	reason    string
	faults    map[string]struct{}
	faultIDs  []string // FIFO for bounding faults
}

type statusMsg struct {
	Peripherals map[string]string `json:"peripherals"`
	Disk        *struct {
		FreePct int `json:"free_pct"`
	} `json:"disk"`
	Uptime int64  `json:"uptime"`
	Door   string `json:"door"`
}

type eventMsg struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"data"`
}

type resultMsg struct {
	ID     string          `json:"id"`
	OK     bool            `json:"ok"`
	Error  *string         `json:"error"`
	Result json.RawMessage `json:"result"`
}

const maxFaultIDs = 1024

// Bounds on what a terminal's fault event may carry to OnFault: an id
// longer than MaxFaultID is refused (the watcher remembers 1024 of them);
// a longer code or message is cut on a character boundary.
const (
	MaxFaultID      = 128
	MaxFaultCode    = 64
	MaxFaultMessage = 512
)

// cut shortens s to at most max bytes on a character boundary.
func cut(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max] + "…"
}

// Watcher watches the configured terminals.
type Watcher struct {
	opts    Options
	prefix  string
	started time.Time

	emit sync.Mutex // serialises evaluation + callbacks
	mu   sync.Mutex
	t    map[string]*term
	pend map[string]chan resultMsg

	client paho.Client
	cancel context.CancelFunc
	done   chan struct{}
}

// New checks the options; Start connects.
func New(opts Options) (*Watcher, error) {
	if opts.URL == "" || opts.Hall == "" {
		return nil, errors.New("terminals: URL and Hall are required")
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 60 * time.Second
	}
	if opts.Missed <= 0 {
		opts.Missed = 3
	}
	if opts.Poll <= 0 {
		opts.Poll = min(opts.Heartbeat/4, time.Second)
		for _, hb := range opts.HeartbeatOf {
			if hb > 0 {
				opts.Poll = min(opts.Poll, hb/4)
			}
		}
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.ClientID == "" {
		opts.ClientID = "halld-terminals-" + opts.Hall
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.Logger = opts.Logger.With("component", "terminals")
	w := &Watcher{opts: opts, prefix: "hall/" + opts.Hall + "/", t: map[string]*term{}, pend: map[string]chan resultMsg{}}
	for _, id := range opts.Terminals {
		if id == "" || strings.ContainsAny(id, "/+#") {
			return nil, fmt.Errorf("terminals: bad terminal id %q", id)
		}
		w.t[id] = &term{id: id, faults: map[string]struct{}{}}
	}
	return w, nil
}

// Start connects and subscribes (it returns once subscribed), then watches
// until Close. paho reconnects by itself and subscribes again on each
// connect.
func (w *Watcher) Start(ctx context.Context) error {
	w.started = w.opts.Clock.Now()
	subscribed := make(chan error, 1)
	o := paho.NewClientOptions().AddBroker(w.opts.URL).SetClientID(w.opts.ClientID).
		SetUsername(w.opts.Username).SetPassword(w.opts.Password).
		SetCleanSession(true).SetAutoReconnect(true).SetMaxReconnectInterval(10 * time.Second).
		SetConnectTimeout(30 * time.Second).SetKeepAlive(30 * time.Second).SetOrderMatters(false).
		SetOnConnectHandler(func(c paho.Client) {
			filters := map[string]byte{
				w.prefix + "+/$state":             1,
				w.prefix + "+/dev/+/status":       1,
				w.prefix + "+/dev/+/event":        1,
				w.prefix + "+/cmd/+/result":       1,
				w.prefix + "+/dev/+/cmd/+/result": 1,
			}
			tok := c.SubscribeMultiple(filters, w.onMessage)
			tok.WaitTimeout(30 * time.Second)
			err := tok.Error()
			if err == nil {
				for f, code := range tok.(*paho.SubscribeToken).Result() {
					if code > 2 {
						err = fmt.Errorf("subscribe %s refused (%#x)", f, code)
					}
				}
			}
			if err != nil {
				w.opts.Logger.Error("subscribe", "err", err)
			}
			select {
			case subscribed <- err:
			default:
			}
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			w.opts.Logger.Warn("broker connection lost", "err", err)
		})
	c := paho.NewClient(o)
	tok := c.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		// Abandon the attempt: paho would otherwise finish it, subscribe
		// and stay connected (auto-reconnecting) with nobody to close it.
		// Disconnect(0) does not wait; the connect sees it and gives up.
		c.Disconnect(0)
		return ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("terminals: connect %s: %w", w.opts.URL, err)
	}
	select {
	case err := <-subscribed:
		if err != nil {
			c.Disconnect(0)
			return fmt.Errorf("terminals: %w", err)
		}
	case <-ctx.Done():
		c.Disconnect(0)
		return ctx.Err()
	}
	lctx, cancel := context.WithCancel(context.Background())
	w.mu.Lock()
	w.client, w.cancel, w.done = c, cancel, make(chan struct{})
	w.mu.Unlock()
	go w.loop(lctx)
	return nil
}

// Close stops watching and disconnects.
func (w *Watcher) Close() error {
	w.mu.Lock()
	c, cancel, done := w.client, w.cancel, w.done
	w.client, w.cancel = nil, nil
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	if c != nil {
		c.Disconnect(250)
	}
	return nil
}

func (w *Watcher) loop(ctx context.Context) {
	defer close(w.done)
	tk := time.NewTicker(w.opts.Poll)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			w.Check()
		}
	}
}

// Check evaluates every terminal now (staleness by the Clock) and reports
// changes. The watcher calls it every Poll; tests with a fake clock call it.
func (w *Watcher) Check() {
	w.emit.Lock()
	defer w.emit.Unlock()
	ids := make([]string, 0, len(w.t))
	for id := range w.t {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		w.evaluate(id)
	}
}

// Status returns what is known of a terminal.
func (w *Watcher) Status(terminal string) (Status, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.t[terminal]
	if !ok {
		return Status{}, false
	}
	s := Status{State: t.state, Reason: t.reason, MQTTState: t.mqttState, LastSeen: t.lastSeen}
	if t.status != nil {
		s.Peripherals = map[string]string{}
		for k, v := range t.status.Peripherals {
			s.Peripherals[k] = v
		}
		s.Door, s.Uptime = t.status.Door, t.status.Uptime
		if t.status.Disk != nil {
			v := t.status.Disk.FreePct
			s.DiskFreePct = &v
		}
	}
	return s, true
}

func (w *Watcher) onMessage(_ paho.Client, m paho.Message) {
	topic := m.Topic()
	if !strings.HasPrefix(topic, w.prefix) {
		return
	}
	seg := strings.Split(strings.TrimPrefix(topic, w.prefix), "/")
	node := seg[0]
	switch {
	case len(seg) == 2 && seg[1] == "$state":
		w.update(node, func(t *term) { t.mqttState = string(m.Payload()) })
	case len(seg) == 4 && seg[1] == "dev" && seg[3] == "status":
		var s statusMsg
		if err := json.Unmarshal(m.Payload(), &s); err != nil {
			w.opts.Logger.Warn("bad terminal status", "terminal", node, "err", err)
			return
		}
		live := !m.Retained()
		w.opts.Logger.Debug("status", "terminal", node, "live", live)
		w.update(node, func(t *term) {
			t.status = &s
			if live {
				t.lastSeen = w.opts.Clock.Now()
			}
		})
	case len(seg) == 4 && seg[1] == "dev" && seg[3] == "event":
		var e eventMsg
		if err := json.Unmarshal(m.Payload(), &e); err != nil || e.ID == "" || len(e.ID) > MaxFaultID {
			w.opts.Logger.Warn("bad terminal event", "terminal", node, "err", err, "id_bytes", len(e.ID))
			return
		}
		e.Data.Code, e.Data.Message = cut(e.Data.Code, MaxFaultCode), cut(e.Data.Message, MaxFaultMessage)
		if e.Type == "fault" {
			w.fault(node, e)
		}
	case seg[len(seg)-1] == "result" && len(seg) >= 4 && seg[len(seg)-3] == "cmd":
		var r resultMsg
		if err := json.Unmarshal(m.Payload(), &r); err != nil || r.ID == "" {
			w.opts.Logger.Warn("bad command result", "topic", topic, "err", err)
			return
		}
		w.mu.Lock()
		ch := w.pend[r.ID]
		delete(w.pend, r.ID)
		w.mu.Unlock()
		if ch != nil {
			ch <- r // buffered 1
		}
	}
}

func (w *Watcher) update(node string, f func(*term)) {
	w.emit.Lock()
	defer w.emit.Unlock()
	w.mu.Lock()
	t, ok := w.t[node]
	if ok {
		f(t)
	}
	w.mu.Unlock()
	if ok {
		w.evaluate(node)
	}
}

func (w *Watcher) fault(node string, e eventMsg) {
	w.emit.Lock()
	defer w.emit.Unlock()
	w.mu.Lock()
	t, ok := w.t[node]
	dup := false
	if ok {
		if _, dup = t.faults[e.ID]; !dup {
			t.faults[e.ID] = struct{}{}
			t.faultIDs = append(t.faultIDs, e.ID)
			if len(t.faultIDs) > maxFaultIDs {
				delete(t.faults, t.faultIDs[0])
				t.faultIDs = t.faultIDs[1:]
			}
		}
	}
	w.mu.Unlock()
	if ok && !dup && w.opts.OnFault != nil {
		w.opts.OnFault(node, e.ID, e.Data.Code, e.Data.Message)
	}
}

// evaluate derives a terminal's state and reports a change. Caller holds
// w.emit.
func (w *Watcher) evaluate(id string) {
	now := w.opts.Clock.Now()
	w.mu.Lock()
	t := w.t[id]
	state, reason, detail := w.derive(id, t, now)
	changed := state != "" && (state != t.state || reason != t.reason)
	if changed {
		t.state, t.reason = state, reason
	}
	w.mu.Unlock()
	if changed {
		w.opts.Logger.Info("terminal state", "terminal", id, "state", state, "reason", reason)
		if w.opts.OnState != nil {
			w.opts.OnState(id, state, reason, detail)
		}
	}
}

func (w *Watcher) derive(id string, t *term, now time.Time) (state, reason string, detail map[string]any) {
	hb := w.opts.Heartbeat
	if v := w.opts.HeartbeatOf[id]; v > 0 {
		hb = v
	}
	stale := time.Duration(w.opts.Missed) * hb
	detail = map[string]any{"mqtt_state": t.mqttState}
	if !t.lastSeen.IsZero() {
		detail["last_seen"] = t.lastSeen
	}
	switch t.mqttState {
	case "lost":
		return Offline, "connection lost ($state lost, last will)", detail
	case "disconnected":
		return Offline, "disconnected ($state disconnected)", detail
	}
	since := t.lastSeen
	if since.IsZero() {
		since = w.started
	}
	if age := now.Sub(since); age > stale {
		detail["missed"] = int(age / hb)
		detail["heartbeat"] = hb.String()
		// The reason stays the same while the count grows (OnState is
		// called on changes only); the count is in detail["missed"].
		if t.lastSeen.IsZero() {
			return Offline, fmt.Sprintf("no heartbeat since the watcher started (%d × %v)", w.opts.Missed, hb), detail
		}
		return Offline, fmt.Sprintf("heartbeats missed (%d × %v)", w.opts.Missed, hb), detail
	}
	if t.status == nil || t.lastSeen.IsZero() {
		return "", "", nil // nothing live yet
	}
	s := t.status
	detail["peripherals"] = s.Peripherals
	detail["door"] = s.Door
	detail["uptime"] = s.Uptime
	if s.Disk != nil {
		detail["disk_free_pct"] = s.Disk.FreePct
	}
	var faults, degr []string
	names := make([]string, 0, len(s.Peripherals))
	for k := range s.Peripherals {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := s.Peripherals[k]
		switch {
		case v == "ok":
		case v == "fault" && (k == "card_reader" || k == "printer"):
			faults = append(faults, k+" fault")
		default:
			degr = append(degr, k+" "+v)
		}
	}
	if s.Door == "open" {
		degr = append(degr, "door open")
	}
	if s.Disk != nil && s.Disk.FreePct < 10 {
		degr = append(degr, fmt.Sprintf("disk %d%% free", s.Disk.FreePct))
	}
	switch {
	case len(faults) > 0:
		return Fault, strings.Join(append(faults, degr...), "; "), detail
	case len(degr) > 0:
		return Degraded, strings.Join(degr, "; "), detail
	case t.mqttState == "alert":
		return Degraded, "terminal reports alert", detail
	}
	return Ready, "", detail
}

// Command publishes hall/{hall}/{terminal}/cmd/{name} {"id","args","deadline"}
// with a fresh id and waits for …/cmd/{name}/result with that id. It returns
// the result's "result" on ok; an error wrapping ErrFailed with the
// terminal's message on ok=false; an error wrapping ErrTimeout when no
// answer came within timeout (default 30 s); ctx's error when ctx ends.
func (w *Watcher) Command(ctx context.Context, terminal, name string, args any, timeout time.Duration) (json.RawMessage, error) {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	w.mu.Lock()
	_, known := w.t[terminal]
	c := w.client
	w.mu.Unlock()
	if !known {
		return nil, fmt.Errorf("terminals: %s: %w", terminal, ErrUnknownTerminal)
	}
	if c == nil {
		return nil, fmt.Errorf("terminals: %s: command %s: watcher not started", terminal, name)
	}
	if name == "" || strings.ContainsAny(name, "/+#") {
		return nil, fmt.Errorf("terminals: %s: bad command name %q", terminal, name)
	}
	id := uuid.NewString()
	start := time.Now()
	deadline := start.Add(timeout)
	payload, err := json.Marshal(map[string]any{"id": id, "args": args, "deadline": deadline.UTC().Format("2006-01-02T15:04:05.000Z07:00")})
	if err != nil {
		return nil, fmt.Errorf("terminals: %s: command %s: args: %w", terminal, name, err)
	}
	ch := make(chan resultMsg, 1)
	w.mu.Lock()
	w.pend[id] = ch
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.pend, id)
		w.mu.Unlock()
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	tok := c.Publish(w.prefix+terminal+"/cmd/"+name, 1, false, payload)
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return nil, fmt.Errorf("terminals: %s: command %s: publish: %w", terminal, name, err)
		}
	case <-timer.C:
		return nil, fmt.Errorf("terminals: %s: command %s (id %s): no PUBACK within %v: %w", terminal, name, id, timeout, ErrTimeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("terminals: %s: command %s: %w", terminal, name, ctx.Err())
	}
	select {
	case r := <-ch:
		if !r.OK {
			msg := "no reason given"
			if r.Error != nil {
				msg = *r.Error
			}
			return nil, fmt.Errorf("terminals: %s: command %s: %s: %w", terminal, name, msg, ErrFailed)
		}
		return r.Result, nil
	case <-timer.C:
		st, _ := w.Status(terminal)
		return nil, fmt.Errorf("terminals: %s: command %s (id %s): no result within %v (terminal state %q): %w",
			terminal, name, id, timeout, st.State, ErrTimeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("terminals: %s: command %s: %w", terminal, name, ctx.Err())
	}
}
