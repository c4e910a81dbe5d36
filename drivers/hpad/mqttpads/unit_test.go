package mqttpads_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"halld/drivers/hpad"
	"halld/drivers/hpad/mqttpads"
	"halld/drivers/hpad/padbus"
	"halld/internal/testmqtt"
)

const hallID = "test-hall"

type got struct {
	pad, id string
	ev      hpad.Event
}

// rig is the transport on a real mosquitto, and a pad: a plain MQTT client
// that publishes events and $state and records the screens halld sends it.
type rig struct {
	tr      *mqttpads.Transport
	pad     paho.Client
	mu      sync.Mutex
	events  []got
	calls   int
	failN   int // the first failN calls of the handler fail (not durable yet)
	states  []string
	screens []map[string]any
}

func newRig(t *testing.T, failN int) *rig {
	t.Helper()
	b := testmqtt.Start(t)
	r := &rig{failN: failN}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr, err := mqttpads.New(ctx, mqttpads.Options{URL: b.URL, Hall: hallID, Pads: []string{"pad-1", "pad-2"},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Handle: func(pad, id string, ev hpad.Event) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.calls++
			if r.calls <= r.failN {
				return errors.New("journal busy")
			}
			r.events = append(r.events, got{pad, id, ev})
			return nil
		},
		OnState: func(pad, state string) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.states = append(r.states, pad+":"+state)
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Close)
	r.tr = tr
	r.pad = paho.NewClient(paho.NewClientOptions().AddBroker(b.URL).SetClientID("pad-1").SetCleanSession(true))
	if tok := r.pad.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("pad connect: %v", tok.Error())
	}
	t.Cleanup(func() { r.pad.Disconnect(100) })
	tok := r.pad.Subscribe("hall/"+hallID+"/pad-1/dev/pad-1/cmd/screen", 1, func(_ paho.Client, m paho.Message) {
		var s struct {
			ID   string         `json:"id"`
			Args map[string]any `json:"args"`
		}
		if json.Unmarshal(m.Payload(), &s) == nil && s.ID != "" {
			r.mu.Lock()
			r.screens = append(r.screens, s.Args)
			r.mu.Unlock()
		}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("pad subscribe: %v", tok.Error())
	}
	// The transport subscribes from its connect handler: the pad says
	// ready until halld hears it, then both subscriptions are in place.
	deadline := time.Now().Add(10 * time.Second)
	for len(r.snapshot().states) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the transport never heard the pad's $state")
		}
		r.publish(t, "hall/"+hallID+"/pad-1/$state", "ready")
		time.Sleep(50 * time.Millisecond)
	}
	return r
}

type view struct {
	events  []got
	calls   int
	states  []string
	screens []map[string]any
}

func (r *rig) snapshot() view {
	r.mu.Lock()
	defer r.mu.Unlock()
	return view{append([]got(nil), r.events...), r.calls, append([]string(nil), r.states...), append([]map[string]any(nil), r.screens...)}
}

func (r *rig) publish(t *testing.T, topic, payload string) {
	t.Helper()
	if tok := r.pad.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const eventTopic = "hall/" + hallID + "/pad-1/dev/pad-1/event"

// Only well-formed events of the pads halld runs reach the handler, each
// with its id and HPAD-1 fields.
func TestEventsOfOurPadsOnly(t *testing.T) {
	r := newRig(t, 0)
	for _, bad := range []struct{ topic, payload string }{
		{eventTopic, `not json`},
		{eventTopic, `{"type":"rating","data":{"visit":7,"value":5}}`},                                             // no id
		{eventTopic, `{"id":"e-x","type":"wave","data":{"visit":7,"value":5}}`},                                    // unknown type
		{eventTopic, `{"id":"e-x","type":"rating","data":{"visit":7,"value":300}}`},                                // value past a byte
		{eventTopic, `{"id":"e-x","type":"rating","data":{"visit":7,"value":5,"reasons":-1}}`},                     // negative bitmap
		{"hall/" + hallID + "/pad-9/dev/pad-9/event", `{"id":"e-9","type":"rating","data":{"visit":7,"value":5}}`}, // not ours
		{"hall/" + hallID + "/pad-1/dev/other/event", `{"id":"e-o","type":"rating","data":{"visit":7,"value":5}}`}, // another device's tree
		{"hall/other-hall/pad-1/dev/pad-1/event", `{"id":"e-h","type":"rating","data":{"visit":7,"value":5}}`},     // another hall
	} {
		r.publish(t, bad.topic, bad.payload)
	}
	r.publish(t, eventTopic, `{"id":"e-1","type":"rating","data":{"visit":7,"value":2,"reasons":5}}`)
	r.publish(t, eventTopic, `{"id":"e-2","type":"key","data":{"visit":7,"value":1}}`)
	waitFor(t, "two events", func() bool { return len(r.snapshot().events) >= 2 })
	time.Sleep(200 * time.Millisecond) // anything refused would have arrived by now
	v := r.snapshot()
	want := []got{
		{"pad-1", "e-1", hpad.Event{Type: hpad.EventRating, Visit: 7, Value: 2, Reasons: 5}},
		{"pad-1", "e-2", hpad.Event{Type: hpad.EventKey, Visit: 7, Value: hpad.KeyCallNext}},
	}
	if len(v.events) != len(want) {
		t.Fatalf("handled %+v, want %+v", v.events, want)
	}
	for i := range want {
		if v.events[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, v.events[i], want[i])
		}
	}
}

// An event the handler could not make durable is retried until it is: it
// is neither dropped nor handed on twice once it succeeds.
func TestEventIsRetriedUntilDurable(t *testing.T) {
	r := newRig(t, 1)
	r.publish(t, eventTopic, `{"id":"e-r","type":"rating","data":{"visit":3,"value":5}}`)
	waitFor(t, "the retried event", func() bool { return len(r.snapshot().events) == 1 })
	v := r.snapshot()
	if v.calls != 2 || v.events[0].id != "e-r" {
		t.Fatalf("%d handler calls, events %+v; want one failure then the event", v.calls, v.events)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(r.snapshot().events); n != 1 {
		t.Fatalf("the event was handed on %d times", n)
	}
}

// The screen goes to the pad whole when it changes and again when the pad
// comes back online; an unchanged screen is not resent; a rating or timeout
// means the pad went back to IDLE by itself, so RATE is sent again.
func TestScreensFollowChangesAndReconnects(t *testing.T) {
	r := newRig(t, 0)
	rate := padbus.Display{Staff: hpad.SetStaff{StaffID: "s1", Name: "张敏", Window: "1号窗口"},
		Ticket: hpad.SetTicket{TicketNo: "A001", Business: "企业开办", Visit: 9},
		State:  hpad.SetState{State: hpad.StateRate, TimeoutS: 30}}
	r.tr.SetDisplay("pad-1", rate)
	waitFor(t, "the first screen", func() bool { return len(r.snapshot().screens) == 1 })
	s := r.snapshot().screens[0]
	ticket, _ := s["ticket"].(map[string]any)
	staff, _ := s["staff"].(map[string]any)
	if s["state"] != "RATE" || s["timeout_s"] != 30.0 || ticket["ticket_no"] != "A001" || ticket["visit"] != 9.0 || staff["name"] != "张敏" {
		t.Fatalf("screen %v", s)
	}
	r.tr.SetDisplay("pad-1", rate) // unchanged: not resent
	time.Sleep(200 * time.Millisecond)
	if n := len(r.snapshot().screens); n != 1 {
		t.Fatalf("an unchanged screen was sent again (%d screens)", n)
	}
	// The pad rates: it shows THANKS then IDLE by itself, so halld's RATE
	// (still wanted, e.g. for the next visit) must go again.
	r.publish(t, eventTopic, `{"id":"e-3","type":"rating","data":{"visit":9,"value":5}}`)
	waitFor(t, "the rating", func() bool { return len(r.snapshot().events) == 1 })
	r.tr.SetDisplay("pad-1", rate)
	waitFor(t, "RATE again after the rating", func() bool { return len(r.snapshot().screens) == 2 })

	// The pad drops off (its will) and comes back: offline, then ready with
	// its whole screen again.
	r.publish(t, "hall/"+hallID+"/pad-1/$state", "lost")
	waitFor(t, "offline", func() bool { v := r.snapshot(); return v.states[len(v.states)-1] == "pad-1:offline" })
	r.publish(t, "hall/"+hallID+"/pad-1/$state", "ready")
	waitFor(t, "the screen on reconnect", func() bool { return len(r.snapshot().screens) == 3 })
	if s := r.snapshot().screens[2]; s["state"] != "RATE" {
		t.Fatalf("reconnect screen %v", s)
	}
	// Another pad's screen does not go to this one.
	r.tr.SetDisplay("pad-2", padbus.Display{State: hpad.SetState{State: hpad.StatePaused}})
	time.Sleep(200 * time.Millisecond)
	if n := len(r.snapshot().screens); n != 3 {
		t.Fatalf("pad-1 received pad-2's screen (%d screens)", n)
	}
}

// A New given up on (its ctx ended before the broker answered) leaves no
// client behind: an orphan with the transport's fixed client id and
// persistent session would take the session from the next transport, and it
// from the orphan, for as long as halld runs.
func TestNewGivenUpLeavesNoClient(t *testing.T) {
	b := testmqtt.StartLate(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	tr, err := mqttpads.New(ctx, mqttpads.Options{URL: b.URL, Hall: hallID, Pads: []string{"pad-1"},
		Handle: func(string, string, hpad.Event) error { return nil }, Log: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, context.DeadlineExceeded) {
		if tr != nil {
			tr.Close()
		}
		t.Fatalf("New with a broker that does not answer = %v, want the deadline", err)
	}
	if err := b.Answer(); err != nil {
		t.Fatal(err)
	}
}
