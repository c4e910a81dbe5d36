package broker

import (
	"crypto/tls"
	"io"
	"log/slog"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"halld/daemon/internal/testpki"
)

// Over TLS with client certificates: a device needs both its certificate and
// its password; halld's own client uses the loopback listener; plain TCP to
// the TLS port gets nowhere.
func TestTLSListener(t *testing.T) {
	pki := testpki.New(t)
	ca, server, client := pki.Pool, pki.Server(), pki.Client()
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
