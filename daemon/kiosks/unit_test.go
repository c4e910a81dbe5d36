package kiosks_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"halld/daemon/hall"
	"halld/daemon/internal/testhall"
	"halld/daemon/issuer"
	"halld/daemon/kiosks"
	"halld/daemon/pii"
	"halld/daemon/printing"
	"halld/drivers/escpos/escpossim"
	"halld/internal/testprinter"
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
  - {id: tax, prefix: B, name: 税务, area: front, green_channel: {min_age: 70}}
windows:
  - {id: w1, number: 1, name: 综合窗口, services: [{service: tax}]}
devices:
  - {id: kiosk-1, kind: kiosk, area: front, kiosk: {printers: [p1], readers: [idr-1], scanners: [scan-1], session_timeout: %s}}
  - {id: kiosk-2, kind: kiosk, area: front, kiosk: {printers: [p1], readers: [idr-2]}}
  - {id: p1, kind: ticket_printer, area: front, simulate: true}
  - {id: idr-1, kind: id_reader, simulate: true}
  - {id: idr-2, kind: id_reader, simulate: true}
  - {id: scan-1, kind: scanner, simulate: true}
`

// The citizens: an elderly one (green channel at 70), a younger one.
var (
	elder = kiosks.Person{Kind: "resident", Greeting: "张*", Number: "43010219500101123X",
		Birth: time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)}
	young = kiosks.Person{Kind: "resident", Greeting: "李*", Number: "430102199001015678",
		Birth: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)}
)

type rig struct {
	h   *testhall.Hall
	m   *kiosks.Manager
	key *pii.Key
	sim *escpossim.Simulator
}

// newRig is the manager on a real engine and journal, issuing through the
// real issuer and dispatcher to a ticket printer driver over a pty to the
// printer simulator (testprinter).
func newRig(t *testing.T, timeout string) *rig {
	t.Helper()
	h := testhall.New(t, fmt.Sprintf(hallYAML, timeout))
	key, err := pii.LoadOrCreate(filepath.Join(t.TempDir(), "pii.key"))
	if err != nil {
		t.Fatal(err)
	}
	p, sim := testprinter.Start(t, "p1", testprinter.Options{})
	iss := issuer.New(h.Engine, printing.New(h.Config, []printing.Printer{p}), prometheus.NewRegistry())
	return &rig{h: h, m: kiosks.New(h.Config, h.Engine, iss, key, h.Log), key: key, sim: sim}
}

// next waits for the next message to a kiosk's page.
func next(t *testing.T, ch <-chan kiosks.Msg) kiosks.Msg {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message for the kiosk")
		return kiosks.Msg{}
	}
}

func quiet(t *testing.T, ch <-chan kiosks.Msg, what string) {
	t.Helper()
	select {
	case m := <-ch:
		t.Fatalf("%s got %+v", what, m)
	case <-time.After(100 * time.Millisecond):
	}
}

func (r *rig) journal(t *testing.T) string {
	t.Helper()
	recs, err := r.h.Journal.Read(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, rec := range recs {
		fmt.Fprintf(&b, "%s %s\n", rec.Type, rec.Body)
	}
	return b.String()
}

// A card reaches its own kiosk's page only, greets the citizen by a masked
// name and the last four, and the journal keeps a keyed hash, never the
// number. Taking a number gives the green channel by age and the masked ID,
// and ends the session: the citizen's data is gone.
func TestCardGreetsItsKioskOnlyAndTicketEndsTheSession(t *testing.T) {
	r := newRig(t, "2m")
	ctx := context.Background()
	ch1, cancel1 := r.m.Subscribe("kiosk-1")
	defer cancel1()
	ch2, cancel2 := r.m.Subscribe("kiosk-2")
	defer cancel2()

	r.m.CardPlaced(ctx, "idr-1", elder)
	m := next(t, ch1)
	if m.Type != "card" || m.Person == nil || m.Person.Greeting != "张*" || m.Person.Last4 != "123X" || m.Person.Age < 70 || m.Expires == nil {
		t.Fatalf("card message %+v (person %+v)", m, m.Person)
	}
	quiet(t, ch2, "another kiosk's page")
	if !r.m.Active("kiosk-1") || r.m.Active("kiosk-2") {
		t.Fatal("the session is not held at its own kiosk only")
	}
	j := r.journal(t)
	if !strings.Contains(j, "idcard.read") || !strings.Contains(j, r.key.Hash(elder.Number)) || strings.Contains(j, elder.Number) {
		t.Fatalf("the journal does not hold just the masked record:\n%s", j)
	}

	tk, created, err := r.m.Take(ctx, "kiosk-1", "tax", "req-1")
	if err != nil || !created {
		t.Fatalf("take: %v (created %v)", err, created)
	}
	if tk.Priority != hall.PriorityGreen || !strings.HasSuffix(tk.MaskedID, "123X") || tk.PrintStatus != hall.PrintPrinted {
		t.Fatalf("ticket %+v: want green, masked ID, printed", tk)
	}
	if m := next(t, ch1); m.Type != "session_end" {
		t.Fatalf("after the ticket: %+v", m)
	}
	if r.m.Active("kiosk-1") {
		t.Fatal("the citizen's data outlived the ticket")
	}
	// The next number at that kiosk carries nothing of them.
	tk2, _, err := r.m.Take(ctx, "kiosk-1", "tax", "req-2")
	if err != nil || tk2.Priority != hall.PriorityNormal || tk2.MaskedID != "" {
		t.Fatalf("the next ticket %+v (err %v) carries the last citizen's data", tk2, err)
	}
}

// A new card is a new citizen: nothing of the one before carries over.
func TestANewCardReplacesTheLastCitizen(t *testing.T) {
	r := newRig(t, "2m")
	ctx := context.Background()
	ch, cancel := r.m.Subscribe("kiosk-1")
	defer cancel()
	r.m.CardPlaced(ctx, "idr-1", elder)
	next(t, ch) // card
	r.m.CardPlaced(ctx, "idr-1", young)
	if m := next(t, ch); m.Type != "session_end" {
		t.Fatalf("the first citizen's session did not end: %+v", m)
	}
	if m := next(t, ch); m.Type != "card" || m.Person.Greeting != "李*" {
		t.Fatalf("second card: %+v", m)
	}
	tk, _, err := r.m.Take(ctx, "kiosk-1", "tax", "req-1")
	if err != nil || tk.Priority != hall.PriorityNormal || !strings.HasSuffix(tk.MaskedID, "5678") {
		t.Fatalf("ticket %+v (err %v): want the second citizen's, not green", tk, err)
	}
}

// The time limit wipes the card data by itself.
func TestSessionTimeLimitWipesTheCard(t *testing.T) {
	r := newRig(t, "1s")
	ch, cancel := r.m.Subscribe("kiosk-1")
	defer cancel()
	r.m.CardPlaced(context.Background(), "idr-1", elder)
	next(t, ch) // card
	start := time.Now()
	if m := next(t, ch); m.Type != "session_end" {
		t.Fatalf("want session_end, got %+v", m)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("wiped after %v (limit 1s)", took)
	}
	if r.m.Active("kiosk-1") {
		t.Fatal("still active after the time limit")
	}
}

// An expired card is refused in Chinese and opens no session; a reader no
// kiosk lists is ignored and records nothing.
func TestExpiredCardAndUnknownReader(t *testing.T) {
	r := newRig(t, "2m")
	ch, cancel := r.m.Subscribe("kiosk-1")
	defer cancel()
	old := young
	old.ValidTo = time.Now().AddDate(-1, 0, 0)
	r.m.CardPlaced(context.Background(), "idr-1", old)
	m := next(t, ch)
	if m.Type != "card_error" || m.Error == nil || m.Error.Code != "card_expired" || !strings.Contains(m.Error.Message, "有效期") {
		t.Fatalf("expired card: %+v", m)
	}
	if r.m.Active("kiosk-1") {
		t.Fatal("an expired card opened a session")
	}
	head := r.h.Journal.Head()
	r.m.CardPlaced(context.Background(), "no-such-reader", elder)
	if r.h.Journal.Head() != head {
		t.Fatal("a card at a reader no kiosk lists was recorded")
	}
	quiet(t, ch, "kiosk-1 for another reader's card")
}

// A same-day booking checks in by card or by its scanned code; any other
// scan goes to the page as input.
func TestCheckInByCardAndByScan(t *testing.T) {
	r := newRig(t, "2m")
	ctx := context.Background()
	now := time.Now()
	book := func(code, idNumber string) {
		t.Helper()
		ap := hall.Appointment{Code: code, Service: "tax", SlotStart: hall.Stamp(now.Add(-10 * time.Minute)),
			SlotEnd: hall.Stamp(now.Add(time.Hour))}
		if idNumber != "" {
			ap.IDHash, ap.Last4 = r.key.Hash(idNumber), pii.Last4(idNumber)
		}
		if _, err := r.h.Engine.Submit(ctx, hall.Book{Appointment: ap}); err != nil {
			t.Fatal(err)
		}
	}
	book("BK-1", young.Number)
	book("BK-2", "")
	ch, cancel := r.m.Subscribe("kiosk-1")
	defer cancel()

	r.m.CardPlaced(ctx, "idr-1", young)
	m := next(t, ch)
	if m.Type != "checked_in" || m.Ticket == nil || m.Ticket.Priority != hall.PriorityAppointment {
		t.Fatalf("card with a booking: %+v", m)
	}
	if m := next(t, ch); m.Type != "session_end" || r.m.Active("kiosk-1") {
		t.Fatalf("the check-in did not end the session: %+v", m)
	}

	r.m.Scan(ctx, "scan-1", "BK-2")
	if m := next(t, ch); m.Type != "checked_in" || m.Ticket == nil {
		t.Fatalf("scanned booking code: %+v", m)
	}
	r.m.Scan(ctx, "scan-1", "hello")
	if m := next(t, ch); m.Type != "scan" || m.Text != "hello" || m.Error != nil {
		t.Fatalf("other scan: %+v", m)
	}
}
