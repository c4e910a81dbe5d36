package broker

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"halld/internal/syncbuf"
)

const hall = "hn-test"

// logBuf collects the broker's log; shown when a test fails (t.Log from the
// broker's goroutines could outlive the test).
type logBuf = syncbuf.Buffer

func start(t *testing.T) *Broker {
	t.Helper()
	lb := &logBuf{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", lb.String())
		}
	})
	b, err := New(Options{Listen: "127.0.0.1:0", Hall: hall, Users: map[string]string{"term-1": "pw1", "term-2": "pw2"},
		Logger: slog.New(slog.NewTextHandler(lb, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

type msgs struct {
	mu sync.Mutex
	m  []paho.Message
	ch chan struct{}
}

func newMsgs() *msgs { return &msgs{ch: make(chan struct{}, 1000)} }

func (m *msgs) handle(_ paho.Client, msg paho.Message) {
	m.mu.Lock()
	m.m = append(m.m, msg)
	m.mu.Unlock()
	m.ch <- struct{}{}
}

func (m *msgs) wait(t *testing.T, topic string, d time.Duration) paho.Message {
	t.Helper()
	deadline := time.After(d)
	for {
		m.mu.Lock()
		for _, x := range m.m {
			if x.Topic() == topic {
				m.mu.Unlock()
				return x
			}
		}
		m.mu.Unlock()
		select {
		case <-m.ch:
		case <-deadline:
			t.Fatalf("no message on %s within %v", topic, d)
		}
	}
}

func (m *msgs) has(topic string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.m {
		if x.Topic() == topic {
			return true
		}
	}
	return false
}

func connect(t *testing.T, b *Broker, user, pass, clientID string, mod func(*paho.ClientOptions)) (paho.Client, error) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(b.URL()).SetClientID(clientID).SetUsername(user).SetPassword(pass).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(10 * time.Second).SetCleanSession(true)
	if mod != nil {
		mod(o)
	}
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(15 * time.Second) {
		return nil, fmt.Errorf("connect timeout")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c, nil
}

func mustConnect(t *testing.T, b *Broker, user, pass string, mod func(*paho.ClientOptions)) paho.Client {
	t.Helper()
	id := user
	if user == InternalUser {
		id = "halld-test"
	}
	c, err := connect(t, b, user, pass, id, mod)
	if err != nil {
		t.Fatalf("connect %s: %v", user, err)
	}
	return c
}

func subscribe(t *testing.T, c paho.Client, filter string, h paho.MessageHandler) byte {
	t.Helper()
	tok := c.Subscribe(filter, 1, h)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
	return tok.(*paho.SubscribeToken).Result()[filter]
}

func TestAuth(t *testing.T) {
	b := start(t)
	if _, err := connect(t, b, "term-1", "wrong", "term-1", nil); err == nil {
		t.Fatal("bad password accepted")
	} else {
		t.Logf("bad password: %v", err)
	}
	if _, err := connect(t, b, "nobody", "pw1", "nobody", nil); err == nil {
		t.Fatal("unknown user accepted")
	}
	if _, err := connect(t, b, "", "", "anon", nil); err == nil {
		t.Fatal("anonymous accepted")
	}
	if _, err := connect(t, b, "term-1", "pw1", "term-2", nil); err == nil {
		t.Fatal("term-1 took term-2's client id")
	}
	if _, err := connect(t, b, "term-1", "pw1", "term-1", func(o *paho.ClientOptions) {
		o.SetWill("hall/"+hall+"/term-2/$state", "lost", 1, true)
	}); err == nil {
		t.Fatal("will outside own tree accepted")
	}
	u, p := b.Internal()
	if _, err := connect(t, b, u, p+"x", "halld", nil); err == nil {
		t.Fatal("bad internal password accepted")
	}
	mustConnect(t, b, u, p, nil)
	mustConnect(t, b, "term-1", "pw1", nil)
}

func TestACL(t *testing.T) {
	b := start(t)
	u, p := b.Internal()
	hd := mustConnect(t, b, u, p, nil)
	all := newMsgs()
	if code := subscribe(t, hd, "hall/"+hall+"/#", all.handle); code != 1 {
		t.Fatalf("internal subscribe all: code %#x", code)
	}

	t1 := mustConnect(t, b, "term-1", "pw1", nil)
	// Subscriptions: own tree yes, other trees and the whole hall no.
	own := newMsgs()
	if code := subscribe(t, t1, "hall/"+hall+"/term-1/cmd/#", own.handle); code != 1 {
		t.Fatalf("own cmd subscribe: code %#x", code)
	}
	refused := newMsgs() // paho routes locally to every handler whose filter matches
	for _, f := range []string{"hall/" + hall + "/#", "hall/" + hall + "/term-2/#", "hall/" + hall + "/+/$state", "#", "hall/other/term-1/#"} {
		if code := subscribe(t, t1, f, refused.handle); code != 0x80 {
			t.Fatalf("subscribe %s: code %#x, want 0x80", f, code)
		}
	}
	// Publish in own tree: delivered.
	ok := "hall/" + hall + "/term-1/dev/term-1/status"
	t1.Publish(ok, 1, false, "{}").WaitTimeout(10 * time.Second)
	all.wait(t, ok, 10*time.Second)
	// Command result: allowed. Command to itself: refused (QoS 0: dropped).
	res := "hall/" + hall + "/term-1/cmd/reboot/result"
	t1.Publish(res, 1, false, `{"id":"x","ok":true}`).WaitTimeout(10 * time.Second)
	all.wait(t, res, 10*time.Second)
	self := "hall/" + hall + "/term-1/cmd/reboot"
	t1.Publish(self, 0, false, `{"id":"y"}`).WaitTimeout(10 * time.Second)
	// halld's command to term-1: delivered to term-1.
	hd.Publish(self, 1, false, `{"id":"z"}`).WaitTimeout(10 * time.Second)
	own.wait(t, self, 10*time.Second)
	own.mu.Lock()
	n := 0
	for _, m := range own.m {
		if m.Topic() == self {
			n++
		}
	}
	own.mu.Unlock()
	if n != 1 {
		t.Fatalf("term-1 got %d commands, want 1 (its own QoS 0 publish must be dropped)", n)
	}

	// QoS 0 under another tree: dropped, connection kept.
	other := "hall/" + hall + "/term-2/$state"
	t1.Publish(other, 0, true, "lost").WaitTimeout(10 * time.Second)
	// QoS 1 under another tree: mochi closes a 3.1.1 client's connection.
	lost := make(chan struct{})
	t1b := mustConnect(t, b, "term-2", "pw2", func(o *paho.ClientOptions) {
		o.SetConnectionLostHandler(func(paho.Client, error) { close(lost) })
	})
	t1b.Publish("hall/"+hall+"/term-1/$state", 1, true, "lost")
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("QoS 1 publish into another tree did not close the connection")
	}
	// A marker after both, so the refused ones had time to arrive.
	marker := "hall/" + hall + "/term-1/marker"
	t1.Publish(marker, 1, false, "m").WaitTimeout(10 * time.Second)
	all.wait(t, marker, 10*time.Second)
	if all.has(other) || all.has("hall/"+hall+"/term-1/$state") || all.has(self) && countTopic(all, self) != 1 {
		t.Fatal("a refused publish was delivered")
	}
	if !t1.IsConnectionOpen() {
		t.Fatal("QoS 0 refused publish closed the connection")
	}
}

func countTopic(m *msgs, topic string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, x := range m.m {
		if x.Topic() == topic {
			n++
		}
	}
	return n
}

func TestLastWill(t *testing.T) {
	b := start(t)
	u, p := b.Internal()
	hd := mustConnect(t, b, u, p, nil)
	got := newMsgs()
	state := "hall/" + hall + "/term-1/$state"
	subscribe(t, hd, "hall/"+hall+"/+/$state", got.handle)
	c, err := connect(t, b, "term-1", "pw1", "term-1", func(o *paho.ClientOptions) {
		o.SetWill(state, "lost", 1, true).SetKeepAlive(2 * time.Second)
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = c
	// Drop the TCP connection without DISCONNECT: find the server side and
	// close it there is not possible from paho, so close the broker-side
	// client instead.
	cl, ok := b.srv.Clients.Get("term-1")
	if !ok {
		t.Fatal("client not found")
	}
	start := time.Now()
	cl.Net.Conn.Close()
	m := got.wait(t, state, 10*time.Second)
	if string(m.Payload()) != "lost" {
		t.Fatalf("will payload %q", m.Payload())
	}
	t.Logf("will delivered %v after the connection dropped", time.Since(start))
	// Retained: a new subscriber sees it.
	late := newMsgs()
	hd2 := mustConnect(t, b, u, p, func(o *paho.ClientOptions) { o.SetClientID("halld-test-2") })
	subscribe(t, hd2, state, late.handle)
	if m := late.wait(t, state, 10*time.Second); !m.Retained() || string(m.Payload()) != "lost" {
		t.Fatalf("retained will: %q retained=%v", m.Payload(), m.Retained())
	}
}

func TestOptions(t *testing.T) {
	if _, err := New(Options{Hall: "Bad Hall"}); err == nil || !strings.Contains(err.Error(), "hall id") {
		t.Fatalf("bad hall: %v", err)
	}
	if _, err := New(Options{Hall: "h", Listen: "127.0.0.1:0", Users: map[string]string{"t1": ""}}); err == nil {
		t.Fatal("empty password accepted")
	}
	b, err := New(Options{Hall: "h", Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}
