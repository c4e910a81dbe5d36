// Package testprinter gives a test a real ticket printer: the escpos printer
// driver on a serialport over a pty (ptytest) to the ESC/POS simulator,
// running until the test ends, and ready to print when Start returns. The
// driver's own tests (a printer that stops taking data) and the daemon's
// (failover to another printer) use the same rig.
package testprinter

import (
	"context"
	"io"
	"testing"
	"time"

	"halld/drivers/device"
	"halld/drivers/escpos"
	"halld/drivers/escpos/escpossim"
	"halld/drivers/escpos/printer"
	"halld/drivers/serialport"
	"halld/drivers/vport"
	"halld/internal/ptytest"
)

// Options tune the printer; zero values suit most tests.
type Options struct {
	Profile      string        // default generic-80mm
	WriteTimeout time.Duration // the port's write deadline (0: serialport's default)
	ReplyTimeout time.Duration // per status reply (0: 20 ms)
	StallAfter   time.Duration // the driver's stall threshold (0: its default)
	// Line wraps the simulator's side of the pty (e.g. a printer that holds
	// flow control: ptytest.Hold's Line); nil: the pty as it is.
	Line func(ctx context.Context, rw io.ReadWriter) io.ReadWriter
}

// Rig is a running printer and what it runs on.
type Rig struct {
	P    *printer.Printer
	Sim  *escpossim.Simulator
	Port *vport.Port // the simulated device's pty: Unplug pulls the cable
	// Done receives what the driver's Run returned once the link is gone.
	Done <-chan error
}

// Start runs printer id and waits until it can print.
func Start(t testing.TB, id string, o Options) (*printer.Printer, *escpossim.Simulator) {
	r := Run(t, id, o)
	return r.P, r.Sim
}

// Run runs printer id, stopped when the test ends, and waits until it can
// print.
func Run(t testing.TB, id string, o Options) *Rig {
	t.Helper()
	if o.Profile == "" {
		o.Profile = "generic-80mm"
	}
	if o.ReplyTimeout == 0 {
		o.ReplyTimeout = 20 * time.Millisecond
	}
	prof, ok := escpos.LookupProfile(o.Profile)
	if !ok {
		t.Fatalf("no printer profile %q", o.Profile)
	}
	sim := escpossim.New(prof)
	vp := ptytest.Device(t, id, func(ctx context.Context, rw io.ReadWriter) error {
		if o.Line != nil {
			rw = o.Line(ctx, rw)
		}
		return sim.Serve(ctx, rw)
	})
	p := printer.New(id, prof, printer.Options{PollInterval: 50 * time.Millisecond,
		ReplyTimeout: o.ReplyTimeout, StallAfter: o.StallAfter})
	ctx, cancel := context.WithCancel(context.Background())
	port, err := serialport.Open(ctx, id, serialport.Spec{Path: vp.Path(), Baud: 115200, WriteTimeout: o.WriteTimeout}, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done, ended := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(ended)
		done <- p.Run(ctx, port, func(device.Report) {})
		port.Close()
	}()
	t.Cleanup(func() { cancel(); <-ended })
	for deadline := time.Now().Add(3 * time.Second); !p.CanPrint(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s never ready", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return &Rig{P: p, Sim: sim, Port: vp, Done: done}
}
