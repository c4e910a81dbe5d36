package serialport

import "syscall"

// MaxFDs is the most open files RaiseFDs asks for. Ports are polled with
// poll(2), which has no descriptor ceiling (go.bug.st/serial's own Read,
// with select(2) and its 1024-bit FdSet, is not used), so the limit is only
// a bound on what a flood of clients can take.
const MaxFDs = 65536

// RaiseFDs raises the process's soft RLIMIT_NOFILE to its hard limit, at most
// MaxFDs (it never lowers it), and returns the soft limit now in force. Go
// itself raises the soft limit at start; this keeps halld right where it
// does not (an older toolchain, a limit set lower after start) and says what
// the daemon has to work with. A hall of hundreds of serial devices takes
// four descriptors a port (the port, go.bug.st/serial's wake-up pipe, our
// eventfd) and must never fail for the lack of one while LAN clients come
// and go.
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
