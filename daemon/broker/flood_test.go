package broker

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"halld/daemon/internal/testpki"
)

// startOpts starts a broker with opts (Listen, Hall, Users, Logger filled
// in when empty) and returns it with its log.
func startOpts(t *testing.T, opts Options) (*Broker, *logBuf) {
	t.Helper()
	lb := &logBuf{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", lb.String())
		}
	})
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.Hall == "" {
		opts.Hall = hall
	}
	if opts.Users == nil {
		opts.Users = map[string]string{"term-1": "pw1", "term-2": "pw2", "term-3": "pw3"}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(lb, nil))
	}
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, lb
}

// dialFrom opens a TCP connection to addr from source address src
// ("127.0.0.2": on Linux all of 127.0.0.0/8 is the loopback interface, so
// each is a distinct remote address to the broker).
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// mqttString is an MQTT UTF-8 string: length, bytes.
// dialFlood is dialFrom for a connection the broker may refuse: it returns
// nil when the broker's reset came before connect(2) returned.
func dialFlood(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if errors.Is(err, syscall.ECONNRESET) {
		return nil
	}
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mqttString(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }

// connectPacket is an MQTT 3.1.1 CONNECT with a clean session.
func connectPacket(clientID, user, pass string, keepalive uint16) []byte {
	vh := append(mqttString("MQTT"), 4, 0x02|0x80|0x40, byte(keepalive>>8), byte(keepalive))
	body := append(vh, mqttString(clientID)...)
	body = append(body, mqttString(user)...)
	body = append(body, mqttString(pass)...)
	pk := []byte{0x10}
	for n := len(body); ; {
		b := byte(n % 128)
		if n /= 128; n > 0 {
			b |= 0x80
		}
		pk = append(pk, b)
		if n == 0 {
			break
		}
	}
	return append(pk, body...)
}

// rawConnect sends CONNECT on c and returns the CONNACK's return code.
func rawConnect(c net.Conn, clientID, user, pass string, keepalive uint16) (byte, error) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(connectPacket(clientID, user, pass, keepalive)); err != nil {
		return 0, err
	}
	var ack [4]byte
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		return 0, fmt.Errorf("no CONNACK: %w", err)
	}
	if ack[0] != 0x20 || ack[1] != 2 {
		return 0, fmt.Errorf("not a CONNACK: % x", ack)
	}
	return ack[3], nil
}

// ping sends PINGREQ and waits for PINGRESP.
func ping(c net.Conn) error {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write([]byte{0xc0, 0}); err != nil {
		return err
	}
	var r [2]byte
	if _, err := io.ReadFull(c, r[:]); err != nil {
		return err
	}
	if r != [2]byte{0xd0, 0} {
		return fmt.Errorf("not a PINGRESP: % x", r)
	}
	return nil
}

// closedByPeer reports whether the broker closed c: a read gets EOF or a
// reset within d (true), or times out with c still open (false).
func closedByPeer(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	var b [1]byte
	_, err := c.Read(b[:])
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return err != nil
}

func countClosed(conns []net.Conn, d time.Duration) (closed int) {
	var wg sync.WaitGroup
	var n atomic.Int32
	for _, c := range conns {
		if c == nil { // reset while dialling
			n.Add(1)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if closedByPeer(c, d) {
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(n.Load())
}

// Connections that never send CONNECT (or send half of one) are closed after
// ConnectTimeout and give their place back; connected clients, with
// keepalive 60 s or 0 (no keepalive), are not touched by that deadline.
func TestConnectTimeout(t *testing.T) {
	const timeout = 800 * time.Millisecond
	b, _ := startOpts(t, Options{MaxClients: 5, MaxPerIP: -1, ConnectTimeout: timeout})

	// Two devices connected: keepalive 60 s over paho, keepalive 0 raw.
	lost := make(chan error, 1)
	o := paho.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID("term-1").SetUsername("term-1").SetPassword("pw1").
		SetAutoReconnect(false).SetConnectRetry(false).SetKeepAlive(60 * time.Second).SetCleanSession(true).
		SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err })
	pc := paho.NewClient(o)
	if tok := pc.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("paho connect: %v", tok.Error())
	}
	defer pc.Disconnect(50)
	k0 := dialFrom(t, "127.0.0.1", b.Addr())
	if rc, err := rawConnect(k0, "term-2", "term-2", "pw2", 0); err != nil || rc != 0 {
		t.Fatalf("keepalive 0 connect: rc %d, %v", rc, err)
	}

	// Three idle connections fill MaxClients: one sends nothing, one half
	// a CONNECT, one a TCP connection from another host.
	start := time.Now()
	idle := []net.Conn{dialFrom(t, "127.0.0.2", b.Addr()), dialFrom(t, "127.0.0.2", b.Addr()), dialFrom(t, "127.0.0.3", b.Addr())}
	if _, err := idle[1].Write(connectPacket("term-3", "term-3", "pw3", 60)[:5]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "5 open, 3 pending", func() bool { s := b.Stats().Devices; return s.Open == 5 && s.Pending == 3 })
	// Full: the next one is closed at once.
	if over := dialFlood(t, "127.0.0.4", b.Addr()); over != nil && !closedByPeer(over, timeout/2) {
		t.Fatal("a connection over MaxClients was not closed at once")
	}

	// The idle ones are closed after the timeout, not before.
	for i, c := range idle {
		if !closedByPeer(c, timeout+3*time.Second) {
			t.Fatalf("idle connection %d still open %v after accept (connect timeout %v)", i, time.Since(start), timeout)
		}
	}
	if el := time.Since(start); el < timeout*9/10 {
		t.Fatalf("idle connections closed after %v, before the connect timeout %v", el, timeout)
	}
	t.Logf("idle connections closed %v after accept (connect timeout %v)", time.Since(start), timeout)
	waitFor(t, "the idle connections' places freed", func() bool { return b.Stats().Devices.Open == 2 })
	if s := b.Stats().Devices; s.ConnectTimeouts != 3 || s.RefusedMaxClients != 1 || s.Pending != 0 {
		t.Fatalf("stats %+v, want 3 connect timeouts, 1 refused, 0 pending", s)
	}
	// Their places are free again.
	c3 := dialFrom(t, "127.0.0.3", b.Addr())
	if rc, err := rawConnect(c3, "term-3", "term-3", "pw3", 30); err != nil || rc != 0 {
		t.Fatalf("device after the idle ones left: rc %d, %v", rc, err)
	}

	// Well past the connect timeout the connected clients still work.
	time.Sleep(3*timeout - time.Since(start))
	select {
	case err := <-lost:
		t.Fatalf("the keepalive 60 s client was disconnected: %v", err)
	default:
	}
	if tok := pc.Publish("hall/"+hall+"/term-1/status", 1, false, "{}"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("keepalive 60 s client, idle %v: publish: %v", time.Since(start), tok.Error())
	}
	if err := ping(k0); err != nil {
		t.Fatalf("keepalive 0 client, idle %v: %v", time.Since(start), err)
	}
	if err := ping(c3); err != nil {
		t.Fatalf("keepalive 30 s client: %v", err)
	}
}

// A TLS handshake must finish within ConnectTimeout too.
func TestConnectTimeoutTLS(t *testing.T) {
	pki := testpki.New(t)
	b, _ := startOpts(t, Options{ConnectTimeout: 500 * time.Millisecond,
		TLS: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pki.Server()}}})
	c := dialFrom(t, "127.0.0.2", b.Addr())
	if !closedByPeer(c, 4*time.Second) {
		t.Fatal("a TCP connection to the TLS listener that never says hello is still open")
	}
	waitFor(t, "its place freed", func() bool { return b.Stats().Devices.Open == 0 })
	if s := b.Stats().Devices; s.ConnectTimeouts != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// One host's flood gets MaxPerIP places; the rest are closed at once and a
// device on another address still connects. The box itself (127.0.0.1) is
// held to MaxClients only.
func TestMaxPerIP(t *testing.T) {
	b, _ := startOpts(t, Options{MaxClients: 40, MaxPerIP: 4, ConnectTimeout: time.Minute})
	var flood []net.Conn
	for range 30 {
		flood = append(flood, dialFlood(t, "127.0.0.2", b.Addr()))
	}
	if n := countClosed(flood, 500*time.Millisecond); n != 26 {
		t.Fatalf("%d of 30 connections from one host closed, want 26 (MaxPerIP 4)", n)
	}
	dev := dialFrom(t, "127.0.0.3", b.Addr())
	if rc, err := rawConnect(dev, "term-1", "term-1", "pw1", 30); err != nil || rc != 0 {
		t.Fatalf("device during the flood: rc %d, %v", rc, err)
	}
	var self []net.Conn
	for range 8 {
		self = append(self, dialFrom(t, "127.0.0.1", b.Addr()))
	}
	if n := countClosed(self, 300*time.Millisecond); n != 0 {
		t.Fatalf("%d of 8 connections from 127.0.0.1 closed; the box itself is not held to MaxPerIP", n)
	}
	s := b.Stats().Devices
	if s.RefusedPerIP != 26 || s.Open != 4+1+8 || s.Pending != 4+8 {
		t.Fatalf("stats %+v", s)
	}
	// The flood's places come back when it hangs up.
	for _, c := range flood {
		if c != nil {
			c.Close()
		}
	}
	waitFor(t, "the flood's places freed", func() bool { return b.Stats().Devices.Open == 1+8 })
	again := dialFrom(t, "127.0.0.2", b.Addr())
	if rc, err := rawConnect(again, "term-2", "term-2", "pw2", 30); err != nil || rc != 0 {
		t.Fatalf("the host after its flood: rc %d, %v", rc, err)
	}
}

// MaxClients counts connections from accept, not yet authenticated ones
// too, over many hosts; halld's own clients (URL, the loopback listener)
// connect however full the device listener is, with connections or with
// authenticated devices.
func TestMaxClientsAtAccept(t *testing.T) {
	b, _ := startOpts(t, Options{MaxClients: 6, MaxPerIP: 2, ConnectTimeout: time.Minute})
	var flood []net.Conn
	for h := 2; h <= 6; h++ {
		for range 3 {
			flood = append(flood, dialFlood(t, fmt.Sprintf("127.0.0.%d", h), b.Addr()))
		}
	}
	if n := countClosed(flood, 500*time.Millisecond); n != 15-6 {
		t.Fatalf("%d of 15 connections closed, want 9 (MaxClients 6, MaxPerIP 2)", n)
	}
	if s := b.Stats().Devices; s.Open != 6 || s.RefusedMaxClients+s.RefusedPerIP != 9 {
		t.Fatalf("stats %+v", s)
	}
	if late := dialFlood(t, "127.0.0.7", b.Addr()); late != nil && !closedByPeer(late, 500*time.Millisecond) {
		t.Fatal("a connection past MaxClients was left open")
	}
	u, p := b.Internal()
	mustConnect(t, b, u, p, nil)
	for _, c := range flood {
		if c != nil {
			c.Close()
		}
	}
	waitFor(t, "the flood's places freed", func() bool { return b.Stats().Devices.Open == 0 })
	if s := b.Stats().Loopback; s.Open != 1 || s.Pending != 0 {
		t.Fatalf("loopback stats %+v", s)
	}
}

// Devices that fill MaxClients (authenticated) do not lock halld's own
// clients out (mochi's own client cap is over both listeners).
func TestInternalNotStarved(t *testing.T) {
	b, _ := startOpts(t, Options{MaxClients: 2})
	for _, u := range []string{"term-1", "term-2"} {
		c := dialFrom(t, "", b.Addr())
		if rc, err := rawConnect(c, u, u, "pw"+u[5:], 30); err != nil || rc != 0 {
			t.Fatalf("%s: rc %d, %v", u, rc, err)
		}
	}
	u, p := b.Internal()
	mustConnect(t, b, u, p, nil)
	mustConnect(t, b, u, p, func(o *paho.ClientOptions) { o.SetClientID("halld-test-2") })
}

// A listener whose Accept fails keeps retrying, with a backoff (not a
// spin) and one log line, and serves again as soon as Accept works.
func TestAcceptErrorsRetried(t *testing.T) {
	lb := &logBuf{}
	b, err := New(Options{Listen: "127.0.0.1:0", Hall: hall, Users: map[string]string{"term-1": "pw1"},
		Logger: slog.New(slog.NewTextHandler(lb, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const failFor = 700 * time.Millisecond
	fl := &failingListener{Listener: b.tcp.ln, until: time.Now().Add(failFor)}
	b.tcp.ln = fl
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	c := dialFrom(t, "", b.Addr())
	start := time.Now()
	if rc, err := rawConnect(c, "term-1", "term-1", "pw1", 30); err != nil || rc != 0 {
		t.Fatalf("after accept errors: rc %d, %v\n%s", rc, err, lb.String())
	}
	t.Logf("CONNACK %v after the first try, %d accept errors", time.Since(start), fl.fails.Load())
	if n := fl.fails.Load(); n < 3 || n > 12 {
		t.Fatalf("%d accept errors in %v: want a backoff from 5 ms doubling", n, failFor)
	}
	if s := b.Stats().Devices; s.AcceptErrors != uint64(fl.fails.Load()) {
		t.Fatalf("stats %+v, %d errors", s, fl.fails.Load())
	}
	if n := strings.Count(lb.String(), "mqtt accept failed"); n != 1 {
		t.Fatalf("%d accept error log lines, want 1 (rate-limited):\n%s", n, lb.String())
	}
}

type failingListener struct {
	net.Listener
	until time.Time
	fails atomic.Int32
}

func (l *failingListener) Accept() (net.Conn, error) {
	if time.Now().Before(l.until) {
		l.fails.Add(1)
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

const emfileChild = "HALLD_BROKER_EMFILE_CHILD"

// A real EMFILE: the broker runs in a child process with RLIMIT_NOFILE 64;
// we open 200 idle connections to it, so that its accept fails with "too
// many open files", then hang them up. A device must get its CONNACK within
// 2 s. (mochi's listeners.TCP returned from its accept loop on the first
// error: no client ever got a CONNACK again.)
func TestEMFILERecovery(t *testing.T) {
	if os.Getenv(emfileChild) != "" {
		emfileBroker()
		return
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestEMFILERecovery$")
	cmd.Env = append(os.Environ(), emfileChild+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	childLog := &logBuf{}
	emfile := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			fmt.Fprintln(childLog, sc.Text())
			if strings.Contains(sc.Text(), "too many open files") {
				once.Do(func() { close(emfile) })
			}
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("child log:\n%s", childLog.String())
		}
	})
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
				addrc <- a
			}
		}
	}()
	var addr string
	select {
	case addr = <-addrc:
	case <-time.After(30 * time.Second):
		t.Fatal("child broker did not start")
	}

	var flood []net.Conn
	for range 200 {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("flood dial: %v", err)
		}
		flood = append(flood, c)
	}
	sawEMFILE := true
	select {
	case <-emfile:
		// Long enough for the backoff to reach its cap (1 s): the
		// worst case.
		time.Sleep(2 * time.Second)
	case <-time.After(5 * time.Second):
		sawEMFILE = false
	}
	for _, c := range flood {
		c.Close()
	}
	start := time.Now()
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("term-1").SetUsername("term-1").SetPassword("pw1").
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(2 * time.Second).SetCleanSession(true)
	pc := paho.NewClient(o)
	tok := pc.Connect()
	if !tok.WaitTimeout(2*time.Second) || tok.Error() != nil {
		t.Fatalf("no CONNACK within 2 s after the EMFILE flood hung up (EMFILE seen: %v): %v", sawEMFILE, tok.Error())
	}
	t.Logf("CONNACK %v after the flood hung up", time.Since(start))
	pc.Disconnect(50)
	if !sawEMFILE {
		t.Fatal("the child never hit EMFILE: the test proved nothing")
	}
}

// emfileBroker is the child of TestEMFILERecovery: a broker with few
// descriptors, serving until stdin closes.
func emfileBroker() {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	lim.Cur = 64
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	b, err := New(Options{Listen: "127.0.0.1:0", Hall: hall, Users: map[string]string{"term-1": "pw1"},
		MaxClients: 1000, MaxPerIP: -1, ConnectTimeout: time.Minute,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err == nil {
		err = b.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("ADDR %s\n", b.Addr())
	io.Copy(io.Discard, os.Stdin)
	b.Close()
	os.Exit(0)
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// While halld is short of descriptors, LAN connections are refused at accept
// (the ports and the journal need what is left); the box itself still gets in.
func TestRefusedWhileDescriptorsRunShort(t *testing.T) {
	var free atomic.Int64
	free.Store(1000)
	b, _ := startOpts(t, Options{MaxClients: 40, ConnectTimeout: time.Minute, FreeFDs: func() int { return int(free.Load()) }})
	ok := dialFrom(t, "127.0.0.2", b.Addr())
	if rc, err := rawConnect(ok, "term-1", "term-1", "pw1", 30); err != nil || rc != 0 {
		t.Fatalf("with descriptors to spare: rc %d, %v", rc, err)
	}
	free.Store(fdReserve - 1)
	short := []net.Conn{dialFlood(t, "127.0.0.3", b.Addr())}
	if n := countClosed(short, 500*time.Millisecond); n != 1 {
		t.Fatal("a LAN connection was admitted under the descriptor reserve")
	}
	self := []net.Conn{dialFrom(t, "127.0.0.1", b.Addr())}
	if n := countClosed(self, 300*time.Millisecond); n != 0 {
		t.Fatal("the box itself was refused under the descriptor reserve")
	}
	free.Store(1000)
	again := dialFrom(t, "127.0.0.3", b.Addr())
	if rc, err := rawConnect(again, "term-2", "term-2", "pw2", 30); err != nil || rc != 0 {
		t.Fatalf("once descriptors are back: rc %d, %v", rc, err)
	}
}
