package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"halld/drivers/hpad"
	"halld/drivers/idcard/idcardsim"
	"halld/drivers/terminal/termsim"
)

// issued is one ticket a kiosk asked for, joined with the printers later.
type issued struct {
	number, phase string
	t0            time.Time
}

// kioskSim is one kiosk: its page's session socket and its card reader.
type kioskSim struct {
	id      string
	reader  *idcardsim.Reader
	msgs    chan kioskMsg
	queue   chan citizen
	cardOut bool // a card was taken off; the reader has not said so yet
}

type kioskMsg struct {
	typ string
	at  time.Time
}

type citizen struct {
	service string
	card    bool
}

// openSession follows the kiosk's session WebSocket, as its page does.
func (k *kioskSim) openSession(addr string) error {
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/api/v1/kiosks/"+k.id+"/session", http.Header{"Origin": {"http://" + addr}})
	if err != nil {
		return err
	}
	k.msgs = make(chan kioskMsg, 64)
	go func() {
		defer ws.Close()
		for {
			var m struct {
				Type string `json:"type"`
			}
			if err := ws.ReadJSON(&m); err != nil {
				close(k.msgs)
				return
			}
			select {
			case k.msgs <- kioskMsg{m.Type, time.Now()}:
			default:
			}
		}
	}()
	return nil
}

// await waits for one of types on the kiosk's page.
func (k *kioskSim) await(d time.Duration, types ...string) (kioskMsg, bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case m, ok := <-k.msgs:
			if !ok {
				return m, false
			}
			for _, t := range types {
				if m.typ == t {
					return m, true
				}
			}
		case <-timer.C:
			return kioskMsg{}, false
		}
	}
}

func (k *kioskSim) drain() {
	for {
		select {
		case <-k.msgs:
		default:
			return
		}
	}
}

var cards = idcardsim.Samples()

// serve takes the kiosk's citizens one at a time until its queue closes.
func (s *hallSim) serveKiosk(k *kioskSim) {
	for c := range k.queue {
		if !c.card {
			s.issue(k.id, c.service, "/api/v1/tickets", fmt.Sprintf(`{"service":%q,"kiosk":%q}`, c.service, k.id))
			continue
		}
		// The citizen places their ID card; the page greets them, they pick
		// a service, take the number, and take the card back. The next card
		// goes on once the reader has seen this one go (its next find poll);
		// citizens without a card need not wait for that.
		if k.cardOut {
			k.await(3*time.Second, "card_removed")
			k.cardOut = false
			// The removal is seen at a find poll; a citizen who placed the
			// next card right then would always wait a whole poll interval.
			// Citizens come at any moment of the 1 s cycle.
			time.Sleep(time.Duration(rand.Int64N(int64(time.Second))))
		}
		k.drain()
		t0 := time.Now()
		if err := k.reader.Place(cards[rand.IntN(len(cards))]); err != nil {
			s.errs.Add(1)
			continue
		}
		if m, ok := k.await(10*time.Second, "card", "checked_in", "card_error"); ok {
			s.lat.add("card→kiosk", m.at.Sub(t0))
		} else {
			s.errs.Add(1)
		}
		s.issue(k.id, c.service, "/api/v1/kiosks/"+k.id+"/tickets", fmt.Sprintf(`{"service":%q,"request_id":"%s-%d"}`, c.service, k.id, t0.UnixNano()))
		k.reader.Remove()
		k.cardOut = true
	}
}

// issue posts one ticket request and keeps its number and start time.
func (s *hallSim) issue(kiosk, service, path, body string) bool {
	t0 := time.Now()
	num, printed, ok := postTicket(s.client, "http://"+s.addr+path, body)
	if !ok {
		s.errs.Add(1)
		return false
	}
	s.tickets.Add(1)
	if !printed {
		s.unprinted.Add(1)
	}
	s.imu.Lock()
	s.issuedList = append(s.issuedList, issued{num, s.phase(), t0})
	s.imu.Unlock()
	return true
}

// services in the hall, with the share of tickets each gets.
var serviceShare = []float64{18, 14, 12, 12, 10, 9, 8, 7, 6, 4}

func pickService() string {
	x := rand.Float64() * 100
	for i, w := range serviceShare {
		if x < w {
			return fmt.Sprintf("s%d", i)
		}
		x -= w
	}
	return "s0"
}

// arrivals brings citizens to the kiosks for d, at rate(elapsed fraction)
// citizens per second (Poisson), a share cardShare with their ID card.
func (s *hallSim) arrivals(ctx context.Context, d time.Duration, rate func(f float64) float64, cardShare float64) int {
	var wg sync.WaitGroup
	for _, k := range s.kiosks {
		k.queue = make(chan citizen, 4096)
		wg.Add(1)
		go func(k *kioskSim) { defer wg.Done(); s.serveKiosk(k) }(k)
	}
	start := time.Now()
	n := 0
	for {
		el := time.Since(start)
		if el >= d || ctx.Err() != nil {
			break
		}
		r := rate(float64(el) / float64(d))
		time.Sleep(time.Duration(rand.ExpFloat64() / r * float64(time.Second)))
		// The citizen walks to the kiosk with the shortest line.
		best := s.kiosks[rand.IntN(len(s.kiosks))]
		for _, k := range s.kiosks {
			if len(k.queue) < len(best.queue) {
				best = k
			}
		}
		best.queue <- citizen{pickService(), rand.Float64() < cardShare}
		n++
	}
	for _, k := range s.kiosks {
		close(k.queue)
	}
	wg.Wait()
	return n
}

// windowSim is one window's staff and its pad: keys to sign in, call and
// finish; the citizen rates on the pad once per visit.
type windowSim struct {
	id       string
	pad      simPad
	services []string
	ev       chan hallEvent
	signed   bool
	busy     bool // a ticket is called or being served
}

// press presses a key (or rates, key 0 with value) and waits for its event
// on the stream.
func (s *hallSim) press(w *windowSim, key byte, rating byte) (hallEvent, bool) {
	for len(w.ev) > 0 {
		<-w.ev
	}
	s.st.press(w.pad.id)
	if key != 0 {
		w.pad.pad.Key(key)
	} else {
		var reasons byte
		if hpad.ReasonsRequired(rating) {
			reasons = 1
		}
		if err := w.pad.pad.Press(rating, reasons); err != nil {
			return hallEvent{}, false
		}
	}
	select {
	case e := <-w.ev:
		s.presses.Add(1)
		return e, true
	case <-time.After(15 * time.Second):
		s.errs.Add(1)
		return hallEvent{}, false
	}
}

func ratingValue() byte {
	x := rand.Float64()
	switch {
	case x < 0.85:
		return 5
	case x < 0.93:
		return 4
	case x < 0.97:
		return 3
	case x < 0.99:
		return 2
	}
	return 1
}

// runWindow works the window until ctx ends: call when its queue has
// someone, serve for about serviceTime, finish, and the citizen rates.
func (s *hallSim) runWindow(ctx context.Context, w *windowSim, serviceTime, think time.Duration) {
	if !w.signed {
		if e, ok := s.press(w, hpad.KeySignInOut, 0); ok && e.Refused == "" {
			w.signed = true
		}
	}
	if w.busy { // left mid-visit by the last phase
		s.press(w, hpad.KeyFinish, 0)
		w.busy = false
	}
	for ctx.Err() == nil {
		ok, changed := s.st.claim(w.id, w.services)
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
			continue
		}
		e, ok := s.press(w, hpad.KeyCallNext, 0)
		if !ok || e.Refused != "" {
			s.st.unclaim(w.id)
			sleepCtx(ctx, 200*time.Millisecond)
			continue
		}
		w.busy = true
		if rand.Float64() < 0.04 { // nobody came: recall once, then 过号
			sleepCtx(ctx, think)
			s.press(w, hpad.KeyRecall, 0)
			sleepCtx(ctx, think)
			s.press(w, hpad.KeyNoShow, 0)
			w.busy = false
			continue
		}
		time.Sleep(min(time.Duration(rand.ExpFloat64()*float64(serviceTime)), 5*serviceTime))
		if e, ok := s.press(w, hpad.KeyFinish, 0); !ok || e.Refused != "" {
			continue
		}
		w.busy = false
		// The pad shows RATE once halld pushed the screen over the line.
		t0 := time.Now()
		for w.pad.pad.State() != hpad.StateRate && time.Since(t0) < 5*time.Second {
			time.Sleep(2 * time.Millisecond)
		}
		if w.pad.pad.State() != hpad.StateRate {
			s.errs.Add(1)
			continue
		}
		s.lat.add("finish→pad RATE screen", time.Since(t0))
		time.Sleep(think)
		s.press(w, 0, ratingValue())
	}
}

// runWindows runs every window until ctx ends.
func (s *hallSim) runWindows(ctx context.Context, serviceTime, think time.Duration) *sync.WaitGroup {
	var wg sync.WaitGroup
	for _, w := range s.windows {
		wg.Add(1)
		go func(w *windowSim) { defer wg.Done(); s.runWindow(ctx, w, serviceTime, think) }(w)
	}
	return &wg
}

// runTerminalFaults gives the 24-hour terminals the faults of a day: a
// fault event, paper running low and refilled, the maintenance door opened
// and closed, one every `every`.
func (s *hallSim) runTerminalFaults(ctx context.Context, every time.Duration) {
	if len(s.terms) == 0 {
		return
	}
	for sleepCtx(ctx, every) {
		t := s.terms[rand.IntN(len(s.terms))]
		switch rand.IntN(3) {
		case 0:
			t.Fault("E102", "凭条打印机卡纸")
		case 1:
			t.SetPeripheral(termsim.Printer, "paper_low")
			go func() { time.Sleep(3 * every); t.SetPeripheral(termsim.Printer, "ok") }()
		case 2:
			t.SetDoor(true)
			go func() { time.Sleep(every); t.SetDoor(false) }()
		}
		s.faults.Add(1)
	}
}

// sleepCtx sleeps d unless ctx ends first; it tells whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
