package serialport_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"halld/drivers/serialport"
	"halld/internal/ptytest"
)

// echo is a device that answers every byte with byte+1.
func echo(ctx context.Context, rw io.ReadWriter) error {
	buf := make([]byte, 256)
	for {
		n, err := rw.Read(buf)
		if err != nil {
			return err
		}
		for i := range buf[:n] {
			buf[i]++
		}
		if _, err := rw.Write(buf[:n]); err != nil {
			return err
		}
	}
}

func TestTalkUnplugReplug(t *testing.T) {
	dir := t.TempDir()
	vp := ptytest.DeviceAt(t, filepath.Join(dir, "dev0"), echo)
	trace := serialport.NewTrace(filepath.Join(dir, "trace"))
	defer trace.Close()
	if err := trace.Set("dev0", true); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	spec := serialport.Spec{Path: vp.Path(), Baud: 115200}

	// Warm up once so lazily created runtime fds are not counted as growth.
	cycle := func(i int) {
		p, err := serialport.Open(ctx, "dev0", spec, trace)
		if err != nil {
			t.Fatalf("cycle %d: open: %v", i, err)
		}
		if _, err := p.Write([]byte{0x10, 0x41}); err != nil {
			t.Fatalf("cycle %d: write: %v", i, err)
		}
		got := []byte{}
		for len(got) < 2 {
			b, err := p.Read(2 * time.Second)
			if err != nil {
				t.Fatalf("cycle %d: read: %v", i, err)
			}
			got = append(got, b...)
		}
		if got[0] != 0x11 || got[1] != 0x42 {
			t.Fatalf("cycle %d: got % X", i, got)
		}
		unplugged := time.Now()
		vp.Unplug()
		select {
		case <-p.Dead():
		case <-time.After(time.Second):
			t.Fatalf("cycle %d: unplug not noticed within 1 s", i)
		}
		if d := time.Since(unplugged); d > time.Second {
			t.Fatalf("cycle %d: unplug noticed after %v", i, d)
		}
		if p.Err() == nil {
			t.Fatalf("cycle %d: a lost link must carry an error", i)
		}
		if _, err := serialport.Open(ctx, "dev0", spec, trace); err == nil {
			t.Fatalf("cycle %d: open succeeded while unplugged", i)
		}
		p.Close()
		if err := vp.Replug(); err != nil {
			t.Fatal(err)
		}
	}
	ptytest.Replugs(t, 50, 2, cycle) // reader goroutines exit on their own
	b, err := os.ReadFile(trace.File("dev0"))
	if err != nil || len(b) == 0 {
		t.Fatalf("no trace written: %v", err)
	}
	if !containsAll(string(b), "tx", "10 41", "rx", "11 42", "link lost") {
		t.Errorf("trace lacks expected lines:\n%.600s", b)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		found := false
		for i := 0; i+len(sub) <= len(s); i++ {
			if s[i:i+len(sub)] == sub {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func TestCloseIsNotAnError(t *testing.T) {
	vp := ptytest.Device(t, "dev1", echo)
	p, err := serialport.Open(context.Background(), "dev1", serialport.Spec{Path: vp.Path()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	<-p.Dead()
	if p.Err() != nil {
		t.Fatalf("closing our own port reported %v", p.Err())
	}
}

func TestResolveMissing(t *testing.T) {
	_, err := serialport.Resolve(serialport.Spec{Path: "/dev/serial/by-id/usb-nothing-here"})
	if err == nil {
		t.Fatal("missing device resolved")
	}
}

// TestSilentUnplugNoticed: an adapter that reports its removal as endless
// silence (the device node goes, the descriptor stays quiet) is noticed by
// the once-a-second node check, now that an idle reader no longer wakes on
// a fixed 200 ms timer.
func TestSilentUnplugNoticed(t *testing.T) {
	dir := t.TempDir()
	vp := ptytest.DeviceAt(t, filepath.Join(dir, "dev0"), echo)
	p, err := serialport.Open(context.Background(), "dev0", serialport.Spec{Path: vp.Path(), Baud: 115200}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	time.Sleep(1300 * time.Millisecond) // silent past one node check: the port must stay up
	select {
	case <-p.Dead():
		t.Fatalf("an idle port died: %v", p.Err())
	default:
	}
	gone := time.Now()
	if err := os.Remove(vp.Path()); err != nil { // the node goes; the pty's master stays open and silent
		t.Fatal(err)
	}
	select {
	case <-p.Dead():
	case <-time.After(2 * time.Second):
		t.Fatal("a silent unplug (device node gone) was not noticed within 2 s")
	}
	t.Logf("noticed after %v: %v", time.Since(gone).Round(time.Millisecond), p.Err())
	if p.Err() == nil {
		t.Fatal("a lost link must carry an error")
	}
}

// Read(0) looks without waiting: a timeout while the link lives, the link's
// error once it is dead, and bytes already received in either case.
func TestReadZeroLooks(t *testing.T) {
	vp := ptytest.Device(t, "dev0", echo)
	p, err := serialport.Open(context.Background(), "dev0", serialport.Spec{Path: vp.Path()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Read(0); !errors.Is(err, serialport.ErrTimeout) {
		t.Fatalf("Read(0) with nothing received: %v, want ErrTimeout", err)
	}
	if _, err := p.Write([]byte("w")); err != nil { // the echo answers "x"
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := p.Read(0)
		if err == nil {
			if string(b) != "x" {
				t.Fatalf("read %q", b)
			}
			break
		}
		if !errors.Is(err, serialport.ErrTimeout) || time.Now().After(deadline) {
			t.Fatalf("Read(0) on a live port: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := p.Read(0); !errors.Is(err, serialport.ErrTimeout) {
		t.Fatalf("Read(0) with nothing received: %v, want ErrTimeout", err)
	}
	vp.Unplug()
	select {
	case <-p.Dead():
	case <-time.After(5 * time.Second):
		t.Fatal("unplug not noticed")
	}
	for range 20 { // the old timer(0) and the dead link raced in a select
		if _, err := p.Read(0); err == nil || errors.Is(err, serialport.ErrTimeout) {
			t.Fatalf("Read(0) on a dead port: %v, want the link's error", err)
		}
	}
}
