package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"halld/drivers/vport"
)

// runStorm unplugs every serial device (printers, pad lines, card readers)
// and plugs it back, o.unplugs times, as a cable pulled and pushed in: the
// link goes away with its pty, and a new pty appears behind the same path.
// Recovery is timed twice from the replug: to "ready" in /api/v1/devices
// (halld's live view, polled every 50 ms) and to its device.state "ready"
// on the stream (durable in the journal, on every page and to central).
func (s *hallSim) runStorm() {
	s.lat.setPhase("storm")
	pid := s.cmd.Process.Pid
	type dev struct {
		id   string
		port *vport.Port
	}
	var devs []dev
	for i, p := range s.prn.ports {
		devs = append(devs, dev{s.prn.ids[i], p})
	}
	for i, p := range s.pb.ports {
		devs = append(devs, dev{s.pb.ids[i], p})
	}
	for i, p := range s.rdPorts {
		devs = append(devs, dev{fmt.Sprintf("idreader-%d", i+1), p})
	}
	settle := func() (fds, gor int) {
		time.Sleep(2 * time.Second)
		g, _ := scrapeMetric(s.addr, "go_goroutines")
		return fdCount(pid), int(g)
	}
	fd0, g0 := settle()
	var offlineSlow, notBack, apiNotBack atomic.Int64
	t0 := time.Now()
	for round := 0; round < s.o.unplugs; round++ {
		roundStart := time.Now()
		for _, d := range devs {
			d.port.Unplug()
		}
		// Every device offline in halld's view, then pulled for a second
		// more (a cable is not pushed back in at once).
		for _, d := range devs {
			for devices(s.addr)[d.id][0] != "offline" {
				if time.Since(roundStart) > 5*time.Second {
					offlineSlow.Add(1)
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		time.Sleep(time.Second)
		plugged := map[string]time.Time{}
		for _, d := range devs {
			if err := d.port.Replug(); err != nil {
				s.errs.Add(1)
			}
			plugged[d.id] = time.Now()
		}
		// halld's live view.
		apiDone := make(chan struct{})
		go func() {
			defer close(apiDone)
			back := map[string]bool{}
			for time.Since(roundStart) < 60*time.Second && len(back) < len(devs) {
				now := time.Now()
				ds := devices(s.addr)
				for _, d := range devs {
					if !back[d.id] && ds[d.id][0] == "ready" {
						back[d.id] = true
						s.lat.add("replug→ready (api)", now.Sub(plugged[d.id]))
						if round == 0 {
							s.lat.add("replug→ready (api, first round)", now.Sub(plugged[d.id]))
						}
					}
				}
				time.Sleep(50 * time.Millisecond)
			}
			apiNotBack.Add(int64(len(devs) - len(back)))
		}()
		// The stream: the device.state event.
		var wg sync.WaitGroup
		for _, d := range devs {
			wg.Add(1)
			go func(d dev) {
				defer wg.Done()
				for time.Since(roundStart) < 120*time.Second {
					if st := s.st.state(d.id); st.state == "ready" && st.at.After(plugged[d.id]) {
						s.lat.add("replug→ready (stream)", st.at.Sub(plugged[d.id]))
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
				notBack.Add(1)
			}(d)
		}
		wg.Wait()
		<-apiDone
	}
	el := time.Since(t0)
	// Every pad on the lines back too.
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if countReadyPads(s.addr) == s.o.pads {
			break
		}
	}
	fd1, g1 := settle()
	s.row("**Unplug storm**", "%d serial devices (%d printers, %d lines with %d pads, %d card readers) unplugged together, 1 s out, replugged; %d rounds in %v. Not offline in the API within 5 s: %d; not ready in the API within 60 s: %d; no ready on the stream within 120 s: %d",
		len(devs), len(s.prn.ports), len(s.pb.ports), s.o.pads, len(s.rdPorts), s.o.unplugs, el.Round(time.Second), offlineSlow.Load(), apiNotBack.Load(), notBack.Load())
	s.row("replug → device ready in /api/v1/devices (polled every 50 ms)", "%s", s.lat.summary("storm", "replug→ready (api)"))
	s.row("replug → its device.state ready on the stream (durable)", "%s", s.lat.summary("storm", "replug→ready (stream)"))
	// Later rounds come before a link has been up the supervisor's 10 s
	// "stable" time, so their reconnect delay keeps growing (anti-flap);
	// the first round is what one unplug and replug costs.
	s.row("replug → device ready in the API, first round only", "%s", s.lat.summary("storm", "replug→ready (api, first round)"))
	s.row("halld open fds / goroutines before → after the storm", "%d → %d / %d → %d", fd0, fd1, g0, g1)
}
