package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// latencies collects named samples per phase.
type latencies struct {
	mu    sync.Mutex
	phase string
	m     map[string][]time.Duration
}

func newLatencies() *latencies { return &latencies{phase: "start", m: map[string][]time.Duration{}} }

func (l *latencies) setPhase(p string) { l.mu.Lock(); l.phase = p; l.mu.Unlock() }

func (l *latencies) current() string { l.mu.Lock(); defer l.mu.Unlock(); return l.phase }

func (l *latencies) add(name string, d time.Duration) {
	l.mu.Lock()
	k := l.phase + "/" + name
	l.m[k] = append(l.m[k], d)
	l.mu.Unlock()
}

// addIn adds to a given phase (samples joined after the phase ended).
func (l *latencies) addIn(phase, name string, d time.Duration) {
	l.mu.Lock()
	k := phase + "/" + name
	l.m[k] = append(l.m[k], d)
	l.mu.Unlock()
}

func (l *latencies) sorted(phase, name string) []time.Duration {
	l.mu.Lock()
	d := append([]time.Duration(nil), l.m[phase+"/"+name]...)
	l.mu.Unlock()
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d
}

// summary is "p50 · p99 · max (n)" of one series.
func (l *latencies) summary(phase, name string) string {
	d := l.sorted(phase, name)
	if len(d) == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %v · p99 %v · max %v (n=%d)", round(pct(d, 50)), round(pct(d, 99)), round(pct(d, 100)), len(d))
}

func (l *latencies) p50(phase, name string) time.Duration { return pct(l.sorted(phase, name), 50) }

// round keeps three significant digits or so.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	default:
		return d.Round(10 * time.Microsecond)
	}
}

// central is the central server's side: one subscriber on halld's uplink
// topic that dedupes on id, checks seq order and times each event from its
// ts (ms resolution) to arrival.
type central struct {
	mu         sync.Mutex
	arrived    map[string]time.Time // id → first arrival
	seqs       map[uint64]bool
	maxSeq     uint64
	outOfOrder int // a new event with a seq below one already seen
	dups       int
	lat        *latencies
}

func startCentral(url, topic string, lat *latencies) (*central, func(), error) {
	c := &central{arrived: map[string]time.Time{}, seqs: map[uint64]bool{}, lat: lat}
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("bench-central").SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(200 * time.Millisecond))
	if t := sub.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		return nil, nil, fmt.Errorf("central subscriber: %v", t.Error())
	}
	t := sub.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) { c.take(m.Payload(), time.Now()) })
	if !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		sub.Disconnect(100)
		return nil, nil, fmt.Errorf("central subscribe: %v", t.Error())
	}
	return c, func() { sub.Disconnect(100) }, nil
}

func (c *central) take(b []byte, now time.Time) {
	var e struct {
		ID  string `json:"id"`
		Seq uint64 `json:"seq"`
		TS  string `json:"ts"`
	}
	if json.Unmarshal(b, &e) != nil || e.ID == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.arrived[e.ID]; dup {
		c.dups++
		return
	}
	c.arrived[e.ID] = now
	if e.Seq < c.maxSeq {
		c.outOfOrder++
	} else {
		c.maxSeq = e.Seq
	}
	c.seqs[e.Seq] = true
	if ts, err := time.Parse("2006-01-02T15:04:05.000Z07:00", e.TS); err == nil {
		c.lat.add("event→central", now.Sub(ts))
	}
}

func (c *central) arrival(id string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.arrived[id]
	return t, ok
}

// missing counts the seqs 1..head that never arrived.
func (c *central) missing(head uint64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for s := uint64(1); s <= head; s++ {
		if !c.seqs[s] {
			n++
		}
	}
	return n
}

// wait waits until every event up to head arrived, or d passed.
func (c *central) wait(head uint64, d time.Duration) int {
	deadline := time.Now().Add(d)
	for {
		m := c.missing(head)
		if m == 0 || time.Now().After(deadline) {
			return m
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (c *central) counts() (unique, dups, outOfOrder int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.arrived), c.dups, c.outOfOrder
}
