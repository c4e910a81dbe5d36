package hall_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"halld/daemon/config"
	"halld/daemon/hall"
)

const alertHall = `
hall:
  id: a-hall
  name: 告警大厅
  timezone: Asia/Shanghai
  opening_hours: [{days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}]
  always_open: true
areas: [{id: front, name: 前台}, {id: self, name: 自助区, open_24h: true}]
services:
  - {id: biz, prefix: A, name: 企业开办, area: front}
  - {id: tax, prefix: B, name: 税务, area: front, max_wait_minutes: 20}
windows:
  - {id: w1, number: 1, area: front, services: [{service: biz}], backup: w3}
  - {id: w2, number: 2, area: front, services: [{service: biz}, {service: tax}]}
  - {id: w3, number: 3, area: front, services: [{service: tax}]}
staff:
  - {id: s1, name: 张敏, windows: [w1]}
  - {id: s2, name: 李强, windows: [w2]}
  - {id: s3, name: 王芳, windows: [w3]}
devices:
  - {id: k1, kind: kiosk, area: front}
  - {id: p1, kind: ticket_printer, area: front, simulate: true}
  - {id: t1, kind: terminal, area: self, simulate: true}
`

// alertT runs commands like the engine and keeps a replica that folds the
// same events decoded from their JSON, as a restart does.
type alertT struct {
	*hallT
	replica *hall.State
}

func newAlertHall(t *testing.T, yaml string) *alertT {
	cfg, err := config.Parse("a.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return &alertT{hallT: &hallT{t: t, cfg: cfg, st: hall.NewState(), now: at("2026-11-25 09:00")}, replica: hall.NewState()}
}

func (h *alertT) do(cmd any) ([]hall.Emit, error) {
	h.t.Helper()
	emits, err := hall.Decide(h.cfg, h.st, cmd, h.now)
	for _, e := range emits {
		seq := h.st.Seq + 1
		body, err := hall.Encode(hall.Envelope{ID: fmt.Sprint(seq), Seq: seq, TS: hall.Stamp(h.now), Type: e.Type}, e.Data)
		if err != nil {
			h.t.Fatal(err)
		}
		hall.Apply(h.st, seq, e.Type, h.now, e.Data)
		data, err := hall.Decode(e.Type, body)
		if err != nil || data == nil {
			h.t.Fatalf("decode %s: %v", e.Type, err)
		}
		hall.Apply(h.replica, seq, e.Type, h.now.In(h.cfg.Location), data)
	}
	return emits, err
}

func (h *alertT) must(cmd any) []hall.Emit {
	h.t.Helper()
	e, err := h.do(cmd)
	if err != nil {
		h.t.Fatalf("%T%+v: %v", cmd, cmd, err)
	}
	return e
}

func (h *alertT) refused(cmd any, code string) string {
	h.t.Helper()
	_, err := h.do(cmd)
	re, ok := err.(*hall.RuleError)
	if !ok || re.Code != code || re.Message == "" {
		h.t.Fatalf("%T%+v: got %v, want refusal %s", cmd, cmd, err, code)
	}
	return re.Message
}

// replayed checks that the journal's events fold to the same state.
func (h *alertT) replayed() {
	h.t.Helper()
	if a, b := encode(h.t, h.st), encode(h.t, h.replica); !bytes.Equal(a, b) {
		h.t.Fatalf("the replayed state differs:\n%s", diff(a, b))
	}
}

func actions(r *hall.AlertRecord) string {
	var s []string
	for _, st := range r.History {
		x := st.Action
		if st.By != "" {
			x += ":" + st.By
		}
		if st.Count > 1 {
			x += fmt.Sprintf("×%d", st.Count)
		}
		s = append(s, x)
	}
	return strings.Join(s, " ")
}

func TestAlertLifecycle(t *testing.T) {
	h := newAlertHall(t, alertHall)
	raise := hall.RaiseAlert{Alert: hall.Alert{Device: "t1", Cause: "E12", Kind: "terminal_fault", Severity: "warning", Message: "t1 故障（E12）：读卡模块无响应"}}
	e := h.must(raise)
	id := hall.CauseAlertID("t1", "E12")
	if a := e[0].Data.(*hall.Alert); a.Area != "self" {
		t.Fatalf("area %q, want the device's (self)", a.Area)
	}
	h.now = h.now.Add(time.Minute)
	h.must(raise)
	h.must(raise) // recurrences fold into one step
	for _, c := range []struct {
		name string
		cmd  any
		code string
	}{
		{"nobody", hall.AckAlert{AlertID: id}, "by_required"},
		{"unknown", hall.AckAlert{AlertID: "nope", By: "sup-1"}, "unknown_alert"},
		{"long note", hall.AckAlert{AlertID: id, By: "sup-1", Note: strings.Repeat("长", hall.MaxAlertNote+1)}, "note_too_long"},
		{"bad by", hall.AckAlert{AlertID: id, By: "a\nb"}, "bad_by"},
		{"assign to nobody", hall.AssignAlert{AlertID: id, By: "sup-1"}, "to_required"},
		{"close without note", hall.CloseAlert{AlertID: id, By: "sup-1"}, "note_required"},
	} {
		t.Run(c.name, func(t *testing.T) { h.t = t; h.refused(c.cmd, c.code) })
	}
	h.t = t
	h.now = h.now.Add(time.Minute)
	h.must(hall.AckAlert{AlertID: id, By: "sup-1", Note: "已通知厂家"})
	if msg := h.refused(hall.AckAlert{AlertID: id, By: "sup-2"}, "already_acknowledged"); !strings.Contains(msg, "sup-1") {
		t.Fatalf("the refusal does not say who acknowledged it: %s", msg)
	}
	h.must(hall.AssignAlert{AlertID: id, By: "sup-1", To: "s3", Note: "请到自助区查看"})
	h.refused(hall.AssignAlert{AlertID: id, By: "sup-1", To: "s3"}, "already_assigned")
	r := h.st.Alerts[id]
	if r.Assignee != "s3" || r.AssigneeName != "王芳" || r.Acked == nil || r.Acked.By != "sup-1" || r.Acked.Note != "已通知厂家" {
		t.Fatalf("after ack and assign: %+v", r)
	}
	h.must(hall.AssignAlert{AlertID: id, By: "sup-2", To: "外包维修 老周"})
	h.must(hall.CloseAlert{AlertID: id, By: "sup-2", Note: "更换读卡模块"})
	if _, open := h.st.Alerts[id]; open {
		t.Fatal("still open after close")
	}
	c := h.st.ClosedAlert(id)
	if c == nil || c.Ended() == nil || c.Ended().By != "sup-2" || c.Ended().Note != "更换读卡模块" || c.Assignee != "外包维修 老周" {
		t.Fatalf("closed: %+v", c)
	}
	if got, want := actions(c), "raised recurred×3 acknowledged:sup-1 assigned:sup-1 assigned:sup-2 closed:sup-2"; got != want {
		t.Fatalf("history %q, want %q", got, want)
	}
	h.refused(hall.CloseAlert{AlertID: id, By: "sup-1", Note: "再关"}, "alert_closed")
	// A recurrence after the close is an alert afresh, with a history of its own.
	h.must(raise)
	if r := h.st.Alerts[id]; r == nil || r.Acked != nil || actions(r) != "raised" || len(h.st.ClosedAlerts) != 1 {
		t.Fatalf("raised afresh: %+v (closed %d)", r, len(h.st.ClosedAlerts))
	}
	v := hall.MakeAlertView(h.cfg, c, true)
	if v.State != "closed" || v.Ended == nil || len(v.History) != 6 || v.Area != "self" {
		t.Fatalf("view: %+v", v)
	}
	h.replayed()
}

// A 差评 is never cleared by the rules: it is closed by hand, and keeps the
// window's area.
func TestBadRatingAlertClosedByHand(t *testing.T) {
	h := newAlertHall(t, alertHall)
	h.must(hall.SignIn{Window: "w1", Staff: "s1"})
	h.must(hall.IssueTicket{Service: "biz", Channel: "kiosk", Kiosk: "k1"})
	h.must(hall.CallNext{Window: "w1"})
	h.must(hall.Finish{Window: "w1"})
	e := h.must(hall.Rate{Visit: h.st.Windows["w1"].Awaiting, Level: "非常不满意", Reasons: []string{"服务态度差"}, Channel: "pad"})
	var id string
	for _, x := range e {
		if a, ok := x.Data.(*hall.Alert); ok {
			id = a.AlertID
			if a.Area != "front" {
				t.Fatalf("bad rating's area %q", a.Area)
			}
		}
	}
	if id == "" {
		t.Fatal("no alert for the 差评")
	}
	h.must(hall.CloseAlert{AlertID: id, By: "sup-1", Note: "已回访，转入差评整改"})
	if h.st.ClosedAlert(id) == nil {
		t.Fatal("not in the closed alerts")
	}
	h.replayed()
}

// A device alert cannot be closed while the device is still faulty; it
// closes itself once the device is ready, keeping its history.
func TestDeviceAlertCloseRefusedWhileFaulty(t *testing.T) {
	h := newAlertHall(t, alertHall)
	h.must(hall.ObserveDevice{Device: "p1", Kind: "ticket_printer", State: "fault", Reason: "paper_end"})
	id := "device-p1"
	r := h.st.Alerts[id]
	if r == nil || r.Area != "front" || r.Device != "p1" {
		t.Fatalf("device alert: %+v", r)
	}
	msg := h.refused(hall.CloseAlert{AlertID: id, By: "sup-1", Note: "已处理"}, "condition_holds")
	if !strings.Contains(msg, "缺纸") || !strings.Contains(msg, "确认") {
		t.Fatalf("the refusal does not say why, or what to do: %s", msg)
	}
	h.must(hall.AckAlert{AlertID: id, By: "it-1", Note: "去换纸"})
	h.now = h.now.Add(3 * time.Minute)
	h.must(hall.ObserveDevice{Device: "p1", Kind: "ticket_printer", State: "ready"})
	c := h.st.ClosedAlert(id)
	if c == nil || c.Ended().Action != hall.StepCleared || c.Ended().Reason != "ready" || actions(c) != "raised acknowledged:it-1 cleared" {
		t.Fatalf("cleared: %+v", c)
	}
	h.replayed()
}

func TestAlertHistoryAndClosedBounded(t *testing.T) {
	h := newAlertHall(t, alertHall)
	for i := range hall.MaxClosedAlerts + 20 {
		id := fmt.Sprintf("x-%d", i)
		h.must(hall.RaiseAlert{Alert: hall.Alert{AlertID: id, Kind: "trace_stopped", Severity: "warning", Message: "m"}})
		h.must(hall.CloseAlert{AlertID: id, By: "it-1", Note: "n"})
	}
	if n := len(h.st.ClosedAlerts); n != hall.MaxClosedAlerts || h.st.ClosedAlerts[0].AlertID != "x-20" {
		t.Fatalf("%d closed alerts kept, the oldest %s", n, h.st.ClosedAlerts[0].AlertID)
	}
	// One alert with many assignments keeps its first step and the newest.
	h.must(hall.RaiseAlert{Alert: hall.Alert{AlertID: "y", Kind: "trace_stopped", Severity: "warning", Message: "m"}})
	for i := range hall.MaxAlertHistory * 2 {
		h.must(hall.AssignAlert{AlertID: "y", By: "it-1", To: fmt.Sprint("p", i)})
	}
	r := h.st.Alerts["y"]
	if len(r.History) != hall.MaxAlertHistory || r.History[0].Action != hall.StepRaised || r.History[len(r.History)-1].To != fmt.Sprint("p", hall.MaxAlertHistory*2-1) {
		t.Fatalf("history of %d steps: first %+v", len(r.History), r.History[0])
	}
	h.replayed()
}

// The committed state shares alert records with the batch being applied:
// an action must replace the record, never write into it.
func TestAlertActionsCopyOnWrite(t *testing.T) {
	h := newAlertHall(t, alertHall)
	h.must(hall.RaiseAlert{Alert: hall.Alert{AlertID: "z", Kind: "trace_stopped", Severity: "warning", Message: "m"}})
	h.must(hall.AckAlert{AlertID: "z", By: "it-1"})
	for i := range 3 {
		h.must(hall.AssignAlert{AlertID: "z", By: "it-1", To: fmt.Sprint("p", i)})
	}
	before := h.st.Alerts["z"]
	hist := fmt.Sprint(before.History)
	closed := h.st.ClosedAlerts
	scratch := *h.st
	scratch.Alerts = map[string]*hall.AlertRecord{"z": before}
	for _, cmd := range []any{hall.AssignAlert{AlertID: "z", By: "a", To: "b"}, hall.CloseAlert{AlertID: "z", By: "a", Note: "n"}} {
		e, err := hall.Decide(h.cfg, &scratch, cmd, h.now)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range e {
			hall.Apply(&scratch, scratch.Seq+1, x.Type, h.now, x.Data)
		}
	}
	if fmt.Sprint(before.History) != hist || before.Assignee != "p2" || len(h.st.ClosedAlerts) != len(closed) {
		t.Fatalf("the committed record was written into: %+v", before)
	}
}

const peakHall = `
hall:
  id: p-hall
  name: 高峰大厅
  timezone: Asia/Shanghai
  opening_hours: [{days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}]
  always_open: true
  peak_load: {waiting_per_window: 3, longest_wait: 30m}
areas: [{id: front, name: 前台}, {id: back, name: 后台}]
services:
  - {id: biz, prefix: A, name: 企业开办, area: front}
  - {id: tax, prefix: B, name: 税务, area: back, max_wait_minutes: 20}
windows:
  - {id: w1, number: 1, area: front, services: [{service: biz}], backup: w3}
  - {id: w2, number: 2, area: front, services: [{service: biz}]}
  - {id: w3, number: 3, area: back, services: [{service: tax}], backup: w1}
staff:
  - {id: s1, name: 张敏, windows: [w1]}
  - {id: s2, name: 李强, windows: [w2]}
  - {id: s3, name: 王芳, windows: [w3]}
devices:
  - {id: k1, kind: kiosk, area: front}
`

func peakEmits(e []hall.Emit) []string {
	var out []string
	for _, x := range e {
		switch d := x.Data.(type) {
		case *hall.Alert:
			out = append(out, "raised "+d.AlertID+" "+d.Severity)
		case *hall.AlertCleared:
			out = append(out, "cleared "+d.AlertID+" "+d.Reason)
		case *hall.AlertUpdated:
			out = append(out, "updated "+d.AlertID)
		}
	}
	return out
}

func TestPeakLoadAlert(t *testing.T) {
	h := newAlertHall(t, peakHall)
	h.must(hall.SignIn{Window: "w1", Staff: "s1"})
	h.must(hall.SignIn{Window: "w3", Staff: "s3"})
	issue := func(svc string, n int) {
		for range n {
			h.must(hall.IssueTicket{Service: svc, Channel: "kiosk", Kiosk: "k1"})
		}
	}
	tick := func(want ...string) *hall.Alert {
		t.Helper()
		e := h.must(hall.Tick{})
		if got := peakEmits(e); fmt.Sprint(got) != fmt.Sprint(want) {
			for _, x := range e {
				t.Logf("%s %+v", x.Type, x.Data)
			}
			t.Fatalf("at %s: %v, want %v", h.now.Format("15:04"), got, want)
		}
		for _, x := range e {
			if a, ok := x.Data.(*hall.Alert); ok {
				return a
			}
		}
		return nil
	}
	// One window open for biz (w1): 3 waiting is the threshold, 4 passes it.
	issue("biz", 3)
	tick()
	issue("biz", 1)
	a := tick("raised peak-biz warning")
	if a.Kind != hall.KindPeakLoad || a.Service != "biz" || a.Area != "front" ||
		!strings.Contains(a.Message, "企业开办 等候 4 人") || !strings.Contains(a.Message, "2号窗口（未开）") ||
		!strings.Contains(a.Message, "3号窗口（1号窗口的 AB 岗）") {
		t.Fatalf("peak alert: %+v", a)
	}
	tick() // raised once
	// w2 signs in: two windows now serve biz; the windows that could help
	// are renewed, and 4 waiting for 2 windows is under the clear level
	// (80 % of 6), so it clears.
	h.must(hall.SignIn{Window: "w2", Staff: "s2"})
	tick("cleared peak-biz load_fell")
	// Hysteresis: with 2 windows, 7 waiting raises; 5 (> 4.8) keeps it open; 4 clears.
	issue("biz", 3)
	tick("raised peak-biz warning")
	h.refused(hall.CloseAlert{AlertID: "peak-biz", By: "sup-1", Note: "已增开窗口"}, "condition_holds")
	h.must(hall.CallNext{Window: "w1"})
	h.must(hall.CallNext{Window: "w2"})
	tick()
	h.must(hall.Finish{Window: "w1"})
	h.must(hall.CallNext{Window: "w1"})
	tick("cleared peak-biz load_fell")
	// The longest wait: tax's own max_wait_minutes (20) instead of the hall's 30.
	issue("tax", 1)
	h.now = h.now.Add(20 * time.Minute)
	tick()
	h.now = h.now.Add(time.Minute)
	h.must(hall.Finish{Window: "w1"})
	h.must(hall.Pause{Window: "w1", Reason: "临时外出", Minutes: 10})
	h.must(hall.Pause{Window: "w3", Reason: "会议", Minutes: 10})
	a = tick("raised peak-biz warning", "raised peak-tax warning")
	if !strings.Contains(a.Message, "1号窗口（暂停中）") || !strings.Contains(a.Message, "1 个窗口在办") {
		t.Fatalf("biz peak does not name the paused window: %s", a.Message)
	}
	tax := h.st.Alerts["peak-tax"]
	if tax.Area != "back" || !strings.Contains(tax.Message, "最长已等 21 分钟") || !strings.Contains(tax.Message, "3号窗口（暂停中）") || !strings.Contains(tax.Message, "没有窗口在办") {
		t.Fatalf("tax peak: %+v", tax)
	}
	// w1 resumes: biz has two windows again (cleared); w1, the AB post of
	// w3 (paused), now calls tax's queue: the alert says so.
	h.must(hall.Resume{Window: "w1"})
	tick("cleared peak-biz load_fell", "updated peak-tax")
	if m := h.st.Alerts["peak-tax"].Message; !strings.Contains(m, "1 个窗口在办") {
		t.Fatalf("tax peak does not count the AB post: %s", m)
	}
	// w3 resumes: w1 is no longer covering, but could help as its AB post.
	h.must(hall.Resume{Window: "w3"})
	tick("updated peak-tax")
	if m := h.st.Alerts["peak-tax"].Message; !strings.Contains(m, "1号窗口（3号窗口的 AB 岗）") {
		t.Fatalf("tax peak does not name the AB post: %s", m)
	}
	h.replayed()
}

// An open wait_over_limit alert from a journal of before is cleared: the
// peak-load alert replaces it.
func TestPeakLoadReplacesWaitOverLimit(t *testing.T) {
	h := newAlertHall(t, peakHall)
	h.must(hall.RaiseAlert{Alert: hall.Alert{AlertID: "wait-tax", Kind: "wait_over_limit", Severity: "warning", Message: "税务 有 1 人等候超过 20 分钟"}})
	tick := h.must(hall.Tick{})
	if got := peakEmits(tick); fmt.Sprint(got) != "[cleared wait-tax replaced]" {
		t.Fatalf("%v", got)
	}
}
