package ticketprinter_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"halld/drivers/device"
	"halld/drivers/escpos"
	"halld/drivers/escpos/escpossim"
	"halld/drivers/serialport"
	"halld/drivers/ticketprinter"
	"halld/drivers/vport"
	"halld/internal/ptytest"
)

type stuckRig struct {
	sim  *escpossim.Simulator
	vp   *vport.Port
	hold ptytest.Hold // the printer holds flow control
	p    *ticketprinter.Printer
	mu   sync.Mutex
	last device.Report
	done chan error
}

func newStuckRig(t *testing.T, writeTimeout time.Duration) *stuckRig {
	t.Helper()
	prof, _ := escpos.LookupProfile("generic-80mm")
	r := &stuckRig{sim: escpossim.New(prof)}
	r.vp = ptytest.Device(t, "printer", func(ctx context.Context, rw io.ReadWriter) error {
		return r.sim.Serve(ctx, r.hold.Line(ctx, rw))
	})
	r.p = ticketprinter.New("printer-1", prof, ticketprinter.Options{PollInterval: 50 * time.Millisecond,
		ReplyTimeout: 30 * time.Millisecond, StallAfter: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	port, err := serialport.Open(ctx, "printer-1", serialport.Spec{Path: r.vp.Path(), Baud: 115200, WriteTimeout: writeTimeout}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.done = make(chan error, 1)
	go func() {
		r.done <- r.p.Run(ctx, port, func(rep device.Report) { r.mu.Lock(); r.last = rep; r.mu.Unlock() })
		port.Close()
	}()
	for deadline := time.Now().Add(3 * time.Second); !r.p.CanPrint(); {
		if time.Now().After(deadline) {
			t.Fatal("printer never ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return r
}

// A printer that stops taking data: each job fails within the port's write
// timeout (not the dispatcher's 8 s), the link is dropped, and the printer
// no longer offers itself.
func TestStuckPrinterFailsFastAndStopsOffering(t *testing.T) {
	const wt = 400 * time.Millisecond
	r := newStuckRig(t, wt)
	ctx := context.Background()
	if err := r.p.Print(ctx, job(t, r.p.Profile(), "A001")); err != nil {
		t.Fatal(err)
	}
	r.hold.Store(true)
	// A ticket with a long materials list (about 4 KB): a few fill the
	// pty's buffer.
	b := escpos.NewBuilder(r.p.Profile()).Init().BigText("A002", 4)
	for range 100 {
		b.Line("请准备以下材料：营业执照副本复印件（加盖公章）")
	}
	data := b.Cut().Bytes()
	var failed error
	var took time.Duration
	for i := 0; i < 200 && failed == nil; i++ {
		if !r.p.CanPrint() {
			t.Fatalf("job %d: CanPrint false before any write failed", i)
		}
		start := time.Now()
		err := r.p.Print(ctx, data)
		took = time.Since(start)
		// A job waits at most for a status poll under way (4 × 30 ms
		// unanswered), its own write, and the poll after it.
		if took > wt+500*time.Millisecond {
			t.Fatalf("job %d (%d bytes) took %v; write timeout %v: %v", i, len(data), took, wt, err)
		}
		failed = err
	}
	t.Logf("a %d-byte job into the held printer failed after %v: %v", len(data), took, failed)
	var pe *ticketprinter.PrintError
	if !errors.As(failed, &pe) || pe.Code != "write_timeout" || !errors.Is(failed, serialport.ErrWriteTimeout) {
		t.Fatalf("stuck job: %v, want write_timeout wrapping serialport.ErrWriteTimeout", failed)
	}
	if r.p.CanPrint() {
		t.Fatal("a printer whose write timed out still offers itself")
	}
	start := time.Now()
	if err := r.p.Print(ctx, data); err == nil || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("print after the timeout: %v after %v, want a fast failure", err, time.Since(start))
	}
	select {
	case err := <-r.done:
		if !errors.Is(err, serialport.ErrWriteTimeout) {
			t.Fatalf("Run ended with %v, want ErrWriteTimeout (the supervisor shows it)", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Run still going on a link killed by a write timeout")
	}
}

// While a write is stuck (before it times out), the printer is not offered
// and a new job fails at once rather than queue behind it.
func TestStalledWriteIsNotOffered(t *testing.T) {
	r := newStuckRig(t, 5*time.Second)
	r.hold.Store(true)
	big := make([]byte, 256<<10) // more than the pty buffers: this write stalls
	first := make(chan error, 1)
	go func() { first <- r.p.Print(context.Background(), big) }()
	deadline := time.Now().Add(2 * time.Second)
	for r.p.CanPrint() {
		if time.Now().After(deadline) {
			t.Fatal("CanPrint stays true while the write is stuck")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	err := r.p.Print(context.Background(), job(t, r.p.Profile(), "A003"))
	if !errors.Is(err, ticketprinter.ErrStalled) || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("print while stalled: %v after %v, want ErrStalled at once", err, time.Since(start))
	}
	r.vp.Unplug()
	select {
	case err := <-first:
		if err == nil {
			t.Fatal("stuck job reported printed")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("unplug did not end the stuck job")
	}
}
