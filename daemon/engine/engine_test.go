package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"halld/daemon/config"
	"halld/daemon/engine"
	"halld/daemon/hall"
	"halld/daemon/journal"
)

const yaml = `
hall:
  id: h
  name: 大厅
  opening_hours: [{days: [mon], open: "09:00", close: "17:00"}]
areas: [{id: a, name: 区, open_24h: true}]
services:
  - {id: s, prefix: A, name: 服务, area: a}
`

func setup(t testing.TB) (*config.Config, *journal.Journal, string) {
	t.Helper()
	return setupAt(t, filepath.Join(t.TempDir(), "j.db"))
}

func setupAt(t testing.TB, path string) (*config.Config, *journal.Journal, string) {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(path, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, j, path
}

func start(t testing.TB, cfg *config.Config, j *journal.Journal) (*engine.Engine, context.CancelFunc) {
	t.Helper()
	e, err := engine.New(context.Background(), cfg, j, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go e.Run(ctx)
	return e, func() { cancel(); <-e.Done() }
}

func TestConcurrentIssueIsGapFreeAndSurvivesRestart(t *testing.T) {
	cfg, j, path := setup(t)
	e, stop := start(t, cfg, j)
	var mu sync.Mutex
	var numbers []string
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				res, err := e.Submit(context.Background(), hall.IssueTicket{Service: "s"})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				numbers = append(numbers, res.Ticket.Number)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	stop()
	j.Close()
	sort.Strings(numbers)
	for i, n := range numbers {
		if want := fmt.Sprintf("A%03d", i+1); n != want {
			t.Fatalf("position %d: %s, want %s (duplicates or gaps)", i, n, want)
		}
	}
	// Replay gives the same state; the next number continues.
	j, err := journal.Open(path, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	e, stop = start(t, cfg, j)
	defer stop()
	res, err := e.Submit(context.Background(), hall.IssueTicket{Service: "s"})
	if err != nil || res.Ticket.Number != "A401" {
		t.Fatalf("after restart: %+v %v", res.Ticket, err)
	}
	seq, _, err := e.Snapshot(context.Background())
	if err != nil || seq != j.Head() || seq != 401 {
		t.Fatalf("snapshot seq %d, head %d, %v", seq, j.Head(), err)
	}
}

// When the journal cannot write, commands are refused with storage_failed,
// the state does not move (no number is used up), and StorageErr says why.
func TestStorageFailureRefusesAndKeepsState(t *testing.T) {
	cfg, j, _ := setup(t)
	e, stop := start(t, cfg, j)
	defer stop()
	if _, err := e.Submit(context.Background(), hall.IssueTicket{Service: "s"}); err != nil {
		t.Fatal(err)
	}
	if e.StorageErr() != nil {
		t.Fatal("healthy journal reports an error")
	}
	j.Close() // the disk is gone
	_, err := e.Submit(context.Background(), hall.IssueTicket{Service: "s"})
	var re *hall.RuleError
	if !errors.As(err, &re) || re.Code != "storage_failed" || re.Status != 503 {
		t.Fatalf("append on a closed journal: %v", err)
	}
	if e.StorageErr() == nil {
		t.Fatal("StorageErr nil after a failed append")
	}
	v, _ := e.Query(context.Background(), func(st *hall.State) any { return st.Counters["s"] })
	if v.(int) != 1 {
		t.Fatalf("a refused ticket moved the counter to %v", v)
	}
}

func TestQueryOrderedAfterCommands(t *testing.T) {
	cfg, j, _ := setup(t)
	e, stop := start(t, cfg, j)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := 0; i < 10; i++ {
		e.Submit(ctx, hall.IssueTicket{Service: "s"})
		v, err := e.Query(ctx, func(st *hall.State) any { return len(st.Order) })
		if err != nil || v.(int) != i+1 {
			t.Fatalf("query after %d issues saw %v (%v)", i+1, v, err)
		}
	}
}

// SubmitAll keeps order, answers each command on its own, and a refusal in
// the middle harms none of the others.
func TestSubmitAllInOrder(t *testing.T) {
	cfg, j, _ := setup(t)
	defer j.Close()
	e, stop := start(t, cfg, j)
	defer stop()
	var cmds []any
	for i := 0; i < 300; i++ {
		state := []string{"offline", "ready"}[i%2]
		cmds = append(cmds, hall.ObserveDevice{Device: fmt.Sprintf("pad-%d", i/2), Kind: "eval_pad", State: state})
	}
	cmds[150] = hall.IssueTicket{Service: "nope"}
	errs := e.SubmitAll(context.Background(), cmds)
	for i, err := range errs {
		if (err != nil) != (i == 150) {
			t.Fatalf("command %d: %v", i, err)
		}
	}
	var got []string
	j.Scan(context.Background(), 0, func(r journal.Record) error {
		data, err := hall.Decode(r.Type, r.Body)
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := data.(*hall.DeviceState); ok {
			got = append(got, d.Device+"/"+d.State)
		}
		return nil
	})
	var want []string
	for i, c := range cmds {
		if i != 150 {
			o := c.(hall.ObserveDevice)
			want = append(want, o.Device+"/"+o.State)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("recorded %d changes out of order or missing:\n got %v\nwant %v", len(got), got[:min(10, len(got))], want[:10])
	}
}
