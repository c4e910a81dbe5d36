// Package testprinter gives a test a real ticket printer: the ticketprinter
// driver on a serialport over a pty (vport) to the ESC/POS simulator,
// running until the test ends, and ready to print when Start returns.
package testprinter

import (
	"context"
	"io"
	"testing"
	"time"

	"halld/drivers/device"
	"halld/drivers/escpos"
	"halld/drivers/escpos/escpossim"
	"halld/drivers/serialport"
	"halld/drivers/ticketprinter"
	"halld/internal/ptytest"
)

// Options tune the printer; zero values suit most tests.
type Options struct {
	Profile      string        // default generic-80mm
	WriteTimeout time.Duration // the port's write deadline (0: serialport's default)
	// Line wraps the simulator's side of the pty (e.g. a printer that holds
	// flow control); nil: the pty as it is.
	Line func(ctx context.Context, rw io.ReadWriter) io.ReadWriter
}

// Start runs printer id and waits until it can print.
func Start(t testing.TB, id string, o Options) (*ticketprinter.Printer, *escpossim.Simulator) {
	t.Helper()
	if o.Profile == "" {
		o.Profile = "generic-80mm"
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
	p := ticketprinter.New(id, prof, ticketprinter.Options{PollInterval: 50 * time.Millisecond, ReplyTimeout: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	port, err := serialport.Open(ctx, id, serialport.Spec{Path: vp.Path(), Baud: 115200, WriteTimeout: o.WriteTimeout}, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx, port, func(device.Report) {})
		port.Close()
	}()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(3 * time.Second); !p.CanPrint(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s never ready", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return p, sim
}
