// Package mqttpads carries evaluation pads on Ethernet or Android (no RS-485)
// over the hall broker: the same events and screens as HPAD-1, as JSON.
//
//	pad → hall/{hall}/{pad}/dev/{pad}/event       {"id":"<uuid>","type":"rating|key|timeout|fault","data":{"visit":N,"value":N,"reasons":N}}
//	pad → hall/{hall}/{pad}/$state                ready | lost (its will) | disconnected
//	halld → hall/{hall}/{pad}/dev/{pad}/cmd/screen {"id":"<uuid>","args":{"state":"IDLE|SERVING|RATE|PAUSED|THANKS|OFF","timeout_s":N,
//	                                                 "staff":{…},"ticket":{"ticket_no","business","visit"},"prompt":"…"}}
//
// An event is acknowledged (PUBACK) only after the handler returns, and the
// handler returns once the event is durable; a resent event is recognised by
// its id and never acts twice. The screen is sent whole whenever it changes
// and whenever the pad comes (back) online.
package mqttpads

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/google/uuid"

	"halld/drivers/hpad"
	"halld/drivers/hpad/padbus"
)

// Handler takes one pad event (as HPAD-1's); nil once it is durable.
type Handler func(pad, eventID string, ev hpad.Event) error

// Options configure the transport.
type Options struct {
	URL, Hall, Username, Password string
	Pads                          []string
	Handle                        Handler
	OnState                       func(pad, state string) // ready | offline
	Log                           *slog.Logger
}

// Transport is the MQTT side of the hall's networked pads.
type Transport struct {
	o    Options
	c    paho.Client
	mu   sync.Mutex
	want map[string]padbus.Display
	sent map[string]padbus.Display
	pads map[string]bool
}

// MaxEventID bounds a pad event's id: longer ones are dropped here, as the
// hall's rules would refuse them (hall.MaxID; a daemon test keeps the two equal).
const MaxEventID = 128

// New connects to the hall broker and subscribes; Close ends it.
func New(ctx context.Context, o Options) (*Transport, error) {
	t := &Transport{o: o, want: map[string]padbus.Display{}, sent: map[string]padbus.Display{}, pads: map[string]bool{}}
	for _, p := range o.Pads {
		t.pads[p] = true
	}
	opts := paho.NewClientOptions().AddBroker(o.URL).SetClientID("halld-pads-" + o.Hall).
		SetUsername(o.Username).SetPassword(o.Password).SetCleanSession(false).
		SetOrderMatters(true). // the handler returns before the PUBACK: ack means durable
		SetAutoReconnect(true).SetMaxReconnectInterval(5 * time.Second).
		SetOnConnectHandler(func(c paho.Client) { t.subscribe(c) })
	t.c = paho.NewClient(opts)
	tok := t.c.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		// Abandon the attempt, or paho finishes it and the orphan (same
		// client id, persistent session) fights the next transport for
		// the session. Disconnect(0) does not wait.
		t.c.Disconnect(0)
		return nil, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("mqtt pads: %w", err)
	}
	return t, nil
}

func (t *Transport) subscribe(c paho.Client) {
	root := "hall/" + t.o.Hall + "/"
	c.Subscribe(root+"+/dev/+/event", 1, t.onEvent)
	c.Subscribe(root+"+/$state", 1, t.onState)
}

// Close disconnects.
func (t *Transport) Close() { t.c.Disconnect(250) }

type eventMsg struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		Visit   uint32 `json:"visit"`
		Value   int    `json:"value"`
		Reasons int    `json:"reasons"`
	} `json:"data"`
}

var eventTypes = map[string]hpad.EventType{"rating": hpad.EventRating, "key": hpad.EventKey, "timeout": hpad.EventTimeout, "fault": hpad.EventFault}

func (t *Transport) onEvent(_ paho.Client, m paho.Message) {
	pad := padOf(t.o.Hall, m.Topic())
	if !t.pads[pad] || !strings.HasSuffix(m.Topic(), "/dev/"+pad+"/event") {
		return // not a pad we run, or another device's tree
	}
	var e eventMsg
	if err := json.Unmarshal(m.Payload(), &e); err != nil || e.ID == "" || len(e.ID) > MaxEventID {
		t.o.Log.Warn("pad event refused: malformed", "pad", pad)
		return
	}
	typ, ok := eventTypes[e.Type]
	if !ok || e.Data.Value < 0 || e.Data.Value > 255 || e.Data.Reasons < 0 || e.Data.Reasons > 255 {
		t.o.Log.Warn("pad event refused: bad type or value", "pad", pad, "type", e.Type)
		return
	}
	ev := hpad.Event{Type: typ, Visit: e.Data.Visit, Value: byte(e.Data.Value), Reasons: byte(e.Data.Reasons)}
	// Retried until durable: returning acknowledges the message.
	for t.o.Handle(pad, e.ID, ev) != nil {
		time.Sleep(time.Second)
	}
	if typ == hpad.EventRating || typ == hpad.EventTimeout {
		// The pad moved on by itself (THANKS, then IDLE).
		t.mu.Lock()
		s := t.sent[pad]
		s.State = hpad.SetState{State: hpad.StateIdle}
		t.sent[pad] = s
		t.mu.Unlock()
	}
}

func (t *Transport) onState(_ paho.Client, m paho.Message) {
	pad := padOf(t.o.Hall, m.Topic())
	if !t.pads[pad] {
		return
	}
	state := "offline"
	if string(m.Payload()) == "ready" {
		state = "ready"
		t.mu.Lock()
		delete(t.sent, pad) // (back) online: send it its whole screen
		t.mu.Unlock()
		t.push(pad)
	}
	if t.o.OnState != nil {
		t.o.OnState(pad, state)
	}
}

// SetDisplay sets what a pad should show; it is sent when it differs.
func (t *Transport) SetDisplay(pad string, d padbus.Display) {
	t.mu.Lock()
	t.want[pad] = d
	t.mu.Unlock()
	t.push(pad)
}

var stateNames = []string{"IDLE", "SERVING", "RATE", "PAUSED", "THANKS", "OFF"}

func (t *Transport) push(pad string) {
	t.mu.Lock()
	want, ok := t.want[pad]
	sent, was := t.sent[pad]
	if !ok || (was && sent == want) {
		t.mu.Unlock()
		return
	}
	t.sent[pad] = want
	t.mu.Unlock()
	state := "IDLE"
	if int(want.State.State) < len(stateNames) {
		state = stateNames[want.State.State]
	}
	args := map[string]any{"state": state, "timeout_s": want.State.TimeoutS, "prompt": want.Prompt.Text,
		"staff":  map[string]any{"id": want.Staff.StaffID, "name": want.Staff.Name, "title": want.Staff.Title, "window": want.Staff.Window},
		"ticket": map[string]any{"ticket_no": want.Ticket.TicketNo, "business": want.Ticket.Business, "visit": want.Ticket.Visit}}
	b, _ := json.Marshal(map[string]any{"id": uuid.NewString(), "args": args})
	t.c.Publish("hall/"+t.o.Hall+"/"+pad+"/dev/"+pad+"/cmd/screen", 1, false, b)
}

func padOf(hall, topic string) string {
	rest := strings.TrimPrefix(topic, "hall/"+hall+"/")
	if i := strings.IndexByte(rest, '/'); i > 0 {
		return rest[:i]
	}
	return ""
}
