package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"halld/daemon/hall"
	"halld/daemon/journal"
	"halld/daemon/uplink"
	"halld/internal/testmqtt"
)

// The kiosk services sit in a 24-hour area and the hall is always open, so
// the test runs at any hour. Windows w1..wN serve p1 only, so the pads'
// call-next never takes a kiosk ticket.
const centralYAML = `
hall:
  id: central-hall
  name: 测试大厅
  timezone: Asia/Shanghai
  always_open: true
  opening_hours: [{days: [mon], open: "09:00", close: "17:00"}]
http: {listen: %s}
storage: {dir: %s}
mqtt:
  uplink: {url: "%s", node: edge-1, client_id: central-crash-halld}
areas:
  - {id: self-24h, name: 24小时自助服务区, open_24h: true}
  - {id: front, name: 前台}
services:
  - {id: s1, prefix: A, name: 自助一, area: self-24h, max_number: 9999}
  - {id: s2, prefix: B, name: 自助二, area: self-24h, max_number: 9999}
  - {id: p1, prefix: C, name: 窗口业务, area: front, max_number: 9999}
windows:
%sstaff:
%sdevices:
  - {id: kiosk-1, kind: kiosk, area: self-24h}
  - {id: printer-1, kind: ticket_printer, area: self-24h, simulate: true, printer: {poll_interval: 200ms}}
  - {id: printer-2, kind: ticket_printer, area: self-24h, simulate: true, printer: {poll_interval: 200ms}}
  - {id: line-1, kind: bus, area: front, serial: {port: %s, baud: 115200}}
%s`

const centralEventsTopic = "hall/central-hall/edge-1/events"

// startCentralMosquitto runs the central broker: a real mosquitto on a free
// loopback port, persistence on (sessions and their queues), no limit on
// queued QoS 1 messages (the default 1000 silently drops the rest).
func startCentralMosquitto(t *testing.T) string {
	t.Helper()
	return testmqtt.StartWith(t, testmqtt.Options{Persistent: true, UnboundedQueues: true}).URL
}

// centralEvent is one event message as the central server received it.
type centralEvent struct {
	ID   string
	Seq  uint64
	Type string
	Body []byte
	Dup  bool // the broker's DUP flag: a redelivery to the subscriber
	Idx  int  // arrival order
}

// centralSub is the central server: a persistent session (clean session
// false, fixed client id), QoS 1, recording every event message, duplicates
// included, in arrival order.
type centralSub struct {
	mu     sync.Mutex
	events []centralEvent
	bad    []string
	c      mqtt.Client
}

func newCentralSub(t *testing.T, url string) *centralSub {
	t.Helper()
	s := &centralSub{}
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID("central-audit").
		SetProtocolVersion(4).SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(250 * time.Millisecond).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			if m.Topic() != centralEventsTopic {
				return
			}
			var ev struct {
				ID   string `json:"id"`
				Seq  uint64 `json:"seq"`
				Type string `json:"type"`
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if err := json.Unmarshal(m.Payload(), &ev); err != nil || ev.ID == "" || ev.Seq == 0 {
				s.bad = append(s.bad, fmt.Sprintf("unreadable event %.200q (%v)", m.Payload(), err))
				return
			}
			s.events = append(s.events, centralEvent{ev.ID, ev.Seq, ev.Type, append([]byte(nil), m.Payload()...), m.Duplicate(), len(s.events)})
		})
	s.c = mqtt.NewClient(o)
	if tok := s.c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("central subscriber connect: %v", tok.Error())
	}
	if tok := s.c.Subscribe(centralEventsTopic, 1, nil); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("central subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { s.c.Disconnect(100) })
	return s
}

func (s *centralSub) all() ([]centralEvent, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]centralEvent(nil), s.events...), append([]string(nil), s.bad...)
}

// ticketLedger is what the kiosks and counters know: every request id they
// sent, and the ticket each acknowledged (2xx) one got.
type ticketLedger struct {
	mu      sync.Mutex
	sent    map[string]string      // request id → service
	acked   map[string]hall.Ticket // request id → ticket in the 2xx answer
	pending []ticketReq            // sent, no answer yet (halld died): retried later
	refused []string
	seq     int
	retried int // requests left unanswered by a kill, sent again later
}

type ticketReq struct{ id, body string }

func newLedger() *ticketLedger {
	return &ticketLedger{sent: map[string]string{}, acked: map[string]hall.Ticket{}}
}

func (l *ticketLedger) newReq(svc, kiosk string) ticketReq {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	id := fmt.Sprintf("req-%s-%06d", svc, l.seq)
	l.sent[id] = svc
	b, _ := json.Marshal(map[string]string{"service": svc, "kiosk": kiosk, "request_id": id})
	return ticketReq{id, string(b)}
}

// try posts the request once: true when answered for good (2xx or a 4xx
// refusal), false when halld was not there or failed (retry it).
func (l *ticketLedger) try(client *http.Client, addr string, r ticketReq) bool {
	resp, err := client.Post("http://"+addr+"/api/v1/tickets", "application/json", strings.NewReader(r.body))
	if err != nil {
		return false
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return false
	}
	switch {
	case resp.StatusCode == 200 || resp.StatusCode == 201:
		var body struct{ Ticket hall.Ticket }
		if err := json.Unmarshal(b, &body); err != nil || body.Ticket.ID == "" {
			return false
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if prev, ok := l.acked[r.id]; ok && prev.ID != body.Ticket.ID {
			l.refused = append(l.refused, fmt.Sprintf("%s answered %s, then %s", r.id, prev.ID, body.Ticket.ID))
		}
		l.acked[r.id] = body.Ticket
		return true
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		l.mu.Lock()
		l.refused = append(l.refused, fmt.Sprintf("%s: %d %s", r.id, resp.StatusCode, b))
		l.mu.Unlock()
		return true
	}
	return false
}

// take asks for a ticket, retrying the same request id (as a kiosk does)
// until answered or ctx ends; an unanswered request is kept for later.
func (l *ticketLedger) take(ctx context.Context, client *http.Client, addr, svc, kiosk string) (hall.Ticket, bool) {
	r := l.newReq(svc, kiosk)
	for {
		if l.try(client, addr, r) {
			l.mu.Lock()
			tk, ok := l.acked[r.id]
			l.mu.Unlock()
			return tk, ok
		}
		if ctx.Err() != nil {
			l.mu.Lock()
			l.pending = append(l.pending, r)
			l.retried++
			l.mu.Unlock()
			return hall.Ticket{}, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// resend sends the requests left unanswered by a kill again, same request
// id, to a running halld, until each is answered.
func (l *ticketLedger) resend(t *testing.T, cmd *exec.Cmd, client *http.Client, addr string) {
	t.Helper()
	l.mu.Lock()
	retry := l.pending
	l.pending = nil
	l.mu.Unlock()
	deadline := time.Now().Add(20 * time.Second)
	for _, r := range retry {
		for !l.try(client, addr, r) {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("request %s never answered by a running halld", r.id)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func uplinkStatus(addr string) (uplink.Status, bool) {
	resp, err := http.Get("http://" + addr + "/api/v1/uplink")
	if err != nil {
		return uplink.Status{}, false
	}
	defer resp.Body.Close()
	var body struct {
		Configured bool
		Status     uplink.Status
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&body) != nil || !body.Configured {
		return uplink.Status{}, false
	}
	return body.Status, true
}

// TestCentralSeesEverythingAcrossCrashes is the whole chain under SIGKILL:
// kiosks take tickets (with request ids, retried across halld's death),
// citizens rate on RS-485 pads that live outside halld, and the uplink
// carries every event to a real central mosquitto, where a persistent
// QoS 1 subscriber records what arrives. halld is killed at random moments,
// several times; then one clean run lets the pads and the uplink catch up.
// The accounting at the end: every acknowledged ticket and every pressed
// rating is in the journal exactly once, nothing is there that nobody asked
// for, and the central server saw every journal event, only journal events,
// byte for byte (replays marked "replay": true), and — taking the first copy
// of each id — in seq order within each lane, live and replayed.
func TestCentralSeesEverythingAcrossCrashes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs and kills a real halld and a real mosquitto")
	}
	rounds := 6
	if v, err := strconv.Atoi(os.Getenv("HALLD_CRASH_ROUNDS")); err == nil {
		rounds = v
	}
	const nPads, nKiosks = 3, 4
	start := time.Now()
	url := startCentralMosquitto(t)
	central := newCentralSub(t, url)

	dir := t.TempDir()
	simPads, vp, windows, staff, pads := padLine(t, dir, nPads, "p1", "st")
	addr := freeAddr(t)
	cfgPath := filepath.Join(dir, "devices.yaml")
	cfg := fmt.Sprintf(centralYAML, addr, filepath.Join(dir, "data"), url, windows, staff, vp.Path(), pads)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "halld.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("halld log ends:\n%s", tail(b, 3000))
		}
	}()

	client := &http.Client{Timeout: 5 * time.Second}
	post := func(path, body string) int {
		resp, err := client.Post("http://"+addr+path, "application/json", strings.NewReader(body))
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	ledger := newLedger()
	var pmu sync.Mutex
	pressed := map[uint32]bool{} // visits a citizen rated on a pad

	for round := 0; round < rounds; round++ {
		cmd := startBinary(t, cfgPath, addr, logf)
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		// Requests a kiosk sent without an answer (halld died) are sent
		// again, same request id, first thing in the next round.
		ledger.resend(t, cmd, client, addr)
		for k := 0; k < nKiosks; k++ {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				svc := []string{"s1", "s2"}[k%2]
				for ctx.Err() == nil {
					ledger.take(ctx, client, addr, svc, "kiosk-1")
				}
			}(k)
		}
		for i := 1; i <= nPads; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				p := simPads[i]
				post(fmt.Sprintf("/api/v1/windows/w%d/sign-in", i), fmt.Sprintf(`{"staff":"st%d"}`, i))
				for ctx.Err() == nil {
					ledger.take(ctx, client, addr, "p1", "")
					post(fmt.Sprintf("/api/v1/windows/w%d/call-next", i), `{}`)
					if post(fmt.Sprintf("/api/v1/windows/w%d/finish", i), `{}`) != 200 {
						continue
					}
					if visit, ok := rateWhenAsked(ctx, p, 2*time.Second); ok {
						pmu.Lock()
						pressed[visit] = true
						pmu.Unlock()
					}
				}
			}(i)
		}
		time.Sleep(time.Duration(300+rand.IntN(1200)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		stop()
		wg.Wait()
	}

	// A clean run: answers the requests still open, lets the pads deliver
	// what they hold and the uplink catch up, then stops.
	cmd := startBinary(t, cfgPath, addr, logf)
	ledger.resend(t, cmd, client, addr)
	deadline := time.Now().Add(20 * time.Second)
	for {
		left := 0
		for _, p := range simPads {
			left += len(p.Events())
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("%d pad events never acknowledged", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var caughtUp uplink.Status
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		st, ok := uplinkStatus(addr)
		if ok && st.Connected && st.Lag == 0 && st.Head > 0 {
			caughtUp = st
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("uplink did not catch up within 30 s: %+v", st)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("clean stop after crashes: %v", err)
	}

	j, err := journal.Open(filepath.Join(dir, "data", "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	cursorText, _, err := j.Meta(uplink.CursorKey)
	if err != nil {
		t.Fatal(err)
	}
	cursor, _ := strconv.ParseUint(cursorText, 10, 64)

	// The journal: gap-free, every ticket asked for and asked for once,
	// every acknowledged ticket there as answered, ratings as pressed.
	bySeq := map[uint64]journal.Record{}
	byRequest := map[string]hall.Ticket{}
	ticketIDs := map[string]bool{}
	ratings := map[uint32]int{}
	devEvents := map[string]int{}
	var head uint64
	err = j.Scan(context.Background(), 0, func(r journal.Record) error {
		if r.Seq != head+1 {
			return fmt.Errorf("journal seq gap: %d after %d", r.Seq, head)
		}
		head = r.Seq
		bySeq[r.Seq] = r
		v, err := hall.Decode(r.Type, r.Body)
		if err != nil {
			return err
		}
		switch e := v.(type) {
		case *hall.TicketIssued:
			if ticketIDs[e.Ticket.ID] {
				t.Errorf("ticket %s issued twice", e.Ticket.ID)
			}
			ticketIDs[e.Ticket.ID] = true
			if _, ok := ledger.sent[e.RequestID]; !ok {
				t.Errorf("ticket %s (request id %q) in the journal: nobody asked for it", e.Ticket.ID, e.RequestID)
			}
			if prev, dup := byRequest[e.RequestID]; dup {
				t.Errorf("request %s issued twice: %s and %s", e.RequestID, prev.ID, e.Ticket.ID)
			}
			byRequest[e.RequestID] = e.Ticket
		case *hall.RatingSubmitted:
			ratings[e.Visit]++
		case *hall.DeviceEvent:
			devEvents[fmt.Sprintf("%s/%d", e.Device, e.EvtSeq)]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range ledger.refused {
		t.Errorf("ticket request refused or answered inconsistently: %s", r)
	}
	if len(ledger.acked) != len(ledger.sent)-len(ledger.refused) {
		t.Errorf("%d requests sent, %d acknowledged, %d refused: some never answered", len(ledger.sent), len(ledger.acked), len(ledger.refused))
	}
	for rid, a := range ledger.acked {
		tk, ok := byRequest[rid]
		if !ok || tk.ID != a.ID || tk.Number != a.Number || tk.Service != a.Service {
			t.Errorf("acknowledged ticket %s %s (%s) missing or changed in the journal (%+v)", rid, a.ID, a.Number, tk)
		}
	}
	auditRatings(t, pressed, ratings, devEvents)
	if len(ledger.acked) < rounds || len(pressed) < rounds/2 {
		t.Fatalf("%d tickets acknowledged, %d ratings pressed in %d rounds: the test did not load halld", len(ledger.acked), len(pressed), rounds)
	}

	// The uplink's durable cursor covers at least what it had caught up
	// with while running; everything up to it got a PUBACK from the central
	// broker, so the persistent subscriber gets all of it.
	if cursor < caughtUp.Head || cursor > head {
		t.Fatalf("uplink cursor %d after the clean stop; caught up to %d while running; journal head %d", cursor, caughtUp.Head, head)
	}
	distinct := func(evs []centralEvent) map[string]bool {
		m := map[string]bool{}
		for _, e := range evs {
			m[e.ID] = true
		}
		return m
	}
	var evs []centralEvent
	var bad []string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		evs, bad = central.all()
		seen := distinct(evs)
		missing := 0
		for s := uint64(1); s <= cursor; s++ {
			if !seen[bySeq[s].ID] {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			var first []uint64
			for s := uint64(1); s <= cursor && len(first) < 10; s++ {
				if !seen[bySeq[s].ID] {
					first = append(first, s)
				}
			}
			t.Fatalf("central never saw %d of the %d events the uplink had acknowledged (seq %v…)", missing, cursor, first)
		}
	}
	for _, b := range bad {
		t.Errorf("central: %s", b)
	}
	// Only journal events, each exactly as in the journal, or — replayed
	// from a backlog — as in the journal with "replay": true in front
	// (mqtt.uplink.live_first, on by default). Live events overtake the
	// backlog, so the wire carries two lanes: the first copies of each lane,
	// in arrival order, are in seq order, and every copy after the first is
	// a replay (a later connection's backlog), so it says so: the centre never
	// takes an old copy for a live event.
	firstOf := map[string]bool{}
	firstAt := map[string]int{}
	var lastLive, lastReplay uint64
	dups, replays := 0, 0
	for i, e := range evs {
		r, ok := bySeq[e.Seq]
		if !ok || r.ID != e.ID || r.Type != e.Type {
			t.Errorf("central got event %s seq %d %s, which is not in the journal (journal has %s %s at %d)", e.ID, e.Seq, e.Type, r.ID, r.Type, e.Seq)
			continue
		}
		replay := bytes.HasPrefix(e.Body, []byte(`{"replay":true,`))
		want := r.Body
		if replay {
			want = append([]byte(`{"replay":true,`), r.Body[1:]...)
		}
		if !bytes.Equal(want, e.Body) && !jsonEqual(want, e.Body) {
			t.Errorf("event %s differs from the journal:\ncentral %s\njournal %s", e.ID, e.Body, r.Body)
		}
		if firstOf[e.ID] {
			dups++
			if !replay {
				f := evs[firstAt[e.ID]]
				t.Errorf("event %s seq %d came again without \"replay\": true (message %d, DUP %v; first copy message %d, replay %v)",
					e.ID, e.Seq, e.Idx, e.Dup, f.Idx, bytes.HasPrefix(f.Body, []byte(`{"replay":true,`)))
			}
			continue
		}
		firstOf[e.ID] = true
		firstAt[e.ID] = i
		lane, name := &lastLive, "live"
		if replay {
			lane, name = &lastReplay, "replayed"
			replays++
		}
		if e.Seq <= *lane {
			t.Errorf("%s event seq %d arrived after %s seq %d: each lane must be in seq order", name, e.Seq, name, *lane)
		}
		*lane = e.Seq
	}
	// Every kill leaves a backlog for the next start: with live_first on by
	// default, some first copies must be marked replays.
	if replays == 0 {
		t.Errorf("no event arrived marked \"replay\": true after %d kills: is mqtt.uplink.live_first off?", rounds)
	}
	// Events the stop itself recorded after the last publish (devices going
	// offline) wait in the outbox for the next start: the cursor says so.
	var unsent []string
	for s := cursor + 1; s <= head; s++ {
		if !firstOf[bySeq[s].ID] {
			unsent = append(unsent, bySeq[s].Type)
		}
	}
	sort.Strings(unsent)
	t.Logf("%d kills in %v: %d tickets acknowledged (%d requests retried across a kill), %d ratings pressed; "+
		"journal head %d, uplink cursor %d (caught up to %d while running); central got %d event messages, %d distinct, %d duplicates, %d first copies replayed; "+
		"%d events recorded by the clean stop not yet sent %v",
		rounds, time.Since(start).Round(time.Millisecond), len(ledger.acked), ledger.retried, len(pressed),
		head, cursor, caughtUp.Head, len(evs), len(firstOf), dups, replays, len(unsent), unsent)
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
