package web

// The phone page's live view: GET /api/v1/phone/{token}/live is a WebSocket
// that sends the ticket's phone view ({"type":"view","data":…}, the same
// JSON as GET /api/v1/phone/{token}) at once and again whenever it changes;
// {"type":"gone"} when the ticket is no longer one of today's.
//
// Why not the hall's public stream (/api/v1/stream): a phone wants one
// ticket's place in the calling order, and that order is the rules'
// (hall.Queue: priorities, appointments coming due, weighted waits, AB
// windows), which the public events do not carry and a phone cannot
// recompute; it would have to take the public snapshot (every ticket of the
// day: hundreds of kB by the afternoon) and every event of the hall to learn
// a number. So the phones get a narrower projection: their own view, worked
// out once per change for all of them (one engine query, the positions
// cached across phones in aheadOf), and sent only to the phones whose view
// changed. BENCHMARKS.md "Phone live view" has the cost of both.
//
// One goroutine (phoneHub.run) follows the journal while any phone is
// connected; it recomputes at most every phoneLiveGap after a change, and
// every aheadMaxAge without one (the estimate and the order move with time).

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"halld/daemon/hall"
)

const (
	phoneLiveGap      = 250 * time.Millisecond // least time between two recomputations
	phoneLiveMax      = 4096                   // live phones at once
	phoneLivePerToken = 4                      // sockets of one ticket at once (the slip scanned on a few phones)
	phoneLivePing     = 25 * time.Second       // keeps guest Wi-Fi NATs and proxies from dropping an idle socket
)

// phoneUpgrader: phones send nothing but control frames, and an idle phone
// holds no write buffer (the pool lends one for each write).
var phoneUpgrader = websocket.Upgrader{ReadBufferSize: 256, WriteBufferSize: 2048, WriteBufferPool: &sync.Pool{},
	HandshakeTimeout: 5 * time.Second}

type phoneHub struct {
	mu       sync.Mutex
	subs     map[*phoneSub]struct{}
	byTicket map[string]int
	last     map[string][]byte // ticket → the last view sent to its phones (without "now")
	running  bool
	wake     chan struct{}
}

type phoneSub struct {
	ticket string
	ch     chan []byte // the newest frame; an older unsent one is replaced
	gone   chan struct{}
}

func (ps *phoneState) live() *phoneHub {
	ps.liveOnce.Do(func() {
		ps.hub = &phoneHub{subs: map[*phoneSub]struct{}{}, byTicket: map[string]int{}, last: map[string][]byte{},
			wake: make(chan struct{}, 1)}
	})
	return ps.hub
}

// phoneLive serves the live view's WebSocket.
func (s *Server) phoneLive(w http.ResponseWriter, r *http.Request) {
	ps, id, ok := s.resolve(w, r, false)
	if !ok {
		return
	}
	pt, err := s.phoneQuery(r, ps, id)
	if err != nil {
		writeRuleError(w, err)
		return
	}
	if pt == nil {
		writeError(w, http.StatusNotFound, "unknown_ticket", "链接无效或已过期（号票仅当天有效），请扫描号票上的二维码")
		return
	}
	hub := ps.live()
	sub := &phoneSub{ticket: id, ch: make(chan []byte, 1), gone: make(chan struct{})}
	if code, msg := hub.add(sub); code != "" {
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusServiceUnavailable, code, msg)
		return
	}
	up := phoneUpgrader
	up.CheckOrigin = s.origins.originAllowed
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		hub.remove(sub)
		return // the upgrader has answered
	}
	first, key := s.phoneFrame(pt)
	hub.seed(id, key) // the hub's next pass need not send it again
	h := s.hub
	h.wg.Add(1)
	s.startPhoneHub(ps, hub)
	ctx, cancel := context.WithCancel(h.ctx)
	go func() {
		defer cancel()
		conn.SetReadLimit(512)
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	go func() {
		defer h.wg.Done()
		defer conn.Close()
		defer cancel()
		defer hub.remove(sub)
		send := func(msg []byte) bool {
			conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			return conn.WriteMessage(websocket.TextMessage, msg) == nil
		}
		if !send(first) {
			return
		}
		ping := time.NewTicker(phoneLivePing)
		defer ping.Stop()
		for {
			select {
			case <-ctx.Done():
				conn.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseGoingAway, "halld stopping"), time.Now().Add(time.Second))
				return
			case msg := <-sub.ch:
				if !send(msg) {
					return
				}
			case <-sub.gone:
				send([]byte(`{"type":"gone"}`))
				conn.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseNormalClosure, "ticket of another day"), time.Now().Add(time.Second))
				return
			case <-ping.C:
				if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
					return
				}
			}
		}
	}()
}

// phoneFrame is the view frame of pt, and the view without its clock for
// telling whether it changed.
func (s *Server) phoneFrame(pt *phoneTicket) (frame, key []byte) {
	v := s.makePhoneView(pt)
	body, _ := json.Marshal(v)
	v.Now = hall.Stamp{}
	key, _ = json.Marshal(v)
	frame = make([]byte, 0, len(body)+32)
	frame = append(frame, `{"type":"view","data":`...)
	frame = append(append(frame, body...), '}')
	return frame, key
}

func (h *phoneHub) add(sub *phoneSub) (code, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) >= phoneLiveMax {
		return "too_many_phones", "在线查询人数过多，页面将改为定时刷新"
	}
	if h.byTicket[sub.ticket] >= phoneLivePerToken {
		return "too_many_sockets", "这张号票已在多台手机上打开，页面将改为定时刷新"
	}
	h.subs[sub] = struct{}{}
	h.byTicket[sub.ticket]++
	select {
	case h.wake <- struct{}{}:
	default:
	}
	return "", ""
}

func (h *phoneHub) remove(sub *phoneSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[sub]; !ok {
		return
	}
	delete(h.subs, sub)
	if h.byTicket[sub.ticket]--; h.byTicket[sub.ticket] <= 0 {
		delete(h.byTicket, sub.ticket)
		delete(h.last, sub.ticket)
	}
}

// seed records key as the view a new phone of ticket id has, when the hub
// holds none for it yet.
func (h *phoneHub) seed(id string, key []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.last[id]; !ok {
		h.last[id] = key
	}
}

// phoneMetrics registers halld_phone_live_clients.
func (s *Server) phoneMetrics(reg *prometheus.Registry) {
	if reg == nil {
		return
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "halld_phone_live_clients",
		Help: "Citizens' phone pages connected to their live view (/api/v1/phone/{token}/live)."}, func() float64 {
		s.phoneMu.Lock()
		ps := s.phoneSt
		s.phoneMu.Unlock()
		if ps == nil {
			return 0
		}
		return float64(ps.live().count())
	}))
}

// count is how many phones are connected (tests, metrics).
func (h *phoneHub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// startPhoneHub starts the hub's goroutine unless it runs.
func (s *Server) startPhoneHub(ps *phoneState, hub *phoneHub) {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	if hub.running {
		return
	}
	hub.running = true
	s.hub.wg.Add(1)
	go func() {
		defer s.hub.wg.Done()
		s.runPhoneHub(s.hub.ctx, ps, hub)
	}()
}

// runPhoneHub recomputes the connected phones' views after each change of
// the journal (at most every phoneLiveGap) and every aheadMaxAge, and hands
// each phone its view when it changed. It stops when no phone is left.
func (s *Server) runPhoneHub(ctx context.Context, ps *phoneState, hub *phoneHub) {
	j := s.d.Journal
	tick := time.NewTicker(aheadMaxAge)
	defer tick.Stop()
	for {
		changed := j.Changed()
		hub.mu.Lock()
		if len(hub.subs) == 0 {
			hub.running = false
			hub.mu.Unlock()
			return
		}
		ids := make([]string, 0, len(hub.byTicket))
		for id := range hub.byTicket {
			ids = append(ids, id)
		}
		hub.mu.Unlock()
		s.refreshIndexCtx(ctx, ps) // new tickets are known before their phones ask
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		var seen uint64 // the last event the state had folded
		v, err := s.d.Engine.Query(qctx, func(st *hall.State) any {
			now := s.d.Engine.Now()
			seen = st.Seq
			out := make([]*phoneTicket, len(ids))
			for i, id := range ids {
				out[i] = s.phoneTicketOf(st, ps, id, now)
			}
			return out
		})
		cancel()
		if err == nil {
			hub.deliver(s, ids, v.([]*phoneTicket))
		}
		// The journal tells of an event once it is on disk, which can be
		// before the engine's state has folded it: look again.
		if err != nil || j.Head() > seen {
			changed = closedChan
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-hub.wake:
		case <-tick.C:
		}
		select { // coalesce a burst of events into one recomputation
		case <-ctx.Done():
			return
		case <-time.After(phoneLiveGap):
		}
	}
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// deliver hands each phone of ids its view where it differs from the last.
func (h *phoneHub) deliver(s *Server, ids []string, pts []*phoneTicket) {
	frames := make(map[string][]byte, len(ids))
	var gone []string
	h.mu.Lock()
	last := make(map[string][]byte, len(ids))
	for _, id := range ids {
		last[id] = h.last[id]
	}
	h.mu.Unlock()
	for i, id := range ids {
		if pts[i] == nil {
			gone = append(gone, id)
			continue
		}
		frame, key := s.phoneFrame(pts[i])
		if !bytes.Equal(key, last[id]) {
			frames[id] = frame
			last[id] = key
		}
	}
	if len(frames) == 0 && len(gone) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, key := range last {
		if _, ok := h.byTicket[id]; ok && frames[id] != nil {
			h.last[id] = key
		}
	}
	isGone := map[string]bool{}
	for _, id := range gone {
		isGone[id] = true
	}
	for sub := range h.subs {
		if isGone[sub.ticket] {
			select {
			case <-sub.gone:
			default:
				close(sub.gone)
			}
			continue
		}
		f := frames[sub.ticket]
		if f == nil {
			continue
		}
		select { // replace a frame the phone has not taken yet
		case <-sub.ch:
		default:
		}
		sub.ch <- f
	}
}
