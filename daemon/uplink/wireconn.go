package uplink

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// wireConn is the broker connection as paho sees it, cheaper in syscalls.
//
// Reads are buffered: paho reads each packet's fixed header a byte at a
// time straight from the connection, so every 4-byte PUBACK cost three
// read(2) calls; through a buffer the acks that arrived together cost one.
//
// Writes are coalesced: paho writes every packet with its own write(2)
// from one goroutine. Here Write copies into a buffer and a writer
// goroutine sends it; what paho hands over while a send is in progress goes
// out together in the next one, and an idle connection still sends each
// packet at once. Each send has the write timeout as its deadline (paho's
// own deadlines are for its Write, which no longer blocks on the socket); a
// Write that finds maxPending bytes waiting blocks for room, at most the
// write timeout. A failed send is returned by every later Write. Close
// sends what is waiting (paho's DISCONNECT) before closing, for at most the
// write timeout; Abort closes at once.
type wireConn struct {
	net.Conn // the connection itself: reads through r, addresses
	r        *bufio.Reader
	timeout  time.Duration

	mu      sync.Mutex
	pending []byte
	spare   []byte
	err     error // sticky: the send that failed
	closing bool
	kick    chan struct{} // bytes are pending, or closing
	room    chan struct{} // a send finished
	done    chan struct{} // the writer returned
	once    sync.Once
}

// maxPending bounds what waits for the writer: a broker that stopped
// reading holds paho's Write there, not halld's memory.
const maxPending = 256 << 10

var errWireClosed = fmt.Errorf("uplink connection: %w", net.ErrClosed)

func newWireConn(c net.Conn, writeTimeout time.Duration) *wireConn {
	w := &wireConn{Conn: c, r: bufio.NewReaderSize(c, 16<<10), timeout: writeTimeout,
		kick: make(chan struct{}, 1), room: make(chan struct{}, 1), done: make(chan struct{})}
	go w.writer()
	return w
}

func (w *wireConn) Read(p []byte) (int, error) { return w.r.Read(p) }

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (w *wireConn) Write(p []byte) (int, error) {
	var timer *time.Timer
	w.mu.Lock()
	for w.err == nil && !w.closing && len(w.pending) > 0 && len(w.pending)+len(p) > maxPending {
		w.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(w.timeout)
			defer timer.Stop()
		}
		select {
		case <-w.room:
		case <-w.done:
		case <-timer.C:
			return 0, fmt.Errorf("uplink connection: %d bytes not taken in %v: %w", maxPending, w.timeout, os.ErrDeadlineExceeded)
		}
		w.mu.Lock()
	}
	switch {
	case w.err != nil:
		err := w.err
		w.mu.Unlock()
		return 0, err
	case w.closing:
		w.mu.Unlock()
		return 0, errWireClosed
	}
	w.pending = append(w.pending, p...)
	w.mu.Unlock()
	notify(w.kick)
	return len(p), nil
}

// writer sends what is pending, one write(2) for all of it, until closing
// with nothing pending or a send fails.
func (w *wireConn) writer() {
	defer close(w.done)
	for range w.kick {
		for {
			w.mu.Lock()
			if len(w.pending) == 0 {
				closing := w.closing
				w.mu.Unlock()
				if closing {
					return
				}
				break
			}
			b := w.pending
			w.pending = w.spare[:0]
			w.mu.Unlock()

			w.Conn.SetWriteDeadline(time.Now().Add(w.timeout))
			_, err := w.Conn.Write(b)

			w.mu.Lock()
			if cap(b) <= maxPending {
				w.spare = b[:0]
			}
			if err != nil {
				w.err = err
			}
			w.mu.Unlock()
			notify(w.room)
			if err != nil {
				w.Conn.Close()
				return
			}
		}
	}
}

// SetWriteDeadline is accepted and ignored: each send has its own.
func (w *wireConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline sets the read deadline only, for the same reason.
func (w *wireConn) SetDeadline(t time.Time) error { return w.Conn.SetReadDeadline(t) }

// Close sends what is pending (within the write timeout), then closes.
func (w *wireConn) Close() error {
	w.once.Do(func() {
		w.mu.Lock()
		w.closing = true
		w.mu.Unlock()
		notify(w.kick)
		t := time.NewTimer(w.timeout)
		select {
		case <-w.done:
		case <-t.C:
		}
		t.Stop()
	})
	err := w.Conn.Close()
	w.stopWriter()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Abort closes at once, pending bytes unsent (a cut, so the broker
// publishes the will).
func (w *wireConn) Abort() {
	w.mu.Lock()
	w.closing = true
	w.pending = nil
	w.mu.Unlock()
	w.Conn.Close()
	w.stopWriter()
}

// stopWriter makes sure the writer has returned: it is woken, sees closing
// with nothing pending (or its send fails on the closed connection).
func (w *wireConn) stopWriter() {
	notify(w.kick)
	<-w.done
}
