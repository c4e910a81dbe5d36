package serialport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"halld/drivers/serialport"
	"halld/internal/ptytest"
)

// inChild runs the calling test again in a child process (it changes the
// process's file limit and fills its descriptor table).
func inChild(t *testing.T, name string) bool {
	t.Helper()
	if os.Getenv("HALLD_FD_CHILD") == name {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^"+name+"$", "-test.v")
	cmd.Env = append(os.Environ(), "HALLD_FD_CHILD="+name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if bytes.Contains(out, []byte("--- SKIP")) {
		t.Skipf("child skipped:\n%s", out)
	}
	t.Logf("child:\n%s", out)
	return false
}

// talk checks one echo round trip on a port.
func talk(p *serialport.Port, b byte) error {
	if _, err := p.Write([]byte{b}); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	got, err := p.Read(2 * time.Second)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if len(got) != 1 || got[0] != b+1 {
		return fmt.Errorf("read % X, want %02X", got, b+1)
	}
	return nil
}

// A port opened while more than 1024 descriptors are in use gets a
// descriptor past select(2)'s FdSet; it must read and write as any other
// (go.bug.st/serial's own Read panics there). Then, with every descriptor
// used up, opening fails cleanly and works again once some are free.
func TestPortOnHighFD(t *testing.T) {
	if !inChild(t, "TestPortOnHighFD") {
		return
	}
	soft, err := serialport.RaiseFDs()
	if err != nil {
		t.Fatal(err)
	}
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	t.Logf("RLIMIT_NOFILE soft %d hard %d", lim.Cur, lim.Max)
	if soft != lim.Cur || lim.Cur < min(lim.Max, serialport.MaxFDs) {
		t.Fatalf("RaiseFDs left the soft limit at %d (said %d), hard %d", lim.Cur, soft, lim.Max)
	}
	if lim.Cur < 1200 {
		t.Skipf("hard RLIMIT_NOFILE %d leaves no room past 1024", lim.Max)
	}
	var hog []*os.File
	defer func() {
		for _, f := range hog {
			f.Close()
		}
	}()
	for range 1100 {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		hog = append(hog, f)
	}
	vp := ptytest.Device(t, "dev", echo)
	p, err := serialport.Open(context.Background(), "dev", serialport.Spec{Path: vp.Path()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fd := serialport.FD(p); fd < 1024 {
		t.Fatalf("port on fd %d; the test needs one >= 1024", fd)
	} else {
		t.Logf("port on fd %d", fd)
	}
	for i := range 200 {
		if err := talk(p, byte(i)); err != nil {
			t.Fatalf("round %d on a high fd: %v (link: %v)", i, err, p.Err())
		}
	}
	p.Close()

	// Every descriptor used up (a lower soft limit keeps this quick).
	lim.Cur = uint64(hog[len(hog)-1].Fd()) + 64
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) {
				t.Fatalf("unexpected error exhausting fds: %v", err)
			}
			break
		}
		hog = append(hog, f)
	}
	t.Logf("held %d fds; highest %d", len(hog), hog[len(hog)-1].Fd())
	if _, err := serialport.Open(context.Background(), "dev", serialport.Spec{Path: vp.Path()}, nil); err == nil {
		t.Fatal("open succeeded with no fds left")
	} else {
		t.Logf("open with no fds left: %v", err)
	}
	// Eight freed are not enough: Open keeps PortReserve for the API and
	// the journal, and says so.
	for _, f := range hog[len(hog)-8:] {
		f.Close()
	}
	hog = hog[:len(hog)-8]
	time.Sleep(150 * time.Millisecond) // FreeFDs' cache
	if _, err := serialport.Open(context.Background(), "dev", serialport.Spec{Path: vp.Path()}, nil); err == nil ||
		!errors.Is(err, syscall.EMFILE) || !strings.Contains(err.Error(), "kept for the API") {
		t.Fatalf("open eating into the reserve: %v, want EMFILE naming the reserve", err)
	}
	for _, f := range hog[len(hog)-serialport.PortReserve:] {
		f.Close()
	}
	hog = hog[:len(hog)-serialport.PortReserve]
	time.Sleep(150 * time.Millisecond)
	p, err = serialport.Open(context.Background(), "dev", serialport.Spec{Path: vp.Path()}, nil)
	if err != nil {
		t.Fatalf("open after freeing fds: %v", err)
	}
	defer p.Close()
	if err := talk(p, 1); err != nil {
		t.Fatalf("at the fd limit: %v", err)
	}
}

// A hall of 350 serial devices: every port opens and talks at once (the
// 1024 cap halld used to set left 37 of them failing).
func TestManyPortsAtOnce(t *testing.T) {
	const n = 350
	if b, err := os.ReadFile("/proc/sys/kernel/pty/max"); err == nil {
		max, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		nr := 0
		if b, err := os.ReadFile("/proc/sys/kernel/pty/nr"); err == nil {
			nr, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if max-nr < n+10 {
			t.Skipf("only %d ptys free here", max-nr)
		}
	}
	if _, err := serialport.RaiseFDs(); err != nil {
		t.Fatal(err)
	}
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	if lim.Cur < 8*n {
		t.Skipf("RLIMIT_NOFILE %d is too low for %d ports", lim.Cur, n)
	}
	dir := t.TempDir()
	ports := make([]*serialport.Port, n)
	for i := range n {
		vp := ptytest.DeviceAt(t, filepath.Join(dir, fmt.Sprintf("dev%d", i)), echo)
		p, err := serialport.Open(context.Background(), fmt.Sprintf("dev%d", i), serialport.Spec{Path: vp.Path()}, nil)
		if err != nil {
			t.Fatalf("port %d: %v", i, err)
		}
		defer p.Close()
		ports[i] = p
	}
	t.Logf("%d ports open; highest fd %d", n, serialport.FD(ports[n-1]))
	errs := make(chan error, n)
	for i, p := range ports {
		go func() {
			for r := range 5 {
				if err := talk(p, byte(i+r)); err != nil {
					errs <- fmt.Errorf("port %d (fd %d): %w (link: %v)", i, serialport.FD(p), err, p.Err())
					return
				}
			}
			errs <- nil
		}()
	}
	failed := 0
	for range n {
		if err := <-errs; err != nil {
			failed++
			if failed <= 5 {
				t.Error(err)
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d ports failed", failed, n)
	}
}
