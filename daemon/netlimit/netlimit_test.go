package netlimit

import (
	"net"
	"testing"
	"time"
)

// dialFrom connects to addr from a given loopback source address
// (127.0.0.2 etc. stand in for LAN hosts: they are not "loopback" to the
// limiter only if we say so, so these tests use 127.x for both and check
// the loopback reserve separately).
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedSoon reports whether the server closed c within d.
func closedSoon(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	var b [1]byte
	_, err := c.Read(b[:])
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return err != nil
}

func serve(t *testing.T, o Options) (*Listener, string, chan net.Conn) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Wrap(inner, o)
	t.Cleanup(func() { l.Close() })
	got := make(chan net.Conn, 1024)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			got <- c
		}
	}()
	return l, inner.Addr().String(), got
}

func TestLoopbackHasItsOwnReserve(t *testing.T) {
	l, addr, got := serve(t, Options{MaxLoopback: 3})
	for i := 0; i < 3; i++ {
		dialFrom(t, "127.0.0.1", addr)
		<-got
	}
	over := dialFrom(t, "127.0.0.1", addr)
	if !closedSoon(over, 2*time.Second) {
		t.Fatal("a fourth loopback connection over MaxLoopback=3 was kept")
	}
	if s := l.Stats(); s.Loopback != 3 || s.Refused != 1 {
		t.Fatalf("stats %+v, want 3 loopback, 1 refused", s)
	}
}

func TestReleaseOnClose(t *testing.T) {
	l, addr, got := serve(t, Options{MaxLoopback: 1})
	dialFrom(t, "127.0.0.1", addr)
	c := <-got
	c.Close()
	c.Close() // twice must not release twice
	if s := l.Stats(); s.Loopback != 0 {
		t.Fatalf("after close: %+v", s)
	}
	dialFrom(t, "127.0.0.1", addr)
	select {
	case <-got:
	case <-time.After(2 * time.Second):
		t.Fatal("a connection after the first closed was not accepted")
	}
}

func TestPerIPAndLANBoundsUseTheSource(t *testing.T) {
	// take() is the policy; exercise it with LAN addresses directly, as a
	// LAN host cannot be dialled from here without a network namespace
	// (daemon/abuse does that against a real halld).
	l := Wrap(nil, Options{MaxLAN: 4, MaxPerIP: 2, MaxLoopback: 1})
	for i := range 2 {
		if why := l.take("10.0.0.1", false); why != "" {
			t.Fatalf("connection %d from one address refused: %s", i+1, why)
		}
	}
	if why := l.take("10.0.0.1", false); why != "per_ip" {
		t.Fatalf("third from one address: %q, want per_ip", why)
	}
	if l.take("10.0.0.2", false) != "" || l.take("10.0.0.3", false) != "" {
		t.Fatal("other addresses refused under MaxLAN")
	}
	if why := l.take("10.0.0.4", false); why != "lan" {
		t.Fatalf("fifth LAN connection: %q, want lan", why)
	}
	// The LAN being full does not touch loopback's reserve.
	if why := l.take("127.0.0.1", true); why != "" {
		t.Fatalf("loopback refused while the LAN is full: %q", why)
	}
	l.release("10.0.0.1", false)
	if why := l.take("10.0.0.4", false); why != "" {
		t.Fatalf("after a release: %q", why)
	}
	if s := l.Stats(); s.LAN != 4 || s.Addresses != 4 {
		t.Fatalf("stats %+v", s)
	}
}

func TestLANWaitsWhileDescriptorsRunShort(t *testing.T) {
	free := 500
	l := Wrap(nil, Options{FreeFDs: func() int { return free }, Reserve: 100})
	if why := l.take("10.0.0.1", false); why != "" {
		t.Fatalf("with descriptors to spare: %q", why)
	}
	free = 99
	if why := l.take("10.0.0.2", false); why != "descriptors" {
		t.Fatalf("under the reserve: %q, want descriptors", why)
	}
	if why := l.take("127.0.0.1", true); why != "" {
		t.Fatalf("loopback under the reserve: %q (the kiosk must still get in)", why)
	}
}
