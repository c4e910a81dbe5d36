package broker

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// mochi v2.7.9 can deadlock in its own disconnect of a listener's clients
// (a re-entrant read lock against a client being deleted): the listener's
// Close must still return and close every connection, so halld stops on
// SIGTERM. Here the disconnect never returns at all.
func TestCloseIsBoundedWhenMochisDisconnectHangs(t *testing.T) {
	old := closeClientsWait
	closeClientsWait = 200 * time.Millisecond
	defer func() { closeClientsWait = old }()
	l := newListener("t1", "127.0.0.1:0", nil, 8, 8, nil, 5*time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := l.Init(nil); err != nil {
		t.Fatal(err)
	}
	established := make(chan net.Conn, 1)
	go l.Serve(func(id string, c net.Conn) error {
		established <- c
		buf := make([]byte, 1)
		c.Read(buf) // until the listener closes it
		return nil
	})
	client, err := net.Dial("tcp", l.Address())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	select {
	case <-established:
	case <-time.After(5 * time.Second):
		t.Fatal("connection not established")
	}
	hang := make(chan struct{})
	defer close(hang)
	closed := make(chan struct{})
	go func() {
		l.Close(func(string) { <-hang })
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs while mochi's disconnect hangs")
	}
	client.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := client.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("the connection was not closed: %v", err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
