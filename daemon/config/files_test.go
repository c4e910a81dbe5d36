package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"halld/daemon/internal/testpki"
)

// loadIn writes the config and the named files (name → content, mode) into a new directory, Loads it
// and compares every line of the error with want, with "D" standing for the directory.
type file struct {
	content string
	mode    os.FileMode
}

func loadIn(t *testing.T, in string, files map[string]file, want ...string) *Config {
	t.Helper()
	dir := t.TempDir()
	for name, f := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o750)
		if err := os.WriteFile(p, []byte(f.content), f.mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, f.mode) // past the umask
	}
	path := filepath.Join(dir, "devices.yaml")
	if err := os.WriteFile(path, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	got := errLines(t, err)
	for i := range want {
		want[i] = strings.ReplaceAll(want[i], "D", dir)
	}
	if len(want) == 0 {
		want = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("input:\n%s\ngot:\n  %s\nwant:\n  %s", in, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	return cfg
}

const goodToken = "f3a9c1d27b8e4a06"

// TestTokenFiles: halld run refuses to start when a token file cannot be read; check refuses it first,
// with the field and the line, and also a token too short to be a secret or open to every user.
func TestTokenFiles(t *testing.T) {
	tokens := hallHead + "http:\n  tokens:\n" + // tokens from line 8
		"    - {name: a, scopes: [it], file: secrets/a.token}\n" +
		"    - {name: b, scopes: [it], file: secrets/b.token}\n" +
		"    - {name: c, scopes: [it], file: secrets/c.token}\n" +
		"    - {name: d, scopes: [it], file: secrets/d.token}\n" +
		"    - {name: e, scopes: [it], file: secrets/e.token}\n" +
		"    - {name: f, scopes: [it], file: secrets}\n" +
		"    - {name: g, scopes: [it], file: /nonexistent/g.token}\n"
	loadIn(t, tokens, map[string]file{
		"secrets/a.token": {"short\n", 0o600},
		"secrets/b.token": {" \n\n", 0o640},
		"secrets/c.token": {goodToken + "\n", 0o644},
		"secrets/d.token": {goodToken + " " + goodToken + "\n", 0o600},
		// e is missing
	},
		`D/devices.yaml:8:31: http.tokens[0].file: the token in "D/secrets/a.token" has 5 characters; use at least 16 (e.g. openssl rand -hex 16)`,
		`D/devices.yaml:9:31: http.tokens[1].file: "D/secrets/b.token" is empty: it must hold the token`,
		`D/devices.yaml:10:31: http.tokens[2].file: "D/secrets/c.token" is open to every user of the box (mode 0644): it holds a secret; chmod o-rwx (e.g. 0640, group halld)`,
		`D/devices.yaml:11:31: http.tokens[3].file: the token in "D/secrets/d.token" holds spaces, tabs or line breaks: a bearer token is one word`,
		`D/devices.yaml:12:31: http.tokens[4].file: file "D/secrets/e.token" does not exist`,
		`D/devices.yaml:13:31: http.tokens[5].file: "D/secrets" is a directory, not a file`,
		`D/devices.yaml:14:31: http.tokens[6].file: file "/nonexistent/g.token" does not exist`,
	)
	// Good tokens, group-readable (root:halld 0640) or private, relative or absolute: fine.
	cfg := loadIn(t, hallHead+"http:\n  tokens:\n    - {name: a, scopes: [it], file: a.token}\n    - {name: b, scopes: [it], file: secrets/b.token}\n",
		map[string]file{"a.token": {goodToken + "\r\n", 0o640}, "secrets/b.token": {goodToken + goodToken, 0o400}})
	if cfg != nil && !filepath.IsAbs(cfg.HTTP.Tokens[1].File) {
		t.Errorf("token file not resolved: %s", cfg.HTTP.Tokens[1].File)
	}
	// Parse (in memory) reads no file; neither does Load with SkipFiles.
	if _, err := Parse("t.yaml", []byte(tokens)); err != nil {
		t.Errorf("Parse read files: %v", err)
	}
	path := filepath.Join(t.TempDir(), "devices.yaml")
	os.WriteFile(path, []byte(tokens), 0o644)
	if _, err := LoadWithOptions(path, ParseOptions{SkipFiles: true}); err != nil {
		t.Errorf("SkipFiles read files: %v", err)
	}
}

// TestTokenFileIsAPipe: a named pipe is refused without waiting for a writer.
func TestTokenFileIsAPipe(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "a.token")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	path := filepath.Join(dir, "devices.yaml")
	os.WriteFile(path, []byte(hallHead+"http:\n  tokens:\n    - {name: a, scopes: [it], file: a.token}\n"), 0o644)
	_, err := Load(path)
	want := path + `:8:31: http.tokens[0].file: "` + fifo + `" is a named pipe, not a file`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestUnreadableTokenFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads any file")
	}
	loadIn(t, hallHead+"http:\n  tokens:\n    - {name: a, scopes: [it], file: a.token}\n",
		map[string]file{"a.token": {goodToken, 0o200}},
		`D/devices.yaml:8:31: http.tokens[0].file: cannot read "D/a.token": permission denied (halld must be able to read it, e.g. owner root, group halld, mode 0640)`)
}

// TestPasswordFiles: terminals and networked pads log in to the hall broker with their password_file;
// the uplink with its user name and password. Simulated devices make up their own password.
func TestPasswordFiles(t *testing.T) {
	in := hallHead + "services: [{id: s, prefix: A, name: S}]\nwindows: [{id: w, number: 1, services: [{service: s}]}]\n" +
		"mqtt:\n  uplink:\n    url: mqtts://central.example.org:8883\n" + // lines 8–10
		"    username_file: mqtt.user\n" + // 11
		"    password_file: mqtt.pass\n" + // 12
		"devices:\n" + // 13
		"  - {id: t1, kind: terminal, password_file: t1.pass}\n" + // 14
		"  - {id: t2, kind: terminal, password_file: t2.pass}\n" + // 15
		"  - {id: t3, kind: terminal, simulate: true, password_file: none.pass}\n" + // 16
		"  - {id: pad, kind: eval_pad, window: w, password_file: pad.pass}\n" // 17
	loadIn(t, in, map[string]file{
		"mqtt.user": {"\n", 0o644},
		"mqtt.pass": {"central-secret\n", 0o604},
		"t1.pass":   {"terminal-secret-1\n", 0o600},
		"pad.pass":  {"", 0o600},
	},
		`D/devices.yaml:11:5: mqtt.uplink.username_file: "D/mqtt.user" is empty`,
		`D/devices.yaml:12:5: mqtt.uplink.password_file: "D/mqtt.pass" is open to every user of the box (mode 0604): it holds a secret; chmod o-rwx (e.g. 0640, group halld)`,
		`D/devices.yaml:15:30: devices[1].password_file: file "D/t2.pass" does not exist`,
		`D/devices.yaml:17:42: devices[3].password_file: "D/pad.pass" is empty`,
	)
	loadIn(t, in, map[string]file{
		"mqtt.user": {"hall-hn-xjxq\n", 0o644}, // a user name is no secret
		"mqtt.pass": {"central-secret\n", 0o640},
		"t1.pass":   {"terminal-secret-1\n", 0o600},
		"t2.pass":   {"terminal-secret-2", 0o600},
		"pad.pass":  {"pad-secret\n", 0o600},
	})
}

// TestTLSFiles: the uplink's and the hall broker's certificates, keys and CAs load as halld run loads
// them: a key and certificate that are no pair, a CA file without a certificate, a key open to all.
func TestTLSFiles(t *testing.T) {
	pki := testpki.New(t)
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	in := hallHead +
		"mqtt:\n" + // 6
		"  broker:\n" + // 7
		"    tls: {cert_file: tls/server.pem, key_file: tls/server.key, client_ca_file: tls/ca.pem}\n" + // 8
		"  uplink:\n" + // 9
		"    url: mqtts://central.example.org:8883\n" + // 10
		"    ca_file: tls/central-ca.pem\n" + // 11
		"    cert_file: tls/client.pem\n" + // 12
		"    key_file: tls/client.key\n" // 13
	good := map[string]file{
		"tls/server.pem":     {read(pki.ServerCert), 0o644},
		"tls/server.key":     {read(pki.ServerKey), 0o640},
		"tls/ca.pem":         {read(pki.CA), 0o644},
		"tls/central-ca.pem": {read(pki.OtherCA), 0o644},
		"tls/client.pem":     {read(pki.ClientCert), 0o644},
		"tls/client.key":     {read(pki.ClientKey), 0o600},
	}
	cfg := loadIn(t, in, good)
	if cfg != nil && !filepath.IsAbs(cfg.MQTT.Broker.TLS.KeyFile) {
		t.Errorf("broker key_file %q is not resolved against the config's directory", cfg.MQTT.Broker.TLS.KeyFile)
	}
	bad := map[string]file{}
	for k, v := range good {
		bad[k] = v
	}
	bad["tls/server.key"] = file{read(pki.ClientKey), 0o600} // not the server certificate's key
	bad["tls/ca.pem"] = file{"not a certificate\n", 0o644}
	bad["tls/client.key"] = file{read(pki.ClientKey), 0o644}
	delete(bad, "tls/central-ca.pem")
	loadIn(t, in, bad,
		`D/devices.yaml:8:38: mqtt.broker.tls.key_file: "D/tls/server.key" and cert_file "D/tls/server.pem" are not a TLS certificate and its key: tls: private key does not match public key`,
		`D/devices.yaml:8:64: mqtt.broker.tls.client_ca_file: "D/tls/ca.pem" holds no PEM certificate`,
		`D/devices.yaml:11:5: mqtt.uplink.ca_file: file "D/tls/central-ca.pem" does not exist`,
		`D/devices.yaml:13:5: mqtt.uplink.key_file: "D/tls/client.key" is open to every user of the box (mode 0644): it holds a secret; chmod o-rwx (e.g. 0640, group halld)`,
	)
	// The uplink refuses a certificate without its key at run time; so does check.
	wantErrs(t, hallHead+"mqtt:\n  uplink: {url: \"mqtts://c.example.org:8883\", cert_file: /etc/halld/c.pem}\n",
		`t.yaml:7:3: mqtt.uplink: cert_file and key_file go together: set both or neither`)
}
