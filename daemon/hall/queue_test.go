package hall_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"halld/daemon/config"
	"halld/daemon/hall"
)

const queueHall = `
hall:
  id: q-hall
  name: 测试大厅
  timezone: Asia/Shanghai
  opening_hours: [{days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}]
  pause_limit: 30m
  rating_timeout: 2m
areas: [{id: front, name: 前台}]
services:
  - {id: biz, prefix: A, name: 企业开办, area: front}
  - {id: tax, prefix: B, name: 税务, area: front}
  - {id: est, prefix: C, name: 不动产, area: front}
windows:
  - {id: w1, number: 1, services: [{service: biz}, {service: tax}], backup: w2}
  - {id: w2, number: 2, services: [{service: tax}], backup: w1}
  - {id: w3, number: 3, services: [{service: est}]}
staff:
  - {id: s1, name: 张敏, windows: [w1]}
  - {id: s2, name: 李强, windows: [w2]}
  - {id: s3, name: 王芳, windows: [w3]}
devices:
  - {id: k1, kind: kiosk, area: front}
`

type hallT struct {
	t   *testing.T
	cfg *config.Config
	st  *hall.State
	now time.Time
}

func newHall(t *testing.T) *hallT {
	cfg, err := config.Parse("q.yaml", []byte(queueHall))
	if err != nil {
		t.Fatal(err)
	}
	return &hallT{t: t, cfg: cfg, st: hall.NewState(), now: at("2026-11-25 09:00")}
}

// do runs a command like the engine (decide, then apply) and returns its events.
func (h *hallT) do(cmd any) ([]hall.Emit, error) {
	h.t.Helper()
	emits, err := hall.Decide(h.cfg, h.st, cmd, h.now)
	for _, e := range emits {
		hall.Apply(h.st, h.st.Seq+1, e.Type, h.now, e.Data)
	}
	return emits, err
}

func (h *hallT) must(cmd any) []hall.Emit {
	h.t.Helper()
	e, err := h.do(cmd)
	if err != nil {
		h.t.Fatalf("%T%+v: %v", cmd, cmd, err)
	}
	return e
}

func (h *hallT) refused(cmd any, code string) {
	h.t.Helper()
	_, err := h.do(cmd)
	var re *hall.RuleError
	if !errors.As(err, &re) || re.Code != code || re.Message == "" {
		h.t.Fatalf("%T%+v: got %v, want refusal %s", cmd, cmd, err, code)
	}
}

func (h *hallT) issue(svc, prio string) string {
	h.t.Helper()
	e := h.must(hall.IssueTicket{Service: svc, Priority: prio})
	h.now = h.now.Add(time.Second) // tickets come one after another
	return issued(e).Number
}

// issued is the ticket an issue made (on a new day, after the last day's outcomes).
func issued(e []hall.Emit) *hall.Ticket {
	for _, x := range e {
		if ti, ok := x.Data.(*hall.TicketIssued); ok {
			return &ti.Ticket
		}
	}
	return nil
}

func (h *hallT) callNext(w string) string {
	h.t.Helper()
	e := h.must(hall.CallNext{Window: w})
	return e[0].Data.(*hall.TicketCalled).Number
}

// serve calls the next ticket at w and finishes it, returning its number.
func (h *hallT) serve(w string) string {
	h.t.Helper()
	n := h.callNext(w)
	h.must(hall.Finish{Window: w})
	return n
}

func TestCallOrder(t *testing.T) {
	cases := []struct {
		name   string
		issue  [][2]string // service, priority
		window string
		want   []string
	}{
		{"first come first served within a class", [][2]string{{"tax", ""}, {"tax", ""}, {"tax", ""}}, "w2",
			[]string{"B001", "B002", "B003"}},
		{"equal weights across services: oldest first", [][2]string{{"biz", ""}, {"tax", ""}, {"biz", ""}}, "w1",
			[]string{"A001", "B001", "A002"}},
		{"green channel before earlier normal tickets", [][2]string{{"tax", ""}, {"tax", ""}, {"tax", "green"}}, "w2",
			[]string{"B003", "B001", "B002"}},
		{"appointment (no slot) before green", [][2]string{{"tax", "green"}, {"tax", "appointment"}, {"tax", ""}}, "w2",
			[]string{"B002", "B001", "B003"}},
		{"a window calls only its services", [][2]string{{"est", ""}, {"tax", ""}}, "w2", []string{"B001"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHall(t)
			h.must(hall.SignIn{Window: "w1", Staff: "s1"})
			h.must(hall.SignIn{Window: "w2", Staff: "s2"})
			for _, i := range c.issue {
				h.issue(i[0], i[1])
			}
			var got []string
			for range c.want {
				got = append(got, h.serve(c.window))
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Fatalf("called %v, want %v", got, c.want)
			}
			h.refused(hall.CallNext{Window: c.window}, "queue_empty")
		})
	}
}

func TestWeightsFavourAService(t *testing.T) {
	h := newHall(t)
	h.cfg.Windows[0].Services[0].Weight = 3 // w1: biz ×3, tax ×1
	h.must(hall.SignIn{Window: "w1", Staff: "s1"})
	h.issue("tax", "") // waits longest
	h.now = h.now.Add(10 * time.Second)
	h.issue("biz", "")
	h.now = h.now.Add(10 * time.Second)
	// tax waited 21 s ×1, biz 10 s ×3 = 30: biz goes first.
	if n := h.serve("w1"); n != "A001" {
		t.Fatalf("weighted pick: %s", n)
	}
}

func TestAppointmentSlot(t *testing.T) {
	h := newHall(t)
	h.must(hall.SignIn{Window: "w2", Staff: "s2"})
	h.issue("tax", "")
	slot := hall.Stamp(h.now.Add(time.Hour))
	e := h.must(hall.IssueTicket{Service: "tax", Priority: hall.PriorityAppointment})
	id := e[0].Data.(*hall.TicketIssued).Ticket.ID
	h.st.Tickets[id].SlotStart = &slot // before its slot it waits as normal
	if n := h.serve("w2"); n != "B001" {
		t.Fatalf("appointment before its slot jumped the queue: %s", n)
	}
	h.issue("tax", "")
	h.now = h.now.Add(2 * time.Hour) // in its slot now
	if n := h.serve("w2"); n != "B002" {
		t.Fatalf("appointment in its slot not first: %s", n)
	}
}

func TestABBackupCoversPausedClosedAndSignedOut(t *testing.T) {
	h := newHall(t)
	h.must(hall.SignIn{Window: "w2", Staff: "s2"})
	h.issue("biz", "") // only w1 serves biz; w1 is closed (nobody signed in)
	q := hall.Queue(h.cfg, h.st, "w2", h.now)
	if len(q) != 1 || q[0].Covering != "w1" {
		t.Fatalf("w2 does not cover closed w1: %+v", q)
	}
	e := h.must(hall.CallNext{Window: "w2"})
	if c := e[0].Data.(*hall.TicketCalled); c.Number != "A001" || c.Covering != "w1" || c.Voice != "请A001号到2号窗口办理" {
		t.Fatalf("covering call %+v", c)
	}
	h.must(hall.Finish{Window: "w2"})

	h.must(hall.SignIn{Window: "w1", Staff: "s1"})
	h.issue("biz", "")
	if len(hall.Queue(h.cfg, h.st, "w2", h.now)) != 0 {
		t.Fatal("w2 still covers an open w1")
	}
	h.must(hall.Pause{Window: "w1", Reason: "临时外出", Minutes: 10})
	if len(hall.Queue(h.cfg, h.st, "w2", h.now)) != 1 {
		t.Fatal("w2 does not cover paused w1")
	}
	h.must(hall.Resume{Window: "w1"})
	h.must(hall.SignOut{Window: "w1"})
	if len(hall.Queue(h.cfg, h.st, "w2", h.now)) != 1 {
		t.Fatal("w2 does not cover w1 after sign-out")
	}
}

func TestTransferKeepsPlaceAndHistory(t *testing.T) {
	h := newHall(t)
	h.must(hall.SignIn{Window: "w1", Staff: "s1"})
	h.must(hall.SignIn{Window: "w3", Staff: "s3"})
	h.issue("biz", "") // A001, the oldest
	h.issue("est", "") // C001
	h.issue("est", "") // C002
	h.callNext("w1")
	h.must(hall.Start{Window: "w1"})
	h.must(hall.Transfer{Window: "w1", Service: "est"})
	// A001 keeps its issue time: it is ahead of C001 and C002 at w3.
	if n := h.callNext("w3"); n != "A001" {
		t.Fatalf("transferred ticket went to the back: %s called first", n)
	}
	tk := h.st.Tickets["T20261125-A001"]
	if tk.Service != "est" || len(tk.Transfers) != 1 || tk.Transfers[0].FromService != "biz" || tk.Transfers[0].FromWindow != "w1" {
		t.Fatalf("history %+v", tk)
	}
	// Transfer to a window pins the ticket there.
	h.must(hall.Transfer{Window: "w3", ToWindow: "w1", Service: "biz"})
	if q := hall.Queue(h.cfg, h.st, "w3", h.now); len(q) != 2 {
		t.Fatalf("w3 still sees a ticket pinned to w1: %d", len(q))
	}
	if n := h.callNext("w1"); n != "A001" {
		t.Fatalf("pinned ticket: %s", n)
	}
	h.refused(hall.Transfer{Window: "w1"}, "bad_transfer")
}

func TestWindowActionsRefusedOutOfTurn(t *testing.T) {
	h := newHall(t)
	h.refused(hall.CallNext{Window: "w1"}, "not_signed_in")
	h.refused(hall.CallNext{Window: "nope"}, "unknown_window")
	h.refused(hall.SignIn{Window: "w1", Staff: "nobody"}, "unknown_staff")
	h.must(hall.SignIn{Window: "w1", Staff: "s1"})
	h.refused(hall.CallNext{Window: "w1"}, "queue_empty")
	h.refused(hall.Recall{Window: "w1"}, "no_current_ticket")
	h.refused(hall.Pause{Window: "w1"}, "reason_required")
	h.issue("biz", "")
	h.issue("biz", "")
	h.callNext("w1")
	h.refused(hall.CallNext{Window: "w1"}, "window_busy")
	h.refused(hall.Pause{Window: "w1", Reason: "会议"}, "window_busy")
	h.refused(hall.SignOut{Window: "w1"}, "window_busy")
	e := h.must(hall.Recall{Window: "w1"})
	if c := e[0].Data.(*hall.TicketRecalled); e[0].Type != hall.TypeTicketRecalled || !c.Recall || c.Recalls != 1 || c.Voice != "请A001号到1号窗口办理" {
		t.Fatalf("recall %+v", c)
	}
	h.must(hall.NoShow{Window: "w1"})
	if h.st.Tickets["T20261125-A001"].Status != hall.StatusNoShow {
		t.Fatal("no-show not recorded")
	}
	h.callNext("w1")
	h.must(hall.Hold{Window: "w1"})
	// A held or no-show ticket can be called by choice, out of order.
	e = h.must(hall.CallTicket{Window: "w1", Ticket: "T20261125-A001"})
	if c := e[0].Data.(*hall.TicketCalled); !c.OutOfOrder || c.Number != "A001" {
		t.Fatalf("call by choice %+v", c)
	}
	// Signing in elsewhere signs out here first (one person, one window).
	h.must(hall.Finish{Window: "w1"})
	// The visit's 请评价 ends with it: 未评价 (sign_out).
	e = h.must(hall.SignIn{Window: "w2", Staff: "s1"})
	if len(e) != 3 || e[0].Type != hall.TypeRatingTimeout || e[0].Data.(*hall.RatingTimeout).Reason != hall.RatingEndSignOut ||
		e[1].Type != hall.TypeStaffSignedOut || h.st.Windows["w1"].Status != hall.WindowClosed {
		t.Fatalf("move between windows: %+v", e)
	}
}

func TestRatingsOnePerVisit(t *testing.T) {
	h := newHall(t)
	h.must(hall.SignIn{Window: "w2", Staff: "s2"})
	h.issue("tax", "")
	e := h.must(hall.CallNext{Window: "w2"})
	visit := e[0].Data.(*hall.TicketCalled).Visit
	h.must(hall.NoShow{Window: "w2"}) // a visit that ended unserved takes no rating
	h.refused(hall.Rate{Visit: visit, Level: "满意", Channel: "pad"}, "not_finished")
	e = h.must(hall.CallTicket{Window: "w2", Ticket: "T20261125-B001"})
	visit = e[0].Data.(*hall.TicketCalled).Visit
	fin := h.must(hall.Finish{Window: "w2"})
	if len(fin) != 2 || fin[0].Type != hall.TypeServiceStarted || !fin[0].Data.(*hall.ServiceStarted).Implicit {
		t.Fatalf("finish of a called ticket starts it implicitly: %+v", fin)
	}
	h.refused(hall.Rate{Visit: visit, Level: "很好"}, "bad_level")
	h.refused(hall.Rate{Visit: 999}, "bad_level")
	h.refused(hall.Rate{Visit: 999, Level: "满意"}, "unknown_visit")
	h.refused(hall.Rate{Visit: visit, Level: "不满意"}, "reasons_required")
	e = h.must(hall.Rate{Visit: visit, Level: "不满意", Reasons: []string{"等候时间长"}, Channel: "pad", Device: "pad-2"})
	r := e[0].Data.(*hall.RatingSubmitted)
	if r.Staff != "s2" || r.Window != "w2" || r.Service != "tax" || !r.Bad || len(e) != 3 || e[1].Type != hall.TypeAlertRaised || e[2].Type != hall.TypeFollowUpOpened {
		t.Fatalf("bad rating %+v / %+v", r, e)
	}
	// A second rating — a device retry or a second press — changes nothing.
	_, err := h.do(hall.Rate{Visit: visit, Level: "非常满意", Channel: "pad"})
	var dup *hall.Duplicate
	if !errors.As(err, &dup) {
		t.Fatalf("second rating: %v", err)
	}
	if h.st.Tickets["T20261125-B001"].Rating != "不满意" || len(h.st.Alerts) != 1 {
		t.Fatal("first rating did not stand")
	}
	if e, _ := h.do(hall.RateTimeout{Visit: visit}); len(e) != 0 {
		t.Fatal("timeout after a rating")
	}
	// A transferred ticket's next service is a new visit with its own rating.
	h.issue("tax", "")
	e = h.must(hall.CallNext{Window: "w2"})
	v2 := e[0].Data.(*hall.TicketCalled).Visit
	if v2 == visit {
		t.Fatal("visit numbers reused")
	}
	h.must(hall.Finish{Window: "w2"})
	h.now = h.now.Add(2 * time.Minute)
	e = h.must(hall.Tick{})
	if len(e) != 1 || e[0].Type != hall.TypeRatingTimeout {
		t.Fatalf("rating timeout at Tick: %+v", e)
	}
	if e := h.must(hall.Tick{}); len(e) != 0 {
		t.Fatal("timeout recorded twice")
	}
}

func TestPauseOverdueOnce(t *testing.T) {
	h := newHall(t)
	h.must(hall.SignIn{Window: "w1", Staff: "s1"})
	e := h.must(hall.Pause{Window: "w1", Reason: "临时外出", Minutes: 15})
	p := e[0].Data.(*hall.WindowPause)
	if p.Voice != "1号窗口暂停服务" || p.Until == nil || !time.Time(*p.Until).Equal(h.now.Add(15*time.Minute)) {
		t.Fatalf("pause %+v", p)
	}
	h.refused(hall.Pause{Window: "w1", Reason: "会议"}, "already_paused")
	h.now = h.now.Add(29 * time.Minute)
	if e := h.must(hall.Tick{}); len(e) != 0 {
		t.Fatal("overdue before the limit")
	}
	h.now = h.now.Add(time.Minute)
	e = h.must(hall.Tick{})
	if len(e) != 2 || e[0].Type != hall.TypeWindowOverdue || e[1].Type != hall.TypeAlertRaised {
		t.Fatalf("overdue at 30 min: %+v", e)
	}
	if e := h.must(hall.Tick{}); len(e) != 0 {
		t.Fatal("overdue raised twice")
	}
	e = h.must(hall.Resume{Window: "w1"})
	if len(e) != 2 || e[1].Type != hall.TypeAlertCleared || len(h.st.Alerts) != 0 {
		t.Fatalf("resume clears the alert: %+v", e)
	}
}

func TestMidnightResetsQueueNotVisits(t *testing.T) {
	h := newHall(t)
	h.must(hall.SignIn{Window: "w2", Staff: "s2"})
	h.now = at("2026-11-25 16:59")
	h.issue("tax", "")
	h.issue("tax", "")
	e := h.must(hall.CallNext{Window: "w2"})
	v1 := e[0].Data.(*hall.TicketCalled).Visit
	h.must(hall.Finish{Window: "w2"})
	// Next day: yesterday's waiting B002 is not called; numbering restarts.
	h.now = at("2026-11-26 09:00")
	h.refused(hall.CallNext{Window: "w2"}, "queue_empty")
	if n := h.issue("tax", ""); n != "B001" {
		t.Fatalf("new day number %s", n)
	}
	e = h.must(hall.CallNext{Window: "w2"})
	if c := e[0].Data.(*hall.TicketCalled); c.Number != "B001" || c.Visit <= v1 {
		t.Fatalf("new day call %+v (visit must keep growing past %d)", c, v1)
	}
}

// A service's max_wait_minutes is its longest-wait threshold of the
// peak-load alert (peak.go; TestPeakLoadAlert has the rest).
func TestWaitOverLimitAlert(t *testing.T) {
	h := newHall(t)
	h.cfg.Services[1].MaxWaitMinutes = 30 // tax
	h.must(hall.SignIn{Window: "w2", Staff: "s2"})
	h.issue("tax", "")
	h.now = h.now.Add(29 * time.Minute)
	if e := h.must(hall.Tick{}); len(e) != 0 {
		t.Fatalf("alert before the limit: %+v", e)
	}
	h.now = h.now.Add(2 * time.Minute)
	e := h.must(hall.Tick{})
	if len(e) != 1 || e[0].Type != hall.TypeAlertRaised || e[0].Data.(*hall.Alert).Kind != hall.KindPeakLoad ||
		!strings.Contains(e[0].Data.(*hall.Alert).Message, "税务 等候 1 人，1 个窗口在办（每窗 1.0 人），最长已等 31 分钟") {
		t.Fatalf("over the limit: %+v", e)
	}
	if e := h.must(hall.Tick{}); len(e) != 0 {
		t.Fatal("raised twice")
	}
	h.callNext("w2")
	if e := h.must(hall.Tick{}); len(e) != 1 || e[0].Type != hall.TypeAlertCleared {
		t.Fatalf("cleared once served: %+v", e)
	}
}
