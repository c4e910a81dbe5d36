package app_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"halld/daemon/internal/testpki"
	"halld/drivers/terminal/termsim"
)

// A terminal reaches the embedded hall broker over TLS as devices.yaml sets
// it up; plain MQTT to the same port gets nowhere, and halld's own watcher
// (on its loopback listener) still sees the terminal.
func TestTerminalOverBrokerTLS(t *testing.T) {
	dir := t.TempDir()
	pki := testpki.New(t)
	pool, cert, key := pki.Pool, pki.ServerCert, pki.ServerKey
	secret := filepath.Join(dir, "terminal-1.secret")
	os.WriteFile(secret, []byte("tls-secret-1\n"), 0o600)
	yaml := fmt.Sprintf(`
hall:
  id: test-hall
  name: 测试大厅
  opening_hours: [{days: [mon], open: "09:00", close: "17:00"}]
storage: {dir: %s}
mqtt:
  broker: {embedded: true, listen: "127.0.0.1:0", tls: {cert_file: %s, key_file: %s}}
areas: [{id: self-24h, name: 24小时自助服务区, open_24h: true}]
devices:
  - {id: terminal-1, kind: terminal, area: self-24h, password_file: %s, heartbeat: 1s}
`, filepath.Join(dir, "data"), cert, key, secret)
	h := startHallYAML(t, dir, yaml, nil)
	addr := h.a.Terminals.Broker.Addr()
	start := func(url string, tc *tls.Config) error {
		term := termsim.New(url, "test-hall", "terminal-1", "tls-secret-1", termsim.Options{Heartbeat: 200 * time.Millisecond, TLS: tc})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := term.Start(ctx)
		if err == nil {
			t.Cleanup(term.Stop)
		}
		return err
	}
	if err := start("tcp://"+addr, nil); err == nil {
		t.Fatal("plain MQTT to the TLS listener connected")
	}
	if err := start("ssl://"+addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}); err != nil {
		t.Fatalf("terminal over TLS: %v", err)
	}
	waitState(t, h, "terminal-1", "ready", 10*time.Second)
}
