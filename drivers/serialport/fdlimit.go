package serialport

import "syscall"

// MaxFD is the first file descriptor go.bug.st/serial cannot use: its Read
// builds a select(2) FdSet, which is fixed at 1024 bits and panics past it.
const MaxFD = 1024

// LimitFDs lowers the process's soft RLIMIT_NOFILE to MaxFD, so that no file
// descriptor can ever be >= 1024. Go raises the soft limit to the hard one
// at start, so without this a daemon with many WebSocket clients could reopen
// a port after an unplug on a high fd and panic. With it, a flood of clients
// fails with EMFILE (net/http backs off and retries), and opening a port then
// returns an error that the supervisor retries.
func LimitFDs() error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur <= MaxFD {
		return nil
	}
	lim.Cur = MaxFD
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}
