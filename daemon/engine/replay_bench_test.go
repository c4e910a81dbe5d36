package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"halld/daemon/config"
	"halld/daemon/engine"
	"halld/daemon/hall"
	"halld/daemon/journal"
)

// writeDays fills a journal with `days` busy hall days through the pure rules
// (no engine, no fsync per command): each window serves and rates in turn.
func writeDays(b *testing.B, cfg *config.Config, j *journal.Journal, days, perWindow int) {
	st := hall.NewState()
	var recs []journal.Record
	seq := j.Head()
	do := func(now time.Time, cmd any) {
		emits, err := hall.Decide(cfg, st, cmd, now)
		if err != nil {
			return
		}
		for _, em := range emits {
			seq++
			env := hall.Envelope{ID: uuid.Must(uuid.NewV7()).String(), Seq: seq, TS: hall.Stamp(now), Type: em.Type, Hall: cfg.Hall.ID}
			body, _ := hall.Encode(env, em.Data)
			recs = append(recs, journal.Record{Seq: seq, ID: env.ID, Type: em.Type, TS: now, Body: body})
			hall.Apply(st, seq, em.Type, now, em.Data)
		}
	}
	day := time.Date(2026, 1, 5, 8, 30, 0, 0, cfg.Location)
	wins := []string{"w1", "w2", "w3"}
	for d := 0; d < days; d++ {
		now := day.AddDate(0, 0, d)
		for _, w := range wins {
			do(now, hall.SignIn{Window: w, Staff: "staff-" + w})
		}
		for i := 0; i < perWindow; i++ {
			for k, w := range wins {
				now = now.Add(20 * time.Second)
				do(now, hall.IssueTicket{Service: []string{"s1", "s2"}[k%2], Channel: "kiosk", RequestID: strconv.Itoa(i*3 + k)})
				do(now, hall.PrintOutcome{TicketID: st.Order[len(st.Order)-1], Printer: "p1"})
				do(now, hall.CallNext{Window: w})
				do(now.Add(time.Minute), hall.Finish{Window: w})
				if aw := st.Windows[w]; aw != nil && aw.Awaiting != 0 {
					do(now.Add(70*time.Second), hall.Rate{Visit: aw.Awaiting, Level: "满意", Channel: "pad"})
				}
			}
		}
		if err := j.Append(context.Background(), recs); err != nil {
			b.Fatal(err)
		}
		recs = recs[:0]
	}
}

// BenchmarkRestart: the time from opening a journal to a ready state, with
// and without the state checkpoint. BENCH_DAYS sets its size (default 20
// days of 900 tickets: ~90k events; 250 is a year).
func BenchmarkRestart(b *testing.B) {
	days := 20
	if v, err := strconv.Atoi(os.Getenv("BENCH_DAYS")); err == nil && v > 0 {
		days = v
	}
	cfg, err := config.Parse("t.yaml", []byte(hallYAML))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "j.db")
	j, err := journal.Open(path, journal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	writeDays(b, cfg, j, days, 300)
	head := j.Head()
	st, err := engine.Fold(context.Background(), j, cfg.Location, hall.NewState(), 0, head)
	if err != nil {
		b.Fatal(err)
	}
	j.Close()
	b.Logf("%d days, %d events", days, head)
	for _, withCk := range []bool{false, true} {
		b.Run(fmt.Sprintf("checkpoint=%v", withCk), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				j, err := journal.Open(path, journal.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if withCk {
					body, _ := hall.EncodeState(st)
					j.SaveCheckpoint(engine.CheckpointName, head, body)
				} else {
					j.SaveCheckpoint(engine.CheckpointName, 0, []byte("{}")) // unusable: full replay
				}
				b.StartTimer()
				got, err := engine.Replay(context.Background(), j, cfg.Location, nil)
				if err != nil || got.Seq != head {
					b.Fatalf("replay: %v, seq %d", err, got.Seq)
				}
				b.StopTimer()
				j.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(head), "events")
		})
	}
}
