package hall_test

import (
	"testing"

	"halld/daemon/hall"
)

func typesOf(e []hall.Emit) []string {
	var out []string
	for _, x := range e {
		out = append(out, x.Type)
	}
	return out
}

func find[T any](e []hall.Emit) T {
	var zero T
	for _, x := range e {
		if v, ok := x.Data.(T); ok {
			return v
		}
	}
	return zero
}

// Defect 1: B001 moved to another service kept its first service's name in
// the API (the ticket), the call event and the window.
func TestTransferRenamesTheTicket(t *testing.T) {
	h := newHall(t)
	h.must(hall.SignIn{Window: "w2", Staff: "s2"})
	h.must(hall.SignIn{Window: "w3", Staff: "s3"})
	h.issue("tax", "")
	h.must(hall.CallNext{Window: "w2"})
	e := h.must(hall.Transfer{Window: "w2", Service: "est"})
	tr := find[*hall.TicketTransferred](e)
	if tr.ToServiceName != "不动产" || tr.FromServiceName != "税务" {
		t.Fatalf("transfer event %+v", tr)
	}
	tk := h.st.Tickets["T20261125-B001"]
	if tk.Service != "est" || tk.ServiceName != "不动产" {
		t.Fatalf("ticket after transfer: %s %s", tk.Service, tk.ServiceName)
	}
	c := h.must(hall.CallNext{Window: "w3"})[0].Data.(*hall.TicketCalled)
	if c.Service != "est" || c.ServiceName != "不动产" {
		t.Fatalf("call after transfer: %s %s", c.Service, c.ServiceName)
	}
	if v := hall.MakeWindowView(h.cfg, h.st, "w3", h.now); v.Current == nil || v.Current.ServiceName != "不动产" {
		t.Fatalf("window shows %+v", v.Current)
	}
}

// Defect 2: finish A002, call A001 six seconds later: the pad left 请评价
// and A002's visit had no outcome at all.
func TestNextCallRecordsTheVisitUnrated(t *testing.T) {
	h := newHall(t)
	h.must(hall.SignIn{Window: "w1", Staff: "s1"})
	h.issue("biz", "")
	h.issue("biz", "")
	h.must(hall.CallTicket{Window: "w1", Ticket: "T20261125-A002"})
	h.must(hall.Finish{Window: "w1"})
	v := h.st.Windows["w1"].Awaiting
	h.now = h.now.Add(6e9)
	e := h.must(hall.CallNext{Window: "w1"})
	if got := typesOf(e); len(got) != 2 || got[0] != hall.TypeTicketCalled || got[1] != hall.TypeRatingTimeout {
		t.Fatalf("call after a finish: %v", got)
	}
	if rt := find[*hall.RatingTimeout](e); rt.Visit != v || rt.Reason != hall.RatingEndNextCall || rt.Number != "A002" || rt.Service != "biz" {
		t.Fatalf("未评价 %+v", rt)
	}
	if w := h.st.Windows["w1"]; w.Awaiting != 0 {
		t.Fatalf("window still awaits %d", w.Awaiting)
	}
	// A QR rating later the same day replaces the 未评价: still one outcome.
	r := find[*hall.RatingSubmitted](h.must(hall.Rate{Visit: v, Level: "满意", Channel: "qr"}))
	if !r.Unprompted || !r.Late {
		t.Fatalf("late QR rating %+v", r)
	}
	if !h.st.Rated[v] || h.st.TimedOut[v] {
		t.Fatalf("visit %d outcomes: rated %v, unrated %v", v, h.st.Rated[v], h.st.TimedOut[v])
	}
}

// Every way a 请评价 ends without a rating says why.
func TestUnratedReasons(t *testing.T) {
	finished := func(h *hallT) uint32 {
		h.issue("biz", "")
		h.must(hall.CallNext{Window: "w1"})
		h.must(hall.Finish{Window: "w1"})
		return h.st.Windows["w1"].Awaiting
	}
	cases := []struct {
		reason string
		end    func(h *hallT)
	}{
		{hall.RatingEndPause, func(h *hallT) { h.must(hall.Pause{Window: "w1", Reason: "会议"}) }},
		{hall.RatingEndSignOut, func(h *hallT) { h.must(hall.SignOut{Window: "w1"}) }},
		{hall.RatingEndPadTimeout, func(h *hallT) { h.must(hall.RateTimeout{Visit: h.st.Windows["w1"].Awaiting}) }},
		{hall.RatingEndTimeout, func(h *hallT) { h.now = h.now.Add(3 * 60e9); h.must(hall.Tick{}) }},
		{hall.RatingEndDayEnd, func(h *hallT) { h.now = at("2026-11-26 09:00"); h.must(hall.Tick{}) }},
	}
	for _, c := range cases {
		t.Run(c.reason, func(t *testing.T) {
			h := newHall(t)
			h.must(hall.SignIn{Window: "w1", Staff: "s1"})
			v := finished(h)
			before := h.st.Seq
			c.end(h)
			if !h.st.TimedOut[v] {
				t.Fatalf("visit %d has no outcome after %s", v, c.reason)
			}
			_ = before
		})
	}
}

// A rating pressed during the service (before 请评价) is the visit's one
// rating, unprompted; the finish then asks for nothing.
func TestRatingDuringServiceIsUnprompted(t *testing.T) {
	h := newHall(t)
	h.must(hall.SignIn{Window: "w1", Staff: "s1"})
	h.issue("biz", "")
	v := h.must(hall.CallNext{Window: "w1"})[0].Data.(*hall.TicketCalled).Visit
	h.must(hall.Start{Window: "w1"})
	r := find[*hall.RatingSubmitted](h.must(hall.Rate{Visit: v, Level: "非常满意", Channel: "mqtt"}))
	if !r.Unprompted || r.Late {
		t.Fatalf("rating during the service %+v", r)
	}
	h.must(hall.Finish{Window: "w1"})
	if h.st.Windows["w1"].Awaiting != 0 {
		t.Fatal("a rated visit is awaited after its finish")
	}
	// Prompted: the 请评价 was showing.
	h.issue("biz", "")
	h.must(hall.CallNext{Window: "w1"})
	h.must(hall.Finish{Window: "w1"})
	r = find[*hall.RatingSubmitted](h.must(hall.Rate{Visit: h.st.Windows["w1"].Awaiting, Level: "满意", Channel: "pad"}))
	if r.Unprompted || r.Late {
		t.Fatalf("prompted rating %+v", r)
	}
}

// The day's end gives every ticket not served its outcome, then day.closed;
// the day's visits take no rating afterwards.
func TestDayEndClosesEveryTicket(t *testing.T) {
	h := newHall(t)
	h.must(hall.SignIn{Window: "w1", Staff: "s1"})
	h.must(hall.SignIn{Window: "w2", Staff: "s2"})
	for range 5 {
		h.issue("biz", "")
	}
	h.must(hall.CallNext{Window: "w1"}) // A001 served, unrated
	h.must(hall.Finish{Window: "w1"})
	v1 := h.st.Tickets["T20261125-A001"].Visit
	h.must(hall.CallNext{Window: "w1"}) // A002 no-show
	h.must(hall.NoShow{Window: "w1"})
	h.must(hall.CallNext{Window: "w1"}) // A003 held
	h.must(hall.Hold{Window: "w1"})
	h.must(hall.CallNext{Window: "w1"}) // A004 serving at the end
	h.must(hall.Start{Window: "w1"})
	// A005 waiting
	h.now = at("2026-11-26 08:00")
	e := h.must(hall.Tick{})
	want := map[string]string{"T20261125-A002": hall.OutcomeNoShow, "T20261125-A003": hall.OutcomeExpired,
		"T20261125-A004": hall.OutcomeExpired, "T20261125-A005": hall.OutcomeExpired, "T20261125-A001": hall.OutcomeServed}
	for id, o := range want {
		if got := h.st.Tickets[id].Outcome; got != o {
			t.Errorf("%s outcome %q, want %q", id, got, o)
		}
	}
	dc := find[*hall.DayClosed](e)
	if dc == nil || dc.Day != "2026-11-25" || dc.Tickets != 5 || dc.Served != 1 || dc.NoShow != 1 || dc.Expired != 3 || dc.Unrated != 1 {
		t.Fatalf("day.closed %+v (events %v)", dc, typesOf(e))
	}
	if h.st.Windows["w1"].Current != "" || h.st.Waiting()["biz"] != 0 {
		t.Fatal("the day's end left a ticket at a window or waiting")
	}
	if e := h.must(hall.Tick{}); len(e) != 0 {
		t.Fatalf("closed twice: %v", typesOf(e))
	}
	h.refused(hall.Rate{Visit: v1, Level: "满意", Channel: "qr"}, "rating_closed")
	// The first ticket of the next day, with no Tick before it, closes the day first.
	h2 := newHall(t)
	h2.issue("biz", "")
	h2.now = at("2026-11-26 09:00")
	e = h2.must(hall.IssueTicket{Service: "biz"})
	if got := typesOf(e); len(got) != 3 || got[0] != hall.TypeTicketClosed || got[1] != hall.TypeDayClosed || got[2] != hall.TypeTicketIssued {
		t.Fatalf("new day's first ticket: %v", got)
	}
}

// Defect 3: with no staffed window for a service (nor its AB backup), the
// ticket said "前面还有 0 人 · 即将叫号".
func TestEstimateSaysWhenNoWindowCanServe(t *testing.T) {
	h := newHall(t)
	// est is served by w3 only, which has no backup; nobody is signed in.
	e := h.must(hall.IssueTicket{Service: "est"})
	tk := issued(e)
	if tk.Estimate == nil || tk.Estimate.Servable || tk.Estimate.Minutes != nil || tk.Estimate.Reason != "no_window" ||
		tk.Estimate.Text != "当前暂无窗口办理，请留意叫号" {
		t.Fatalf("estimate with no window: %+v", tk.Estimate)
	}
	// biz is served by w1, whose backup is w2: w2 staffed covers it.
	h.must(hall.SignIn{Window: "w2", Staff: "s2"})
	tk = issued(h.must(hall.IssueTicket{Service: "biz"}))
	if !tk.Estimate.Servable || tk.Estimate.Windows != 1 || *tk.Estimate.Minutes != 0 || tk.Estimate.Text != "即将叫号" {
		t.Fatalf("estimate through the AB backup: %+v", tk.Estimate)
	}
	tk = issued(h.must(hall.IssueTicket{Service: "biz"}))
	if m, lo, hi := *tk.Estimate.Minutes, *tk.Estimate.Low, *tk.Estimate.High; m != 10 || lo != 5 || hi != 15 || tk.Estimate.Basis != "config" || tk.Estimate.Text != "约 5–15 分钟" {
		t.Fatalf("one ahead, thin data: %+v (%d %d–%d)", tk.Estimate, m, lo, hi)
	}
	// A paused window still has its staff: servable.
	h.must(hall.Pause{Window: "w2", Reason: "会议"})
	if tk = issued(h.must(hall.IssueTicket{Service: "tax"})); !tk.Estimate.Servable {
		t.Fatalf("paused window: %+v", tk.Estimate)
	}
}
