package printer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"halld/drivers/escpos"
	"halld/drivers/escpos/printer"
	"halld/drivers/serialport"
	"halld/internal/ptytest"
	"halld/internal/testprinter"
)

// stuckRig is a printer whose device side can hold flow control: once the
// pty's buffer is full every write from the host stalls.
type stuckRig struct {
	*testprinter.Rig
	hold *ptytest.Hold
}

func newStuckRig(t *testing.T, writeTimeout time.Duration) stuckRig {
	t.Helper()
	hold := new(ptytest.Hold)
	return stuckRig{testprinter.Run(t, "printer-1", testprinter.Options{WriteTimeout: writeTimeout,
		ReplyTimeout: 30 * time.Millisecond, StallAfter: 100 * time.Millisecond, Line: hold.Line}), hold}
}

// A printer that stops taking data: each job fails within the port's write
// timeout (not the dispatcher's 8 s), the link is dropped, and the printer
// no longer offers itself.
func TestStuckPrinterFailsFastAndStopsOffering(t *testing.T) {
	const wt = 400 * time.Millisecond
	r := newStuckRig(t, wt)
	ctx := context.Background()
	if err := r.P.Print(ctx, job(t, r.P.Profile(), "A001")); err != nil {
		t.Fatal(err)
	}
	r.hold.Store(true)
	// A ticket with a long materials list (about 4 KB): a few fill the
	// pty's buffer.
	b := escpos.NewBuilder(r.P.Profile()).Init().BigText("A002", 4)
	for range 100 {
		b.Line("请准备以下材料：营业执照副本复印件（加盖公章）")
	}
	data := b.Cut().Bytes()
	var failed error
	var took time.Duration
	for i := 0; i < 200 && failed == nil; i++ {
		if !r.P.CanPrint() {
			t.Fatalf("job %d: CanPrint false before any write failed", i)
		}
		start := time.Now()
		err := r.P.Print(ctx, data)
		took = time.Since(start)
		// A job waits at most for a status poll under way (4 × 30 ms
		// unanswered), its own write, and the poll after it.
		if took > wt+500*time.Millisecond {
			t.Fatalf("job %d (%d bytes) took %v; write timeout %v: %v", i, len(data), took, wt, err)
		}
		failed = err
	}
	t.Logf("a %d-byte job into the held printer failed after %v: %v", len(data), took, failed)
	var pe *printer.PrintError
	if !errors.As(failed, &pe) || pe.Code != "write_timeout" || !errors.Is(failed, serialport.ErrWriteTimeout) {
		t.Fatalf("stuck job: %v, want write_timeout wrapping serialport.ErrWriteTimeout", failed)
	}
	if r.P.CanPrint() {
		t.Fatal("a printer whose write timed out still offers itself")
	}
	start := time.Now()
	if err := r.P.Print(ctx, data); err == nil || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("print after the timeout: %v after %v, want a fast failure", err, time.Since(start))
	}
	select {
	case err := <-r.Done:
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
	go func() { first <- r.P.Print(context.Background(), big) }()
	deadline := time.Now().Add(2 * time.Second)
	for r.P.CanPrint() {
		if time.Now().After(deadline) {
			t.Fatal("CanPrint stays true while the write is stuck")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	err := r.P.Print(context.Background(), job(t, r.P.Profile(), "A003"))
	if !errors.Is(err, printer.ErrStalled) || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("print while stalled: %v after %v, want ErrStalled at once", err, time.Since(start))
	}
	r.Port.Unplug()
	select {
	case err := <-first:
		if err == nil {
			t.Fatal("stuck job reported printed")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("unplug did not end the stuck job")
	}
}
