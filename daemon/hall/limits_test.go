package hall_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"halld/daemon/config"
	"halld/daemon/hall"
)

// One terminal with valid credentials sent 3,000 fault events and opened
// 3,003 alerts (the snapshot grew from 7 KB to 614 KB). An alert about a
// device and a cause is one alert, counted when it recurs; a device has at
// most MaxCausesPerDevice open, the rest counted on one "too many" alert.
func TestDeviceFaultsAreOneAlertPerCauseCounted(t *testing.T) {
	h := newHall(t)
	fault := func(dev, code string) []hall.Emit {
		return h.must(hall.RaiseAlert{Alert: hall.Alert{Kind: "terminal_fault", Severity: "warning", Device: dev, Cause: code,
			Message: dev + " 故障（" + code + "）：出纸口卡纸"}})
	}
	bytesBefore := snapshotBytes(t, h)
	var updates int
	for i := range 3000 {
		h.now = h.now.Add(time.Second)
		for _, e := range fault("terminal-1", []string{"E101", "E102", "E103"}[i%3]) {
			if e.Type == hall.TypeAlertUpdated {
				updates++
				if b, _ := json.Marshal(e.Data); len(b) > 80 {
					t.Fatalf("a recurrence records %d bytes: %s", len(b), b)
				}
			}
		}
	}
	if len(h.st.Alerts) != 3 || updates != 2997 {
		t.Fatalf("%d alerts, %d updates; want 3 and 2997", len(h.st.Alerts), updates)
	}
	a := h.st.Alerts[hall.CauseAlertID("terminal-1", "E101")]
	if a == nil || a.Count != 1000 || !a.LastSeen.Equal(h.now.Add(-2*time.Second)) || a.Since.Equal(a.LastSeen) {
		t.Fatalf("E101: %+v", a)
	}
	v := hall.MakeView(h.cfg, h.st, h.now)
	if len(v.Alerts) != 3 || v.Alerts[0].Count != 1000 || time.Time(v.Alerts[0].LastSeen).IsZero() {
		t.Fatalf("snapshot alerts %+v", v.Alerts)
	}
	if grew := snapshotBytes(t, h) - bytesBefore; grew > 1500 {
		t.Fatalf("the snapshot grew by %d bytes for 3 alerts", grew)
	}

	// Many distinct codes: 32 alerts of their own, then one that counts the rest.
	for i := range 100 {
		fault("terminal-2", fmt.Sprintf("X%03d", i))
	}
	n := 0
	for _, a := range h.st.Alerts {
		if a.Device == "terminal-2" {
			n++
		}
	}
	over := h.st.Alerts[hall.TooManyAlertID("terminal-2")]
	if n != hall.MaxCausesPerDevice+1 || over == nil || over.Count != 100-hall.MaxCausesPerDevice || over.Kind != "too_many_faults" {
		t.Fatalf("%d alerts for terminal-2, too-many %+v", n, over)
	}
	// A cause already open still counts on its own alert.
	fault("terminal-2", "X000")
	if c := h.st.Alerts[hall.CauseAlertID("terminal-2", "X000")].Count; c != 2 {
		t.Fatalf("X000 count %d", c)
	}
	// Another device is not held back by terminal-2's faults.
	if e := fault("terminal-3", "X000"); e[0].Type != hall.TypeAlertRaised {
		t.Fatalf("terminal-3: %+v", e)
	}
	// Cleared, the next occurrence raises it anew.
	h.must(hall.ClearAlert{AlertID: hall.CauseAlertID("terminal-1", "E101")})
	if e := fault("terminal-1", "E101"); len(e) != 1 || e[0].Type != hall.TypeAlertRaised || h.st.Alerts[hall.CauseAlertID("terminal-1", "E101")].Count != 1 {
		t.Fatalf("after clearing: %+v", e)
	}
	// A huge message from a device is cut.
	fault("terminal-4", strings.Repeat("码", 1000))
	for id, a := range h.st.Alerts {
		if len([]rune(a.Message)) > hall.MaxAlertMessage || len([]rune(id)) > 100 {
			t.Fatalf("alert %q: %d characters", id, len([]rune(a.Message)))
		}
	}
}

// Alerts with ids of their own (one per fault event id, as the terminal
// watcher's callback used to raise them) are bounded per kind; the hall's
// health alerts, raised again every few seconds, stay one alert, uncounted.
func TestAlertsWithOwnIDsAreBoundedPerKind(t *testing.T) {
	h := newHall(t)
	for i := range 3000 {
		h.must(hall.RaiseAlert{Alert: hall.Alert{AlertID: fmt.Sprintf("terminal-fault-%d", i), Kind: "terminal_fault", Severity: "warning", Message: "故障"}})
	}
	if len(h.st.Alerts) != hall.MaxOpenPerKind+1 || h.st.Alerts["too-many-terminal_fault"].Count != 3000-hall.MaxOpenPerKind {
		t.Fatalf("%d alerts", len(h.st.Alerts))
	}
	for range 10 {
		if e := h.must(hall.RaiseAlert{Alert: hall.Alert{AlertID: "disk-low", Kind: "disk_low", Severity: "critical", Message: "存储空间不足"}}); len(e) > 1 {
			t.Fatalf("%+v", e)
		}
	}
	if a := h.st.Alerts["disk-low"]; a == nil || a.Count != 1 {
		t.Fatalf("disk-low %+v", a)
	}
	h.refused(hall.RaiseAlert{Alert: hall.Alert{Kind: "x", Message: "无编号"}}, "bad_alert")
}

func snapshotBytes(t *testing.T, h *hallT) int {
	t.Helper()
	b, err := json.Marshal(hall.MakeView(h.cfg, h.st, h.now))
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// A device missing at start-up never raised an alert: it went from
// "connecting" to offline with another reason, and the rules looked at the
// state only. Whatever the path, an offline device raises its alert, and a
// new reason updates the alert's text.
func TestOfflineDeviceAlertsWhateverThePath(t *testing.T) {
	h := newHall(t)
	obs := func(dev, state, reason string) []hall.Emit {
		return h.must(hall.ObserveDevice{Device: dev, Kind: "ticket_printer", State: state, Reason: reason})
	}
	// Offline from the very first report.
	obs("p1", "offline", "not_attached")
	if a := h.st.Alerts["device-p1"]; a == nil || a.Kind != "device_offline" || !strings.Contains(a.Message, "未连接") {
		t.Fatalf("first report offline: alert %+v", a)
	}
	// Connecting (start-up), then not found.
	if e := obs("p2", "offline", "connecting"); len(e) != 1 || len(h.st.Alerts) != 1 {
		t.Fatalf("connecting raised an alert: %+v", e)
	}
	h.now = h.now.Add(time.Second)
	e := obs("p2", "offline", "not_attached")
	if len(e) != 2 || e[0].Type != hall.TypeDeviceState || e[1].Type != hall.TypeAlertRaised {
		t.Fatalf("connecting → not attached: %+v", e)
	}
	since, raised := h.st.Devices["p2"].Since, h.now
	// The reason changes while offline: one event updates the text; the
	// alert and the state keep their start.
	h.now = h.now.Add(time.Minute)
	e = obs("p2", "offline", "link_lost")
	if len(e) != 2 || e[1].Type != hall.TypeAlertUpdated || !strings.Contains(h.st.Alerts["device-p2"].Message, "连接断开") {
		t.Fatalf("a new reason: %+v, alert %+v", e, h.st.Alerts["device-p2"])
	}
	if !h.st.Devices["p2"].Since.Equal(since) || h.st.Devices["p2"].Reason != "link_lost" {
		t.Fatalf("device record %+v, since %v", h.st.Devices["p2"], since)
	}
	if a := h.st.Alerts["device-p2"]; !a.Since.Equal(raised) || !a.LastSeen.Equal(h.now) {
		t.Fatalf("alert %+v", a)
	}
	if e := obs("p2", "offline", "link_lost"); len(e) != 0 {
		t.Fatalf("the same report again: %+v", e)
	}
	// halld restarts: the device reports connecting again; its alert stays.
	if obs("p2", "offline", "connecting"); h.st.Alerts["device-p2"] == nil {
		t.Fatal("connecting after a restart cleared the alert of a device still missing")
	}
	// Another state: another alert kind. Ready: cleared.
	obs("p2", "fault", "paper_end")
	if a := h.st.Alerts["device-p2"]; a.Kind != "device_fault" || !strings.Contains(a.Message, "缺纸") {
		t.Fatalf("fault: %+v", a)
	}
	obs("p2", "ready", "")
	if _, open := h.st.Alerts["device-p2"]; open {
		t.Fatal("ready did not clear")
	}
}

// A pause reason longer than a pad's screen holds made the pad's screen
// un-encodable; a huge pause length overflowed into the past.
func TestPauseBounds(t *testing.T) {
	h := newHall(t)
	h.must(hall.SignIn{Window: "w1", Staff: "s1"})
	h.refused(hall.Pause{Window: "w1", Reason: strings.Repeat("因", hall.MaxPauseReason+1)}, "reason_too_long")
	h.refused(hall.Pause{Window: "w1", Reason: "   "}, "reason_required")
	h.refused(hall.Pause{Window: "w1", Reason: "外出\n办事"}, "bad_reason")
	for _, m := range []int{-1, hall.MaxPauseMinutes + 1, 1 << 40, -1 << 62} {
		h.refused(hall.Pause{Window: "w1", Reason: "临时外出", Minutes: m}, "bad_minutes")
	}
	_, err := h.do(hall.Pause{Window: "w1", Reason: "会议", Minutes: 1 << 40})
	if re := err.(*hall.RuleError); re.Status != 400 || !strings.Contains(re.Message, "分钟") {
		t.Fatalf("%+v", re)
	}
	e := h.must(hall.Pause{Window: "w1", Reason: " " + strings.Repeat("因", hall.MaxPauseReason) + " ", Minutes: hall.MaxPauseMinutes})
	p := e[0].Data.(*hall.WindowPause)
	if p.Reason != strings.Repeat("因", hall.MaxPauseReason) || !time.Time(*p.Until).Equal(h.now.Add(8*time.Hour)) {
		t.Fatalf("pause %+v until %v", p, time.Time(*p.Until))
	}
}

// The other numbers and texts a command carries are bounded too.
func TestCommandBounds(t *testing.T) {
	h := newHall(t)
	long := strings.Repeat("长", 2000)
	h.refused(hall.SignIn{Window: "w1", Staff: long}, "bad_staff")
	h.refused(hall.SignIn{Window: long}, "unknown_window")
	h.refused(hall.PostNotice{Notice: hall.Notice{ID: "n1", Text: long}}, "notice_too_long")
	h.refused(hall.PostNotice{Notice: hall.Notice{ID: long, Text: "通知"}}, "bad_notice")
	far := hall.Stamp(h.now.AddDate(5, 0, 0))
	h.refused(hall.PostNotice{Notice: hall.Notice{ID: "n1", Text: "通知", Until: &far}}, "bad_notice")
	h.refused(hall.SetServiceOpen{Service: "tax", Reason: long}, "reason_too_long")
	h.refused(hall.IssueTicket{Service: "tax", RequestID: long}, "bad_request_id")
	slot := func(from, to time.Time) hall.Book {
		return hall.Book{Appointment: hall.Appointment{Code: "YY1", Service: "tax", SlotStart: hall.Stamp(from), SlotEnd: hall.Stamp(to)}}
	}
	h.refused(slot(h.now, h.now.Add(25*time.Hour)), "bad_slot")
	h.refused(slot(h.now.AddDate(2, 0, 0), h.now.AddDate(2, 0, 0).Add(time.Hour)), "bad_slot")
	h.refused(slot(time.Time{}, time.Time{}.Add(time.Hour)), "bad_slot")
	h.refused(hall.Book{Appointment: hall.Appointment{Code: long, Service: "tax", SlotStart: hall.Stamp(h.now), SlotEnd: hall.Stamp(h.now.Add(time.Hour))}}, "bad_code")
	h.must(slot(h.now.Add(time.Hour), h.now.Add(2*time.Hour)))
	h.refused(hall.CheckIn{Code: long}, "no_appointment")

	// A rating: as many reasons as the hall offers, a bounded comment, a known channel.
	h.must(hall.SignIn{Window: "w1", Staff: "s1"})
	h.issue("biz", "")
	visit := h.must(hall.CallNext{Window: "w1"})[0].Data.(*hall.TicketCalled).Visit
	h.must(hall.Finish{Window: "w1"})
	h.refused(hall.Rate{Visit: visit, Level: "满意", Reasons: make([]string, 9)}, "bad_reasons")
	h.refused(hall.Rate{Visit: visit, Level: "满意", Reasons: []string{long}}, "bad_reasons")
	h.refused(hall.Rate{Visit: visit, Level: "满意", Comment: long}, "comment_too_long")
	h.refused(hall.Rate{Visit: visit, Level: "满意", Channel: "fax"}, "bad_channel")
	h.must(hall.Rate{Visit: visit, Level: "不满意", Reasons: []string{"等候时间长"}, Comment: "太慢", Channel: "qr"})
	fu := "fu-" + fmt.Sprint(visit)
	h.refused(hall.FollowUpStep{ID: fu, Stage: hall.StageCallback, Note: long}, "note_too_long")
	h.refused(hall.FollowUpStep{ID: fu, Stage: hall.StageCallback, Note: "已回访", By: long}, "bad_by")
	h.must(hall.FollowUpStep{ID: fu, Stage: hall.StageCallback, Note: "已回访", By: "admin"})
}

const numberingHall = `
hall:
  id: n-hall
  name: 测试大厅
  opening_hours: [{days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}]
  %s
areas: [{id: front, name: 前台}]
services:
  - {id: big, prefix: A, name: 社保, area: front}
  - {id: small, prefix: S, name: 小业务, area: front, max_number: 5}
windows:
  - {id: w1, number: 1, services: [{service: big}, {service: small}]}
staff:
  - {id: s1, name: 张敏, windows: [w1]}
`

func numberingT(t *testing.T, numbering string) *hallT {
	cfg, err := config.Parse("n.yaml", []byte(fmt.Sprintf(numberingHall, numbering)))
	if err != nil {
		t.Fatal(err)
	}
	return &hallT{t: t, cfg: cfg, st: hall.NewState(), now: at("2026-11-25 09:00")}
}

// Numbers stopped at 999 per service per day. By default they keep going
// (A999 → A1000), ids with them.
func TestNumbersGrowPastMaxNumber(t *testing.T) {
	h := numberingT(t, "")
	var last hall.Ticket
	for range 1001 {
		last = h.must(hall.IssueTicket{Service: "big"})[0].Data.(*hall.TicketIssued).Ticket
	}
	if last.Number != "A1001" || last.ID != "T20261125-A1001" || h.st.Counters["big"] != 1001 {
		t.Fatalf("ticket 1001: %s %s, counter %d", last.Number, last.ID, h.st.Counters["big"])
	}
	if h.st.Tickets["T20261125-A999"].Number != "A999" || h.st.Tickets["T20261125-A1000"].Number != "A1000" {
		t.Fatal("A999, A1000 missing")
	}
	// The voice line and the board carry all four digits.
	h.must(hall.SignIn{Window: "w1", Staff: "s1"})
	h.st.Tickets = map[string]*hall.Ticket{"T20261125-A1000": h.st.Tickets["T20261125-A1000"]}
	h.st.Order = []string{"T20261125-A1000"}
	c := h.must(hall.CallNext{Window: "w1"})[0].Data.(*hall.TicketCalled)
	if c.Voice != "请A1000号到1号窗口办理" || hall.MakeView(h.cfg, h.st, h.now).RecentCalls[0].Number != "A1000" {
		t.Fatalf("call %+v", c)
	}
	for range 5 {
		h.must(hall.IssueTicket{Service: "small"})
	}
	if n := h.must(hall.IssueTicket{Service: "small"})[0].Data.(*hall.TicketIssued).Ticket.Number; n != "S006" {
		t.Fatalf("small past max_number 5: %s", n)
	}
}

// hall.numbering.overflow: wrap starts again at 1, skipping numbers still in
// use that day, ids still unique; stop refuses past max_number.
func TestNumbersWrapOrStop(t *testing.T) {
	h := numberingT(t, "numbering: {overflow: wrap}")
	h.must(hall.SignIn{Window: "w1", Staff: "s1"})
	var ids []string
	for range 5 {
		ids = append(ids, h.must(hall.IssueTicket{Service: "small"})[0].Data.(*hall.TicketIssued).Ticket.ID)
	}
	// S001 and S003 are done; S002 is being served, S004 and S005 wait.
	for _, id := range []string{ids[0], ids[2], ids[1]} {
		h.must(hall.CallTicket{Window: "w1", Ticket: id})
		if id != ids[1] {
			h.must(hall.Finish{Window: "w1"})
		}
	}
	next := func() hall.Ticket {
		return h.must(hall.IssueTicket{Service: "small"})[0].Data.(*hall.TicketIssued).Ticket
	}
	if tk := next(); tk.Number != "S001" || tk.ID != "T20261125-S006" {
		t.Fatalf("6th: %s %s", tk.Number, tk.ID)
	}
	if tk := next(); tk.Number != "S003" || tk.ID != "T20261125-S007" {
		t.Fatalf("7th skips S002 (in use): %s %s", tk.Number, tk.ID)
	}
	h.refused(hall.IssueTicket{Service: "small"}, "over_cap") // every number in use
	h.must(hall.Finish{Window: "w1"})                         // S002 done
	if tk := next(); tk.Number != "S002" || tk.ID != "T20261125-S008" {
		t.Fatalf("after S002 is done: %s %s", tk.Number, tk.ID)
	}

	s := numberingT(t, "numbering: {overflow: stop}")
	for range 5 {
		s.must(hall.IssueTicket{Service: "small"})
	}
	s.refused(hall.IssueTicket{Service: "small"}, "over_cap")
}

// An unknown kiosk or channel in a ticket request is refused, not printed
// on whatever printer comes first.
func TestIssueRefusesUnknownKioskAndChannel(t *testing.T) {
	h := newHall(t)
	h.refused(hall.IssueTicket{Service: "tax", Kiosk: "kiosk-9"}, "unknown_kiosk")
	h.refused(hall.IssueTicket{Service: "tax", Kiosk: "w1"}, "unknown_kiosk")
	h.refused(hall.IssueTicket{Service: "tax", Channel: "wechat"}, "bad_channel")
	_, err := h.do(hall.IssueTicket{Service: "tax", Kiosk: "kiosk-9"})
	if re := err.(*hall.RuleError); re.Status != 404 || !strings.Contains(re.Message, "取号机") {
		t.Fatalf("%+v", re)
	}
	_, err = h.do(hall.IssueTicket{Service: "tax", Channel: "wechat"})
	if re := err.(*hall.RuleError); re.Status != 400 {
		t.Fatalf("%+v", re)
	}
	h.refused(hall.CheckIn{Code: "YY1", Kiosk: "kiosk-9"}, "no_appointment") // no booking: said first
	for _, ch := range append([]string{""}, hall.TicketChannels...) {
		h.must(hall.IssueTicket{Service: "tax", Kiosk: "k1", Channel: ch})
	}
}
