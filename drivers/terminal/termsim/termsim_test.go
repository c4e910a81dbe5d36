package termsim_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"halld/daemon/broker"
	"halld/drivers/terminal/termsim"
)

type inbox struct {
	mu sync.Mutex
	m  map[string][]string
}

func (b *inbox) add(_ paho.Client, m paho.Message) {
	b.mu.Lock()
	b.m[m.Topic()] = append(b.m[m.Topic()], string(m.Payload()))
	b.mu.Unlock()
}

func (b *inbox) wait(t *testing.T, topic string, pred func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		for _, p := range b.m[topic] {
			if pred(p) {
				b.mu.Unlock()
				return p
			}
		}
		b.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("nothing matching on %s", topic)
	return ""
}

func eq(s string) func(string) bool { return func(p string) bool { return p == s } }

// TestLifecycle: $state init → ready, retained status with the fields of
// docs/protocols.md §4, heartbeats, alert on a fault, Stop → disconnected, Kill → lost.
func TestLifecycle(t *testing.T) {
	b, err := broker.New(broker.Options{Listen: "127.0.0.1:0", Hall: "h", Users: map[string]string{"t1": "p1", "t2": "p2"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	u, p := b.Internal()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("obs").SetUsername(u).SetPassword(p))
	if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(0)
	in := &inbox{m: map[string][]string{}}
	if tok := c.Subscribe("hall/h/#", 1, in.add); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	ctx := context.Background()
	t1 := termsim.New(b.URL(), "h", "t1", "p1", termsim.Options{Heartbeat: 50 * time.Millisecond})
	if err := t1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	in.wait(t, "hall/h/t1/$state", eq("init"))
	in.wait(t, "hall/h/t1/$state", eq("ready"))
	st := in.wait(t, "hall/h/t1/dev/t1/status", func(string) bool { return true })
	var s struct {
		Peripherals map[string]string `json:"peripherals"`
		Disk        struct {
			FreePct int `json:"free_pct"`
		} `json:"disk"`
		Door string `json:"door"`
	}
	if err := json.Unmarshal([]byte(st), &s); err != nil || s.Peripherals["printer"] != "ok" || s.Door != "closed" || s.Disk.FreePct != 42 {
		t.Fatalf("status %s: %v", st, err)
	}
	// Heartbeats: several statuses within 400 ms.
	time.Sleep(400 * time.Millisecond)
	in.mu.Lock()
	n := len(in.m["hall/h/t1/dev/t1/status"])
	in.mu.Unlock()
	if n < 3 {
		t.Fatalf("%d statuses in 400 ms with a 50 ms heartbeat", n)
	}
	t1.SetPeripheral(termsim.Printer, "fault")
	in.wait(t, "hall/h/t1/$state", eq("alert"))
	t1.Stop()
	in.wait(t, "hall/h/t1/$state", eq("disconnected"))

	t2 := termsim.New(b.URL(), "h", "t2", "p2", termsim.Options{})
	if err := t2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	in.wait(t, "hall/h/t2/$state", eq("ready"))
	t2.Kill()
	in.wait(t, "hall/h/t2/$state", eq("lost"))

	bad := termsim.New(b.URL(), "h", "t1", "wrong", termsim.Options{})
	if err := bad.Start(ctx); err == nil {
		bad.Stop()
		t.Fatal("bad password accepted")
	}
}
