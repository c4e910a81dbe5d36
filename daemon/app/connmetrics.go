package app

import (
	"github.com/prometheus/client_golang/prometheus"
)

// connCollector exports the listeners' connection counts and refusals, so
// hall IT sees a flood from the LAN (and that it was refused) on the
// dashboard rather than as a slow kiosk.
type connCollector struct {
	a             *App
	open, refused *prometheus.Desc
}

func newConnCollector(a *App) *connCollector {
	return &connCollector{a: a,
		open: prometheus.NewDesc("halld_connections", "Connections a listener holds now, by source (lan, loopback).",
			[]string{"listener", "source"}, nil),
		refused: prometheus.NewDesc("halld_connections_refused_total", "Connections closed at accept because a bound was reached.",
			[]string{"listener"}, nil),
	}
}

func (c *connCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.open; ch <- c.refused }

func (c *connCollector) Collect(ch chan<- prometheus.Metric) {
	if l := c.a.httpLimit; l != nil {
		s := l.Stats()
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(s.LAN), "http", "lan")
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(s.Loopback), "http", "loopback")
		ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(s.Refused), "http")
	}
}
