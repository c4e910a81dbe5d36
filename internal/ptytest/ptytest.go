// Package ptytest is the one pseudo-terminal rig the serial drivers' tests
// and the daemon's share: a simulated device behind a real pty (vport) that
// lives as long as the test, a device side that holds flow control, and the
// unplug/replug leak check every serial driver is held to. It lives in the
// module's top internal/ so tests under drivers/ and daemon/ both reach it.
package ptytest

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"halld/drivers/vport"
)

// Device plugs in a simulated device named name (its link in the test's
// temporary directory) served by serve, and unplugs it when the test ends.
func Device(t testing.TB, name string, serve vport.ServeFunc) *vport.Port {
	t.Helper()
	return DeviceAt(t, filepath.Join(t.TempDir(), name), serve)
}

// DeviceAt is Device with its link at a path of the test's choosing (where
// the devices.yaml of a hall under test says the device is).
func DeviceAt(t testing.TB, link string, serve vport.ServeFunc) *vport.Port {
	t.Helper()
	vp, err := vport.New(link, serve)
	if err != nil {
		t.Fatalf("plugging in %s: %v", link, err)
	}
	t.Cleanup(func() { vp.Close() })
	return vp
}

// Hold is a device side that can hold flow control: while it is set the
// device takes nothing more, so once the pty's buffer is full every write
// from the host stalls, as with a real printer holding RTS/CTS. The zero
// value takes data.
type Hold struct{ atomic.Bool }

// Line wraps the device's side of the pty; a Line fits vport's serve
// functions: func(ctx, rw) error { return sim.Serve(ctx, h.Line(ctx, rw)) }.
func (h *Hold) Line(ctx context.Context, rw io.ReadWriter) io.ReadWriter {
	return holding{rw, ctx, h}
}

type holding struct {
	rw   io.ReadWriter
	ctx  context.Context
	hold *Hold
}

func (h holding) Read(b []byte) (int, error) {
	for h.hold.Load() {
		select {
		case <-h.ctx.Done():
			return 0, h.ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return h.rw.Read(b)
}

func (h holding) Write(b []byte) (int, error) { return h.rw.Write(b) }

// FDs counts the file descriptors this process holds.
func FDs() int {
	ents, _ := os.ReadDir("/proc/self/fd")
	return len(ents)
}

// Replugs runs cycle(0), then counts the process's file descriptors and
// goroutines, runs cycle(1) … cycle(n), and fails the test if either grew:
// by more than 2 descriptors or goroutineSlack goroutines once things have
// had a second to settle. cycle connects a driver, uses it, unplugs and
// replugs the device: a driver that leaks per link fails here.
func Replugs(t testing.TB, n, goroutineSlack int, cycle func(i int)) {
	t.Helper()
	cycle(0)
	time.Sleep(50 * time.Millisecond) // the first link's goroutines settle
	fds, gs := FDs(), runtime.NumGoroutine()
	for i := 1; i <= n; i++ {
		cycle(i)
	}
	grown := func() (int, int, bool) {
		f, g := FDs(), runtime.NumGoroutine()
		return f, g, f > fds+2 || g > gs+goroutineSlack
	}
	f, g, bad := grown()
	for deadline := time.Now().Add(time.Second); bad && time.Now().Before(deadline); f, g, bad = grown() {
		time.Sleep(20 * time.Millisecond)
	}
	if f > fds+2 {
		t.Errorf("fds grew over %d cycles: %d → %d", n, fds, f)
	}
	if g > gs+goroutineSlack {
		t.Errorf("goroutines grew over %d cycles: %d → %d", n, gs, g)
	}
}
