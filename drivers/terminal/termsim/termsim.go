// Package termsim simulates a 24-hour self-service terminal (自助终端) as an
// MQTT client, speaking the topics of docs/contracts.md / docs/protocols.md §4:
//
//	hall/{hall}/{id}/$state                     init → ready|alert; "disconnected" on Stop; will "lost"
//	hall/{hall}/{id}/dev/{id}/status            retained JSON snapshot, on change and every heartbeat
//	hall/{hall}/{id}/dev/{id}/event             {"id","ts","type":"fault","data":{"code","message"}}
//	hall/{hall}/{id}/cmd/{name}                 ← {"id","args","deadline"}
//	hall/{hall}/{id}/cmd/{name}/result          → {"id","ok","error","result"}
//
// The terminal's node id is also its device id and its MQTT username and
// client id (the hall broker's ACL, package halld/daemon/broker).
package termsim

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/google/uuid"
)

// Peripheral names and their states.
const (
	Printer    = "printer"     // ok | paper_low | fault
	CardReader = "card_reader" // ok | fault
	Scanner    = "scanner"     // ok | fault
	Camera     = "camera"      // ok | fault
)

// Options tunes a simulated terminal. Zero values take the defaults.
type Options struct {
	Heartbeat    time.Duration // status period; default 60 s
	RebootDelay  time.Duration // time a reboot takes before its result; default 200 ms
	CommandDelay time.Duration // extra delay before any command is handled; default 0
	DiskFreePct  int           // default 42
	KeepAlive    time.Duration // MQTT keepalive; default 30 s
	// TLS, when set, wraps the connection (a hall broker with mqtt.broker.tls).
	TLS *tls.Config
}

// Status is the terminal's status payload.
type Status struct {
	Peripherals map[string]string `json:"peripherals"`
	Disk        struct {
		FreePct int `json:"free_pct"`
	} `json:"disk"`
	Uptime int64  `json:"uptime"`
	Door   string `json:"door"`
	Seq    uint64 `json:"seq"`
	TS     string `json:"ts"`
}

// Terminal is one simulated terminal.
type Terminal struct {
	url, hall, id, password string
	root                    string
	opts                    Options

	mu        sync.Mutex
	client    paho.Client
	conn      net.Conn
	periph    map[string]string
	door      string
	heartbeat time.Duration
	cmdDelay  time.Duration
	silent    bool
	locked    bool
	notice    string
	seq       uint64
	boot      time.Time
	kick      chan struct{} // wakes the heartbeat loop (change or new period)
	cancel    context.CancelFunc
	done      chan struct{}
	commands  []string // names handled, in order
}

// New returns a terminal that Start connects to the broker at url
// (tcp://host:port).
func New(url, hall, id, password string, opts Options) *Terminal {
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 60 * time.Second
	}
	if opts.RebootDelay <= 0 {
		opts.RebootDelay = 200 * time.Millisecond
	}
	if opts.DiskFreePct == 0 {
		opts.DiskFreePct = 42
	}
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = 30 * time.Second
	}
	return &Terminal{
		url: url, hall: hall, id: id, password: password,
		root: "hall/" + hall + "/" + id,
		opts: opts,
		periph: map[string]string{
			Printer: "ok", CardReader: "ok", Scanner: "ok", Camera: "ok",
		},
		door:      "closed",
		heartbeat: opts.Heartbeat,
		cmdDelay:  opts.CommandDelay,
		kick:      make(chan struct{}, 1),
	}
}

// ID is the terminal's id.
func (t *Terminal) ID() string { return t.id }

// Start connects (will: $state "lost", retained), publishes $state init,
// subscribes to its commands, publishes its status and $state ready (or
// alert), then heartbeats until Stop or Kill. ctx bounds the start only.
func (t *Terminal) Start(ctx context.Context) error {
	u, err := url.Parse(t.url)
	if err != nil {
		return fmt.Errorf("termsim %s: broker url: %w", t.id, err)
	}
	o := paho.NewClientOptions().AddBroker(t.url).SetClientID(t.id).
		SetUsername(t.id).SetPassword(t.password).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetKeepAlive(t.opts.KeepAlive).SetConnectTimeout(30*time.Second).
		SetWill(t.root+"/$state", "lost", 1, true).
		SetOrderMatters(false)
	// Keep the TCP connection so Kill can drop it without DISCONNECT.
	o.SetCustomOpenConnectionFn(func(_ *url.URL, _ paho.ClientOptions) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", u.Host)
		if err != nil {
			return nil, err
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		t.mu.Lock()
		t.conn = c // the raw connection: Kill drops it without a word, TLS or not
		t.mu.Unlock()
		if t.opts.TLS != nil {
			cfg := t.opts.TLS.Clone()
			if cfg.ServerName == "" {
				cfg.ServerName = u.Hostname()
			}
			tc := tls.Client(c, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, err
			}
			return tc, nil
		}
		return c, nil
	})
	c := paho.NewClient(o)
	if err := wait(ctx, c.Connect()); err != nil {
		c.Disconnect(0) // given up on: paho must not finish the connect for nobody
		return fmt.Errorf("termsim %s: connect: %w", t.id, err)
	}
	t.mu.Lock()
	t.client = c
	t.boot = time.Now()
	t.mu.Unlock()
	if err := wait(ctx, c.Publish(t.root+"/$state", 1, true, "init")); err != nil {
		c.Disconnect(0)
		return fmt.Errorf("termsim %s: publish init: %w", t.id, err)
	}
	if err := wait(ctx, c.Subscribe(t.root+"/cmd/+", 1, t.onCommand)); err != nil {
		c.Disconnect(0)
		return fmt.Errorf("termsim %s: subscribe: %w", t.id, err)
	}
	if err := t.publishStatus(ctx); err != nil {
		c.Disconnect(0)
		return err
	}
	// ctx bounds the start only; the terminal runs until Stop or Kill.
	lctx, cancel := context.WithCancel(context.Background())
	t.mu.Lock()
	t.cancel = cancel
	t.done = make(chan struct{})
	t.mu.Unlock()
	go t.loop(lctx)
	return nil
}

func wait(ctx context.Context, tok paho.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loop publishes the status every heartbeat and at once after a change.
func (t *Terminal) loop(ctx context.Context) {
	defer close(t.done)
	for {
		t.mu.Lock()
		hb := t.heartbeat
		t.mu.Unlock()
		timer := time.NewTimer(hb)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		case <-t.kick:
			timer.Stop()
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		t.publishStatus(pctx)
		cancel()
	}
}

// state is the $state for the current peripherals: alert while any is in
// fault (docs/protocols.md §4.2).
func (t *Terminal) stateLocked() string {
	for _, v := range t.periph {
		if v == "fault" {
			return "alert"
		}
	}
	return "ready"
}

func (t *Terminal) publishStatus(ctx context.Context) error {
	t.mu.Lock()
	c := t.client
	if c == nil || t.silent {
		t.mu.Unlock()
		return nil
	}
	t.seq++
	s := Status{Peripherals: map[string]string{}, Door: t.door, Seq: t.seq,
		TS: time.Now().Format("2006-01-02T15:04:05.000Z07:00"), Uptime: int64(time.Since(t.boot).Seconds())}
	for k, v := range t.periph {
		s.Peripherals[k] = v
	}
	s.Disk.FreePct = t.opts.DiskFreePct
	state := t.stateLocked()
	t.mu.Unlock()
	b, _ := json.Marshal(s)
	if err := wait(ctx, c.Publish(t.root+"/dev/"+t.id+"/status", 1, true, b)); err != nil {
		return fmt.Errorf("termsim %s: publish status: %w", t.id, err)
	}
	if err := wait(ctx, c.Publish(t.root+"/$state", 1, true, state)); err != nil {
		return fmt.Errorf("termsim %s: publish $state: %w", t.id, err)
	}
	return nil
}

func (t *Terminal) changed() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// SetPeripheral sets a peripheral's state (printer: ok|paper_low|fault;
// others ok|fault) and publishes the status at once.
func (t *Terminal) SetPeripheral(name, state string) {
	t.mu.Lock()
	t.periph[name] = state
	t.mu.Unlock()
	t.changed()
}

// SetDoor opens or closes the maintenance door.
func (t *Terminal) SetDoor(open bool) {
	t.mu.Lock()
	if open {
		t.door = "open"
	} else {
		t.door = "closed"
	}
	t.mu.Unlock()
	t.changed()
}

// SetHeartbeat changes the status period (from the next period on).
func (t *Terminal) SetHeartbeat(d time.Duration) {
	t.mu.Lock()
	t.heartbeat = d
	t.mu.Unlock()
	t.changed()
}

// Silence stops (true) or resumes (false) every status publish, heartbeats
// included, while the MQTT connection stays up.
func (t *Terminal) Silence(on bool) {
	t.mu.Lock()
	t.silent = on
	t.mu.Unlock()
	if !on {
		t.changed()
	}
}

// SetCommandDelay delays the handling of every following command.
func (t *Terminal) SetCommandDelay(d time.Duration) {
	t.mu.Lock()
	t.cmdDelay = d
	t.mu.Unlock()
}

// Fault publishes a fault event with a fresh id and returns the id.
func (t *Terminal) Fault(code, message string) (string, error) {
	id := uuid.NewString()
	return id, t.FaultWithID(id, code, message)
}

// FaultWithID publishes a fault event with the given id (publish it twice
// to simulate a QoS 1 duplicate).
func (t *Terminal) FaultWithID(id, code, message string) error {
	t.mu.Lock()
	c := t.client
	t.mu.Unlock()
	if c == nil {
		return fmt.Errorf("termsim %s: not started", t.id)
	}
	b, _ := json.Marshal(map[string]any{
		"id": id, "ts": time.Now().Format("2006-01-02T15:04:05.000Z07:00"), "type": "fault",
		"data": map[string]string{"code": code, "message": message},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return wait(ctx, c.Publish(t.root+"/dev/"+t.id+"/event", 1, false, b))
}

// Commands lists the command names handled so far, in order.
func (t *Terminal) Commands() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.commands...)
}

// Locked reports whether lock_screen locked the screen; Notice is the last
// show_notice text.
func (t *Terminal) Locked() bool   { t.mu.Lock(); defer t.mu.Unlock(); return t.locked }
func (t *Terminal) Notice() string { t.mu.Lock(); defer t.mu.Unlock(); return t.notice }

type command struct {
	ID   string          `json:"id"`
	Args json.RawMessage `json:"args"`
}

type result struct {
	ID     string  `json:"id"`
	OK     bool    `json:"ok"`
	Error  *string `json:"error"`
	Result any     `json:"result,omitempty"`
}

func (t *Terminal) onCommand(c paho.Client, m paho.Message) {
	topic, payload := m.Topic(), append([]byte(nil), m.Payload()...)
	go t.handle(c, topic, payload)
}

func (t *Terminal) handle(c paho.Client, topic string, payload []byte) {
	name := topic[strings.LastIndexByte(topic, '/')+1:]
	var cmd command
	res := result{}
	out, err := func() (any, error) {
		if err := json.Unmarshal(payload, &cmd); err != nil {
			return nil, fmt.Errorf("bad command JSON: %v", err)
		}
		res.ID = cmd.ID
		if cmd.ID == "" {
			return nil, errors.New("command without id")
		}
		t.mu.Lock()
		d := t.cmdDelay
		t.commands = append(t.commands, name)
		t.mu.Unlock()
		if d > 0 {
			time.Sleep(d)
		}
		return t.run(name, cmd.Args)
	}()
	if err != nil {
		s := err.Error()
		res.Error = &s
	} else {
		res.OK, res.Result = true, out
	}
	b, _ := json.Marshal(res)
	c.Publish(topic+"/result", 1, false, b)
}

func (t *Terminal) run(name string, args json.RawMessage) (any, error) {
	switch name {
	case "reboot":
		time.Sleep(t.opts.RebootDelay)
		t.mu.Lock()
		t.boot = time.Now()
		t.mu.Unlock()
		t.changed()
		return map[string]any{"rebooted": true}, nil
	case "lock_screen":
		var a struct {
			Locked *bool `json:"locked"`
		}
		if len(args) > 0 && string(args) != "null" {
			if err := json.Unmarshal(args, &a); err != nil {
				return nil, fmt.Errorf("bad args: %v", err)
			}
		}
		t.mu.Lock()
		t.locked = a.Locked == nil || *a.Locked
		l := t.locked
		t.mu.Unlock()
		return map[string]any{"locked": l}, nil
	case "show_notice":
		var a struct {
			Text string `json:"text"`
		}
		if len(args) > 0 && string(args) != "null" {
			if err := json.Unmarshal(args, &a); err != nil {
				return nil, fmt.Errorf("bad args: %v", err)
			}
		}
		if a.Text == "" {
			return nil, errors.New("show_notice needs args.text")
		}
		t.mu.Lock()
		t.notice = a.Text
		t.mu.Unlock()
		return map[string]any{"shown": true}, nil
	default:
		known := []string{"reboot", "lock_screen", "show_notice"}
		sort.Strings(known)
		return nil, fmt.Errorf("unknown command %q (known: %s)", name, strings.Join(known, ", "))
	}
}

// Stop publishes $state "disconnected" (retained) and disconnects cleanly:
// no will.
func (t *Terminal) Stop() {
	t.halt()
	t.mu.Lock()
	c := t.client
	t.client = nil
	t.mu.Unlock()
	if c == nil {
		return
	}
	if c.IsConnectionOpen() {
		tok := c.Publish(t.root+"/$state", 1, true, "disconnected")
		tok.WaitTimeout(10 * time.Second)
	}
	c.Disconnect(250)
}

// Kill drops the TCP connection without DISCONNECT, as a power cut or a
// pulled cable would: the broker publishes the will ($state "lost").
func (t *Terminal) Kill() {
	t.halt()
	t.mu.Lock()
	c, conn := t.client, t.conn
	t.client = nil
	t.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
	if c != nil {
		// paho notices the dead connection; Disconnect now only frees it
		// (the socket is already closed, nothing reaches the broker).
		go func() {
			time.Sleep(100 * time.Millisecond)
			c.Disconnect(0)
		}()
	}
}

func (t *Terminal) halt() {
	t.mu.Lock()
	cancel, done := t.cancel, t.done
	t.cancel = nil
	t.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}
