// Package testmqtt starts a real mosquitto for a test: anonymous, no ACL,
// on a free loopback port, stopped when the test ends. It skips without
// mosquitto, except under CI, where a missing broker fails the test.
package testmqtt

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Broker is a running mosquitto.
type Broker struct {
	URL  string // tcp://127.0.0.1:port
	cmd  *exec.Cmd
	out  *syncBuf
	once sync.Once
	done chan struct{}
}

// Start starts mosquitto (set_tcp_nodelay: docs/engineering.md).
func Start(t testing.TB) *Broker {
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
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	conf := fmt.Sprintf("listener %s 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\npersistence false\n", port)
	if os.Geteuid() == 0 {
		conf += "user root\n" // mosquitto drops to user mosquitto otherwise
	}
	path := filepath.Join(t.TempDir(), "mosquitto.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &Broker{URL: "tcp://" + addr, out: &syncBuf{}, done: make(chan struct{})}
	b.cmd = exec.Command(bin, "-c", path)
	b.cmd.Stdout, b.cmd.Stderr = b.out, b.out
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.cmd.Wait(); close(b.done) }()
	t.Cleanup(func() {
		b.Stop()
		if t.Failed() {
			t.Logf("mosquitto:\n%s", b.out.String())
		}
	})
	for deadline := time.Now().Add(15 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return b
		}
		select {
		case <-b.done:
			t.Fatalf("mosquitto exited:\n%s", b.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto does not listen:\n%s", b.out.String())
		}
	}
}

// Stop ends the broker (SIGTERM, then SIGKILL after 5 s); idempotent.
func (b *Broker) Stop() {
	b.once.Do(func() {
		b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(5 * time.Second):
			b.cmd.Process.Kill()
			<-b.done
		}
	})
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
