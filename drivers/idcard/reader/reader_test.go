package reader_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"halld/drivers/device"
	"halld/drivers/idcard"
	"halld/drivers/idcard/idcardsim"
	"halld/drivers/idcard/reader"
	"halld/drivers/serialport"
	"halld/drivers/vport"
	"halld/internal/ptytest"
)

const samID = "05.01-20240101-000012345-678901234"

var fast = reader.Options{
	PollInterval:   20 * time.Millisecond,
	StatusInterval: 100 * time.Millisecond,
	Timeout:        time.Second, // generous: a loaded CI machine can stall a pty for a few hundred ms
}

// event is what the hall heard: a card, or its removal.
type event struct {
	card idcard.Card
	gone bool
}

type rig struct {
	sim *idcardsim.Reader
	vp  *vport.Port
	rd  *reader.Reader

	mu      sync.Mutex
	events  []event
	reports []device.Report
}

func newRig(t *testing.T, opts reader.Options) *rig {
	t.Helper()
	r := &rig{sim: idcardsim.New()}
	r.vp = ptytest.Device(t, "idreader", r.sim.Serve)
	r.rd = reader.New("idreader-1", opts, func(c idcard.Card) {
		r.mu.Lock()
		r.events = append(r.events, event{card: c})
		r.mu.Unlock()
	}, func() {
		r.mu.Lock()
		r.events = append(r.events, event{gone: true})
		r.mu.Unlock()
	})
	return r
}

// connect opens the port as the supervisor does and runs the driver until
// the link dies or the test ends.
func (r *rig) connect(t *testing.T) (done chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	port, err := serialport.Open(ctx, "idreader-1", serialport.Spec{Path: r.vp.Path(), Baud: 115200}, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done = make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done <- r.rd.Run(ctx, port, func(rep device.Report) {
			r.mu.Lock()
			r.reports = append(r.reports, rep)
			r.mu.Unlock()
		})
		port.Close()
	}()
	t.Cleanup(func() { cancel(); <-finished })
	return done
}

func (r *rig) place(t *testing.T, c idcard.Card) {
	t.Helper()
	if err := r.sim.Place(c); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) snapshot() ([]event, []device.Report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...), append([]device.Report(nil), r.reports...)
}

func (r *rig) last() device.Report {
	_, reps := r.snapshot()
	if len(reps) == 0 {
		return device.Report{}
	}
	return reps[len(reps)-1]
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// waitEvents waits until n events have come and returns them; on a
// timeout it shows what the driver and the simulator saw.
func (r *rig) waitEvents(t *testing.T, n int) []event {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if ev, _ := r.snapshot(); len(ev) >= n {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	ev, reps := r.snapshot()
	if len(ev) != n {
		t.Logf("driver %+v", r.rd.Stats())
		t.Logf("simulator: %d find, %d select, %d read; %+v", r.sim.Count(idcard.FindCard()),
			r.sim.Count(idcard.SelectCard()), r.sim.Count(idcard.ReadCard()), r.sim.Stats())
		for _, rep := range reps[max(0, len(reps)-5):] {
			t.Logf("report %+v", rep)
		}
		t.Fatalf("%d events, want %d: %v", len(ev), n, kinds(ev))
	}
	return ev
}

// waitReport waits until the last report is state/reason.
func (r *rig) waitReport(t *testing.T, state, reason string) device.Report {
	t.Helper()
	eventually(t, "report "+state+"/"+reason, func() bool {
		l := r.last()
		return l.State == state && l.Reason == reason
	})
	return r.last()
}

// saw reports whether any report so far was state/reason.
func (r *rig) saw(state, reason string) bool {
	_, reps := r.snapshot()
	for _, rep := range reps {
		if rep.State == state && rep.Reason == reason {
			return true
		}
	}
	return false
}

// sawReason reports whether any report so far gave reason.
func (r *rig) sawReason(reason string) bool {
	_, reps := r.snapshot()
	for _, rep := range reps {
		if rep.Reason == reason {
			return true
		}
	}
	return false
}

func kinds(ev []event) []string {
	var s []string
	for _, e := range ev {
		if e.gone {
			s = append(s, "gone")
		} else {
			s = append(s, e.card.String())
		}
	}
	return s
}

// sameCard compares a card read with the card placed.
func sameCard(t *testing.T, got, placed idcard.Card) {
	t.Helper()
	want := placed
	want.PhotoWLT = idcardsim.Photo(placed)
	if !reflect.DeepEqual(got, want) {
		type plain idcard.Card
		t.Fatalf("card read\n got %+v\nwant %+v", plain(got), plain(want))
	}
}

// noPersonalData checks that nothing the driver reported or returned shows
// a card's contents.
func (r *rig) noPersonalData(t *testing.T, extra ...string) {
	t.Helper()
	_, reps := r.snapshot()
	text := fmt.Sprintf("%+v %v", reps, extra)
	for _, c := range idcardsim.Samples() {
		for _, secret := range []string{c.Name, c.Number, c.Number[:6], c.Address, c.PassNumber} {
			if secret != "" && strings.Contains(text, secret) {
				t.Fatalf("reports show %q: %s", secret, text)
			}
		}
	}
}

func TestReadsEachKind(t *testing.T) {
	r := newRig(t, fast)
	r.connect(t)
	rep := r.waitReport(t, device.StateReady, "")
	if rep.Detail["sam_id"] != samID || !rep.Seen {
		t.Fatalf("ready report %+v", rep)
	}
	if r.sim.RFFrame() != idcard.DefaultRFFrame {
		t.Fatalf("RF frame %02X", r.sim.RFFrame())
	}
	n := 0
	for _, c := range idcardsim.Samples() {
		t.Run(string(c.Kind), func(t *testing.T) {
			r.place(t, c)
			ev := r.waitEvents(t, n+1)
			sameCard(t, ev[n].card, c)
			r.sim.Remove()
			if ev := r.waitEvents(t, n+2); !ev[n+1].gone {
				t.Fatalf("events %v", kinds(ev))
			}
			n += 2
		})
	}
	if s := r.rd.Stats(); s.Cards != 4 || r.rd.Jobs() != 4 || s.ReadFailures != 0 || s.Timeouts != 0 {
		t.Fatalf("stats %+v", s)
	}
	r.noPersonalData(t)
}

// One event per placement: a card left on is not read again, its removal
// is noticed, the same card placed again is a new event, and a card swapped
// between two polls is the old one gone and a new one.
func TestOneEventPerPlacement(t *testing.T) {
	for _, refind := range []bool{false, true} {
		t.Run(fmt.Sprintf("refind=%v", refind), func(t *testing.T) {
			r := newRig(t, fast)
			r.sim.SetRefind(refind)
			r.connect(t)
			r.waitReport(t, device.StateReady, "")
			s := idcardsim.Samples()
			r.place(t, s[0])
			ev := r.waitEvents(t, 1)
			sameCard(t, ev[0].card, s[0])

			time.Sleep(20 * fast.PollInterval) // left on the reader
			r.waitEvents(t, 1)
			if n := r.sim.Count(idcard.ReadCard()); !refind && n != 1 {
				t.Fatalf("read %d times while left on", n)
			}

			r.sim.Remove()
			r.waitEvents(t, 2)
			r.place(t, s[0])
			ev = r.waitEvents(t, 3)
			sameCard(t, ev[2].card, s[0])

			r.place(t, s[3]) // swapped without a poll seeing the reader empty
			ev = r.waitEvents(t, 5)
			if !ev[3].gone {
				t.Fatalf("events %v", kinds(ev))
			}
			sameCard(t, ev[4].card, s[3])
			time.Sleep(10 * fast.PollInterval)
			r.waitEvents(t, 5)
		})
	}
}

func TestFaults(t *testing.T) {
	s := idcardsim.Samples()
	badNumber := s[0]
	badNumber.Number = "430104199003071238" // check digit wrong
	tests := []struct {
		name   string
		inject func(*idcardsim.Reader)
		card   *idcard.Card // placed; nil: s[1]
		event  bool         // a card event is due
		saw    string       // a reason seen on the way ("": none but ready)
		check  func(*testing.T, reader.Stats, *idcardsim.Reader)
	}{
		{"no card", func(sim *idcardsim.Reader) {}, &idcard.Card{}, false, "", nil}, // an empty card: none placed
		{"find says no card once", func(sim *idcardsim.Reader) { sim.FailNext(idcard.FindCard(), idcard.NoCard) }, nil, true, "", nil},
		{"select fails (81)", func(sim *idcardsim.Reader) { sim.FailNext(idcard.SelectCard(), idcard.SelectFailed) }, nil, true,
			reader.ReasonReadFailed, func(t *testing.T, st reader.Stats, _ *idcardsim.Reader) {
				if st.ReadFailures != 1 {
					t.Fatalf("stats %+v", st)
				}
			}},
		{"read fails (41)", func(sim *idcardsim.Reader) { sim.FailNext(idcard.ReadCard(), idcard.ReadFailed) }, nil, true,
			reader.ReasonReadFailed, nil},
		{"card fails authentication (31)", func(sim *idcardsim.Reader) { sim.FailNext(idcard.FindCard(), idcard.CardAuthFailed) }, nil, true,
			reader.ReasonReadFailed, nil},
		{"a reply with a bad checksum", func(sim *idcardsim.Reader) { sim.DamageNext(idcard.ReadCard()) }, nil, true, "",
			func(t *testing.T, st reader.Stats, sim *idcardsim.Reader) {
				// Sent again at once, not after a timeout.
				if st.Frames.BadChecksum != 1 || st.Retries != 1 || st.Timeouts != 0 || sim.Count(idcard.ReadCard()) != 2 {
					t.Fatalf("stats %+v, %d reads", st, sim.Count(idcard.ReadCard()))
				}
			}},
		{"the reader says our frame had a bad checksum (10)", func(sim *idcardsim.Reader) {
			sim.FailNext(idcard.ReadCard(), idcard.BadHostChecksum)
		}, nil, true, "", func(t *testing.T, st reader.Stats, sim *idcardsim.Reader) {
			if st.Retries != 1 || sim.Count(idcard.ReadCard()) != 2 {
				t.Fatalf("stats %+v, %d reads", st, sim.Count(idcard.ReadCard()))
			}
		}},
		{"the read reply lost three times", func(sim *idcardsim.Reader) {
			for range 3 {
				sim.DamageNext(idcard.ReadCard())
			}
		}, nil, true, reader.ReasonNoReply, func(t *testing.T, st reader.Stats, sim *idcardsim.Reader) {
			// The SAM did read the card, so find says 80: select and read again.
			if st.Frames.BadChecksum != 3 || sim.Count(idcard.ReadCard()) != 4 {
				t.Fatalf("stats %+v, %d reads", st, sim.Count(idcard.ReadCard()))
			}
		}},
		{"garbage before a reply", func(sim *idcardsim.Reader) { sim.SetGarbage(300) }, nil, true, "",
			func(t *testing.T, st reader.Stats, _ *idcardsim.Reader) {
				if st.Frames.JunkBytes < 300 || st.Timeouts != 0 {
					t.Fatalf("stats %+v", st)
				}
			}},
		{"slow replies within the timeout", func(sim *idcardsim.Reader) { sim.SetSlow(fast.Timeout / 5) }, nil, true, "",
			func(t *testing.T, st reader.Stats, _ *idcardsim.Reader) {
				if st.Timeouts != 0 {
					t.Fatalf("stats %+v", st)
				}
			}},
		{"text that fails validation", func(sim *idcardsim.Reader) {}, &badNumber, false, reader.ReasonReadFailed,
			func(t *testing.T, st reader.Stats, sim *idcardsim.Reader) {
				// Read once: the same bytes would come again.
				if st.ReadFailures != 1 || st.Cards != 0 || sim.Count(idcard.ReadCard()) != 1 {
					t.Fatalf("stats %+v, %d reads", st, sim.Count(idcard.ReadCard()))
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, fast)
			r.connect(t)
			r.waitReport(t, device.StateReady, "")
			tt.inject(r.sim)
			card := s[1]
			if tt.card != nil {
				card = *tt.card
			}
			if card.Kind != "" {
				r.place(t, card)
			}
			if tt.event {
				ev := r.waitEvents(t, 1)
				sameCard(t, ev[0].card, card)
				r.waitReport(t, device.StateReady, "")
			} else {
				time.Sleep(15 * fast.PollInterval)
				r.waitEvents(t, 0)
			}
			if tt.saw != "" && !r.sawReason(tt.saw) {
				_, reps := r.snapshot()
				t.Fatalf("no %s report: %+v", tt.saw, reps)
			}
			if tt.saw == "" && (r.sawReason(reader.ReasonReadFailed) || r.sawReason(reader.ReasonNoReply)) {
				_, reps := r.snapshot()
				t.Fatalf("reports %+v", reps)
			}
			if tt.check != nil {
				tt.check(t, r.rd.Stats(), r.sim)
			}
			r.noPersonalData(t)
		})
	}
}

// A failed read leaves the reader degraded, with the status and its
// Chinese message, until a card is read.
func TestReadFailureReport(t *testing.T) {
	r := newRig(t, fast)
	r.connect(t)
	r.waitReport(t, device.StateReady, "")
	bad := idcardsim.Samples()[0]
	bad.Number = "430104199003071238"
	r.place(t, bad)
	rep := r.waitReport(t, device.StateDegraded, reader.ReasonReadFailed)
	if e, _ := rep.Detail["error"].(string); !strings.HasPrefix(e, "idreader-1: read card (30 01): ") || !strings.Contains(e, "GB 11643") {
		t.Fatalf("detail %+v", rep.Detail)
	}
	r.sim.FailNext(idcard.SelectCard(), idcard.SelectFailed)
	r.place(t, idcardsim.Samples()[2])
	eventually(t, "select failure", func() bool { return r.last().Detail["sw3"] == "81" })
	rep = r.last()
	if rep.State != device.StateDegraded || rep.Detail["message"] != "选卡失败，请重新放置证件" || rep.Detail["sam_id"] != samID {
		t.Fatalf("report %+v", rep)
	}
	r.waitEvents(t, 1)
	r.waitReport(t, device.StateReady, "")
	r.noPersonalData(t)
}

func TestSAMFaults(t *testing.T) {
	t.Run("unauthorised at open", func(t *testing.T) {
		r := newRig(t, fast)
		r.sim.SetSAM(idcardsim.SAMUnauthorised)
		r.place(t, idcardsim.Samples()[0])
		r.connect(t)
		rep := r.waitReport(t, device.StateFault, reader.ReasonUnauthorised)
		if rep.Detail["sam_id"] != samID || rep.Detail["sw3"] != "66" || !rep.Seen {
			t.Fatalf("report %+v", rep)
		}
		time.Sleep(3 * fast.StatusInterval)
		r.waitEvents(t, 0)
		if n := r.sim.Count(idcard.FindCard()); n != 0 {
			t.Fatalf("%d finds with an unusable SAM", n)
		}
		r.sim.SetSAM(idcardsim.SAMReady)
		r.waitReport(t, device.StateReady, "")
		r.waitEvents(t, 1)
		if r.sim.RFFrame() != idcard.DefaultRFFrame {
			t.Fatal("RF frame not set once the SAM came good")
		}
	})
	t.Run("self-test fails while running", func(t *testing.T) {
		r := newRig(t, fast)
		r.connect(t)
		r.waitReport(t, device.StateReady, "")
		r.sim.SetSAM(idcardsim.SAMSelfTestFailed)
		rep := r.waitReport(t, device.StateFault, reader.ReasonSelfTestFailed)
		if rep.Detail["sw3"] != "60" || rep.Detail["message"] != "读卡器自检失败，请联系工作人员" {
			t.Fatalf("report %+v", rep)
		}
		r.sim.SetSAM(idcardsim.SAMReady)
		r.waitReport(t, device.StateReady, "")
	})
}

// A reader that stops answering in time is offline while the port is
// still open, and back when it answers again.
func TestNoReply(t *testing.T) {
	r := newRig(t, fast)
	r.connect(t)
	r.waitReport(t, device.StateReady, "")
	r.sim.SetSlow(2 * fast.Timeout)
	rep := r.waitReport(t, device.StateOffline, reader.ReasonNoReply)
	if rep.Seen {
		t.Fatal("no reply reported as seen")
	}
	r.sim.SetSlow(0)
	r.waitReport(t, device.StateReady, "")
	r.place(t, idcardsim.Samples()[3])
	r.waitEvents(t, 1)
	if s := r.rd.Stats(); s.Timeouts == 0 {
		t.Fatalf("stats %+v", s)
	}
}

// Replies that come after the timeout are dropped, not taken for the answer
// to the next command (the protocol has no sequence number).
func TestLateReplies(t *testing.T) {
	r := newRig(t, fast)
	r.connect(t)
	r.waitReport(t, device.StateReady, "")
	r.sim.SetSlow(fast.Timeout + fast.Timeout/4) // every reply just too late
	r.waitReport(t, device.StateOffline, reader.ReasonNoReply)
	time.Sleep(2 * fast.Timeout)
	r.sim.SetSlow(0)
	r.waitReport(t, device.StateReady, "")
	c := idcardsim.Samples()[2]
	r.place(t, c)
	sameCard(t, r.waitEvents(t, 1)[0].card, c)
	time.Sleep(10 * fast.PollInterval)
	r.waitEvents(t, 1)
	// A late find reply (80) taken for the SAM status would be a SAM fault;
	// a late status reply (90) taken for find, a failed read.
	if r.saw(device.StateFault, reader.ReasonSAMStatus) || r.saw(device.StateDegraded, reader.ReasonReadFailed) {
		_, reps := r.snapshot()
		t.Fatalf("a late reply answered another command: %+v", reps)
	}
	if s := r.rd.Stats(); s.Stale == 0 || s.Timeouts == 0 {
		t.Fatalf("stats %+v", s)
	}
}

// Unplugged, the link loss ends Run at once and the card on the reader is
// gone; plugged back, the reader (powered up again) reads it again.
func TestUnplugReplug(t *testing.T) {
	r := newRig(t, fast)
	c := idcardsim.Samples()[0]
	r.place(t, c)
	cycle := func(i int) {
		done := r.connect(t)
		ev := r.waitEvents(t, 2*i+1)
		sameCard(t, ev[2*i].card, c)
		start := time.Now()
		r.vp.Unplug()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "idreader-1") {
				t.Fatalf("cycle %d: Run returned %v", i, err)
			}
			r.noPersonalData(t, err.Error())
		case <-time.After(time.Second):
			t.Fatalf("cycle %d: unplug not noticed within 1 s", i)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("cycle %d: noticed after %v", i, d)
		}
		if ev := r.waitEvents(t, 2*i+2); !ev[2*i+1].gone {
			t.Fatalf("cycle %d: events %v", i, kinds(ev))
		}
		if err := r.vp.Replug(); err != nil {
			t.Fatal(err)
		}
	}
	ptytest.Replugs(t, 10, 4, cycle)
}

// Stopping the driver (ctx) with a card on the reader ends the placement.
func TestStopEndsPlacement(t *testing.T) {
	r := newRig(t, fast)
	ctx, cancel := context.WithCancel(context.Background())
	port, err := serialport.Open(ctx, "idreader-1", serialport.Spec{Path: r.vp.Path()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	done := make(chan error, 1)
	go func() { done <- r.rd.Run(ctx, port, func(device.Report) {}) }()
	r.place(t, idcardsim.Samples()[1])
	r.waitEvents(t, 1)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	if ev := r.waitEvents(t, 2); !ev[1].gone {
		t.Fatalf("events %v", kinds(ev))
	}
}
