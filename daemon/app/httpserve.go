package app

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"halld/daemon/config"
)

// swapHandler serves the start-up handler, then the real one.
type swapHandler struct{ h atomic.Value }

func (s *swapHandler) Store(h http.Handler) { s.h.Store(&h) }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load().(*http.Handler)).ServeHTTP(w, r)
}

func startingHandler(phase *atomic.Value) http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	starting := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(body))
	}
	m.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		starting(w, `{"ready":false,"reasons":["`+phase.Load().(string)+`"]}`+"\n")
	})
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		starting(w, `{"error":{"code":"starting","message":"系统正在启动，请稍候"}}`+"\n")
	})
	return m
}

// refusalLog logs refused connections, at most one line a minute per
// listener with the count since the last, so a flood does not flood the log.
func refusalLog(log *slog.Logger, listener string) func(net.Addr, string) {
	var mu sync.Mutex
	var last time.Time
	var n int
	return func(remote net.Addr, why string) {
		mu.Lock()
		defer mu.Unlock()
		n++
		if time.Since(last) < time.Minute {
			return
		}
		log.Warn("connections refused over the limit", "listener", listener, "count", n, "last_remote", remote.String(), "limit", why)
		last, n = time.Now(), 0
	}
}

// fdBudget is the descriptors this hall may need at most: four a serial
// device, every listener's bounds, and a margin for the journal, logs and
// outgoing connections.
func fdBudget(cfg *config.Config) uint64 {
	n := 256 + cfg.HTTP.MaxConnections + 512 // LAN, loopback's reserve (netlimit)
	if cfg.MQTT.Broker.Embedded {
		n += 2 * cfg.MQTT.Broker.MaxClients
	}
	for i := range cfg.Devices {
		if cfg.Devices[i].Serial != nil || cfg.Devices[i].Simulate {
			n += 4
		}
	}
	return uint64(n)
}
