package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"halld/daemon/hall"
	"halld/daemon/uplink"
)

// startMosquitto runs a real mosquitto on a free loopback port for the test.
func startMosquitto(t *testing.T) string {
	t.Helper()
	bin := "/usr/sbin/mosquitto"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mosquitto missing on CI: %v", err)
		}
		t.Skipf("no mosquitto: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	conf := fmt.Sprintf("allow_anonymous true\nlistener %d 127.0.0.1\npersistence false\n", port)
	if os.Geteuid() == 0 {
		if u, err := user.Current(); err == nil {
			conf = "user " + u.Username + "\n" + conf
		}
	}
	path := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			c.Close()
			break
		}
		if i > 300 {
			t.Fatal("mosquitto does not listen")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Sprintf("tcp://127.0.0.1:%d", port)
}

// centralSide is the central server's client: it keeps the latest payload
// per phone topic and the command results.
type centralSide struct {
	t       *testing.T
	c       mqtt.Client
	mu      sync.Mutex
	views   map[string][]byte // topic → latest payload (empty: cleared)
	results map[string]map[string]any
}

func newCentral(t *testing.T, url, id string) *centralSide {
	t.Helper()
	cs := &centralSide{t: t, views: map[string][]byte{}, results: map[string]map[string]any{}}
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(true).SetAutoReconnect(false)
	cs.c = mqtt.NewClient(o)
	if tok := cs.c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("central connect: %v", tok.Error())
	}
	t.Cleanup(func() { cs.c.Disconnect(100) })
	tok := cs.c.SubscribeMultiple(map[string]byte{"hall/test-hall/halld-1/phone/+": 1, "hall/test-hall/halld-1/cmd/+/result": 1},
		func(_ mqtt.Client, m mqtt.Message) {
			cs.mu.Lock()
			defer cs.mu.Unlock()
			if strings.HasSuffix(m.Topic(), "/result") {
				var r map[string]any
				json.Unmarshal(m.Payload(), &r)
				cs.results[fmt.Sprint(r["id"])] = r
				return
			}
			cs.views[m.Topic()] = append([]byte(nil), m.Payload()...)
		})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("central subscribe: %v", tok.Error())
	}
	return cs
}

func (cs *centralSide) waitView(token string, what string, cond func(v map[string]any, raw []byte) bool) map[string]any {
	cs.t.Helper()
	topic := "hall/test-hall/halld-1/phone/" + RelayKey(token)
	deadline := time.Now().Add(10 * time.Second)
	for {
		cs.mu.Lock()
		raw, ok := cs.views[topic]
		cs.mu.Unlock()
		var v map[string]any
		if ok && len(raw) > 0 {
			json.Unmarshal(raw, &v)
		}
		if ok && cond(v, raw) {
			return v
		}
		if time.Now().After(deadline) {
			cs.t.Fatalf("relay view of %s: waiting for %s; last %q", topic, what, raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (cs *centralSide) command(id, name, args string) map[string]any {
	cs.t.Helper()
	tok := cs.c.Publish("hall/test-hall/halld-1/cmd/"+name, 1, false, `{"id":"`+id+`","args":`+args+`}`)
	tok.WaitTimeout(5 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		cs.mu.Lock()
		r := cs.results[id]
		cs.mu.Unlock()
		if r != nil {
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}
	cs.t.Fatalf("no result for command %s", id)
	return nil
}

// TestPhoneRelayThroughTheCentralBroker: halld publishes each ticket's phone
// view retained under a hash of its token (never the token, nothing
// personal), the central server's rating and 无声叫号 come back as commands
// checked like the page's own, and a new hall day clears the topics.
func TestPhoneRelayThroughTheCentralBroker(t *testing.T) {
	url := startMosquitto(t)
	p := newPhoneHall(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u, err := uplink.New(p.s.d.Journal, uplink.Options{URL: url, ClientID: "halld-test", Hall: "test-hall", Node: "halld-1",
		Heartbeat: -1, Log: p.s.d.Log})
	if err != nil {
		t.Fatal(err)
	}
	u.OnCommand(p.s.PhoneRelayCommands(nil))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); u.Run(ctx) }()
	go func() { defer wg.Done(); p.s.RunPhoneRelay(ctx, u.PublishRetained, 50*time.Millisecond) }()
	defer wg.Wait()
	defer cancel()

	cs := newCentral(t, url, "central-1")
	p.must(hall.SignIn{Window: "w1", Staff: "s1"})
	tk1, tok1 := p.issue("")
	tk2, tok2 := p.issue("")
	v := cs.waitView(tok2, "B002 one ahead", func(v map[string]any, _ []byte) bool { return v["ahead"] == 1.0 })
	if v["number"] != tk2.Number || v["day"] != "2026-11-25" || v["status"] != "waiting" {
		t.Fatalf("relayed view: %v", v)
	}
	cs.mu.Lock()
	for topic, raw := range cs.views {
		for _, bad := range []string{tok1, tok2, tk1.ID, tk2.ID, "731X", "4301", "张敏", "s1", `"visit"`} {
			if strings.Contains(topic, bad) || strings.Contains(string(raw), bad) {
				t.Errorf("relay topic %s carries %q: %s", topic, bad, raw)
			}
		}
	}
	cs.mu.Unlock()

	// The call moves B002's view; 无声叫号 from the relay is the ticket's flag.
	if r := cs.command("s1", "phone.silent", `{"token":"`+tok2+`","silent":true}`); r["ok"] != true {
		t.Fatalf("phone.silent: %v", r)
	}
	p.must(hall.CallNext{Window: "w1"})
	p.must(hall.Finish{Window: "w1"})
	cs.waitView(tok2, "B002 next, silent", func(v map[string]any, _ []byte) bool { return v["ahead"] == 0.0 && v["silent"] == true })
	called := p.must(hall.CallNext{Window: "w1"}).Events
	if v, _ := hall.Decode(called[0].Type, called[0].Body); !v.(*hall.TicketCalled).Silent {
		t.Fatal("the relay's 无声叫号 did not silence the call")
	}
	p.must(hall.Finish{Window: "w1"})
	cs.waitView(tok2, "rating open", func(v map[string]any, _ []byte) bool {
		r, _ := v["rating"].(map[string]any)
		return r != nil && r["state"] == "open"
	})

	// Ratings through the relay: a guessed token is refused, the real one
	// counts once (channel qr), the second is a duplicate.
	if r := cs.command("r0", "phone.rate", `{"token":"`+strings.Repeat("A", 32)+`","level":"满意"}`); r["ok"] != false ||
		!strings.Contains(fmt.Sprint(r["error"]), "unknown_ticket") {
		t.Fatalf("a guessed token: %v", r)
	}
	if r := cs.command("r1", "phone.rate", `{"token":"`+tok2+`","level":"满意"}`); r["ok"] != true {
		t.Fatalf("phone.rate: %v", r)
	} else if res, _ := r["result"].(map[string]any); res["duplicate"] != false {
		t.Fatalf("phone.rate: %v", r)
	}
	if r := cs.command("r2", "phone.rate", `{"token":"`+tok2+`","level":"不满意","reasons":["等候时间长"]}`); r["ok"] != true {
		t.Fatalf("phone.rate again: %v", r)
	} else if res, _ := r["result"].(map[string]any); res["duplicate"] != true {
		t.Fatalf("phone.rate again: %v", r)
	}
	cs.waitView(tok2, "rated", func(v map[string]any, _ []byte) bool {
		r, _ := v["rating"].(map[string]any)
		return r != nil && r["state"] == "rated" && r["level"] == "满意"
	})
	n := 0
	for _, rec := range scanTypes(t, p, hall.TypeRatingSubmitted) {
		if e := rec.(*hall.RatingSubmitted); e.Number == tk2.Number && e.Channel == "qr" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d ratings of %s", n, tk2.Number)
	}

	// Retained: a central server that connects later reads the views at once.
	late := newCentral(t, url, "central-2")
	late.waitView(tok1, "B001's retained view", func(v map[string]any, _ []byte) bool { return v["number"] == tk1.Number })

	// The next hall day: yesterday's topics are cleared.
	p.clk.set(p.clk.now().Add(24 * time.Hour))
	p.issue("")
	for _, tok := range []string{tok1, tok2} {
		cs.waitView(tok, "cleared", func(_ map[string]any, raw []byte) bool { return len(raw) == 0 })
	}
	fresh := newCentral(t, url, "central-3")
	time.Sleep(300 * time.Millisecond)
	fresh.mu.Lock()
	for _, tok := range []string{tok1, tok2} {
		if raw, ok := fresh.views["hall/test-hall/halld-1/phone/"+RelayKey(tok)]; ok {
			t.Errorf("yesterday's view still retained: %s", raw)
		}
	}
	fresh.mu.Unlock()
}

// scanTypes decodes the journal's events of typ.
func scanTypes(t *testing.T, p *phoneTestHall, typ string) []any {
	t.Helper()
	var out []any
	recs, err := p.s.d.Journal.Read(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Type == typ {
			v, err := hall.Decode(r.Type, r.Body)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
	}
	return out
}
