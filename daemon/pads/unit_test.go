package pads

import (
	"context"
	"strings"
	"testing"

	"halld/daemon/hall"
	"halld/daemon/internal/testhall"
	"halld/drivers/hpad"
	"halld/drivers/hpad/padbus"
)

const padHall = `
hall:
  id: test-hall
  name: 测试大厅
  timezone: Asia/Shanghai
  always_open: true
  opening_hours:
    - {days: [mon, tue, wed, thu, fri, sat, sun], open: "00:00", close: "23:59"}
areas:
  - {id: front, name: 前台}
services:
  - {id: biz, prefix: A, name: 企业开办, area: front}
windows:
  - {id: w1, number: 1, name: 综合窗口, services: [{service: biz}]}
staff:
  - {id: s1, name: 张敏, windows: [w1]}
devices:
  - {id: line-1, kind: bus, simulate: true}
  - {id: pad-1, kind: eval_pad, bus: line-1, address: 1, window: w1}
`

type padRig struct {
	h *testhall.Hall
	s *Service
}

func newPadRig(t *testing.T) *padRig {
	t.Helper()
	h := testhall.New(t, padHall)
	return &padRig{h: h, s: New(h.Config, h.Engine, h.Journal, h.Log)}
}

func (r *padRig) screen(t *testing.T) (d struct {
	State  hpad.State
	Ticket string
	Staff  string
}) {
	t.Helper()
	v, err := r.h.Engine.Query(context.Background(), func(st *hall.State) any { return Screen(r.h.Config, st, "w1") })
	if err != nil {
		t.Fatal(err)
	}
	disp := v.(padbus.Display)
	d.State, d.Ticket, d.Staff = disp.State.State, disp.Ticket.TicketNo, disp.Staff.Name
	return d
}

// types counts the journal's events by type.
func (r *padRig) types(t *testing.T) map[string]int {
	t.Helper()
	recs, err := r.h.Journal.Read(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, rec := range recs {
		out[rec.Type]++
	}
	return out
}

// The pad's keys run its window and its press rates the visit, and the
// screen follows: OFF → signed in, IDLE → SERVING the called ticket → RATE →
// back to IDLE once rated. A redelivered press (same evt_seq, the ACK was
// lost) rates once.
func TestPadKeysRunTheWindowAndThePressRatesOnce(t *testing.T) {
	r := newPadRig(t)
	ctx := context.Background()
	if lines := r.s.Pads("line-1"); len(lines) != 1 || lines[0].ID != "pad-1" || lines[0].Addr != 1 {
		t.Fatalf("pads on line-1: %+v", lines)
	}
	if d := r.screen(t); d.State != hpad.StateOff || d.Staff != "" {
		t.Fatalf("nobody signed in: %+v, want OFF", d)
	}
	key := func(seq uint16, k byte) {
		t.Helper()
		if err := r.s.Handle("pad-1", hpad.Event{Type: hpad.EventKey, EvtSeq: seq, Value: k}); err != nil {
			t.Fatalf("key %d: %v", k, err)
		}
	}
	key(1, hpad.KeySignInOut)
	if d := r.screen(t); d.Staff != "张敏" || d.State != hpad.StateIdle {
		t.Fatalf("after the sign-in key: %+v, want IDLE with the staff card", d)
	}
	res, err := r.h.Engine.Submit(ctx, hall.IssueTicket{Service: "biz"})
	if err != nil {
		t.Fatal(err)
	}
	key(2, hpad.KeyCallNext)
	if d := r.screen(t); d.State != hpad.StateServing || d.Ticket != res.Ticket.Number {
		t.Fatalf("after call-next: %+v, want SERVING %s", d, res.Ticket.Number)
	}
	key(3, hpad.KeyFinish)
	if d := r.screen(t); d.State != hpad.StateRate || d.Ticket != res.Ticket.Number {
		t.Fatalf("after finish: %+v, want RATE", d)
	}
	visit, _ := r.h.Engine.Query(ctx, func(st *hall.State) any { return st.Windows["w1"].Awaiting })
	press := hpad.Event{Type: hpad.EventRating, EvtSeq: 4, Visit: visit.(uint32), Value: 5}
	for range 3 { // the first press and two redeliveries
		if err := r.s.Handle("pad-1", press); err != nil {
			t.Fatal(err)
		}
	}
	if d := r.screen(t); d.State != hpad.StateIdle {
		t.Fatalf("after the rating: %+v, want IDLE", d)
	}
	got := r.types(t)
	if got[hall.TypeRatingSubmitted] != 1 || got[hall.TypeTicketCalled] != 1 || got[hall.TypeStaffSignedIn] != 1 {
		t.Fatalf("journal %v: want one sign-in, one call, one rating", got)
	}
	// Each key's events name the pad, as the window page's name who clicked.
	recs, err := r.h.Journal.Read(ctx, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		switch rec.Type {
		case hall.TypeStaffSignedIn, hall.TypeTicketCalled, hall.TypeServiceStarted, hall.TypeServiceFinished:
			if !strings.Contains(string(rec.Body), `"by":"pad/pad-1"`) {
				t.Errorf("%s from a pad key does not name the pad: %s", rec.Type, rec.Body)
			}
		}
	}
}

// A networked pad's events are deduplicated on their id; a bad rating
// value is recorded as the pad's event but rates nothing; the 差评 reasons
// come from the bitmap in the hall's configured order.
func TestNetworkedPadEventsAndReasons(t *testing.T) {
	r := newPadRig(t)
	ctx := context.Background()
	for _, c := range []any{hall.SignIn{Window: "w1", Staff: "s1"}, hall.IssueTicket{Service: "biz"}, hall.CallNext{Window: "w1"}, hall.Finish{Window: "w1"}} {
		if _, err := r.h.Engine.Submit(ctx, c); err != nil {
			t.Fatalf("%T: %v", c, err)
		}
	}
	visit, _ := r.h.Engine.Query(ctx, func(st *hall.State) any { return st.Windows["w1"].Awaiting })
	v := visit.(uint32)
	if err := r.s.HandleID("pad-1", "e-0", hpad.Event{Type: hpad.EventRating, Visit: v, Value: 9}); err != nil {
		t.Fatal(err)
	}
	if got := r.types(t)[hall.TypeRatingSubmitted]; got != 0 {
		t.Fatal("a rating value outside 1–5 rated the visit")
	}
	bad := hpad.Event{Type: hpad.EventRating, Visit: v, Value: 1, Reasons: 0b101}
	for range 2 {
		if err := r.s.HandleID("pad-1", "e-1", bad); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := r.h.Journal.Read(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var rating string
	n := 0
	for _, rec := range recs {
		if rec.Type == hall.TypeRatingSubmitted {
			rating, n = string(rec.Body), n+1
		}
	}
	reasons := r.h.Config.Reasons()
	if n != 1 || !strings.Contains(rating, "非常不满意") || !strings.Contains(rating, reasons[0]) || !strings.Contains(rating, reasons[2]) ||
		strings.Contains(rating, reasons[1]) {
		t.Fatalf("%d ratings; the rating %s should be 非常不满意 with reasons %q and %q only", n, rating, reasons[0], reasons[2])
	}
}
