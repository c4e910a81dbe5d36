package printer_test

import (
	"context"
	"errors"
	"sync"
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

type rig struct {
	sim  *escpossim.Simulator
	vp   *vport.Port
	p    *printer.Printer
	mu   sync.Mutex
	last device.Report
}

func newRig(t *testing.T, profile string) *rig {
	t.Helper()
	prof, ok := escpos.LookupProfile(profile)
	if !ok {
		t.Fatalf("no profile %s", profile)
	}
	r := &rig{sim: escpossim.New(prof)}
	r.vp = ptytest.Device(t, "printer", r.sim.Serve)
	r.p = printer.New("printer-1", prof, printer.Options{PollInterval: 50 * time.Millisecond, ReplyTimeout: 100 * time.Millisecond})
	return r
}

// connect opens the port and runs the driver until the link dies.
func (r *rig) connect(t *testing.T, ctx context.Context) (done chan error) {
	t.Helper()
	r.mu.Lock()
	r.last = device.Report{}
	r.mu.Unlock()
	port, err := serialport.Open(ctx, "printer-1", serialport.Spec{Path: r.vp.Path(), Baud: 115200}, nil)
	if err != nil {
		t.Fatal(err)
	}
	done = make(chan error, 1)
	go func() {
		done <- r.p.Run(ctx, port, func(rep device.Report) {
			r.mu.Lock()
			r.last = rep
			r.mu.Unlock()
		})
		port.Close()
	}()
	return done
}

func (r *rig) waitReport(t *testing.T, state, reason string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		l := r.last
		r.mu.Unlock()
		if l.State == state && l.Reason == reason {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no report %s/%s; last %+v", state, reason, r.last)
}

func job(t *testing.T, prof escpos.Profile, number string) []byte {
	b := escpos.NewBuilder(prof).Init().Align(escpos.AlignCenter).Line("湖南湘江新区政务服务大厅").
		BigText(number, 4).Line("企业开办").QR("https://eval.example/t?id="+number, 6, '1').Cut()
	if b.Err() != nil {
		t.Fatal(b.Err())
	}
	return b.Bytes()
}

func TestPrintAndStatus(t *testing.T) {
	r := newRig(t, "generic-80mm")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.connect(t, ctx)
	r.waitReport(t, device.StateReady, "")
	if !r.p.CanPrint() {
		t.Fatal("ready printer cannot print")
	}
	if err := r.p.Print(ctx, job(t, r.p.Profile(), "A001")); err != nil {
		t.Fatal(err)
	}
	tk := r.sim.Tickets()
	if len(tk) != 1 || !tk[0].Cut || len(tk[0].QR) != 1 {
		t.Fatalf("printed %+v", tk)
	}
	found := false
	for _, l := range tk[0].Lines {
		found = found || l == "A001"
	}
	if !found {
		t.Fatalf("big number not printed: %q", tk[0].Lines)
	}

	steps := []struct {
		set            func()
		state, reason  string
		canPrint       bool
		printErrorCode string
	}{
		{func() { r.sim.SetPaper(escpos.PaperNearEnd) }, device.StateDegraded, "paper_near_end", true, ""},
		{func() { r.sim.SetPaper(escpos.PaperEnd) }, device.StateFault, "paper_end", false, "paper_end"},
		{func() { r.sim.SetPaper(escpos.PaperOK) }, device.StateReady, "", true, ""},
		{func() { r.sim.SetCoverOpen(true) }, device.StateFault, "cover_open", false, "cover_open"},
		{func() { r.sim.SetCoverOpen(false) }, device.StateReady, "", true, ""},
		{func() { r.sim.SetMute(true) }, device.StateDegraded, "no_status_reply", true, ""},
		{func() { r.sim.SetMute(false) }, device.StateReady, "", true, ""},
	}
	for _, s := range steps {
		s.set()
		r.waitReport(t, s.state, s.reason)
		if r.p.CanPrint() != s.canPrint {
			t.Fatalf("%s/%s: CanPrint %v", s.state, s.reason, !s.canPrint)
		}
		err := r.p.Print(ctx, job(t, r.p.Profile(), "A002"))
		var pe *printer.PrintError
		if s.printErrorCode == "" && err != nil {
			t.Fatalf("%s: print failed: %v", s.reason, err)
		}
		if s.printErrorCode != "" && (!errors.As(err, &pe) || pe.Code != s.printErrorCode) {
			t.Fatalf("%s: print error %v, want %s", s.reason, err, s.printErrorCode)
		}
	}
}

// Paper running out during a job is reported as a failed print, so the
// dispatcher fails over instead of claiming a ticket came out.
func TestPaperOutDuringJobFails(t *testing.T) {
	r := newRig(t, "generic-80mm")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.connect(t, ctx)
	r.waitReport(t, device.StateReady, "")
	r.sim.SetPaper(escpos.PaperEnd) // the driver has not polled yet
	err := r.p.Print(ctx, job(t, r.p.Profile(), "A003"))
	var pe *printer.PrintError
	if !errors.As(err, &pe) || pe.Code != "paper_end" {
		t.Fatalf("print into an empty printer: %v", err)
	}
	if n := len(r.sim.Tickets()); n != 0 {
		t.Fatalf("simulator completed %d tickets without paper", n)
	}
}

func TestUnplugReplug50(t *testing.T) {
	r := newRig(t, "generic-58mm")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cycle := func(i int) {
		done := r.connect(t, ctx)
		r.waitReport(t, device.StateReady, "")
		if err := r.p.Print(ctx, job(t, r.p.Profile(), "B001")); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		start := time.Now()
		r.vp.Unplug()
		select {
		case err := <-done:
			if err == nil {
				t.Fatalf("cycle %d: a lost link returned no error", i)
			}
		case <-time.After(time.Second):
			t.Fatalf("cycle %d: unplug not noticed within 1 s", i)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("cycle %d: noticed after %v", i, d)
		}
		if r.p.CanPrint() {
			t.Fatalf("cycle %d: unplugged printer claims it can print", i)
		}
		if err := r.p.Print(ctx, []byte("x")); !errors.Is(err, printer.ErrOffline) {
			t.Fatalf("cycle %d: print while unplugged: %v", i, err)
		}
		if err := r.vp.Replug(); err != nil {
			t.Fatal(err)
		}
	}
	ptytest.Replugs(t, 50, 2, cycle)
	if n := len(r.sim.Tickets()); n != 51 {
		t.Errorf("printed %d tickets over 51 connections", n)
	}
}
