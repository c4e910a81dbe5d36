package terminals_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"halld/daemon/terminals"
	"halld/drivers/terminal/termsim"
)

const mosquittoBin = "/usr/sbin/mosquitto"

// startMosquitto starts an external broker (anonymous, no ACL) on a free
// loopback port; it skips without mosquitto, except on CI.
func startMosquitto(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(mosquittoBin); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("%s not installed (apt-get install -y mosquitto): %v", mosquittoBin, err)
		}
		t.Fatalf("%s not installed on CI: %v", mosquittoBin, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	var conf strings.Builder
	if os.Geteuid() == 0 {
		if u, err := user.Current(); err == nil {
			fmt.Fprintf(&conf, "user %s\n", u.Username)
		}
	}
	fmt.Fprintf(&conf, "persistence false\nallow_anonymous true\nset_tcp_nodelay true\nlistener %d 127.0.0.1\n", port)
	path := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &logBuf{}
	cmd := exec.Command(mosquittoBin, "-c", path)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("mosquitto:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return fmt.Sprintf("tcp://127.0.0.1:%d", port)
		}
		select {
		case <-exited:
			t.Fatalf("mosquitto exited:\n%s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto does not listen:\n%s", out.String())
		}
	}
}

// TestMosquitto: the same watcher and simulator against an external
// mosquitto 2.0.
func TestMosquitto(t *testing.T) {
	url := startMosquitto(t)
	ids := []string{termID(0), termID(1), termID(2)}
	rec := newRecorder()
	w := startWatcher(t, url, "halld", "x", ids, 100*time.Millisecond, rec)
	ts := startTerminals(t, url, ids, termsim.Options{Heartbeat: 100 * time.Millisecond, RebootDelay: 50 * time.Millisecond})
	for _, id := range ids {
		rec.waitState(t, id, terminals.Ready, 15*time.Second)
	}
	res, err := w.Command(context.Background(), ids[0], "reboot", nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reboot via mosquitto: %s", res)
	silenced := time.Now()
	ts[2].Silence(true)
	killed := time.Now()
	ts[1].Kill()
	c := rec.waitState(t, ids[1], terminals.Offline, 15*time.Second)
	t.Logf("killed: offline after %v (%s)", c.at.Sub(killed), c.reason)
	if !strings.Contains(c.reason, "lost") {
		t.Fatalf("reason %q", c.reason)
	}
	c = rec.waitState(t, ids[2], terminals.Offline, 15*time.Second)
	t.Logf("silenced: offline after %v (%s)", c.at.Sub(silenced), c.reason)
}
