// Package device is the small contract between serial device drivers and the
// supervisor that runs them (after EdgeX's ProtocolDriver: the driver owns
// only the bytes on the wire; opening, reconnecting and bookkeeping are the
// supervisor's).
package device

import (
	"context"

	"halld/drivers/serialport"
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

// Driver runs one device over one connection. Run returns when the link dies
// (port.Dead()) or ctx ends; the supervisor then reopens the port with backoff
// and calls Run again. report may be called from Run's goroutine only.
type Driver interface {
	Run(ctx context.Context, port *serialport.Port, report func(Report)) error
}
