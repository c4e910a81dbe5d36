package hall_test

import (
	"errors"
	"testing"
	"time"

	"halld/daemon/config"
	"halld/daemon/hall"
)

const testHall = `
hall:
  id: test-hall
  name: 测试大厅
  timezone: Asia/Shanghai
  opening_hours:
    - {days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}
areas:
  - {id: front, name: 前台}
  - {id: self-24h, name: 24小时自助区, open_24h: true}
services:
  - {id: biz, prefix: A, name: 企业开办, area: front, daily_cap: 3}
  - {id: tax, prefix: B, name: 税务, area: front, max_number: 9999}
  - {id: night, prefix: N, name: 自助, area: self-24h}
windows:
  - {id: w1, number: 1, name: 综合窗口, services: [{service: biz}, {service: tax}]}
holidays:
  - {date: "2026-10-01", name: 国庆节}
`

func cfgT(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(testHall))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// run decides and applies a command the way the engine does.
func run(t *testing.T, cfg *config.Config, st *hall.State, cmd any, now time.Time) ([]hall.Emit, error) {
	t.Helper()
	emits, err := hall.Decide(cfg, st, cmd, now)
	for _, e := range emits {
		hall.Apply(st, st.Seq+1, e.Type, now, e.Data)
	}
	return emits, err
}

func issue(t *testing.T, cfg *config.Config, st *hall.State, svc, prio string, now time.Time) *hall.Ticket {
	t.Helper()
	emits, err := run(t, cfg, st, hall.IssueTicket{Service: svc, Priority: prio, Channel: "kiosk"}, now)
	if err != nil {
		t.Fatalf("issue %s at %v: %v", svc, now, err)
	}
	return issued(emits)
}

func at(s string) time.Time {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

func TestNumberingPerServicePerDay(t *testing.T) {
	cfg := cfgT(t)
	st := hall.NewState()
	wed := at("2026-11-25 09:30")
	got := []string{
		issue(t, cfg, st, "biz", "", wed).Number,
		issue(t, cfg, st, "tax", "", wed).Number,
		issue(t, cfg, st, "biz", "", wed).Number,
		issue(t, cfg, st, "tax", "", wed).Number,
	}
	want := []string{"A001", "B0001", "A002", "B0002"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("numbers %v, want %v", got, want)
		}
	}
	// The hall day turns at midnight in Asia/Shanghai, not UTC: 23:59 is
	// still the same day, 00:00 the next (but the hall is closed then).
	late := issue(t, cfg, st, "night", "", at("2026-11-25 23:59"))
	next := issue(t, cfg, st, "night", "", at("2026-11-26 00:01"))
	if late.Number != "N001" || next.Number != "N001" || next.Day != "2026-11-26" {
		t.Fatalf("daily reset: %s on %s, then %s on %s", late.Number, late.Day, next.Number, next.Day)
	}
	if a := issue(t, cfg, st, "biz", "", at("2026-11-26 09:00")); a.Number != "A001" || a.ID != "T20261126-A001" {
		t.Fatalf("new day biz ticket %s %s", a.Number, a.ID)
	}
}

func TestRefusals(t *testing.T) {
	cfg := cfgT(t)
	wed := at("2026-11-25 10:00")
	cases := []struct {
		name string
		cmd  hall.IssueTicket
		now  time.Time
		code string
	}{
		{"unknown service", hall.IssueTicket{Service: "nope"}, wed, "unknown_service"},
		{"before opening", hall.IssueTicket{Service: "biz"}, at("2026-11-25 08:59"), "service_closed"},
		{"after closing", hall.IssueTicket{Service: "biz"}, at("2026-11-25 17:00"), "service_closed"},
		{"sunday", hall.IssueTicket{Service: "biz"}, at("2026-11-29 10:00"), "service_closed"},
		{"holiday", hall.IssueTicket{Service: "biz"}, at("2026-10-01 10:00"), "service_closed"},
		{"bad priority", hall.IssueTicket{Service: "biz", Priority: "vip"}, wed, "bad_priority"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := hall.Decide(cfg, hall.NewState(), c.cmd, c.now)
			var re *hall.RuleError
			if !errors.As(err, &re) || re.Code != c.code || re.Message == "" {
				t.Fatalf("got %v, want code %s", err, c.code)
			}
		})
	}
	// The 24-hour area issues at night and on holidays.
	if _, err := hall.Decide(cfg, hall.NewState(), hall.IssueTicket{Service: "night"}, at("2026-10-01 03:00")); err != nil {
		t.Fatalf("24h service refused at night: %v", err)
	}
}

func TestDailyCap(t *testing.T) {
	cfg := cfgT(t)
	st := hall.NewState()
	now := at("2026-11-25 10:00")
	for i := 0; i < 3; i++ {
		issue(t, cfg, st, "biz", "", now)
	}
	_, err := hall.Decide(cfg, st, hall.IssueTicket{Service: "biz"}, now)
	var re *hall.RuleError
	if !errors.As(err, &re) || re.Code != "over_cap" {
		t.Fatalf("4th ticket over a cap of 3: %v", err)
	}
	v := hall.MakeView(cfg, st, now)
	if v.Services[0].CapLeft == nil || *v.Services[0].CapLeft != 0 {
		t.Fatalf("cap_left %v", v.Services[0].CapLeft)
	}
}

func TestIdempotentRequest(t *testing.T) {
	cfg := cfgT(t)
	st := hall.NewState()
	now := at("2026-11-25 10:00")
	cmd := hall.IssueTicket{Service: "biz", RequestID: "kiosk-1:42"}
	if _, err := run(t, cfg, st, cmd, now); err != nil {
		t.Fatal(err)
	}
	emits, err := run(t, cfg, st, cmd, now)
	var dup *hall.Duplicate
	if !errors.As(err, &dup) || dup.TicketID != "T20261125-A001" || len(emits) != 0 {
		t.Fatalf("retry of the same request: %v %v", emits, err)
	}
}

func TestAheadFollowsPriorityClasses(t *testing.T) {
	cfg := cfgT(t)
	st := hall.NewState()
	now := at("2026-11-25 10:00")
	issue(t, cfg, st, "tax", "", now)
	issue(t, cfg, st, "tax", "", now)
	g := issue(t, cfg, st, "tax", hall.PriorityGreen, now)
	n := issue(t, cfg, st, "tax", "", now)
	a := issue(t, cfg, st, "tax", hall.PriorityAppointment, now)
	if g.Ahead != 0 || n.Ahead != 3 || a.Ahead != 0 {
		t.Fatalf("ahead: green %d normal %d appointment %d", g.Ahead, n.Ahead, a.Ahead)
	}
}

func TestPrintOutcomesAndInterrupted(t *testing.T) {
	cfg := cfgT(t)
	st := hall.NewState()
	now := at("2026-11-25 10:00")
	a := issue(t, cfg, st, "biz", "", now)
	b := issue(t, cfg, st, "biz", "", now)
	if _, err := run(t, cfg, st, hall.PrintOutcome{TicketID: a.ID, Printer: "printer-1"}, now); err != nil {
		t.Fatal(err)
	}
	emits, _ := run(t, cfg, st, hall.ResolveInterrupted{}, now)
	if len(emits) != 1 || emits[0].Data.(*hall.TicketPrintFailed).TicketID != b.ID {
		t.Fatalf("interrupted: %+v", emits)
	}
	if st.Tickets[a.ID].PrintStatus != hall.PrintPrinted || *st.Tickets[a.ID].PrintedBy != "printer-1" {
		t.Fatalf("a: %+v", st.Tickets[a.ID])
	}
	if st.Tickets[b.ID].PrintStatus != hall.PrintFailed || st.Tickets[b.ID].PrintError.Code != "interrupted" {
		t.Fatalf("b: %+v", st.Tickets[b.ID])
	}
	// A reprint that succeeds clears the failure.
	run(t, cfg, st, hall.PrintOutcome{TicketID: b.ID, Printer: "printer-2", Reprint: true}, now)
	if st.Tickets[b.ID].PrintStatus != hall.PrintPrinted || st.Tickets[b.ID].PrintError != nil {
		t.Fatalf("b after reprint: %+v", st.Tickets[b.ID])
	}
	if emits, _ := run(t, cfg, st, hall.ResolveInterrupted{}, now); len(emits) != 0 {
		t.Fatalf("nothing pending, yet %d events", len(emits))
	}
}

func TestDeviceStateRecordedOnChangeOnly(t *testing.T) {
	cfg := cfgT(t)
	st := hall.NewState()
	now := at("2026-11-25 10:00")
	obs := hall.ObserveDevice{Device: "p1", Kind: "ticket_printer", State: "ready", Detail: map[string]any{"paper": "ok", "n": 1}}
	if e, _ := run(t, cfg, st, obs, now); len(e) != 1 {
		t.Fatal("first observation not recorded")
	}
	if e, _ := run(t, cfg, st, obs, now); len(e) != 0 {
		t.Fatal("unchanged observation recorded again")
	}
	obs.Detail = map[string]any{"paper": "near_end", "n": 1}
	if e, _ := run(t, cfg, st, obs, now); len(e) != 1 {
		t.Fatal("changed detail not recorded")
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	ts := time.Date(2026, 11, 25, 9, 30, 1, 123456789, loc)
	env := hall.Envelope{ID: "e1", Seq: 7, TS: hall.Stamp(ts), Type: hall.TypeTicketPrinted, Hall: "h"}
	b, err := hall.Encode(env, &hall.TicketPrinted{TicketID: "T1", Number: "A001", Printer: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"e1","seq":7,"ts":"2026-11-25T09:30:01.123+08:00","type":"ticket.printed","hall":"h","ticket_id":"T1","number":"A001","printer":"p1"}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	v, err := hall.Decode(hall.TypeTicketPrinted, b)
	if err != nil || v.(*hall.TicketPrinted).Printer != "p1" {
		t.Fatalf("decode: %v %v", v, err)
	}
	if v, err := hall.Decode("future.type", b); v != nil || err != nil {
		t.Fatal("unknown types must be skipped, not fail replay")
	}
}

// The system clock stepped back (NTP correction) or forward: numbers never
// repeat within a hall day, and a day boundary still resets them.
func TestClockSteps(t *testing.T) {
	cfg := cfgT(t)
	st := hall.NewState()
	issue(t, cfg, st, "tax", "", at("2026-11-25 10:00")) // B001
	// Back an hour: same day, the counter goes on.
	if n := issue(t, cfg, st, "tax", "", at("2026-11-25 09:00")).Number; n != "B0002" {
		t.Fatalf("after a step back: %s", n)
	}
	// Forward into the next day and back again: the new day starts at 001;
	// a ticket stamped with yesterday again continues today's numbers.
	if n := issue(t, cfg, st, "tax", "", at("2026-11-26 10:00")).Number; n != "B0001" {
		t.Fatalf("next day: %s", n)
	}
	tk := issue(t, cfg, st, "tax", "", at("2026-11-25 16:00"))
	if tk.Number != "B0002" || tk.Day != "2026-11-26" || len(st.TicketsOf("2026-11-26")) != 2 {
		t.Fatalf("a step back across midnight: %s on %s, %d tickets today", tk.Number, tk.Day, len(st.TicketsOf("2026-11-26")))
	}
	// The queue and the board still show today's tickets under the stepped-back clock.
	if q := hall.Queue(cfg, st, "w1", at("2026-11-25 16:00")); len(q) != 2 {
		t.Fatalf("queue after a step back across midnight: %d tickets", len(q))
	}
	if v := hall.MakeView(cfg, st, at("2026-11-25 16:00")); len(v.Tickets) != 2 {
		t.Fatalf("view after a step back across midnight: %d tickets", len(v.Tickets))
	}
}
