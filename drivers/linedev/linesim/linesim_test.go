package linesim

import (
	"context"
	"errors"
	"io"
	"net"
	"reflect"
	"testing"
	"time"

	"halld/drivers/linedev"
)

// serve runs d on one end of a pipe and returns the host's end.
func serve(t *testing.T, d *Device) (host net.Conn, done chan error) {
	t.Helper()
	host, dev := net.Pipe()
	done = make(chan error, 1)
	go func() { done <- d.Serve(context.Background(), dev) }()
	t.Cleanup(func() { host.Close(); dev.Close() })
	deadline := time.Now().Add(2 * time.Second)
	for !d.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("not serving")
		}
		time.Sleep(time.Millisecond)
	}
	return host, done
}

func readN(t *testing.T, r io.Reader, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSendAndEcho(t *testing.T) {
	d, err := New(linedev.Options{Terminator: linedev.CR, Charset: linedev.GB18030})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Send("A001"); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("send while unplugged: %v", err)
	}
	host, done := serve(t, d)

	go d.Send("预约码")
	if got := readN(t, host, 7); got != "\xd4\xa4\xd4\xbc\xc2\xeb\r" {
		t.Fatalf("scan on the wire % X", got)
	}
	go d.SendRaw([]byte{0, 1, 2})
	if got := readN(t, host, 3); got != "\x00\x01\x02" {
		t.Fatalf("raw % X", got)
	}

	d.SetEcho(true)
	if _, err := host.Write([]byte("LED 1 \xc7\xeb\r\n")); err != nil { // "请" in GB18030, CRLF
		t.Fatal(err)
	}
	if got := readN(t, host, 12); got != "OK LED 1 \xc7\xeb\r" {
		t.Fatalf("echo %q", got)
	}
	if got := d.Received(); !reflect.DeepEqual(got, []string{"LED 1 请"}) {
		t.Fatalf("received %q", got)
	}
	d.SetEcho(false)
	host.Write([]byte("\x00\r"))
	host.Close()
	if err := <-done; err == nil {
		t.Fatal("Serve returned nil on a closed connection")
	}
	if s := d.Stats(); s.Lines != 1 || s.Garbage != 1 {
		t.Fatalf("stats %+v", s)
	}
	if d.Connected() {
		t.Fatal("connected after the connection ended")
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	if _, err := New(linedev.Options{Terminator: "nul"}); err == nil {
		t.Fatal("bad terminator accepted")
	}
}
