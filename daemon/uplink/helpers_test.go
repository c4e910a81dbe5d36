package uplink

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"halld/daemon/journal"
	"halld/internal/syncbuf"
	"halld/internal/testmqtt"
)

const (
	testHall = "hn-test"
	testNode = "halld-1"
	testRoot = "hall/" + testHall + "/" + testNode
)

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lockedBuffer collects a child's output.
type lockedBuffer = syncbuf.Buffer

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// broker is the central broker of the uplink's tests: a real mosquitto with
// persistent sessions and unbounded queues, which a test stops for an outage
// (stop, start) and starts again.
type broker struct{ *testmqtt.Broker }

// startBroker starts it; extra is appended to the config (more listeners).
func startBroker(t testing.TB, extra string) *broker {
	t.Helper()
	return &broker{testmqtt.StartWith(t, testmqtt.Options{Persistent: true, UnboundedQueues: true, Extra: extra})}
}

func (b *broker) url() string { return b.URL }
func (b *broker) start()      { b.Restart() }
func (b *broker) stop()       { b.Stop() }

// openJournal opens a fresh journal in a temp dir.
func openJournal(t testing.TB) *journal.Journal {
	t.Helper()
	return openJournalAt(t, filepath.Join(t.TempDir(), "journal.db"))
}

func openJournalAt(t testing.TB, path string) *journal.Journal {
	t.Helper()
	j, err := journal.Open(path, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func eventID(seq uint64) string { return fmt.Sprintf("evt-%08d", seq) }

func record(seq uint64) journal.Record {
	ts := time.Now()
	body, _ := json.Marshal(map[string]any{
		"id": eventID(seq), "seq": seq, "ts": ts.Format("2006-01-02T15:04:05.000Z07:00"),
		"type": "ticket.issued", "hall": testHall, "ticket": map[string]any{"number": fmt.Sprintf("A%03d", seq%1000)},
	})
	return journal.Record{Seq: seq, ID: eventID(seq), Type: "ticket.issued", TS: ts, Body: body}
}

// appendN appends n events after the head, batch at a time.
func appendN(t testing.TB, j *journal.Journal, n, batch int) {
	t.Helper()
	for n > 0 {
		k := min(n, batch)
		if err := appendBatch(j, k); err != nil {
			t.Fatal(err)
		}
		n -= k
	}
}

func appendBatch(j *journal.Journal, k int) error {
	h := j.Head()
	recs := make([]journal.Record, k)
	for i := range recs {
		recs[i] = record(h + 1 + uint64(i))
	}
	return j.Append(context.Background(), recs)
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

func testOptions(t testing.TB, url, clientID string) Options {
	return Options{
		URL: url, ClientID: clientID, Hall: testHall, Node: testNode,
		MaxRate: -1,
		Info:    func() any { return map[string]any{"fw": "test", "devices": []string{"printer-1"}} },
		Log:     testLogger(t),
	}
}

// running is an Uplink running in a goroutine.
type running struct {
	*Uplink
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func startUplink(t testing.TB, j *journal.Journal, o Options) *running {
	t.Helper()
	u, err := New(j, o)
	if err != nil {
		t.Fatal(err)
	}
	u.maxBackoff = time.Second // tests restart brokers; do not wait 30 s
	return runUplink(t, u)
}

func runUplink(t testing.TB, u *Uplink) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Uplink: u, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- u.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t testing.TB) {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return within 20 s of cancel")
		}
	})
}

func (r *running) waitConnected(t testing.TB, timeout time.Duration) {
	t.Helper()
	waitUntil(t, timeout, "uplink connected", func() bool { return r.Status().Connected })
}

// waitUntil polls cond (there is no event to wait on for some conditions).
func waitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sub is the central server's side: a paho client with its own persistent
// session, QoS 1, that dedupes events on id and checks their order.
type sub struct {
	t *testing.T
	c mqtt.Client

	mu                   sync.Mutex
	seen                 map[string]bool
	last                 uint64 // last seq of the contiguous, deduplicated stream
	got                  map[uint64]bool
	lastLive, lastReplay uint64 // last first copy of each lane
	replays              int    // first copies marked "replay"
	recvAt               map[uint64]time.Time
	total                int // event messages, duplicates included
	dups                 int
	bad                  []string // order violations, unexpected ids
	states               []string
	info                 []byte
	status               map[string][]byte   // dev → last status
	results              map[string][][]byte // command topic → results
	changed              chan struct{}
}

func newSub(t *testing.T, url, clientID string) *sub {
	t.Helper()
	s := &sub{t: t, seen: map[string]bool{}, got: map[uint64]bool{}, recvAt: map[uint64]time.Time{},
		status: map[string][]byte{}, results: map[string][][]byte{}, changed: make(chan struct{}, 1)}
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(clientID).
		SetProtocolVersion(4).
		SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(250 * time.Millisecond).
		SetConnectRetry(true).SetConnectRetryInterval(250 * time.Millisecond).
		SetDefaultPublishHandler(s.handle)
	s.c = mqtt.NewClient(o)
	if tok := s.c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	if tok := s.c.Subscribe(testRoot+"/#", 1, nil); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { s.c.Disconnect(100) })
	return s
}

func (s *sub) handle(_ mqtt.Client, m mqtt.Message) {
	now := time.Now()
	rest := strings.TrimPrefix(m.Topic(), testRoot+"/")
	s.mu.Lock()
	defer func() {
		s.mu.Unlock()
		select {
		case s.changed <- struct{}{}:
		default:
		}
	}()
	switch {
	case rest == "events":
		s.total++
		var ev struct {
			ID     string `json:"id"`
			Seq    uint64 `json:"seq"`
			Replay bool   `json:"replay"`
		}
		if err := json.Unmarshal(m.Payload(), &ev); err != nil {
			s.bad = append(s.bad, fmt.Sprintf("bad event %q: %v", m.Payload(), err))
			return
		}
		if s.seen[ev.ID] {
			s.dups++
			return
		}
		s.seen[ev.ID] = true
		if ev.ID != eventID(ev.Seq) {
			s.bad = append(s.bad, fmt.Sprintf("event id %s with seq %d", ev.ID, ev.Seq))
		}
		// Live events overtake a backlog being replayed: each lane's first
		// copies are in seq order, and together they leave no gap.
		lane := &s.lastLive
		if ev.Replay {
			lane = &s.lastReplay
			s.replays++
		}
		if ev.Seq <= *lane {
			s.bad = append(s.bad, fmt.Sprintf("seq %d after %d (replay %v)", ev.Seq, *lane, ev.Replay))
		}
		*lane = ev.Seq
		s.got[ev.Seq] = true
		for s.got[s.last+1] {
			s.last++
		}
		s.recvAt[ev.Seq] = now
	case rest == "$state":
		s.states = append(s.states, string(m.Payload()))
	case rest == "$info":
		s.info = append([]byte(nil), m.Payload()...)
	case strings.HasSuffix(rest, "/result"):
		s.results[strings.TrimSuffix(rest, "/result")] = append(s.results[strings.TrimSuffix(rest, "/result")], append([]byte(nil), m.Payload()...))
	case strings.HasPrefix(rest, "dev/") && strings.HasSuffix(rest, "/status"):
		s.status[strings.TrimSuffix(strings.TrimPrefix(rest, "dev/"), "/status")] = append([]byte(nil), m.Payload()...)
	}
}

// wait waits for cond (under the lock), woken by each message.
func (s *sub) wait(timeout time.Duration, what string, cond func(*sub) bool) {
	s.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok := cond(s)
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-s.changed:
		case <-deadline.C:
			s.mu.Lock()
			defer s.mu.Unlock()
			s.t.Fatalf("timed out after %v waiting for %s (events: last contiguous %d, received %d, dups %d, states %v, violations %d %v)",
				timeout, what, s.last, s.total, s.dups, s.states, len(s.bad), firstN(s.bad, 5))
		}
	}
}

func (s *sub) waitEvents(n uint64, timeout time.Duration) {
	s.t.Helper()
	s.wait(timeout, fmt.Sprintf("events 1..%d", n), func(s *sub) bool { return s.last >= n })
}

func (s *sub) lastEvent() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// check fails on any order violation and on events beyond want.
func (s *sub) check(want uint64) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bad) > 0 {
		s.t.Errorf("%d order violations: %v", len(s.bad), firstN(s.bad, 10))
	}
	if s.last != want || uint64(len(s.seen)) != want || uint64(len(s.got)) != want {
		s.t.Errorf("subscriber has events 1..%d (%d distinct), want 1..%d", s.last, len(s.seen), want)
	}
}

func firstN(s []string, n int) []string { return s[:min(n, len(s))] }

// retained connects a clean session and returns the retained payload of
// topic ("" when none within a short wait).
func retained(t *testing.T, url, topic string) string {
	t.Helper()
	got := make(chan string, 1)
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID("retained-" + strconv.FormatInt(time.Now().UnixNano(), 36)).
		SetCleanSession(true).SetProtocolVersion(4)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	tok := c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case got <- string(m.Payload()):
		default:
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	select {
	case s := <-got:
		return s
	case <-time.After(2 * time.Second):
		return ""
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, k int) bool { return s[i] < s[k] })
	return s[min(len(s)-1, int(p*float64(len(s))))]
}
