package lineport_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"halld/drivers/device"
	"halld/drivers/linedev"
	"halld/drivers/linedev/lineport"
	"halld/drivers/linedev/linesim"
	"halld/drivers/serialport"
	"halld/drivers/vport"
	"halld/internal/ptytest"
)

// rig is a simulated line device behind a real pty, and the driver that
// reads it, opened as the supervisor opens a port.
type rig struct {
	sim  *linesim.Device
	vp   *vport.Port
	d    *lineport.Device
	baud int

	mu      sync.Mutex
	lines   []string
	reports []device.Report
	handle  func(string) error // optional: runs before a line is recorded
}

func newRig(t *testing.T, o lineport.Options, baud int) *rig {
	t.Helper()
	sim, err := linesim.New(o.Options)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{sim: sim, baud: baud}
	r.vp = ptytest.Device(t, "scanner", vport.Baud(baud, sim.Serve))
	if r.d, err = lineport.New("scanner-1", o, r.onLine); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) onLine(line string) error {
	r.mu.Lock()
	h := r.handle
	r.mu.Unlock()
	if h != nil {
		if err := h(line); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.lines = append(r.lines, line)
	r.mu.Unlock()
	return nil
}

// connect opens the port and runs the driver until the link dies; it
// returns once the driver has reported ready.
func (r *rig) connect(t *testing.T, ctx context.Context) (done chan error) {
	t.Helper()
	port, err := serialport.Open(ctx, "scanner-1", serialport.Spec{Path: r.vp.Path(), Baud: r.baud}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	n := len(r.reports)
	r.mu.Unlock()
	done = make(chan error, 1)
	go func() {
		done <- r.d.Run(ctx, port, func(rep device.Report) {
			r.mu.Lock()
			r.reports = append(r.reports, rep)
			r.mu.Unlock()
		})
		port.Close()
	}()
	waitFor(t, "ready report", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.reports) > n && r.reports[n].State == device.StateReady
	})
	return done
}

func (r *rig) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

func (r *rig) lastReport() device.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reports[len(r.reports)-1]
}

func (r *rig) waitLines(t *testing.T, want ...string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d lines", len(want)), func() bool { return len(r.got()) >= len(want) })
	if got := r.got(); !reflect.DeepEqual(got, want) {
		t.Fatalf("lines %q, want %q", got, want)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // shared, noisy machines: slow is not wrong
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func send(t *testing.T, sim *linesim.Device, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if err := sim.Send(l); err != nil {
			t.Fatal(err)
		}
	}
}

func sendRaw(t *testing.T, sim *linesim.Device, chunks ...string) {
	t.Helper()
	for _, c := range chunks {
		if err := sim.SendRaw([]byte(c)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestScans(t *testing.T) {
	tests := []struct {
		name string
		o    linedev.Options
		baud int
	}{
		{"CRLF at 9600 baud", linedev.Options{Terminator: linedev.CRLF}, 9600},
		{"CR, GB18030", linedev.Options{Terminator: linedev.CR, Charset: linedev.GB18030}, 115200},
		{"LF", linedev.Options{Terminator: linedev.LF}, 115200},
		{"any", linedev.Options{}, 0},
	}
	scans := []string{"预约码:HN20261125-0042", "43010519900101123X", "https://zwfw.example/qr?t=9f2c\tA"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, lineport.Options{Options: tt.o}, tt.baud)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := r.connect(t, ctx)
			if rep := r.lastReport(); rep.Detail["lines"] != uint64(0) || rep.Detail["garbage"] != uint64(0) || rep.Detail["overlong"] != uint64(0) {
				t.Fatalf("ready report %+v", rep)
			}
			send(t, r.sim, scans...)
			r.waitLines(t, scans...)
			if s := r.d.Stats(); s.Lines != 3 || s.Flushed != 0 || s.Garbage+s.Overlong+s.BadEncoding != 0 {
				t.Fatalf("stats %+v", s)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run after cancel: %v", err)
			}
		})
	}
}

// Lines arrive in pieces: a read boundary anywhere, a CRLF split between
// two writes (counted once), pauses shorter than the partial timeout.
func TestSplitWrites(t *testing.T) {
	r := newRig(t, lineport.Options{PartialTimeout: 200 * time.Millisecond}, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.connect(t, ctx)
	pieces := []string{"A0", "01\r", "\nB00", "2\r\n", "C003", "\r", "\n", "\r\n", "D", "0", "0", "4\n"}
	for _, p := range pieces {
		sendRaw(t, r.sim, p)
		time.Sleep(20 * time.Millisecond)
	}
	r.waitLines(t, "A001", "B002", "C003", "D004")
	time.Sleep(300 * time.Millisecond) // nothing more comes of it
	if s := r.d.Stats(); !reflect.DeepEqual(r.got(), []string{"A001", "B002", "C003", "D004"}) || s.Lines != 4 || s.Flushed != 0 || s.Garbage != 0 {
		t.Fatalf("lines %q stats %+v", r.got(), s)
	}
}

func TestOverlong(t *testing.T) {
	r := newRig(t, lineport.Options{Options: linedev.Options{MaxLen: 32}, ReportEvery: 20 * time.Millisecond}, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.connect(t, ctx)
	long := strings.Repeat("X", 100)
	// One overlong line in one write, then one spread over several, each
	// followed by a good line that must survive it.
	sendRaw(t, r.sim, long+"\r\n", "A001\r\n", long[:20], long[:20], long+"\r", "\nB002\r\n")
	r.waitLines(t, "A001", "B002")
	if s := r.d.Stats(); s.Overlong != 2 || s.Lines != 2 {
		t.Fatalf("stats %+v", s)
	}
	waitFor(t, "counters reported", func() bool { return r.lastReport().Detail["overlong"] == uint64(2) })
	if rep := r.lastReport(); rep.State != device.StateReady {
		t.Fatalf("report %+v", rep)
	}
}

// Binary garbage is dropped and counted; a port that brings only garbage
// (a wrong baud rate) is degraded until a good line comes.
func TestGarbage(t *testing.T) {
	r := newRig(t, lineport.Options{ReportEvery: 20 * time.Millisecond}, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.connect(t, ctx)
	sendRaw(t, r.sim, "\x00\x01\x02\xff\xfe\x10\r\n")
	send(t, r.sim, "A001")
	r.waitLines(t, "A001")
	waitFor(t, "the good line reported", func() bool { return r.lastReport().Detail["lines"] == uint64(1) })
	sendRaw(t, r.sim, "\xf8\x80\x00\x78\xf8\x80\x80\x00\x80\r\n", "\xff\xfe\r\n", "\x1b[2J\r\n")
	waitFor(t, "degraded", func() bool { return r.lastReport().State == device.StateDegraded })
	rep := r.lastReport()
	if rep.Reason != lineport.ReasonBadInput || rep.Detail["garbage"] != uint64(3) || rep.Detail["bad_encoding"] != uint64(1) {
		t.Fatalf("report %+v", rep)
	}
	send(t, r.sim, "B002")
	waitFor(t, "ready again", func() bool { return r.lastReport().State == device.StateReady })
	if rep := r.lastReport(); !rep.Seen || rep.Detail["lines"] != uint64(2) {
		t.Fatalf("report %+v", rep)
	}
	r.waitLines(t, "A001", "B002")
}

// A scanner set up without a suffix: its scan ends when the line goes
// quiet, however it was split, and not before.
func TestPartialLineFlushedByTimeout(t *testing.T) {
	const timeout = 150 * time.Millisecond
	r := newRig(t, lineport.Options{PartialTimeout: timeout}, 9600)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.connect(t, ctx)
	start := time.Now()
	sendRaw(t, r.sim, "预约码:HN2026")
	time.Sleep(timeout / 3)
	sendRaw(t, r.sim, "1125-0042")
	r.waitLines(t, "预约码:HN20261125-0042")
	if d := time.Since(start); d < timeout+timeout/3 {
		t.Fatalf("flushed after %v, before the line was quiet for %v", d, timeout)
	}
	sendRaw(t, r.sim, "A001")
	r.waitLines(t, "预约码:HN20261125-0042", "A001")
	if s := r.d.Stats(); s.Lines != 2 || s.Flushed != 2 {
		t.Fatalf("stats %+v", s)
	}
	// Bad partial lines are dropped by the timeout too, and framing goes
	// on with the next line.
	sendRaw(t, r.sim, "B\x00\x01")
	time.Sleep(2 * timeout)
	send(t, r.sim, "C003")
	r.waitLines(t, "预约码:HN20261125-0042", "A001", "C003")
	if s := r.d.Stats(); s.Garbage != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// A partial line when the cable is pulled is dropped (see Run), counted as
// cut, and does not stick to the first line after the replug.
func TestPartialLineAtUnplug(t *testing.T) {
	r := newRig(t, lineport.Options{PartialTimeout: 5 * time.Second}, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := r.connect(t, ctx)
	send(t, r.sim, "A001")
	sendRaw(t, r.sim, "预约码:HN2026")
	waitFor(t, "the partial line read", func() bool { return r.d.Stats().Bytes == uint64(6+len("预约码:HN2026")) })
	r.vp.Unplug()
	if err := <-done; err == nil {
		t.Fatal("a lost link returned no error")
	}
	if s := r.d.Stats(); s.Cut != 1 || s.Lines != 1 {
		t.Fatalf("stats %+v", s)
	}
	if err := r.vp.Replug(); err != nil {
		t.Fatal(err)
	}
	r.connect(t, ctx)
	if rep := r.lastReport(); rep.Detail["cut"] != uint64(1) {
		t.Fatalf("ready report %+v", rep)
	}
	send(t, r.sim, "B002")
	r.waitLines(t, "A001", "B002")
}

func TestUnplugReplug(t *testing.T) {
	r := newRig(t, lineport.Options{}, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var want []string
	cycle := func(i int) {
		done := r.connect(t, ctx)
		line := fmt.Sprintf("SCAN-%02d", i)
		want = append(want, line)
		send(t, r.sim, line)
		r.waitLines(t, want...)
		if err := r.d.Send(ctx, "LED ok"); err != nil {
			t.Fatalf("cycle %d: send: %v", i, err)
		}
		waitFor(t, "the device to read the line", func() bool { return len(r.sim.Received()) == i+1 })
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
		if err := r.d.Send(ctx, "LED ok"); !errors.Is(err, lineport.ErrOffline) {
			t.Fatalf("cycle %d: send while unplugged: %v", i, err)
		}
		if err := r.vp.Replug(); err != nil {
			t.Fatal(err)
		}
	}
	ptytest.Replugs(t, 20, 2, cycle)
	if n := len(r.sim.Received()); n != 21 {
		t.Errorf("device received %d lines over 21 connections", n)
	}
	if s := r.d.Stats(); s.Lines != 21 || s.Cut != 0 {
		t.Errorf("stats %+v", s)
	}
}

// Outbound lines reach the device whole, concurrent Sends never
// interleave, and its answers come back as lines.
func TestSendWithEcho(t *testing.T) {
	r := newRig(t, lineport.Options{Options: linedev.Options{Terminator: linedev.CRLF, Charset: linedev.GB18030}}, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := r.d.Send(ctx, "LED 1"); !errors.Is(err, lineport.ErrOffline) {
		t.Fatalf("send before connect: %v", err)
	}
	r.connect(t, ctx)
	r.sim.SetEcho(true)
	if err := r.d.Send(ctx, "LED 3 请 A012 到 3 号窗口"); err != nil {
		t.Fatal(err)
	}
	r.waitLines(t, "OK LED 3 请 A012 到 3 号窗口")

	var wg sync.WaitGroup
	sent := map[string]bool{}
	for g := range 8 {
		for i := range 50 {
			sent[fmt.Sprintf("LED %d 请 A%03d 到 %d 号窗口 %s", g, i, g, strings.Repeat("号", i))] = true
		}
		wg.Go(func() {
			for i := range 50 {
				if err := r.d.Send(ctx, fmt.Sprintf("LED %d 请 A%03d 到 %d 号窗口 %s", g, i, g, strings.Repeat("号", i))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, "401 lines received", func() bool { return len(r.sim.Received()) >= 401 })
	for _, l := range r.sim.Received()[1:] {
		if !sent[l] {
			t.Fatalf("device received %q, which was not sent", l)
		}
		delete(sent, l)
	}
	if len(sent) != 0 || r.sim.Stats().Garbage+r.sim.Stats().BadEncoding != 0 {
		t.Fatalf("%d lines missing; device stats %+v", len(sent), r.sim.Stats())
	}
	waitFor(t, "401 answers", func() bool { return len(r.got()) >= 401 })

	for _, bad := range []string{"", "LED\r\n1", strings.Repeat("号", 300)} {
		if err := r.d.Send(ctx, bad); !errors.Is(err, linedev.ErrBadLine) {
			t.Errorf("send of a bad line: %v", err)
		}
	}
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	if err := r.d.Send(cctx, "LED 1"); !errors.Is(err, context.Canceled) {
		t.Errorf("send with a cancelled context: %v", err)
	}
}

// 1,000 scans sent back to back arrive whole and in order, also through a
// handler slow enough to hold up reading.
func TestThousandLinesInOrder(t *testing.T) {
	for _, slow := range []bool{false, true} {
		t.Run(fmt.Sprintf("slow=%v", slow), func(t *testing.T) {
			r := newRig(t, lineport.Options{}, 0)
			if slow {
				r.handle = func(string) error { time.Sleep(200 * time.Microsecond); return nil }
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r.connect(t, ctx)
			want := make([]string, 1000)
			for i := range want {
				want[i] = fmt.Sprintf("预约码:HN20261125-%04d", i)
			}
			start := time.Now()
			send(t, r.sim, want...)
			r.waitLines(t, want...)
			t.Logf("1000 lines in %v", time.Since(start))
			if s := r.d.Stats(); s.Lines != 1000 || s.Garbage+s.Overlong+s.BadEncoding+s.Flushed != 0 || r.d.Jobs() != 1000 {
				t.Fatalf("stats %+v jobs %d", s, r.d.Jobs())
			}
		})
	}
}

// A line the handler refuses is counted and reported; the lines after it
// are delivered.
func TestHandlerError(t *testing.T) {
	r := newRig(t, lineport.Options{ReportEvery: 20 * time.Millisecond}, 0)
	r.handle = func(l string) error {
		if l == "UNKNOWN" {
			return errors.New("no such booking")
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.connect(t, ctx)
	send(t, r.sim, "A001", "UNKNOWN", "B002")
	r.waitLines(t, "A001", "B002")
	waitFor(t, "handler error reported", func() bool { return r.lastReport().Detail["handler_errors"] == uint64(1) })
	if rep := r.lastReport(); rep.State != device.StateReady || r.d.HandlerErrors() != 1 || r.d.Jobs() != 2 {
		t.Fatalf("report %+v, handler errors %d, jobs %d", rep, r.d.HandlerErrors(), r.d.Jobs())
	}
}

func TestNewRefuses(t *testing.T) {
	ok := func(string) error { return nil }
	if _, err := lineport.New("s", lineport.Options{Options: linedev.Options{Charset: "big5"}}, ok); err == nil {
		t.Error("bad charset accepted")
	}
	if _, err := lineport.New("s", lineport.Options{}, nil); err == nil {
		t.Error("nil handler accepted")
	}
}
