package serialport_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"halld/drivers/serialport"
	"halld/internal/ptytest"
)

// threads is the Threads: line of /proc/self/status.
func threads(t testing.TB) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads: in /proc/self/status")
	return 0
}

const threadsChild = "HALLD_SERIALPORT_THREADS_CHILD"

// TestWaitingPortsHoldNoThreads: a port waiting for bytes waits on Go's
// network poller, not in a poll(2) of its own, so 64 quiet ports do not hold
// 64 threads (issue 15: the thread per port, woken by poll(2) and then read(2)
// for every line, was a fifth of the line path's CPU). It runs in a fresh
// process, whose thread count is the ports' doing alone.
func TestWaitingPortsHoldNoThreads(t *testing.T) {
	if os.Getenv(threadsChild) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestWaitingPortsHoldNoThreads$", "-test.v")
		cmd.Env = append(os.Environ(), threadsChild+"=1")
		out, err := cmd.CombinedOutput()
		t.Logf("child:\n%s", out)
		if err != nil {
			t.Fatalf("child failed: %v", err)
		}
		return
	}
	const ports = 64
	before := threads(t)
	var ps []*serialport.Port
	for i := range ports {
		vp := ptytest.Device(t, fmt.Sprintf("p%d", i), func(ctx context.Context, rw io.ReadWriter) error {
			<-ctx.Done()
			return ctx.Err()
		})
		p, err := serialport.Open(context.Background(), fmt.Sprintf("p%d", i), serialport.Spec{Path: vp.Path()}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		ps = append(ps, p)
	}
	// Each reader is waiting by now; give a blocking one time to be seen.
	time.Sleep(300 * time.Millisecond)
	after := threads(t)
	t.Logf("threads: %d before opening %d ports, %d with them all waiting", before, ports, after)
	if after-before >= ports/4 {
		t.Fatalf("%d waiting ports hold %d more threads: their reads block a thread each", ports, after-before)
	}
	for _, p := range ps {
		select {
		case <-p.Dead():
			t.Fatalf("%s died: %v", p.Path(), p.Err())
		default:
		}
	}
}
