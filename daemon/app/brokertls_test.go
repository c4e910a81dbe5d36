package app_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"halld/drivers/terminal/termsim"
)

// writeServerCert writes a CA and a server certificate for 127.0.0.1 as PEM
// files in dir and returns the CA pool and the files.
func writeServerCert(t *testing.T, dir string) (pool *x509.CertPool, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "大厅 CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	pool = x509.NewCertPool()
	pool.AddCert(caCert)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "halld"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "broker.pem"), filepath.Join(dir, "broker.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return pool, certFile, keyFile
}

// A terminal reaches the embedded hall broker over TLS as devices.yaml sets
// it up; plain MQTT to the same port gets nowhere, and halld's own watcher
// (on its loopback listener) still sees the terminal.
func TestTerminalOverBrokerTLS(t *testing.T) {
	dir := t.TempDir()
	pool, cert, key := writeServerCert(t, dir)
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
