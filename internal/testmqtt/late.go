package testmqtt

import (
	"errors"
	"net"
	"testing"
	"time"
)

// Late is a broker that takes one connection, reads its CONNECT and answers
// (CONNACK, accepted) only when told: for a client given up on while it was
// connecting, which must let the connection go once the answer comes.
type Late struct {
	URL    string // tcp://127.0.0.1:port
	answer chan struct{}
	got    chan lateResult
}

type lateResult struct {
	after []byte
	err   error
}

// StartLate listens on a free loopback port; it stops with the test.
func StartLate(t testing.TB) *Late {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	l := &Late{URL: "tcp://" + ln.Addr().String(), answer: make(chan struct{}), got: make(chan lateResult, 1)}
	go func() {
		c, err := ln.Accept()
		if err != nil {
			l.got <- lateResult{err: err}
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(buf); err != nil { // the CONNECT
			l.got <- lateResult{err: err}
			return
		}
		<-l.answer
		c.Write([]byte{0x20, 0x02, 0x00, 0x00})
		var after []byte
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		for {
			n, err := c.Read(buf)
			after = append(after, buf[:n]...)
			if err != nil {
				l.got <- lateResult{after, err}
				return
			}
		}
	}()
	return l
}

// Answer sends the CONNACK and reports what the client did with the
// connection in the next 3 s: an error when it subscribed or kept it open.
func (l *Late) Answer() error {
	close(l.answer)
	r := <-l.got
	for _, typ := range packetTypes(r.after) {
		if typ == 0x80 {
			return errors.New("the client subscribed after it was given up on")
		}
	}
	var ne net.Error
	if errors.As(r.err, &ne) && ne.Timeout() {
		return errors.New("the client kept the connection open after it was given up on")
	}
	return nil
}

// packetTypes returns the packet types (first byte, flags masked) of a
// stream of MQTT packets.
func packetTypes(b []byte) []byte {
	var types []byte
	for len(b) >= 2 {
		n, mul, i := 0, 1, 1
		for ; i < len(b) && i < 5; i++ {
			n += int(b[i]&0x7f) * mul
			mul *= 128
			if b[i]&0x80 == 0 {
				break
			}
		}
		types = append(types, b[0]&0xf0)
		if 1+i+n > len(b) {
			break
		}
		b = b[1+i+n:]
	}
	return types
}
