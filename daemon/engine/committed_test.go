package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"halld/daemon/hall"
)

// A snapshot does not wait for the command loop: a board reconnecting, or
// a hundred, is built off it, from the last committed state. Here the loop
// is held by a query that does not return; the snapshot comes at once and
// includes every command answered before it.
func TestSnapshotDoesNotWaitForTheLoop(t *testing.T) {
	cfg, j, _ := setup(t)
	defer j.Close()
	e, stop := start(t, cfg, j)
	defer stop()
	res, err := e.Submit(context.Background(), hall.IssueTicket{Service: "s"})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	held := make(chan struct{})
	go e.OnLoop(context.Background(), func(*hall.State) { close(held); <-release })
	<-held
	defer close(release)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	seq, body, err := e.Snapshot(ctx)
	if err != nil {
		t.Fatalf("snapshot while the loop is busy: %v after %v", err, time.Since(start))
	}
	if seq != j.Head() || !json.Valid(body) || !strings.Contains(string(body), res.Ticket.Number) {
		t.Fatalf("snapshot seq %d (head %d) without the answered ticket %s: %.200s", seq, j.Head(), res.Ticket.Number, body)
	}
	if st := e.Committed(); st.Seq != seq || st.Tickets[res.Ticket.ID] == nil {
		t.Fatalf("Committed at seq %d without ticket %s", st.Seq, res.Ticket.ID)
	}
	// Queries (every page's and phone's reads) do not wait either.
	v, err := e.Query(ctx, func(st *hall.State) any { return st.Tickets[res.Ticket.ID].Number })
	if err != nil || v != res.Ticket.Number {
		t.Fatalf("query while the loop is busy: %v, %v", v, err)
	}
	// Ping does: it is the watchdog's proof that the loop takes commands.
	pctx, pcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer pcancel()
	if err := e.Ping(pctx); err == nil {
		t.Fatal("Ping answered while the loop was held")
	}
}

// Ping answers while the loop runs, and not once it has stopped.
func TestPing(t *testing.T) {
	cfg, j, _ := setup(t)
	defer j.Close()
	e, stop := start(t, cfg, j)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Ping(ctx); err != nil {
		t.Fatalf("Ping on a running engine: %v", err)
	}
	stop()
	if err := e.Ping(ctx); err == nil {
		t.Fatal("Ping answered after the engine stopped")
	}
}

// Readers of the committed state run while commands commit (go test
// -race): a committed state is never written again.
func TestCommittedStateUnderWrites(t *testing.T) {
	cfg, j, _ := setup(t)
	defer j.Close()
	e, stop := start(t, cfg, j)
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				st := e.Committed()
				n := 0
				for _, tk := range st.Tickets {
					n += len(tk.Number)
				}
				_ = n
				if _, _, err := e.Snapshot(ctx); err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	last := uint64(0)
	for range 200 {
		res, err := e.Submit(context.Background(), hall.IssueTicket{Service: "s"})
		if err != nil {
			t.Fatal(err)
		}
		st := e.Committed()
		if st.Seq < last || st.Tickets[res.Ticket.ID] == nil {
			t.Fatalf("after the answer, Committed is at seq %d (was %d) without %s", st.Seq, last, res.Ticket.ID)
		}
		last = st.Seq
	}
	cancel()
	wg.Wait()
}

// A reader woken by the journal (a follower: the pads, the stream) reads a
// state that includes the event it was woken for. The journal wakes its
// followers inside Append, before the engine has swapped in the new state,
// so a read must not return an older one.
func TestReadAfterWakeSeesTheEvent(t *testing.T) {
	cfg, j, _ := setup(t)
	defer j.Close()
	e, stop := start(t, cfg, j)
	defer stop()
	stale := 0
	for range 2000 {
		woken := j.Changed()
		done := make(chan error, 1)
		go func() {
			_, err := e.Submit(context.Background(), hall.IssueTicket{Service: "s"})
			done <- err
		}()
		<-woken
		head := j.Head()
		v, err := e.Query(context.Background(), func(st *hall.State) any { return st.Seq })
		if err != nil {
			t.Fatal(err)
		}
		if v.(uint64) < head {
			stale++
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if stale > 0 {
		t.Fatalf("%d of 2000 reads after a wake-up saw a state older than the journal head", stale)
	}
}
