package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type httpMetrics struct {
	requests  *prometheus.HistogramVec
	wsClients prometheus.Gauge
	wsDropped *prometheus.CounterVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "halld_http_request_duration_seconds", Help: "HTTP requests by route class, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "code"}),
		wsClients: prometheus.NewGauge(prometheus.GaugeOpts{Name: "halld_ws_clients", Help: "Connected WebSocket stream clients."}),
		wsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "halld_ws_dropped_total",
			Help: "Stream clients dropped, by reason."}, []string{"reason"}),
	}
	reg.MustRegister(m.requests, m.wsClients, m.wsDropped)
	return m
}

// route keeps label cardinality small: ids in paths are not labels.
func route(p string) string {
	switch {
	case strings.HasPrefix(p, "/api/v1/tickets"):
		return "tickets"
	case strings.HasPrefix(p, "/api/v1/devices"):
		return "devices"
	case strings.HasPrefix(p, "/api/v1/snapshot"):
		return "snapshot"
	case strings.HasPrefix(p, "/api/v1/stream"):
		return "stream"
	case strings.HasPrefix(p, "/api/"):
		return "api_other"
	case p == "/metrics" || p == "/healthz" || p == "/readyz":
		return strings.TrimPrefix(p, "/")
	}
	return "pages"
}

func (m *httpMetrics) observe(r *http.Request, code int, d time.Duration) {
	if route(r.URL.Path) == "stream" {
		return // long-lived; counted by halld_ws_clients
	}
	m.requests.WithLabelValues(route(r.URL.Path), r.Method, strconv.Itoa(code)).Observe(d.Seconds())
}
