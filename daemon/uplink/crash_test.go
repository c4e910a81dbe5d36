package uplink

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"halld/daemon/journal"
)

// The crash test runs the uplink in a child: this test binary, re-executed
// with UPLINK_TEST_CHILD=1.
func TestMain(m *testing.M) {
	if os.Getenv("UPLINK_TEST_CHILD") == "1" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}

// crashChild appends events up to UPLINK_TEST_TOTAL (a steady stream, as the
// engine would) while the uplink publishes them, until SIGTERM.
func crashChild() int {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	total, _ := strconv.ParseUint(os.Getenv("UPLINK_TEST_TOTAL"), 10, 64)
	j, err := journal.Open(os.Getenv("UPLINK_TEST_JOURNAL"), journal.Options{})
	if err != nil {
		log.Error("journal", "err", err)
		return 2
	}
	defer j.Close()
	u, err := New(j, Options{
		URL: os.Getenv("UPLINK_TEST_URL"), ClientID: "halld-crash", Hall: testHall, Node: testNode,
		MaxRate: -1, Log: log,
	})
	if err != nil {
		log.Error("uplink", "err", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	for j.Head() < total && ctx.Err() == nil {
		// Bursts of 50, so that a kill finds events in flight and unsent.
		if err := appendBatch(j, int(min(50, total-j.Head()))); err != nil {
			log.Error("append", "err", err)
			return 2
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := <-done; err != nil {
		log.Error("run", "err", err)
		return 1
	}
	return 0
}

type child struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

func startChild(t *testing.T, journalPath, url string, total int) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: exec.Command(exe, "-test.run=^$"), out: &lockedBuffer{}, done: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), "UPLINK_TEST_CHILD=1", "UPLINK_TEST_JOURNAL="+journalPath,
		"UPLINK_TEST_URL="+url, fmt.Sprintf("UPLINK_TEST_TOTAL=%d", total))
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.done
		if t.Failed() {
			t.Logf("child output:\n%s", tail(c.out.String(), 4000))
		}
	})
	return c
}

func (c *child) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(timeout):
		t.Fatalf("child still running after %v", timeout)
	}
}

// halld is SIGKILLed mid-stream: the broker publishes the will, and after a
// restart the subscriber ends with every event, in order after dedupe. A
// clean stop then publishes "disconnected".
func TestCrashAndLastWill(t *testing.T) {
	b := startBroker(t, "")
	s := newSub(t, b.url(), "central-crash")
	path := filepath.Join(t.TempDir(), "journal.db")
	const total = 3000

	c1 := startChild(t, path, b.url(), total)
	s.waitEvents(425, 30*time.Second) // in the middle of a burst of 50
	s.wait(10*time.Second, "$state ready", func(s *sub) bool { return len(s.states) > 0 && s.states[len(s.states)-1] == "ready" })
	if err := c1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := s.lastEvent()
	c1.wait(t, 10*time.Second)
	s.wait(10*time.Second, "last will $state lost", func(s *sub) bool { return s.states[len(s.states)-1] == "lost" })
	if got := retained(t, b.url(), testRoot+"/$state"); got != "lost" {
		t.Errorf("retained $state after the kill: %q, want lost", got)
	}

	// What the killed child left: events written, cursor persisted.
	j := openJournalAt(t, path)
	head := j.Head()
	cur, _, _ := j.Meta(CursorKey)
	j.Close()
	t.Logf("killed with %d events written, %d delivered, persisted cursor %s", head, killedAt, cur)
	if head >= total {
		t.Logf("note: the child had written every event before the kill")
	}

	c2 := startChild(t, path, b.url(), total)
	s.waitEvents(total, 45*time.Second)
	s.wait(10*time.Second, "$state ready again", func(s *sub) bool { return s.states[len(s.states)-1] == "ready" })
	s.check(total)
	if err := c2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	c2.wait(t, 20*time.Second)
	if code := c2.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("child exit code %d after SIGTERM", code)
	}
	s.wait(10*time.Second, "$state disconnected", func(s *sub) bool { return s.states[len(s.states)-1] == "disconnected" })
	if got := retained(t, b.url(), testRoot+"/$state"); got != "disconnected" {
		t.Errorf("retained $state after a clean stop: %q, want disconnected", got)
	}
	j = openJournalAt(t, path)
	if v, _, _ := j.Meta(CursorKey); v != strconv.Itoa(total) {
		t.Errorf("persisted cursor %q after a clean stop, want %d", v, total)
	}
	s.mu.Lock()
	t.Logf("states seen %v; %d messages for %d events (%d duplicates)", s.states, s.total, total, s.dups)
	s.mu.Unlock()
}

// The central broker goes down while events keep coming, halld is SIGKILLed
// during the outage and restarted before the broker is back: the subscriber
// still ends with every event exactly once after dedupe, in seq order.
func TestCrashDuringOutage(t *testing.T) {
	b := startBroker(t, "")
	s := newSub(t, b.url(), "central-crash-outage")
	path := filepath.Join(t.TempDir(), "journal.db")
	const total = 4000

	c1 := startChild(t, path, b.url(), total)
	s.waitEvents(300, 30*time.Second)
	b.stop()
	seenAtOutage := s.lastEvent()
	time.Sleep(300 * time.Millisecond) // the child keeps writing, unsent
	if err := c1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c1.wait(t, 10*time.Second)
	j := openJournalAt(t, path)
	head := j.Head()
	cur, _, _ := j.Meta(CursorKey)
	j.Close()
	t.Logf("outage at event %d; killed with %d written, persisted cursor %s", seenAtOutage, head, cur)
	if head <= seenAtOutage {
		t.Fatalf("nothing was written during the outage (head %d, seen %d): the drill proves nothing", head, seenAtOutage)
	}

	c2 := startChild(t, path, b.url(), total) // broker still down
	time.Sleep(500 * time.Millisecond)
	b.start()
	s.waitEvents(total, 60*time.Second)
	s.check(total)
	if err := c2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	c2.wait(t, 20*time.Second)
	s.mu.Lock()
	t.Logf("%d messages for %d events (%d duplicates)", s.total, total, s.dups)
	s.mu.Unlock()
}
