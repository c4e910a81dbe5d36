// Package testmqtt starts a real mosquitto for a test: anonymous, no ACL,
// on a free loopback port, stopped when the test ends. It skips without
// mosquitto, except under CI, where a missing broker fails the test. Options
// make it a central broker (persistent sessions, unbounded queues) that a
// test can stop for an outage and start again.
package testmqtt

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"halld/internal/syncbuf"
)

// Options change the broker; the zero value is Start's.
type Options struct {
	// Persistent keeps sessions and their queued messages in the test's
	// temporary directory, so a Stop (SIGTERM: mosquitto saves them) and a
	// Restart lose nothing, as a central broker's restart would not.
	Persistent bool
	// UnboundedQueues sets max_queued_messages 0: mosquitto's default of
	// 1000 silently drops a slow or absent subscriber's QoS 1 messages past
	// that, which a central broker must not.
	UnboundedQueues bool
	// Extra is appended to the configuration (more listeners, TLS).
	Extra string
}

// Broker is a mosquitto on a fixed loopback port.
type Broker struct {
	URL  string // tcp://127.0.0.1:port
	Port int

	t    testing.TB
	bin  string
	conf string
	out  *syncBuf

	mu   sync.Mutex
	cmd  *exec.Cmd // nil while stopped
	done chan struct{}
}

// Start starts a plain broker (set_tcp_nodelay: docs/engineering.md).
func Start(t testing.TB) *Broker { return StartWith(t, Options{}) }

// StartWith starts a broker with o.
func StartWith(t testing.TB, o Options) *Broker {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mosquitto missing on CI (apt-get install -y mosquitto): %v", err)
		}
		t.Skipf("mosquitto not installed (apt-get install -y mosquitto): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	var conf strings.Builder
	fmt.Fprintf(&conf, "listener %d 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n", port)
	if o.Persistent {
		fmt.Fprintf(&conf, "persistence true\npersistence_location %s/\n", dir)
	} else {
		conf.WriteString("persistence false\n")
	}
	if o.UnboundedQueues {
		conf.WriteString("max_queued_messages 0\n")
	}
	if os.Geteuid() == 0 {
		// mosquitto drops to user mosquitto otherwise, which cannot write
		// the test's directory.
		conf.WriteString("user root\n")
	}
	conf.WriteString(o.Extra)
	b := &Broker{URL: fmt.Sprintf("tcp://127.0.0.1:%d", port), Port: port, t: t, bin: bin,
		conf: filepath.Join(dir, "mosquitto.conf"), out: &syncBuf{}}
	if err := os.WriteFile(b.conf, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	b.Restart()
	t.Cleanup(func() {
		b.Stop()
		if t.Failed() {
			t.Logf("mosquitto:\n%s", tail(b.out.String(), 4000))
		}
	})
	return b
}

// Restart starts the broker again (after Stop) on the same port and
// configuration, and returns once it listens; a running broker is left as it
// is.
func (b *Broker) Restart() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd != nil {
		return
	}
	cmd := exec.Command(b.bin, "-c", b.conf)
	cmd.Stdout, cmd.Stderr = b.out, b.out
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("start mosquitto: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	b.cmd, b.done = cmd, done
	addr := fmt.Sprintf("127.0.0.1:%d", b.Port)
	for deadline := time.Now().Add(15 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			b.t.Fatalf("mosquitto exited:\n%s", b.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("mosquitto does not listen on %s:\n%s", addr, b.out.String())
		}
	}
}

// Stop ends the broker: SIGTERM (a persistent one saves its sessions), then
// SIGKILL after 15 s. Stopping a stopped broker does nothing.
func (b *Broker) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(15 * time.Second):
		b.cmd.Process.Kill()
		<-b.done
	}
	b.cmd = nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

type syncBuf = syncbuf.Buffer
