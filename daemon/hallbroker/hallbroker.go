// Package hallbroker runs the hall's MQTT side: the embedded broker (unless
// an external one is configured), the watcher of 24-hour terminals, the
// networked pads' transport and the demo's simulated terminals.
package hallbroker

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"halld/daemon/broker"
	"halld/daemon/config"
	"halld/daemon/engine"
	"halld/daemon/hall"
	"halld/daemon/pads"
	"halld/daemon/supervisor"
	"halld/drivers/device"
	"halld/drivers/hpad/mqttpads"
	"halld/drivers/serialport"
	"halld/drivers/terminal/termsim"
	"halld/drivers/terminal/watcher"
)

// Side is the hall broker's side of one hall.
type Side struct {
	Broker  *broker.Broker
	Watcher *watcher.Watcher

	mu    sync.Mutex
	sims  map[string]*termsim.Terminal
	pads  *mqttpads.Transport
	users map[string]string
	close sync.Once
}

// PadUser returns the hall broker's login for a networked pad (tests and
// simulators connect with it).
func (t *Side) PadUser(id string) (url, password string) {
	if t == nil || t.Broker == nil {
		return "", ""
	}
	return t.Broker.URL(), t.users[id]
}

// Start starts the hall broker and what its devices need: the
// terminal watcher and the networked pads' transport; nil when the hall has
// neither.
func Start(ctx context.Context, cfg *config.Config, eng *engine.Engine, sup *supervisor.Supervisor, padSvc *pads.Service, log *slog.Logger) (*Side, error) {
	devs := cfg.DevicesOfKind(config.KindTerminal)
	netPads := padSvc.MQTTPads()
	if len(devs) == 0 && len(netPads) == 0 {
		return nil, nil
	}
	t := &Side{sims: map[string]*termsim.Terminal{}}
	users := map[string]string{}
	t.users = users
	var ids []string
	for _, id := range netPads {
		d, _ := cfg.Device(id)
		devs = append(devs, d)
	}
	for _, d := range devs {
		if d.Kind == config.KindTerminal {
			ids = append(ids, d.ID)
		}
		if d.Simulate || d.Secret == "" {
			users[d.ID] = randomSecret()
			continue
		}
		b, err := os.ReadFile(d.Secret)
		if err != nil {
			return nil, fmt.Errorf("terminal %s: %w", d.ID, err)
		}
		users[d.ID] = strings.TrimRight(string(b), "\r\n ")
	}
	url, user, pass := cfg.MQTT.Broker.URL, "", ""
	if url == "" {
		listen := cfg.MQTT.Broker.Listen
		if listen == "" {
			listen = broker.DefaultListen
		}
		tlsCfg, err := brokerTLS(cfg.MQTT.Broker.TLS)
		if err != nil {
			return nil, fmt.Errorf("hall broker: %w", err)
		}
		b, err := broker.New(broker.Options{Listen: listen, Hall: cfg.Hall.ID, Users: users, Logger: log,
			TLS: tlsCfg, MaxClients: cfg.MQTT.Broker.MaxClients, MaxPerIP: cfg.MQTT.Broker.MaxPerIP,
			ConnectTimeout: cfg.MQTT.Broker.ConnectTimeoutDuration(), FreeFDs: serialport.FreeFDs})
		if err != nil {
			return nil, fmt.Errorf("hall broker: %w", err)
		}
		if err := b.Start(); err != nil {
			return nil, fmt.Errorf("hall broker: %w", err)
		}
		t.Broker = b
		url = b.URL()
		user, pass = b.Internal()
	}
	for _, d := range devs {
		sup.Register(d.ID, d.Kind, d.Area, "mqtt", d.Simulate)
	}
	if len(netPads) > 0 {
		pt, err := mqttpads.New(ctx, mqttpads.Options{URL: url, Hall: cfg.Hall.ID, Username: user, Password: pass, Pads: netPads,
			Handle: padSvc.HandleID, Log: log,
			OnState: func(pad, state string) {
				sup.Report(pad, device.Report{State: state, Seen: state == device.StateReady})
			}})
		if err != nil {
			t.Close()
			return nil, err
		}
		padSvc.AttachMQTT(pt)
		t.pads = pt
	}
	if len(ids) == 0 {
		return t, nil
	}
	hbOf := map[string]time.Duration{}
	for _, d := range devs {
		if hb, err := time.ParseDuration(d.Heartbeat); err == nil && hb > 0 {
			hbOf[d.ID] = hb
		}
	}
	w, err := watcher.New(watcher.Options{URL: url, Hall: cfg.Hall.ID, Username: user, Password: pass, Terminals: ids, Logger: log, HeartbeatOf: hbOf,
		OnState: func(id, state, reason string, detail map[string]any) {
			sup.Report(id, device.Report{State: state, Reason: reason, Detail: detail, Seen: state != device.StateOffline})
		},
		OnFault: func(id, faultID, code, message string) {
			// One alert per terminal and fault code, counted as it recurs:
			// a terminal repeating a fault must not open an alert each time.
			eng.Submit(context.Background(), hall.RaiseAlert{Alert: hall.Alert{Device: id, Cause: code,
				Kind: "terminal_fault", Severity: "warning", Message: id + " 故障（" + code + "）：" + message}})
		}})
	if err != nil {
		t.Close()
		return nil, err
	}
	if err := w.Start(ctx); err != nil {
		t.Close()
		return nil, fmt.Errorf("terminal watcher: %w", err)
	}
	t.Watcher = w
	for _, d := range devs {
		if d.Kind == config.KindTerminal && d.Simulate && t.Broker != nil {
			sim := termsim.New(url, cfg.Hall.ID, d.ID, users[d.ID], termsim.Options{})
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := sim.Start(sctx)
			cancel()
			if err != nil {
				log.Warn("simulated terminal did not start", "terminal", d.ID, "err", err)
				continue
			}
			t.sims[d.ID] = sim
		}
	}
	return t, nil
}

// Sim returns a simulated terminal.
func (t *Side) Sim(id string) (*termsim.Terminal, bool) {
	if t == nil {
		return nil, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.sims[id]
	return s, ok
}

// Command sends a command to a terminal and waits for its result.
func (t *Side) Command(ctx context.Context, id, name string, args any) ([]byte, error) {
	if t == nil || t.Watcher == nil {
		return nil, fmt.Errorf("没有自助终端")
	}
	return t.Watcher.Command(ctx, id, name, args, 10*time.Second)
}

// Close stops the simulators, the watcher and the broker, in that order.
func (t *Side) Close() {
	if t == nil {
		return
	}
	t.close.Do(func() {
		for _, s := range t.sims {
			s.Stop()
		}
		if t.Watcher != nil {
			t.Watcher.Close()
		}
		if t.pads != nil {
			t.pads.Close()
		}
		if t.Broker != nil {
			t.Broker.Close()
		}
	})
}

func randomSecret() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// brokerTLS loads the embedded broker's certificate (nil when not configured).
func brokerTLS(c config.BrokerTLS) (*tls.Config, error) {
	if c.CertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if c.ClientCAFile != "" {
		pem, err := os.ReadFile(c.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls client CA: %w", err)
		}
		tc.ClientCAs = x509.NewCertPool()
		if !tc.ClientCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls client CA %s: no PEM certificate", c.ClientCAFile)
		}
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}
