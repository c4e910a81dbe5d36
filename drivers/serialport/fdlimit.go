package serialport

import (
	"os"
	"sync"
	"syscall"
	"time"
)

// MaxFDs is the most open files RaiseFDs asks for. Ports wait on Go's
// network poller (epoll), which has no descriptor ceiling (go.bug.st/serial's own Read,
// with select(2) and its 1024-bit FdSet, is not used), so the limit is only
// a bound on what a flood of clients can take.
const MaxFDs = 65536

// RaiseFDs raises the process's soft RLIMIT_NOFILE to its hard limit, at most
// MaxFDs (it never lowers it), and returns the soft limit now in force. Go
// itself raises the soft limit at start; this keeps halld right where it
// does not (an older toolchain, a limit set lower after start) and says what
// the daemon has to work with. A hall of hundreds of serial devices takes
// four descriptors a port (the port, go.bug.st/serial's wake-up pipe, our
// duplicate of it on the poller) and must never fail for the lack of one
// while LAN clients come and go.
func RaiseFDs() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	want := min(lim.Max, MaxFDs)
	if lim.Cur >= want {
		return lim.Cur, nil
	}
	lim.Cur = want
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	return want, nil
}

// LimitFDs is RaiseFDs without the limit.
//
// Deprecated: it used to cap the soft limit at 1024 for go.bug.st/serial's
// select(2); ports no longer need that. Call RaiseFDs.
func LimitFDs() error {
	_, err := RaiseFDs()
	return err
}

// PortReserve is how many descriptors Open leaves free: the API's loopback
// connections, the journal's files and the logs must never be starved by a
// hall with more ports than its limit allows. A port that would eat into it
// fails with EMFILE (and is retried) instead, so /readyz can say why.
const PortReserve = 48

var freeCache struct {
	mu   sync.Mutex
	at   time.Time
	free int
}

// FreeFDs is how many more descriptors the process may open (its soft
// RLIMIT_NOFILE less those open now), or -1 when that cannot be told.
// Counting /proc/self/fd costs about a millisecond at a few thousand open,
// so the answer is reused for 100 ms.
func FreeFDs() int {
	freeCache.mu.Lock()
	defer freeCache.mu.Unlock()
	if time.Since(freeCache.at) < 100*time.Millisecond {
		return freeCache.free
	}
	freeCache.free, freeCache.at = countFree(), time.Now()
	return freeCache.free
}

func countFree() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return -1
	}
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return -1
	}
	defer d.Close()
	open := 0
	for {
		names, err := d.Readdirnames(1024)
		open += len(names)
		if err != nil {
			break
		}
	}
	return int(lim.Cur) - open
}

// forgetFree makes the next FreeFDs count again (after opening a port).
func forgetFree() {
	freeCache.mu.Lock()
	freeCache.at = time.Time{}
	freeCache.mu.Unlock()
}
