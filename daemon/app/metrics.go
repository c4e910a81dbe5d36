package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"halld/daemon/journal"
	"halld/drivers/device"
)

// collector exports device and journal state at scrape time, so nothing on
// the hot path updates metrics it does not need to.
type collector struct {
	a *App

	up, state, reconnects, errors, lastSeen, head, bytes *prometheus.Desc
	padCycle, padPolls, padRetries, padTimeouts, padBad  *prometheus.Desc
	upConnected, upLag, upOldest, upPublished            *prometheus.Desc
	oldest, pruned, held, checkpoint                     *prometheus.Desc
	padCut, commit                                       *prometheus.Desc
}

func newCollector(a *App) *collector {
	l := []string{"device", "kind", "area"}
	return &collector{a: a,
		up:          prometheus.NewDesc("halld_device_up", "1 when the device is attached and working (ready or degraded).", l, nil),
		state:       prometheus.NewDesc("halld_device_state", "1 for the device's current state.", append(l, "state"), nil),
		reconnects:  prometheus.NewDesc("halld_device_reconnects_total", "Reconnections after a lost link.", l, nil),
		errors:      prometheus.NewDesc("halld_device_errors_total", "Links lost with an error.", l, nil),
		lastSeen:    prometheus.NewDesc("halld_device_last_seen_timestamp_seconds", "When the device last answered.", l, nil),
		head:        prometheus.NewDesc("halld_journal_head_seq", "Last durable journal sequence number.", nil, nil),
		bytes:       prometheus.NewDesc("halld_journal_bytes", "Journal size on disk (database and WAL).", nil, nil),
		padCycle:    prometheus.NewDesc("halld_padbus_cycle_seconds", "Duration of the last full poll cycle of an HPAD-1 line.", []string{"line"}, nil),
		padPolls:    prometheus.NewDesc("halld_padbus_polls_total", "POLL requests answered on an HPAD-1 line.", []string{"line"}, nil),
		padRetries:  prometheus.NewDesc("halld_padbus_retries_total", "Requests retried on an HPAD-1 line.", []string{"line"}, nil),
		padTimeouts: prometheus.NewDesc("halld_padbus_timeouts_total", "Replies that did not come in time on an HPAD-1 line.", []string{"line"}, nil),
		upConnected: prometheus.NewDesc("halld_uplink_connected", "1 while connected to the central broker.", nil, nil),
		upLag:       prometheus.NewDesc("halld_uplink_lag_events", "Journal events not yet acknowledged by the central broker.", nil, nil),
		upOldest:    prometheus.NewDesc("halld_uplink_oldest_unsent_seconds", "Age of the oldest event the central broker has not acknowledged.", nil, nil),
		upPublished: prometheus.NewDesc("halld_uplink_published_total", "Event publishes to the central broker, re-publishes included.", nil, nil),
		oldest:      prometheus.NewDesc("halld_journal_oldest_seq", "First journal sequence number still held (older ones were pruned).", nil, nil),
		pruned:      prometheus.NewDesc("halld_journal_pruned_events_total", "Journal events pruned by storage.retention since start.", nil, nil),
		held:        prometheus.NewDesc("halld_journal_retention_held_events", "Events older than storage.retention kept at the last pruning because a consumer still needs them.", []string{"held_by"}, nil),
		checkpoint:  prometheus.NewDesc("halld_journal_checkpoint_seq", "Sequence number of the last checkpoint on disk, by consumer.", []string{"consumer"}, nil),
		padCut:      prometheus.NewDesc("halld_pad_text_truncated_total", "Pad screens cut to fit HPAD-1's limits (a pause reason too long, say): the pad keeps being polled.", nil, nil),
		commit:      prometheus.NewDesc("halld_journal_commit_seconds", "Durable commits of the journal: writing a group of events and fdatasync, what every ticket and rating waits for. A slow or failing disk (an SD card wearing out) shows here first.", nil, nil),
		padBad:      prometheus.NewDesc("halld_padbus_bad_frames_total", "Malformed frames dropped and resynced on an HPAD-1 line, by kind.", []string{"line", "kind"}, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.state, c.reconnects, c.errors, c.lastSeen, c.head, c.bytes,
		c.padCycle, c.padPolls, c.padRetries, c.padTimeouts, c.padBad, c.upConnected, c.upLag, c.upOldest, c.upPublished,
		c.oldest, c.pruned, c.held, c.checkpoint, c.padCut, c.commit} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	if p := c.a.pads; p != nil {
		ch <- prometheus.MustNewConstMetric(c.padCut, prometheus.CounterValue, float64(p.Truncations()))
	}
	for _, i := range c.a.Supervisor.Infos() {
		l := []string{i.ID, i.Kind, i.Area}
		up := 0.0
		if i.State == device.StateReady || i.State == device.StateDegraded {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, l...)
		for _, s := range []string{device.StateReady, device.StateDegraded, device.StateFault, device.StateOffline} {
			v := 0.0
			if i.State == s {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, v, append(l, s)...)
		}
		ch <- prometheus.MustNewConstMetric(c.reconnects, prometheus.CounterValue, float64(i.Counters.Reconnects), l...)
		ch <- prometheus.MustNewConstMetric(c.errors, prometheus.CounterValue, float64(i.Counters.Errors), l...)
		if i.LastSeen != nil {
			ch <- prometheus.MustNewConstMetric(c.lastSeen, prometheus.GaugeValue, float64(i.LastSeen.UnixMilli())/1000, l...)
		}
	}
	for id, b := range c.a.Lines {
		s := b.Stats()
		ch <- prometheus.MustNewConstMetric(c.padCycle, prometheus.GaugeValue, s.LastCycle.Seconds(), id)
		ch <- prometheus.MustNewConstMetric(c.padPolls, prometheus.CounterValue, float64(s.Polls), id)
		ch <- prometheus.MustNewConstMetric(c.padRetries, prometheus.CounterValue, float64(s.Retries), id)
		ch <- prometheus.MustNewConstMetric(c.padTimeouts, prometheus.CounterValue, float64(s.Timeouts), id)
		for kind, n := range map[string]uint64{"bad_crc": s.Decoder.BadCRC, "bad_etx": s.Decoder.BadETX,
			"oversize": s.Decoder.Oversize, "truncated": s.Decoder.Truncated} {
			ch <- prometheus.MustNewConstMetric(c.padBad, prometheus.CounterValue, float64(n), id, kind)
		}
	}
	if us, ok := c.a.uplinkStatus(); ok {
		conn := 0.0
		if us.Connected {
			conn = 1
		}
		ch <- prometheus.MustNewConstMetric(c.upConnected, prometheus.GaugeValue, conn)
		ch <- prometheus.MustNewConstMetric(c.upLag, prometheus.GaugeValue, float64(us.Lag))
		ch <- prometheus.MustNewConstMetric(c.upOldest, prometheus.GaugeValue, us.OldestUnsent.Seconds())
		ch <- prometheus.MustNewConstMetric(c.upPublished, prometheus.CounterValue, float64(us.Published))
	}
	st := c.a.Journal.Stats()
	ch <- prometheus.MustNewConstMetric(c.head, prometheus.GaugeValue, float64(st.Head))
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(st.FileBytes))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, float64(st.Oldest))
	cl := c.a.Journal.CommitLatency()
	buckets := make(map[float64]uint64, len(journal.CommitBuckets))
	for i, ub := range journal.CommitBuckets {
		buckets[ub] = cl.Cumulative[i]
	}
	ch <- prometheus.MustNewConstHistogram(c.commit, cl.Count, cl.Sum.Seconds(), buckets)
	if p := c.a.Pruner; p != nil {
		last, total := p.Stats()
		ch <- prometheus.MustNewConstMetric(c.pruned, prometheus.CounterValue, float64(total))
		if last.HeldBy != "" && last.UpTo < last.Due {
			ch <- prometheus.MustNewConstMetric(c.held, prometheus.GaugeValue, float64(last.Due-last.UpTo), last.HeldBy)
		}
	}
	if e := c.a.Engine; e != nil {
		ch <- prometheus.MustNewConstMetric(c.checkpoint, prometheus.GaugeValue, float64(e.CheckpointSeq()), "state")
	}
	if s := c.a.Stats; s != nil {
		ch <- prometheus.MustNewConstMetric(c.checkpoint, prometheus.GaugeValue, float64(s.CheckpointSeq()), "statistics")
	}
}
