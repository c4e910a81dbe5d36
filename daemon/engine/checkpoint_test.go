package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"halld/daemon/config"
	"halld/daemon/engine"
	"halld/daemon/hall"
	"halld/daemon/journal"
)

const hallYAML = `
hall:
  id: h
  name: 大厅
  opening_hours: [{days: [mon], open: "09:00", close: "17:00"}]
areas: [{id: a, name: 区, open_24h: true}]
services:
  - {id: s1, prefix: A, name: 服务一, area: a}
  - {id: s2, prefix: B, name: 服务二, area: a}
windows:
  - {id: w1, number: 1, name: 一号窗口, area: a, services: [{service: s1}, {service: s2}]}
  - {id: w2, number: 2, name: 二号窗口, area: a, services: [{service: s1}]}
  - {id: w3, number: 3, name: 三号窗口, area: a, services: [{service: s2}]}
devices:
  - {id: k1, kind: kiosk, area: a}
`

// randomHall drives the engine with n commands picked at random among all the
// rules know, on a clock that crosses several hall days, so the state holds
// every kind of thing a checkpoint must carry: tickets, visits, ratings,
// follow-ups at every stage, appointments, notices, closed services, devices,
// alerts and pauses.
func randomHall(t *testing.T, e *engine.Engine, clock *testClock, n int, seed uint64) {
	t.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, 1))
	wins := []string{"w1", "w2", "w3"}
	svcs := []string{"s1", "s2"}
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	type view struct {
		awaiting        []uint32
		ids, fus, codes []string
	}
	look := func() view {
		v, err := e.Query(ctx, func(st *hall.State) any {
			var out view
			for id := range st.Tickets {
				out.ids = append(out.ids, id)
			}
			for _, w := range st.Windows {
				if w.Awaiting != 0 {
					out.awaiting = append(out.awaiting, w.Awaiting)
				}
			}
			for id := range st.FollowUps {
				out.fus = append(out.fus, id)
			}
			for c := range st.Appointments {
				out.codes = append(out.codes, c)
			}
			return out
		})
		if err != nil {
			t.Fatal(err)
		}
		return v.(view)
	}
	stages := []string{hall.StageCallback, hall.StageRectify, hall.StageFeedback, hall.StageAppealed, hall.StageUpheld, hall.StageRejected}
	for i := 0; i < n; i++ {
		clock.Advance(time.Duration(r.IntN(12*60)) * time.Second)
		v := look()
		var cmd any
		switch k := r.IntN(24); k {
		case 0, 1, 2, 3:
			cmd = hall.IssueTicket{Service: pick(svcs), Channel: "kiosk", Kiosk: "k1", RequestID: fmt.Sprintf("r%d", i)}
		case 4:
			if len(v.ids) > 0 {
				cmd = hall.PrintOutcome{TicketID: pick(v.ids), Printer: "p1"}
			}
		case 5:
			cmd = hall.SignIn{Window: pick(wins), Staff: fmt.Sprintf("staff-%d", r.IntN(5))}
		case 6:
			cmd = hall.SignOut{Window: pick(wins)}
		case 7, 8:
			cmd = hall.CallNext{Window: pick(wins)}
		case 9:
			cmd = hall.Recall{Window: pick(wins)}
		case 10:
			cmd = hall.NoShow{Window: pick(wins)}
		case 11:
			cmd = hall.Start{Window: pick(wins)}
		case 12, 13:
			cmd = hall.Finish{Window: pick(wins)}
		case 14:
			cmd = hall.Hold{Window: pick(wins)}
		case 15:
			cmd = hall.Transfer{Window: pick(wins), Service: pick(svcs)}
		case 16:
			if r.IntN(2) == 0 {
				cmd = hall.Pause{Window: pick(wins), Reason: "休息", Minutes: 5}
			} else {
				cmd = hall.Resume{Window: pick(wins)}
			}
		case 17, 18:
			if len(v.awaiting) > 0 {
				lvl := hall.RatingLevels[r.IntN(len(hall.RatingLevels))]
				cmd = hall.Rate{Visit: v.awaiting[r.IntN(len(v.awaiting))], Level: lvl, Reasons: []string{"等候时间长"}, Channel: "pad", Device: "pad-1"}
			}
		case 19:
			if len(v.fus) > 0 {
				cmd = hall.FollowUpStep{ID: pick(v.fus), Stage: pick(stages), Note: "处理", By: "admin"}
			} else {
				cmd = hall.Tick{}
			}
		case 20:
			start := clock.Now().Add(time.Duration(r.IntN(3)) * time.Hour)
			code := fmt.Sprintf("Y%04d", i)
			if r.IntN(3) == 0 && len(v.codes) > 0 {
				cmd = hall.CheckIn{Code: pick(v.codes), Kiosk: "k1", RequestID: "c" + code}
			} else if r.IntN(4) == 0 && len(v.codes) > 0 {
				cmd = hall.CancelAppointment{Code: pick(v.codes)}
			} else {
				cmd = hall.Book{Appointment: hall.Appointment{Code: code, Service: pick(svcs), SlotStart: hall.Stamp(start), SlotEnd: hall.Stamp(start.Add(30 * time.Minute)), IDHash: "h" + code, Last4: "123X", Source: "api"}}
			}
		case 21:
			if r.IntN(2) == 0 {
				cmd = hall.PostNotice{Notice: hall.Notice{ID: fmt.Sprintf("n%d", r.IntN(3)), Text: "通知"}}
			} else {
				cmd = hall.SetServiceOpen{Service: pick(svcs), Open: r.IntN(2) == 0, Reason: "系统维护"}
			}
		case 22:
			states := []string{"ready", "fault", "offline", "degraded"}
			cmd = hall.ObserveDevice{Device: "p1", Kind: "ticket_printer", State: pick(states), Reason: pick([]string{"paper_end", "cover_open", "connecting"})}
		case 23:
			switch r.IntN(3) {
			case 0:
				cmd = hall.RaiseAlert{Alert: hall.Alert{AlertID: "x", Kind: "test", Severity: "warning", Message: "测试"}}
			case 1: // a device's fault, again and again: one alert per cause, counted
				code := pick([]string{"E1", "E2", "E3"})
				cmd = hall.RaiseAlert{Alert: hall.Alert{Kind: "terminal_fault", Severity: "warning", Device: "t1", Cause: code, Message: "t1 故障 " + code}}
			default:
				cmd = hall.ClearAlert{AlertID: "x", Reason: "ok"}
			}
		}
		if cmd == nil {
			cmd = hall.Tick{}
		}
		_, _ = e.Submit(ctx, cmd) // refusals are part of a hall day
	}
}

// hallEngine is an engine (not yet running) over a new journal at path for
// hallYAML, on a clock the test moves. Whole milliseconds: the journal keeps
// event times to the millisecond.
func hallEngine(t *testing.T, path string) (*config.Config, *journal.Journal, *engine.Engine, *testClock) {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte(hallYAML))
	if err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(path, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := newTestClock(time.Date(2026, 11, 23, 8, 0, 0, 0, cfg.Location))
	e, err := engine.New(context.Background(), cfg, j, slog.New(slog.NewTextHandler(io.Discard, nil)), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, j, e, clock
}

func stateJSON(t *testing.T, st *hall.State) []byte {
	t.Helper()
	b, err := hall.EncodeState(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A state restored from a checkpoint at any seq and folded forward is the
// state a full replay gives, and the one the live engine holds.
func TestCheckpointFoldsToTheSameState(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "j.db")
	cfg, j, e, clock := hallEngine(t, path)
	e.CheckpointEvery = 1 << 62 // only the final one, for this test
	rctx, cancel := context.WithCancel(ctx)
	go e.Run(rctx)
	randomHall(t, e, clock, 3000, 7)
	live, _ := e.Query(ctx, func(st *hall.State) any { return stateJSON(t, st) })
	cancel()
	<-e.Done()

	head := j.Head()
	if head < 1000 {
		t.Fatalf("only %d events: the random hall does too little to test with", head)
	}
	full, err := engine.Fold(ctx, j, cfg.Location, hall.NewState(), 0, head)
	if err != nil {
		t.Fatal(err)
	}
	want := stateJSON(t, full)
	if !bytes.Equal(live.([]byte), want) {
		t.Fatalf("live state and replay differ:\nlive   %.2000s\nreplay %.2000s", live, want)
	}
	// The state must have been exercised: the things a checkpoint carries.
	for _, need := range []string{`"followup_id"`, `"stage_before_appeal"`, `"slot_start"`, `"ClosedServices":{"`, `"Notices":{"`, `"Alerts":{"`, `"Rated":{"`, `"Requests":{"`} {
		if !bytes.Contains(want, []byte(need)) {
			t.Errorf("state after the random hall has no %s: widen randomHall", need)
		}
	}
	for _, k := range []uint64{1, 2, head / 7, head / 3, head / 2, head - 1, head} {
		part, err := engine.Fold(ctx, j, cfg.Location, hall.NewState(), 0, k)
		if err != nil {
			t.Fatal(err)
		}
		restored, err := hall.DecodeState(stateJSON(t, part))
		if err != nil {
			t.Fatal(err)
		}
		got, err := engine.Fold(ctx, j, cfg.Location, restored, k, head)
		if err != nil {
			t.Fatal(err)
		}
		if g := stateJSON(t, got); !bytes.Equal(g, want) {
			t.Fatalf("checkpoint at %d of %d folds to another state:\ngot  %.3000s\nwant %.3000s", k, head, g, want)
		}
	}

	// The engine wrote its final checkpoint at stop; prune everything it
	// covers and restart: the state is whole.
	if s := j.CheckpointSeq(engine.CheckpointName); s != head {
		t.Fatalf("final checkpoint at %d, head %d", s, head)
	}
	if n, err := j.Prune(ctx, head-10); err != nil || n != int(head-10) {
		t.Fatalf("prune: %d, %v", n, err)
	}
	j.Close()
	j, err = journal.Open(path, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.Head() != head || j.Oldest() != head-9 {
		t.Fatalf("after prune and reopen: head %d oldest %d", j.Head(), j.Oldest())
	}
	st, err := engine.Replay(ctx, j, cfg.Location, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g := stateJSON(t, st); !bytes.Equal(g, want) {
		t.Fatalf("restart from checkpoint after pruning gives another state")
	}

	// A checkpoint of another state version is not used: with the journal
	// pruned, the state is rebuilt from what is held, and says so.
	if err := j.SaveCheckpoint(engine.CheckpointName, head, bytes.Replace(want, []byte(fmt.Sprintf(`{"version":%d,`, hall.StateVersion)), []byte(`{"version":99,`), 1)); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	st, err = engine.Replay(ctx, j, cfg.Location, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if st.Seq != head || !bytes.Contains(logs.Bytes(), []byte("another state version")) || !bytes.Contains(logs.Bytes(), []byte("no usable state checkpoint")) {
		t.Fatalf("version mismatch: seq %d, logs:\n%s", st.Seq, logs.String())
	}
}

// The engine checkpoints by itself after CheckpointEvery events, off the
// command loop, and a restart folds only what follows.
func TestEngineCheckpointsAsItGoes(t *testing.T) {
	ctx := context.Background()
	_, j, e, _ := hallEngine(t, filepath.Join(t.TempDir(), "j.db"))
	defer j.Close()
	e.CheckpointEvery = 50
	rctx, cancel := context.WithCancel(ctx)
	go e.Run(rctx)
	for i := 0; i < 200; i++ {
		if _, err := e.Submit(ctx, hall.IssueTicket{Service: "s1", Channel: "kiosk", RequestID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// One is written while commands keep coming (the writer may skip some
	// while busy), and the last one at stop covers everything.
	deadline := time.Now().Add(10 * time.Second)
	for e.CheckpointSeq() < 50 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	seq, body, ok, err := j.Checkpoint(engine.CheckpointName)
	if err != nil || !ok || seq < 50 || seq != e.CheckpointSeq() {
		t.Fatalf("checkpoint while running: seq %d ok %v err %v (engine says %d)", seq, ok, err, e.CheckpointSeq())
	}
	st, err := hall.DecodeState(body)
	if err != nil || st.Seq != seq || len(st.Order) != int(seq) {
		t.Fatalf("checkpoint holds seq %d, %d tickets, err %v", st.Seq, len(st.Order), err)
	}
	cancel()
	<-e.Done()
	if seq := j.CheckpointSeq(engine.CheckpointName); seq != j.Head() || seq != 200 {
		t.Fatalf("checkpoint at stop: %d, head %d", seq, j.Head())
	}
}

// Rules write tickets, windows, follow-ups and appointments copy-on-write:
// a batch whose commit fails leaves the committed state exactly as it was,
// whatever the commands touched.
func TestFailedCommitsLeaveTheStateAsItWas(t *testing.T) {
	ctx := context.Background()
	_, j, e, clock := hallEngine(t, filepath.Join(t.TempDir(), "j.db"))
	rctx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); <-e.Done() }()
	go e.Run(rctx)
	randomHall(t, e, clock, 600, 11)
	snap := func() []byte {
		v, _ := e.Query(ctx, func(st *hall.State) any { return stateJSON(t, st) })
		return v.([]byte)
	}
	// Open windows with tickets waiting, one being served and one awaiting
	// its rating, so every kind of command below has something to change.
	for _, w := range []string{"w1", "w2", "w3"} {
		e.Submit(ctx, hall.SignIn{Window: w, Staff: "s-" + w})
		e.Submit(ctx, hall.Resume{Window: w})
		e.Submit(ctx, hall.Finish{Window: w})
	}
	e.Submit(ctx, hall.SetServiceOpen{Service: "s1", Open: true})
	e.Submit(ctx, hall.SetServiceOpen{Service: "s2", Open: true})
	var ids []string
	for i := 0; i < 12; i++ {
		res, err := e.Submit(ctx, hall.IssueTicket{Service: []string{"s1", "s2"}[i%2], Channel: "kiosk", RequestID: fmt.Sprint("x", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Ticket.ID)
	}
	e.Submit(ctx, hall.CallNext{Window: "w1"})
	e.Submit(ctx, hall.CallNext{Window: "w2"})
	e.Submit(ctx, hall.Finish{Window: "w2"})
	before := snap()
	j.Close() // every commit fails from now on
	var refused int
	for _, cmd := range []any{hall.PrintOutcome{TicketID: ids[5], Printer: "p1"}, hall.PrintOutcome{TicketID: ids[6], Code: "paper_out"},
		hall.Start{Window: "w1"}, hall.Finish{Window: "w1"}, hall.Recall{Window: "w1"}, hall.NoShow{Window: "w1"}, hall.Hold{Window: "w1"},
		hall.Transfer{Window: "w1", Service: "s2"}, hall.CallNext{Window: "w3"}, hall.CallTicket{Window: "w2", Ticket: ids[7]},
		hall.Rate{Visit: 0, Level: "满意"}, hall.Pause{Window: "w3", Reason: "休息", Minutes: 5}, hall.SignOut{Window: "w2"}} {
		if r, ok := cmd.(hall.Rate); ok {
			v, _ := e.Query(ctx, func(st *hall.State) any { return st.Windows["w2"].Awaiting })
			r.Visit = v.(uint32)
			r.Reasons, r.Channel = []string{"等候时间长"}, "pad"
			cmd = r
		}
		var re *hall.RuleError
		if _, err := e.Submit(ctx, cmd); errors.As(err, &re) && re.Code == "storage_failed" {
			refused++
		}
	}
	if refused < 10 {
		t.Fatalf("only %d commands reached a commit: the test proves little", refused)
	}
	randomHall(t, e, clock, 600, 12)
	if e.StorageErr() == nil {
		t.Fatal("no commit failed: the test proves nothing")
	}
	if after := snap(); !bytes.Equal(before, after) {
		t.Fatalf("failed commits changed the committed state:\nbefore %.1500s\nafter  %.1500s", before, after)
	}
}
