package uplink

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"halld/daemon/internal/testpki"
)

// The uplink connects over TLS with a client certificate (the broker
// requires one) and delivers; a wrong CA or a missing client certificate
// does not connect, and says why.
func TestTLS(t *testing.T) {
	p := testpki.New(t)
	tlsPort := freePort(t)
	b := startBroker(t, fmt.Sprintf("listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\n",
		tlsPort, p.CA, p.ServerCert, p.ServerKey))
	s := newSub(t, b.url(), "central-tls") // the central side on the plain listener
	url := fmt.Sprintf("ssl://127.0.0.1:%d", tlsPort)

	j := openJournal(t)
	o := testOptions(t, url, "halld-tls")
	o.CAFile, o.CertFile, o.KeyFile = p.CA, p.ClientCert, p.ClientKey
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
		{"wrong CA", strings.Replace(url, "ssl:", "mqtts:", 1), p.OtherCA, p.ClientCert, p.ClientKey, "certificate"},
		// TLS 1.3: the client learns of the refusal after its handshake,
		// as "certificate required" or as a reset, whichever comes first.
		{"no client certificate", url, p.CA, "", "", ""},
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
