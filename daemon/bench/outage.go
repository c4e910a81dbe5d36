package main

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// runOutage stops the central broker for o.outage while the hall keeps
// working (citizens at the kiosks, windows serving, pads rating, terminals
// reporting), then starts it again on the same persistence and times how
// long central takes to hold every event written meanwhile. restart brings
// the broker back; stop takes it down.
func (s *hallSim) runOutage(stop func(), restart func() error) error {
	o := s.o
	s.lat.setPhase("outage")
	s.st.clearPending()
	head0 := s.head()
	// Central has everything so far (the uplink caught up after the stress).
	if m := s.cen.wait(head0, 60*time.Second); m != 0 {
		s.row("**Central outage**", "skipped: central still misses %d events before it", m)
		return nil
	}
	wctx, stopWindows := context.WithCancel(context.Background())
	wg := s.runWindows(wctx, 2*time.Second, 50*time.Millisecond)
	fctx, stopFaults := context.WithCancel(context.Background())
	go s.runTerminalFaults(fctx, 5*time.Second)
	stop()
	down := time.Now()
	arrived := s.arrivals(context.Background(), o.outage, func(float64) float64 { return 2 }, cardShare)
	upl := uplinkStatus(s.addr)
	written := s.head() - head0
	if err := restart(); err != nil {
		stopWindows()
		stopFaults()
		return err
	}
	up := time.Now()
	// The hall keeps working during the catch-up, as it would.
	head := s.head()
	missing := s.cen.wait(head, 120*time.Second)
	caught := time.Since(up)
	stopWindows()
	wg.Wait()
	stopFaults()
	s.row("**Central outage**", "mosquitto stopped for %v while the hall worked on (%d citizens): %d journal events written, uplink lag %d and connected=%v at the restart",
		up.Sub(down).Round(100*time.Millisecond), arrived, written, upl.Lag, upl.Connected)
	s.row("broker back → central holds every event written before it", "%v (%d events behind, %.0f events/s; %d still missing)",
		caught.Round(10*time.Millisecond), head-head0, float64(head-head0)/caught.Seconds(), missing)
	return nil
}

type uplinkView struct {
	Connected bool   `json:"connected"`
	Lag       uint64 `json:"lag"`
}

// uplinkStatus is halld's GET /api/v1/uplink.
func uplinkStatus(addr string) uplinkView {
	var v struct {
		Status uplinkView `json:"status"`
	}
	resp, err := http.Get("http://" + addr + "/api/v1/uplink")
	if err != nil {
		return v.Status
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(&v)
	return v.Status
}
