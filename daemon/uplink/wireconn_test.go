package uplink

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// countingConn is a connection whose reads come from a buffer, counted.
type countingConn struct {
	net.Conn
	src   *bytes.Reader
	reads int
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.reads++
	return c.src.Read(p)
}

// 100 PUBACKs that arrived together are read by paho's packet reader in
// one read of the connection, not three each.
func TestWireConnReadsAcksTogether(t *testing.T) {
	var wire bytes.Buffer
	for id := uint16(1); id <= 100; id++ {
		ack := packets.NewControlPacket(packets.Puback).(*packets.PubackPacket)
		ack.MessageID = id
		if err := ack.Write(&wire); err != nil {
			t.Fatal(err)
		}
	}
	cc := &countingConn{src: bytes.NewReader(wire.Bytes())}
	c := newWireConn(cc, time.Second)
	defer c.Abort()
	for id := uint16(1); id <= 100; id++ {
		p, err := packets.ReadPacket(c)
		if err != nil {
			t.Fatal(err)
		}
		if ack, ok := p.(*packets.PubackPacket); !ok || ack.MessageID != id {
			t.Fatalf("packet %d: %v", id, p)
		}
	}
	if cc.reads > 2 {
		t.Errorf("100 PUBACKs took %d reads of the connection, want 1", cc.reads)
	}
}

func (c *countingConn) Close() error { return nil }

// gateConn counts writes; the first one waits for release.
type gateConn struct {
	net.Conn
	mu      sync.Mutex
	writes  int
	got     bytes.Buffer
	release chan struct{}
	once    sync.Once
}

func (c *gateConn) Write(p []byte) (int, error) {
	c.once.Do(func() { <-c.release })
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return c.got.Write(p)
}
func (c *gateConn) SetWriteDeadline(time.Time) error { return nil }
func (c *gateConn) Close() error                     { return nil }

// Packets paho hands over while a send is in progress go out together, in
// order; none is lost.
func TestWireConnCoalescesWrites(t *testing.T) {
	gc := &gateConn{release: make(chan struct{})}
	w := newWireConn(gc, 5*time.Second)
	var want bytes.Buffer
	for i := range 200 {
		p := []byte(fmt.Sprintf("packet %03d;", i))
		want.Write(p)
		if _, err := w.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	close(gc.release)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	gc.mu.Lock()
	defer gc.mu.Unlock()
	if !bytes.Equal(gc.got.Bytes(), want.Bytes()) {
		t.Fatalf("sent %q, want %q", gc.got.Bytes(), want.Bytes())
	}
	if gc.writes > 3 {
		t.Errorf("200 packets written while the first send waited took %d sends, want 2", gc.writes)
	}
	t.Logf("200 packets in %d sends", gc.writes)
}

// Close sends what is waiting (paho's DISCONNECT) before it closes.
func TestWireConnCloseSendsWhatWaits(t *testing.T) {
	a, b := net.Pipe()
	w := newWireConn(a, 5*time.Second)
	got := make(chan []byte, 1)
	go func() { buf, _ := io.ReadAll(b); got <- buf }()
	disconnect := []byte{0xe0, 0x00}
	w.Write([]byte("publish;"))
	w.Write(disconnect)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if buf := <-got; !bytes.Equal(buf, append([]byte("publish;"), disconnect...)) {
		t.Fatalf("peer got %q before the close", buf)
	}
	if _, err := w.Write([]byte("late")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close = %v, want net.ErrClosed", err)
	}
}

// A broker that takes nothing: the send fails at its deadline, and every
// Write after that returns the failure, so paho drops the connection;
// Close and Abort never hang on it.
func TestWireConnStuckBrokerIsBounded(t *testing.T) {
	a, b := net.Pipe() // b never reads
	defer b.Close()
	w := newWireConn(a, 200*time.Millisecond)
	start := time.Now()
	w.Write([]byte("publish"))
	var err error
	for time.Since(start) < 5*time.Second {
		if _, err = w.Write([]byte("x")); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Write to a broker that takes nothing = %v after %v, want a timeout", err, time.Since(start))
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("the failure took %v with a 200 ms write timeout", el)
	}
	start = time.Now()
	w.Close()
	if el := time.Since(start); el > time.Second {
		t.Errorf("Close after a failed send took %v", el)
	}

	a2, b2 := net.Pipe()
	defer b2.Close()
	w2 := newWireConn(a2, 10*time.Second)
	w2.Write([]byte("publish")) // the writer is stuck sending it
	time.Sleep(50 * time.Millisecond)
	start = time.Now()
	w2.Abort()
	if el := time.Since(start); el > time.Second {
		t.Errorf("Abort with a send stuck took %v", el)
	}
}

// A Write that finds maxPending bytes waiting blocks for room, at most the
// write timeout: a broker that stopped reading holds paho, not our memory.
func TestWireConnPendingIsBounded(t *testing.T) {
	gc := &gateConn{release: make(chan struct{})} // the first send never ends
	defer close(gc.release)
	w := newWireConn(gc, 300*time.Millisecond)
	w.Write([]byte("first")) // taken by the writer, which waits
	time.Sleep(20 * time.Millisecond)
	chunk := make([]byte, 64<<10)
	var err error
	written := 0
	start := time.Now()
	for written <= 2*maxPending {
		if _, err = w.Write(chunk); err != nil {
			break
		}
		written += len(chunk)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) || written > maxPending {
		t.Fatalf("after %d bytes pending: %v, want a deadline error at most %d bytes in", written, err, maxPending)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("the full buffer held Write %v with a 300 ms timeout", el)
	}
}
