package serialport_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"halld/drivers/serialport"
	"halld/drivers/vport"
)

// TestFDExhaustionIsAnErrorNotAPanic runs in a child process (it changes the
// process's file limit): with LimitFDs in force, every fd is used up; opening
// a port must then fail cleanly, and work again once fds are free — with the
// port's fds below 1024, where go.bug.st/serial's select(2) is safe.
func TestFDExhaustionIsAnErrorNotAPanic(t *testing.T) {
	if os.Getenv("HALLD_FD_CHILD") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestFDExhaustionIsAnErrorNotAPanic$", "-test.v")
		cmd.Env = append(os.Environ(), "HALLD_FD_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		t.Logf("child:\n%s", out)
		return
	}
	vp, err := vport.New(filepath.Join(t.TempDir(), "dev"), echo)
	if err != nil {
		t.Fatal(err)
	}
	defer vp.Close()
	if err := serialport.LimitFDs(); err != nil {
		t.Fatal(err)
	}
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	if lim.Cur > serialport.MaxFD {
		t.Fatalf("soft limit %d after LimitFDs", lim.Cur)
	}
	var hog []*os.File
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
	for _, f := range hog[len(hog)-8:] {
		f.Close()
	}
	p, err := serialport.Open(context.Background(), "dev", serialport.Spec{Path: vp.Path()}, nil)
	if err != nil {
		t.Fatalf("open after freeing fds: %v", err)
	}
	defer p.Close()
	p.Write([]byte{1})
	if b, err := p.Read(2 * time.Second); err != nil || b[0] != 2 {
		t.Fatalf("read near the fd limit: % X %v", b, err)
	}
	for _, f := range hog[:len(hog)-8] {
		f.Close()
	}
}
