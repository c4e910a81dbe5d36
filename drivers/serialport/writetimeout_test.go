package serialport_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"halld/drivers/serialport"
	"halld/internal/ptytest"
)

// deaf is a device that never reads what it is sent, as a printer holding
// flow control: once the pty's buffer is full, nothing more is taken.
func deaf(ctx context.Context, rw io.ReadWriter) error {
	<-ctx.Done()
	return ctx.Err()
}

// stuckWrite writes far more than a pty buffers to a device that takes
// nothing, and returns how long the write took in all and how long it ran
// after the device last took a byte (sampled with WriteStalled).
func stuckWrite(t *testing.T, p *serialport.Port) (took, afterLast time.Duration) {
	t.Helper()
	start := time.Now()
	var lastProgress time.Time
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				if s := p.WriteStalled(); s > 0 {
					lastProgress = time.Now().Add(-s)
				}
			}
		}
	}()
	n, err := p.Write(make([]byte, 256<<10))
	end := time.Now()
	close(stop)
	<-sampled
	took, afterLast = end.Sub(start), end.Sub(lastProgress)
	t.Logf("write: %d bytes taken; failed after %v, %v after the last byte taken: %v", n, took.Round(time.Millisecond), afterLast.Round(time.Millisecond), err)
	if !errors.Is(err, serialport.ErrWriteTimeout) {
		t.Fatalf("write to a device taking nothing: %v, want ErrWriteTimeout", err)
	}
	return took, afterLast
}

func TestWriteToDeviceThatTakesNothingTimesOut(t *testing.T) {
	vp := ptytest.Device(t, "deaf", deaf)
	const timeout = 300 * time.Millisecond
	spec := serialport.Spec{Path: vp.Path(), Baud: 115200, WriteTimeout: timeout}
	// Twice: the first connection fills the pty, the second finds it still
	// full (as a printer still holding flow control after a reconnect).
	for round := 0; round < 2; round++ {
		p, err := serialport.Open(context.Background(), "deaf", spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		took, afterLast := stuckWrite(t, p)
		if afterLast < timeout-20*time.Millisecond || afterLast > timeout+150*time.Millisecond {
			t.Fatalf("write failed %v after the device last took a byte, want %v (+150 ms)", afterLast, timeout)
		}
		if took > 3*timeout {
			t.Fatalf("write failed only after %v", took)
		}
		select {
		case <-p.Dead():
		case <-time.After(time.Second):
			t.Fatal("a write timeout must kill the link")
		}
		if !errors.Is(p.Err(), serialport.ErrWriteTimeout) {
			t.Fatalf("link died of %v, want ErrWriteTimeout", p.Err())
		}
		start := time.Now()
		if _, err := p.Write([]byte{1}); !errors.Is(err, serialport.ErrWriteTimeout) || time.Since(start) > 50*time.Millisecond {
			t.Fatalf("write on the dead link: %v after %v", err, time.Since(start))
		}
		start = time.Now()
		p.Close()
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Fatalf("close of a stuck link took %v", d)
		}
	}
}

// Close wakes a write waiting for a stuck device at once.
func TestCloseWakesAStalledWrite(t *testing.T) {
	vp := ptytest.Device(t, "deaf", deaf)
	p, err := serialport.Open(context.Background(), "deaf", serialport.Spec{Path: vp.Path(), WriteTimeout: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.Write(make([]byte, 256<<10))
		done <- err
	}()
	time.Sleep(150 * time.Millisecond)
	if s := p.WriteStalled(); s < 30*time.Millisecond {
		t.Fatalf("WriteStalled %v during a stuck write", s)
	}
	start := time.Now()
	p.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a write cut short by Close reported success")
		}
	case <-time.After(time.Second):
		t.Fatal("Close did not wake the stalled write")
	}
	if d := time.Since(start); d > 300*time.Millisecond {
		t.Fatalf("Close with a stalled write took %v", d)
	}
	if p.Err() != nil {
		t.Fatalf("our own Close reported %v", p.Err())
	}
	if p.WriteStalled() != 0 {
		t.Fatal("WriteStalled after the write ended")
	}
}

// A slow device that keeps taking bytes is not a timeout.
func TestSlowButMovingWriteSucceeds(t *testing.T) {
	slow := func(ctx context.Context, rw io.ReadWriter) error {
		buf := make([]byte, 512)
		for {
			if _, err := rw.Read(buf); err != nil {
				return err
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	vp := ptytest.Device(t, "slow", slow)
	p, err := serialport.Open(context.Background(), "slow", serialport.Spec{Path: vp.Path(), WriteTimeout: 300 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if n, err := p.Write(make([]byte, 96<<10)); err != nil || n != 96<<10 {
		t.Fatalf("slow device: %d, %v", n, err)
	}
}
