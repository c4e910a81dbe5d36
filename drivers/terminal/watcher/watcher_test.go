package watcher_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	paho "github.com/eclipse/paho.mqtt.golang"

	"halld/drivers/terminal/termsim"
	"halld/drivers/terminal/watcher"
)

// TestFleet: 40 terminals on the embedded broker with a 100 ms heartbeat.
func TestFleet(t *testing.T) {
	const n = 40
	const hb = 100 * time.Millisecond
	b := hallBroker(t, n)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = termID(i)
	}
	rec := newRecorder()
	u, p := b.Internal()
	w := startWatcher(t, b.URL(), u, p, ids, hb, rec)
	t0 := time.Now()
	ts := startTerminals(t, b.URL(), ids, termsim.Options{Heartbeat: hb})
	rec.waitFor(t, "all 40 ready", 30*time.Second, func() bool {
		for _, id := range ids {
			if rec.cur[id].state != watcher.Ready {
				return false
			}
		}
		return true
	})
	t.Logf("%d terminals connected and ready in %v", n, time.Since(t0))

	// Silence: offline after 3 missed heartbeats, connection still up.
	silenced := time.Now()
	ts[0].Silence(true)
	c := rec.waitState(t, ids[0], watcher.Offline, 15*time.Second)
	st, _ := w.Status(ids[0])
	sinceLast := c.at.Sub(st.LastSeen)
	t.Logf("silenced terminal offline %v after Silence, %v after its last heartbeat (3×%v = %v): %q",
		c.at.Sub(silenced), sinceLast, hb, 3*hb, c.reason)
	if sinceLast < 3*hb {
		t.Fatalf("offline %v after the last heartbeat, before 3 were missed", sinceLast)
	}
	if !strings.Contains(c.reason, "missed") {
		t.Fatalf("reason %q", c.reason)
	}
	ts[0].Silence(false)
	rec.waitState(t, ids[0], watcher.Ready, 15*time.Second)

	// Kill: offline via the last will at once.
	killed := time.Now()
	ts[1].Kill()
	c = rec.waitState(t, ids[1], watcher.Offline, 15*time.Second)
	t.Logf("killed terminal offline %v after Kill: %q", c.at.Sub(killed), c.reason)
	if !strings.Contains(c.reason, "lost") {
		t.Fatalf("reason %q, want the last will", c.reason)
	}

	// A fault event published twice: OnFault once.
	if err := ts[2].FaultWithID("f-1", "E-PRN-07", "打印机卡纸"); err != nil {
		t.Fatal(err)
	}
	if err := ts[2].FaultWithID("f-1", "E-PRN-07", "打印机卡纸"); err != nil {
		t.Fatal(err)
	}
	id2, err := ts[2].Fault("E-CAM-01", "摄像头无图像")
	if err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "second fault", 15*time.Second, func() bool {
		for _, f := range rec.faults {
			if f.id == id2 {
				return true
			}
		}
		return false
	})
	if k := rec.faultCount("f-1"); k != 1 {
		t.Fatalf("OnFault for f-1 %d times, want 1", k)
	}
	rec.mu.Lock()
	f := rec.faults[0]
	rec.mu.Unlock()
	if f.terminal != ids[2] || f.code != "E-PRN-07" || f.message != "打印机卡纸" {
		t.Fatalf("fault %+v", f)
	}
	// A fault's id, code and message are bounded: a huge id is refused, a
	// long code or message cut on a character boundary.
	if err := ts[2].FaultWithID(strings.Repeat("i", watcher.MaxFaultID+1), "E-BIG", "x"); err != nil {
		t.Fatal(err)
	}
	id3, err := ts[2].Fault(strings.Repeat("C", 1000), strings.Repeat("卡", 1000))
	if err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "long fault", 15*time.Second, func() bool {
		for _, f := range rec.faults {
			if f.id == id3 {
				return true
			}
		}
		return false
	})
	rec.mu.Lock()
	for _, f := range rec.faults {
		if f.code == "E-BIG" {
			t.Errorf("a fault with a %d-byte id reached OnFault", len(f.id))
		}
		if f.id == id3 && (len(f.code) > watcher.MaxFaultCode+3 || len(f.message) > watcher.MaxFaultMessage+3 ||
			!utf8.ValidString(f.message) || !strings.HasPrefix(f.message, "卡卡")) {
			t.Errorf("long fault passed as %d-byte code, %d-byte message", len(f.code), len(f.message))
		}
	}
	rec.mu.Unlock()

	// Door open: degraded; closed: ready.
	ts[3].SetDoor(true)
	c = rec.waitState(t, ids[3], watcher.Degraded, 15*time.Second)
	if c.reason != "door open" {
		t.Fatalf("reason %q", c.reason)
	}
	ts[3].SetDoor(false)
	rec.waitState(t, ids[3], watcher.Ready, 15*time.Second)

	// Peripherals: card reader fault → fault; paper low → degraded.
	ts[4].SetPeripheral(termsim.CardReader, "fault")
	c = rec.waitState(t, ids[4], watcher.Fault, 15*time.Second)
	if c.reason != "card_reader fault" {
		t.Fatalf("reason %q", c.reason)
	}
	ts[5].SetPeripheral(termsim.Printer, "paper_low")
	c = rec.waitState(t, ids[5], watcher.Degraded, 15*time.Second)
	if c.reason != "printer paper_low" {
		t.Fatalf("reason %q", c.reason)
	}

	// Clean stop: offline, disconnected.
	ts[6].Stop()
	c = rec.waitState(t, ids[6], watcher.Offline, 15*time.Second)
	if !strings.Contains(c.reason, "disconnected") {
		t.Fatalf("reason %q", c.reason)
	}

	// The others: count flaps (a loaded machine can delay a 100 ms heartbeat
	// past 300 ms; logged, not failed).
	rec.mu.Lock()
	flaps := 0
	for _, ch := range rec.changes {
		if ch.terminal >= ids[7] && ch.state != watcher.Ready {
			flaps++
		}
	}
	rec.mu.Unlock()
	t.Logf("untouched terminals 7..39: %d non-ready reports", flaps)
}

func TestCommands(t *testing.T) {
	b := hallBroker(t, 3)
	ids := []string{termID(0), termID(1), termID(2)}
	rec := newRecorder()
	u, p := b.Internal()
	w := startWatcher(t, b.URL(), u, p, ids, time.Second, rec)
	ts := startTerminals(t, b.URL(), ids, termsim.Options{Heartbeat: time.Second, RebootDelay: 100 * time.Millisecond})
	ctx := context.Background()

	t0 := time.Now()
	res, err := w.Command(ctx, ids[0], "reboot", nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reboot result %s in %v", res, time.Since(t0))
	var r struct{ Rebooted bool }
	if json.Unmarshal(res, &r) != nil || !r.Rebooted {
		t.Fatalf("reboot result %s", res)
	}
	if _, err := w.Command(ctx, ids[0], "lock_screen", map[string]any{"locked": true}, 10*time.Second); err != nil || !ts[0].Locked() {
		t.Fatalf("lock_screen: %v locked=%v", err, ts[0].Locked())
	}
	if _, err := w.Command(ctx, ids[0], "show_notice", map[string]any{"text": "系统维护中，请稍候"}, 10*time.Second); err != nil || ts[0].Notice() != "系统维护中，请稍候" {
		t.Fatalf("show_notice: %v %q", err, ts[0].Notice())
	}
	_, err = w.Command(ctx, ids[0], "show_notice", nil, 10*time.Second)
	if !errors.Is(err, watcher.ErrFailed) {
		t.Fatalf("show_notice without text: %v", err)
	}

	// Unknown command: an error result.
	_, err = w.Command(ctx, ids[1], "self_destruct", nil, 10*time.Second)
	if !errors.Is(err, watcher.ErrFailed) || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("unknown command: %v", err)
	}
	t.Logf("unknown command: %v", err)

	// A slow terminal: timeout.
	ts[2].SetCommandDelay(2 * time.Second)
	t0 = time.Now()
	_, err = w.Command(ctx, ids[2], "reboot", nil, 500*time.Millisecond)
	el := time.Since(t0)
	if !errors.Is(err, watcher.ErrTimeout) {
		t.Fatalf("slow terminal: %v", err)
	}
	t.Logf("timeout after %v: %v", el, err)
	if el < 500*time.Millisecond || el > 5*time.Second {
		t.Fatalf("timed out after %v", el)
	}
	// Unknown terminal.
	if _, err := w.Command(ctx, "term-99", "reboot", nil, time.Second); !errors.Is(err, watcher.ErrUnknownTerminal) {
		t.Fatalf("unknown terminal: %v", err)
	}
}

// TestACLIsolation: a terminal cannot publish under another terminal's tree,
// so it cannot make the watcher think another terminal is lost.
func TestACLIsolation(t *testing.T) {
	b := hallBroker(t, 2)
	ids := []string{termID(0), termID(1)}
	rec := newRecorder()
	u, p := b.Internal()
	startWatcher(t, b.URL(), u, p, ids, time.Second, rec)
	startTerminals(t, b.URL(), ids[1:], termsim.Options{Heartbeat: time.Second})
	rec.waitState(t, ids[1], watcher.Ready, 15*time.Second)

	o := paho.NewClientOptions().AddBroker(b.URL()).SetClientID(ids[0]).SetUsername(ids[0]).
		SetPassword(password(ids[0])).SetAutoReconnect(false)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	root1 := "hall/" + hall + "/" + ids[1]
	c.Publish(root1+"/$state", 0, true, "lost").WaitTimeout(10 * time.Second)
	c.Publish(root1+"/dev/"+ids[1]+"/event", 0, false, `{"id":"spoof","type":"fault","data":{"code":"X","message":"spoof"}}`).WaitTimeout(10 * time.Second)
	// Its own tree works (a fault of its own is seen).
	c.Publish("hall/"+hall+"/"+ids[0]+"/dev/"+ids[0]+"/event", 1, false, `{"id":"own","type":"fault","data":{"code":"Y","message":"own"}}`).WaitTimeout(10 * time.Second)
	rec.waitFor(t, "own fault", 15*time.Second, func() bool { return len(rec.faults) > 0 })
	time.Sleep(200 * time.Millisecond)
	if rec.faultCount("spoof") != 0 {
		t.Fatal("spoofed fault delivered")
	}
	rec.mu.Lock()
	cur := rec.cur[ids[1]]
	rec.mu.Unlock()
	if cur.state != watcher.Ready {
		t.Fatalf("term-01 %s (%s) after term-00's spoofed $state", cur.state, cur.reason)
	}
}
