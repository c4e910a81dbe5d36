// Package testpki makes the certificates TLS tests need: a CA with a server
// certificate for 127.0.0.1 and localhost and a client certificate, and an
// unrelated CA, written as PEM files (as devices.yaml names them).
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// PKI is a test CA and its certificates; every path is a PEM file.
type PKI struct {
	Dir                   string
	CA, OtherCA           string // CA certificates (OtherCA signed nothing here)
	ServerCert, ServerKey string // for 127.0.0.1 and localhost
	ClientCert, ClientKey string
	Pool                  *x509.CertPool // holds CA

	tb     testing.TB
	serial int64
}

// New makes a PKI in a temporary directory of tb.
func New(tb testing.TB) *PKI {
	tb.Helper()
	p := &PKI{Dir: tb.TempDir(), tb: tb}
	caKey, ca, caPath := p.newCA("hall test CA")
	p.CA = caPath
	p.Pool = x509.NewCertPool()
	p.Pool.AddCert(ca)
	p.ServerCert, p.ServerKey = p.leaf("server", caKey, ca, x509.ExtKeyUsageServerAuth)
	p.ClientCert, p.ClientKey = p.leaf("client", caKey, ca, x509.ExtKeyUsageClientAuth)
	_, _, p.OtherCA = p.newCA("other CA")
	return p
}

// Server is the server certificate, loaded.
func (p *PKI) Server() tls.Certificate { return p.load(p.ServerCert, p.ServerKey) }

// Client is the client certificate, loaded.
func (p *PKI) Client() tls.Certificate { return p.load(p.ClientCert, p.ClientKey) }

func (p *PKI) load(cert, key string) tls.Certificate {
	c, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		p.tb.Fatal(err)
	}
	return c
}

func (p *PKI) write(name, typ string, der []byte) string {
	path := filepath.Join(p.Dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		p.tb.Fatal(err)
	}
	return path
}

func (p *PKI) newCA(cn string) (*ecdsa.PrivateKey, *x509.Certificate, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.tb.Fatal(err)
	}
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: cn},
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

func (p *PKI) leaf(name string, caKey *ecdsa.PrivateKey, ca *x509.Certificate, usage x509.ExtKeyUsage) (certPath, keyPath string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.tb.Fatal(err)
	}
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: name},
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
