package broker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// certs makes a CA, a server certificate for 127.0.0.1 and a client one.
func certs(t *testing.T) (ca *x509.CertPool, server, client tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hall CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	ca = x509.NewCertPool()
	ca.AddCert(caCert)
	leaf := func(n int64, name string, usage x509.ExtKeyUsage) tls.Certificate {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(n), Subject: pkix.Name{CommonName: name}, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	return ca, leaf(2, "halld", x509.ExtKeyUsageServerAuth), leaf(3, "term-1", x509.ExtKeyUsageClientAuth)
}

// Over TLS with client certificates: a device needs both its certificate and
// its password; halld's own client uses the loopback listener; plain TCP to
// the TLS port gets nowhere.
func TestTLSListener(t *testing.T) {
	ca, server, client := certs(t)
	b, err := New(Options{Listen: "127.0.0.1:0", Hall: hall, Users: map[string]string{"term-1": "pw1"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		TLS:    &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{server}, ClientCAs: ca, ClientAuth: tls.RequireAndVerifyClientCert}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.URL() == "tcp://"+b.Addr() {
		t.Fatal("halld's own URL is the TLS listener")
	}
	got := newMsgs()
	internal := mustConnect(t, b, InternalUser, b.internal, nil)
	subscribe(t, internal, "hall/"+hall+"/#", got.handle)

	dev := func(cert *tls.Certificate, url string) error {
		o := paho.NewClientOptions().AddBroker(url).SetClientID("term-1").SetUsername("term-1").SetPassword("pw1").
			SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second)
		tc := &tls.Config{RootCAs: ca, MinVersion: tls.VersionTLS12}
		if cert != nil {
			tc.Certificates = []tls.Certificate{*cert}
		}
		o.SetTLSConfig(tc)
		c := paho.NewClient(o)
		tok := c.Connect()
		if !tok.WaitTimeout(10 * time.Second) {
			return io.ErrNoProgress
		}
		if err := tok.Error(); err != nil {
			return err
		}
		defer c.Disconnect(50)
		c.Publish("hall/"+hall+"/term-1/status", 1, false, `{"ok":true}`).Wait()
		return nil
	}
	if err := dev(nil, "ssl://"+b.Addr()); err == nil {
		t.Fatal("a device without a client certificate connected")
	}
	if err := dev(&client, "tcp://"+b.Addr()); err == nil {
		t.Fatal("plain MQTT to the TLS port connected")
	}
	if err := dev(&client, "ssl://"+b.Addr()); err != nil {
		t.Fatalf("device with certificate and password: %v", err)
	}
	got.wait(t, "hall/"+hall+"/term-1/status", 5*time.Second)
}

// A host on the hall LAN opening connection after connection is refused
// past MaxClients; the ones already in keep working.
func TestMaxClients(t *testing.T) {
	b, err := New(Options{Listen: "127.0.0.1:0", Hall: hall, Users: map[string]string{"term-1": "pw1", "term-2": "pw2", "term-3": "pw3"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxClients: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mustConnect(t, b, "term-1", "pw1", nil)
	c2 := mustConnect(t, b, "term-2", "pw2", nil)
	if _, err := connect(t, b, "term-3", "pw3", "term-3", nil); err == nil {
		t.Fatal("a third client connected with MaxClients 2")
	}
	if tok := c2.Publish("hall/"+hall+"/term-2/status", 1, false, "{}"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("a client already in stopped working: %v", tok.Error())
	}
}
