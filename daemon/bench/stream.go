package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// hallEvent is the part of a journal event the hall mode looks at.
type hallEvent struct {
	ID      string `json:"id"`
	Seq     uint64 `json:"seq"`
	TS      string `json:"ts"`
	Type    string `json:"type"`
	Device  string `json:"device"`
	Kind    string `json:"kind"`
	State   string `json:"state"`
	Refused string `json:"refused"`
	Service string `json:"service"`
	Window  string `json:"window"`
	Ticket  struct {
		Service string `json:"service"`
	} `json:"ticket"`
}

// stream follows halld's /api/v1/stream as a page does, resuming with
// ?since= if halld drops it. It times pad presses (press → WebSocket), keeps
// every device's last state for the unplug storm, counts the waiting
// tickets per service for the windows, and wakes the pad waiting for its
// event.
type stream struct {
	addr string

	mu      sync.Mutex
	seq     uint64
	pending map[string]time.Time      // pad → press time, one press at a time per pad
	padCh   map[string]chan hallEvent // pad → its events (key, rating)
	pressAt map[string]pressRec       // event id → press (for press → central)
	states  map[string]devState
	waiting map[string]int    // service → tickets waiting and not claimed by a window
	claims  map[string]string // window → service of the ticket it is calling
	changed chan struct{}     // closed on every waiting/state change
	lat     *latencies
	types   map[string]int
	drops   int
}

type pressRec struct {
	t0    time.Time
	phase string
}

type devState struct {
	state string
	at    time.Time
}

func newStream(addr string, lat *latencies) *stream {
	return &stream{addr: addr, pending: map[string]time.Time{}, padCh: map[string]chan hallEvent{},
		pressAt: map[string]pressRec{}, states: map[string]devState{}, waiting: map[string]int{}, claims: map[string]string{},
		changed: make(chan struct{}), lat: lat, types: map[string]int{}}
}

// run reads until stop is closed.
func (s *stream) run(stop <-chan struct{}) error {
	for {
		s.mu.Lock()
		q := ""
		if s.seq > 0 {
			q = fmt.Sprintf("?since=%d", s.seq)
		}
		s.mu.Unlock()
		ws, _, err := websocket.DefaultDialer.Dial("ws://"+s.addr+"/api/v1/stream"+q, http.Header{"Origin": {"http://" + s.addr}})
		if err != nil {
			return err
		}
		go func() { <-stop; ws.Close() }()
		_ = s.read(ws) // whatever ended the read, it counts as a drop below
		select {
		case <-stop:
			return nil
		default:
		}
		s.mu.Lock()
		s.drops++
		s.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *stream) read(ws *websocket.Conn) error {
	defer ws.Close()
	for {
		var m struct {
			Type  string          `json:"type"`
			Seq   uint64          `json:"seq"`
			Event json.RawMessage `json:"event"`
		}
		if err := ws.ReadJSON(&m); err != nil {
			return err
		}
		now := time.Now()
		if m.Type != "event" {
			s.mu.Lock()
			s.seq = m.Seq // a (fresh) snapshot
			s.mu.Unlock()
			continue
		}
		var e hallEvent
		if json.Unmarshal(m.Event, &e) != nil {
			continue
		}
		s.handle(e, now)
	}
}

func (s *stream) handle(e hallEvent, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.Seq <= s.seq {
		return // replayed after a resume
	}
	s.seq = e.Seq
	s.types[e.Type]++
	wake := false
	switch e.Type {
	case "device.event":
		if e.Kind != "key" && e.Kind != "rating" {
			break
		}
		if t0, ok := s.pending[e.Device]; ok {
			delete(s.pending, e.Device)
			s.lat.add("press→ws", now.Sub(t0))
			s.pressAt[e.ID] = pressRec{t0, s.lat.current()}
		}
		if ch, ok := s.padCh[e.Device]; ok {
			select {
			case ch <- e:
			default:
			}
		}
	case "device.state":
		s.states[e.Device] = devState{e.State, now}
		wake = true
	case "ticket.issued":
		s.waiting[e.Ticket.Service]++
		wake = true
	case "ticket.called":
		// The window claimed one of its services; the rules called the
		// ticket its queue order gives, maybe of another of its services.
		if c, ok := s.claims[e.Window]; ok {
			s.waiting[c]++
			delete(s.claims, e.Window)
		}
		s.waiting[e.Service]--
		wake = true
	}
	if wake {
		close(s.changed)
		s.changed = make(chan struct{})
	}
}

// press marks a press on pad as pending, for timing.
func (s *stream) press(pad string) {
	s.mu.Lock()
	s.pending[pad] = time.Now()
	s.mu.Unlock()
}

func (s *stream) padEvents(pad string) chan hallEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan hallEvent, 16)
	s.padCh[pad] = ch
	return ch
}

// claim takes a waiting ticket of one of services for window, as staff
// see the queue on their window page: only windows with something to call
// press call-next. It gives the channel closed at the next change.
func (s *stream) claim(window string, services []string) (bool, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sv := range services {
		if s.waiting[sv] > 0 {
			s.waiting[sv]--
			s.claims[window] = sv
			return true, s.changed
		}
	}
	return false, s.changed
}

// unclaim gives a claim back when call-next was refused.
func (s *stream) unclaim(window string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.claims[window]; ok {
		s.waiting[c]++
		delete(s.claims, window)
	}
}

// state is a device's last state on the stream and when it arrived.
func (s *stream) state(dev string) devState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.states[dev]
}

func (s *stream) presses() map[string]pressRec {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]pressRec, len(s.pressAt))
	for k, v := range s.pressAt {
		out[k] = v
	}
	return out
}

func (s *stream) typeCount(t string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.types[t]
}

// backlog is how many tickets wait or are being called.
func (s *stream) backlog() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.claims)
	for _, w := range s.waiting {
		n += w
	}
	return n
}

// clearPending forgets presses no event answered (a new phase starts).
func (s *stream) clearPending() {
	s.mu.Lock()
	s.pending = map[string]time.Time{}
	s.mu.Unlock()
}
