package central_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"halld/daemon/central"
	"halld/daemon/hall"
	"halld/daemon/internal/testhall"
	"halld/daemon/pii"
	"halld/daemon/uplink"
)

const hallYAML = `
hall:
  id: test-hall
  name: 测试大厅
  timezone: Asia/Shanghai
  always_open: true
  opening_hours:
    - {days: [mon, tue, wed, thu, fri, sat, sun], open: "00:00", close: "23:59"}
areas:
  - {id: front, name: 前窗}
services:
  - {id: tax, prefix: B, name: 税务, area: front}
windows:
  - {id: w1, number: 1, name: 综合窗口, area: front, services: [{service: tax}]}
staff: [{id: s1, name: 张敏, windows: [w1]}]
devices:
  - {id: p1, kind: ticket_printer, area: front, simulate: true}
`

type rig struct {
	h       *testhall.Hall
	key     *pii.Key
	handle  uplink.CommandFunc
	resyncs int
}

// newRig is the handler on a real engine and journal, with a real pii key.
func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{h: testhall.New(t, hallYAML)}
	key, err := pii.LoadOrCreate(filepath.Join(t.TempDir(), "pii.key"))
	if err != nil {
		t.Fatal(err)
	}
	r.key = key
	r.handle = central.Handler(r.h.Engine, key, pii.Last4, func() (uint64, uint64, error) {
		r.resyncs++
		return 1, r.h.Journal.Head(), nil
	})
	return r
}

func (r *rig) state(t *testing.T, fn func(st *hall.State) any) any {
	t.Helper()
	v, err := r.h.Engine.Query(context.Background(), fn)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// journalText is every event the journal holds, as stored.
func (r *rig) journalText(t *testing.T) string {
	t.Helper()
	recs, err := r.h.Journal.Read(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, rec := range recs {
		b.WriteString(rec.Type)
		b.WriteByte(' ')
		b.Write(rec.Body)
		b.WriteByte('\n')
	}
	return b.String()
}

// An appointment from the central side is recorded with its source, and
// its ID number becomes the keyed hash and last four at once: the number
// itself is never in the journal.
func TestAppointmentAddHashesTheIDNumber(t *testing.T) {
	r := newRig(t)
	const id = "43010219800101123X"
	start := time.Now().Add(time.Hour).Truncate(time.Minute)
	args, _ := json.Marshal(map[string]any{"code": "C-100", "service": "tax", "slot_start": start,
		"slot_end": start.Add(30 * time.Minute), "id_number": id})
	res, err := r.handle("", "appointment.add", args)
	if err != nil {
		t.Fatalf("appointment.add: %v", err)
	}
	if m, _ := res.(map[string]any); m["events"] != 1 {
		t.Fatalf("result %v, want one event", res)
	}
	ap := r.state(t, func(st *hall.State) any { a := *st.Appointments["C-100"]; return a }).(hall.Appointment)
	if ap.Source != "central" || ap.Service != "tax" || ap.IDHash != r.key.Hash(id) || ap.Last4 != "123X" {
		t.Fatalf("appointment recorded as %+v", ap)
	}
	if j := r.journalText(t); strings.Contains(j, id) || !strings.Contains(j, "appointment.booked") {
		t.Fatalf("the journal holds the ID number or lacks the booking:\n%s", j)
	}

	// Cancelled by code.
	if _, err := r.handle("", "appointment.cancel", []byte(`{"code":"C-100"}`)); err != nil {
		t.Fatalf("appointment.cancel: %v", err)
	}
	if !r.state(t, func(st *hall.State) any { return st.Appointments["C-100"].Cancelled }).(bool) {
		t.Fatal("the appointment is not cancelled")
	}
}

func TestNoticeAndServiceOpenClose(t *testing.T) {
	r := newRig(t)
	if _, err := r.handle("", "notice.post", []byte(`{"id":"n1","text":"今日下午系统升级"}`)); err != nil {
		t.Fatalf("notice.post: %v", err)
	}
	if txt := r.state(t, func(st *hall.State) any { return st.Notices["n1"].Text }).(string); txt != "今日下午系统升级" {
		t.Fatalf("notice %q", txt)
	}
	if _, err := r.handle("", "service.close", []byte(`{"service":"tax","reason":"系统维护"}`)); err != nil {
		t.Fatalf("service.close: %v", err)
	}
	if why := r.state(t, func(st *hall.State) any { return st.ClosedServices["tax"] }).(string); why != "系统维护" {
		t.Fatalf("closed with reason %q", why)
	}
	// A closed service takes no tickets: the same rules as every other path.
	if _, err := r.h.Engine.Submit(context.Background(), hall.IssueTicket{Service: "tax"}); err == nil {
		t.Fatal("a ticket was issued for a service the central server closed")
	}
	if _, err := r.handle("", "service.open", []byte(`{"service":"tax"}`)); err != nil {
		t.Fatalf("service.open: %v", err)
	}
	if _, err := r.h.Engine.Submit(context.Background(), hall.IssueTicket{Service: "tax"}); err != nil {
		t.Fatalf("a reopened service refused a ticket: %v", err)
	}
}

// Bad commands are errors the sender sees, never a crash and never a state
// change: unknown names, device commands, unknown or mistyped fields, and
// the rules' own refusals (with their code).
func TestBadCommandsAreRefusedAndChangeNothing(t *testing.T) {
	r := newRig(t)
	head := r.h.Journal.Head()
	for _, c := range []struct {
		dev, name, args string
		unknown         bool   // ErrUnknownCommand
		want            string // in the error
	}{
		{"", "no.such", `{}`, true, "no.such"},
		{"printer-1", "notice.post", `{"id":"n","text":"x"}`, true, "printer-1"},
		{"", "notice.post", `{"id":"n","text":"x","colour":"red"}`, false, "bad args"},
		{"", "service.close", `{"service":5}`, false, "bad args"},
		{"", "appointment.add", `not json`, false, "bad args"},
		{"", "service.close", `{"service":"no-such"}`, false, "unknown_service"},
		{"", "appointment.cancel", `{"code":"never-booked"}`, false, ""},
	} {
		res, err := r.handle(c.dev, c.name, []byte(c.args))
		if err == nil {
			t.Errorf("%s %s %s: accepted (%v)", c.dev, c.name, c.args, res)
			continue
		}
		if c.unknown != errors.Is(err, uplink.ErrUnknownCommand) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s %s: %v, want unknown=%v containing %q", c.dev, c.name, c.args, err, c.unknown, c.want)
		}
	}
	if h := r.h.Journal.Head(); h != head {
		t.Fatalf("refused commands recorded %d events", h-head)
	}
	if r.resyncs != 0 {
		t.Fatal("a bad command triggered a resync")
	}
}

func TestResyncReportsItsRange(t *testing.T) {
	r := newRig(t)
	for range 3 {
		if _, err := r.h.Engine.Submit(context.Background(), hall.IssueTicket{Service: "tax"}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := r.handle("", "resync", nil)
	if err != nil {
		t.Fatalf("resync: %v", err)
	}
	m, _ := res.(map[string]any)
	if r.resyncs != 1 || m["resync"] != true || m["from_seq"] != uint64(1) || m["to_seq"] != r.h.Journal.Head() {
		t.Fatalf("resync answered %v after %d rewinds (head %d)", res, r.resyncs, r.h.Journal.Head())
	}
}
