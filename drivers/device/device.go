// Package device is the small contract between serial device drivers and the
// supervisor that runs them (after EdgeX's ProtocolDriver: the driver owns
// only the bytes on the wire; opening, reconnecting and bookkeeping are the
// supervisor's).
package device

import (
	"context"
	"time"
)

// Device states, as pages and the central server see them.
const (
	StateReady    = "ready"    // working
	StateDegraded = "degraded" // working, needs attention soon (paper near end, no status reply)
	StateFault    = "fault"    // attached but cannot do its job (paper end, cover open)
	StateOffline  = "offline"  // not attached or not answering
)

// Report is what a driver tells the supervisor about its device.
type Report struct {
	State  string
	Detail map[string]any
	Reason string
	Seen   bool // a valid reply arrived: the device is alive now
}

// Port is what a driver sees of its connection: serialport.Port, opened
// and reopened by the supervisor. The port owns the deadlines: a read waits
// at most its timeout, and a write fails (serialport.ErrWriteTimeout, and
// kills the link) when the device takes no byte for the port's write
// timeout, so no driver needs a timer of its own to stay unstuck.
type Port interface {
	// Read returns the next bytes received, waiting at most timeout
	// (serialport.ErrTimeout), or the link's error once it is dead.
	Read(timeout time.Duration) ([]byte, error)
	// NextByte is Read one byte at a time.
	NextByte(timeout time.Duration) (byte, error)
	// Discard drops what was received and not read (a stale reply).
	Discard() int
	// Write sends b whole, within the port's write timeout.
	Write(b []byte) (int, error)
	// WriteStalled is how long the write in progress has gone without the
	// device taking a byte; 0 when none is in progress.
	WriteStalled() time.Duration
	// Dead is closed when the link is lost or the port closed; Err says why.
	Dead() <-chan struct{}
	Err() error
}

// Driver runs one device over one connection. Run returns when the link dies
// (port.Dead()) or ctx ends; the supervisor then reopens the port with backoff
// and calls Run again. report may be called from Run's goroutine only.
type Driver interface {
	Run(ctx context.Context, port Port, report func(Report)) error
}
