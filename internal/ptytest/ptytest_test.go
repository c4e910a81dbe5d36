package ptytest

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial"
)

// recorder is a testing.TB that keeps what it was told to report.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Helper() {}

// The leak check must see a leak: a cycle that keeps a descriptor open.
func TestReplugsSeesALeak(t *testing.T) {
	var kept []*os.File
	defer func() {
		for _, f := range kept {
			f.Close()
		}
	}()
	rec := &recorder{TB: t}
	Replugs(rec, 5, 2, func(int) {
		f, err := os.Open("/dev/null")
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, f)
	})
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "fds grew over 5 cycles") {
		t.Fatalf("a leak of 5 descriptors reported as %q", rec.errs)
	}
	rec = &recorder{TB: t}
	Replugs(rec, 5, 2, func(int) {})
	if len(rec.errs) != 0 {
		t.Fatalf("nothing leaked, yet: %q", rec.errs)
	}
}

// A held device takes nothing: the host's bytes wait until it lets go.
func TestHoldStallsTheDevice(t *testing.T) {
	var h Hold
	h.Store(true)
	got := make(chan string, 1)
	vp := Device(t, "dev", func(ctx context.Context, rw io.ReadWriter) error {
		rw = h.Line(ctx, rw)
		b := make([]byte, 16)
		n, err := rw.Read(b)
		got <- string(b[:n])
		return err
	})
	port, err := serial.Open(vp.Path(), &serial.Mode{BaudRate: 9600})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	if _, err := port.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		t.Fatalf("a held device read %q", s)
	case <-time.After(100 * time.Millisecond):
	}
	h.Store(false)
	select {
	case s := <-got:
		if s != "hi" {
			t.Fatalf("read %q, want hi", s)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("released device read nothing")
	}
}
