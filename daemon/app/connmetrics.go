package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"halld/daemon/broker"
)

// connCollector exports the listeners' connection counts and refusals, so
// hall IT sees a flood from the LAN (and that it was refused) on the
// dashboard rather than as a slow kiosk.
type connCollector struct {
	a                                 *App
	open, refused, timeouts, acceptEr *prometheus.Desc
}

func newConnCollector(a *App) *connCollector {
	return &connCollector{a: a,
		open: prometheus.NewDesc("halld_connections", "Connections a listener holds now, by source (lan, loopback).",
			[]string{"listener", "source"}, nil),
		refused: prometheus.NewDesc("halld_connections_refused_total", "Connections closed at accept because a bound was reached.",
			[]string{"listener"}, nil),
		timeouts: prometheus.NewDesc("halld_connections_connect_timeouts_total", "MQTT connections closed for not authenticating within mqtt.broker.connect_timeout.",
			[]string{"listener"}, nil),
		acceptEr: prometheus.NewDesc("halld_connections_accept_errors_total", "Failed accepts (EMFILE…), each retried with backoff.",
			[]string{"listener"}, nil),
	}
}

func (c *connCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.open
	ch <- c.refused
	ch <- c.timeouts
	ch <- c.acceptEr
}

func (c *connCollector) Collect(ch chan<- prometheus.Metric) {
	if l := c.a.httpLimit; l != nil {
		s := l.Stats()
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(s.LAN), "http", "lan")
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(s.Loopback), "http", "loopback")
		ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(s.Refused), "http")
	}
	if t := c.a.Terminals; t != nil && t.Broker != nil {
		s := t.Broker.Stats()
		for name, l := range map[string]broker.ListenerStats{"mqtt": s.Devices, "mqtt_halld": s.Loopback} {
			ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(l.Open), name, "all")
			ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(l.RefusedMaxClients+l.RefusedPerIP), name)
			ch <- prometheus.MustNewConstMetric(c.timeouts, prometheus.CounterValue, float64(l.ConnectTimeouts), name)
			ch <- prometheus.MustNewConstMetric(c.acceptEr, prometheus.CounterValue, float64(l.AcceptErrors), name)
		}
	}
}
