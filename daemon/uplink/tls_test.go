package uplink

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type pki struct {
	tb                    testing.TB
	dir                   string
	serialN               int64
	caKey                 *ecdsa.PrivateKey
	ca, caOther           string // CA certificate files
	serverCert, serverKey string
	clientCert, clientKey string
}

func (p *pki) write(name string, typ string, der []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		p.tb.Fatal(err)
	}
	return path
}

func (p *pki) newCA(cn string) (*ecdsa.PrivateKey, *x509.Certificate, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.tb.Fatal(err)
	}
	p.serialN++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serialN), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		p.tb.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert, p.write(strings.ReplaceAll(cn, " ", "-")+".pem", "CERTIFICATE", der)
}

func (p *pki) leaf(name string, caKey *ecdsa.PrivateKey, ca *x509.Certificate, usage x509.ExtKeyUsage) (certPath, keyPath string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.tb.Fatal(err)
	}
	p.serialN++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serialN), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		p.tb.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		p.tb.Fatal(err)
	}
	return p.write(name+".pem", "CERTIFICATE", der), p.write(name+".key", "EC PRIVATE KEY", kder)
}

// newPKI makes a CA with a server (127.0.0.1) and a client certificate, and
// an unrelated CA.
func newPKI(t testing.TB) *pki {
	p := &pki{dir: t.TempDir(), tb: t}
	var ca *x509.Certificate
	p.caKey, ca, p.ca = p.newCA("hall test CA")
	p.serverCert, p.serverKey = p.leaf("server", p.caKey, ca, x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = p.leaf("client", p.caKey, ca, x509.ExtKeyUsageClientAuth)
	_, _, p.caOther = p.newCA("other CA")
	return p
}

// The uplink connects over TLS with a client certificate (the broker
// requires one) and delivers; a wrong CA or a missing client certificate
// does not connect, and says why.
func TestTLS(t *testing.T) {
	p := newPKI(t)
	tlsPort := freePort(t)
	b := startBroker(t, fmt.Sprintf("listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\n",
		tlsPort, p.ca, p.serverCert, p.serverKey))
	s := newSub(t, b.url(), "central-tls") // the central side on the plain listener
	url := fmt.Sprintf("ssl://127.0.0.1:%d", tlsPort)

	j := openJournal(t)
	o := testOptions(t, url, "halld-tls")
	o.CAFile, o.CertFile, o.KeyFile = p.ca, p.clientCert, p.clientKey
	r := startUplink(t, j, o)
	appendN(t, j, 200, 20)
	s.waitEvents(200, 20*time.Second)
	s.check(200)
	if st := r.Status(); !st.Connected {
		t.Errorf("status %+v", st)
	}

	// Failures, with the reason in Status.LastError.
	for _, c := range []struct {
		name, url, ca, cert, key, want string
	}{
		{"wrong CA", strings.Replace(url, "ssl:", "mqtts:", 1), p.caOther, p.clientCert, p.clientKey, "certificate"},
		// TLS 1.3: the client learns of the refusal after its handshake,
		// as "certificate required" or as a reset, whichever comes first.
		{"no client certificate", url, p.ca, "", "", ""},
	} {
		o := testOptions(t, c.url, "halld-tls-"+strings.ReplaceAll(c.name, " ", "-"))
		o.CAFile, o.CertFile, o.KeyFile = c.ca, c.cert, c.key
		r := startUplink(t, openJournal(t), o)
		waitUntil(t, 15*time.Second, c.name+": an error", func() bool { return r.Status().LastError != "" })
		st := r.Status()
		t.Logf("%s: %s", c.name, st.LastError)
		if st.Connected || st.Connects != 0 || !strings.Contains(st.LastError, c.want) {
			t.Errorf("%s: connected %v, %d connects, last error %q (want it to mention %q)", c.name, st.Connected, st.Connects, st.LastError, c.want)
		}
		r.stop(t)
	}
}
