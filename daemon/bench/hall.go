package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"halld/drivers/hpad"
	"halld/drivers/idcard/idcardsim"
	"halld/drivers/terminal/termsim"
	"halld/drivers/vport"
)

// hallOpts are the hall mode's flags.
type hallOpts struct {
	pads, buses, printers, readers, terminals int
	tickets, conc, unplugs, baud              int
	day, stress, soak, sample, outage         time.Duration
	soakRate                                  float64
	bin                                       string
}

// hallSim is the whole hall around one halld: the simulators, the pages'
// sockets, the central subscriber, and what they measured.
type hallSim struct {
	o       hallOpts
	h       *harness
	addr    string
	cmd     *exec.Cmd
	client  *http.Client
	prn     *printerSims
	pb      *padBuses
	rdPorts []*vport.Port
	kiosks  []*kioskSim
	windows []*windowSim
	terms   []*termsim.Terminal
	st      *stream
	cen     *central
	lat     *latencies

	imu        sync.Mutex
	issuedList []issued

	tickets, unprinted, presses, errs, faults atomic.Int64
	rows                                      [][2]string // the report
}

func (s *hallSim) phase() string { return s.lat.current() }

func (s *hallSim) row(k, format string, a ...any) {
	s.rows = append(s.rows, [2]string{k, fmt.Sprintf(format, a...)})
}

func runHall(o hallOpts) error {
	h, err := newHarness(o.bin)
	if err != nil {
		return err
	}
	defer h.close()
	if o.soak > 0 {
		if h.pprof, err = freeAddr(); err != nil {
			return err
		}
	}
	s := &hallSim{o: o, h: h, addr: h.addr, lat: newLatencies(),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}

	centralURL, stopBroker, err := startBroker(h)
	if err != nil {
		return err
	}
	defer func() { stopBroker() }()
	if s.prn, err = startPrinters(h, o.printers, o.baud, true, "front"); err != nil {
		return err
	}
	defer s.prn.close()
	if s.pb, err = startPadBuses(h, o.pads, o.buses, o.baud, "front"); err != nil {
		return err
	}
	defer s.pb.close()
	var readerPaths []string
	readers := make([]*idcardsim.Reader, o.readers)
	for i := range readers {
		readers[i] = idcardsim.New()
		vp, err := vport.New(h.path(fmt.Sprintf("idreader-%d", i+1)), vport.Baud(115200, readers[i].Serve))
		if err != nil {
			return err
		}
		defer vp.Close()
		s.rdPorts = append(s.rdPorts, vp)
		readerPaths = append(readerPaths, vp.Path())
	}
	hallBroker, err := freeAddr()
	if err != nil {
		return err
	}
	cfg, err := hallConfig(h, o, s.prn, s.pb, readerPaths, hallBroker, centralURL)
	if err != nil {
		return err
	}
	if err := h.writeConfig(cfg); err != nil {
		return err
	}
	var stopCentral func()
	if s.cen, stopCentral, err = startCentral(centralURL, "hall/bench-hall/edge/events", s.lat); err != nil {
		return err
	}
	defer stopCentral()

	// Start: READY, then every serial device and pad up, then the
	// terminals (started at READY, when the hall broker listens) up.
	exec0 := time.Now()
	cmd, ready, err := h.start()
	if err != nil {
		return err
	}
	s.cmd = cmd
	defer func() { cmd.Process.Signal(interrupt); cmd.Wait() }()
	if err := s.startTerminals("tcp://" + hallBroker); err != nil {
		return err
	}
	defer func() {
		for _, t := range s.terms {
			t.Stop()
		}
	}()
	serialUp, allUp, err := s.waitAllReady(exec0, 90*time.Second)
	if err != nil {
		return err
	}
	s.st = newStream(s.addr, s.lat)
	stopStream := make(chan struct{})
	defer close(stopStream)
	go func() {
		if err := s.st.run(stopStream); err != nil {
			fmt.Fprintln(os.Stderr, "bench: stream:", err)
		}
	}()
	for i := range o.printers {
		k := &kioskSim{id: fmt.Sprintf("kiosk-%d", i+1)}
		if i < len(readers) {
			k.reader = readers[i]
		}
		if err := k.openSession(s.addr); err != nil {
			return err
		}
		s.kiosks = append(s.kiosks, k)
	}
	n := len(serviceShare)
	for _, p := range s.pb.pads {
		w := &windowSim{id: fmt.Sprintf("w%d", p.n), pad: p, services: []string{fmt.Sprintf("s%d", p.n%n), fmt.Sprintf("s%d", (p.n+3)%n)}}
		w.ev = s.st.padEvents(p.id)
		s.windows = append(s.windows, w)
	}
	time.Sleep(300 * time.Millisecond) // the stream's snapshot is in
	rssStart, _ := procMem(cmd.Process.Pid)

	s.row("devices", "%d pads on %d RS-485 lines (%d a line), %d printers, %d ID readers, %d kiosks, %d terminals over MQTT; serial lines emulated at %d baud (readers 115200)",
		o.pads, o.buses, s.pb.perBus, o.printers, o.readers, len(s.kiosks), o.terminals, o.baud)
	s.row("exec → READY=1 / → every serial device and pad ready / → every terminal ready too", "%v / %v / %v",
		ready.Round(time.Millisecond), serialUp.Round(time.Millisecond), allUp.Round(time.Millisecond))
	s.row("halld RSS with every device up, before load", "%.1f MiB", rssStart)

	if err := s.runDay(); err != nil {
		return err
	}
	s.runStress()
	if o.outage > 0 {
		restart := func() error {
			var err error
			_, stopBroker, err = startBrokerAt(h, centralURL)
			return err
		}
		if err := s.runOutage(func() { stopBroker() }, restart); err != nil {
			return err
		}
	}
	if o.unplugs > 0 {
		s.runStorm()
	}
	if o.soak > 0 {
		s.runSoak()
	}

	// Central: every journal event, once, in order.
	head, _ := scrapeMetric(s.addr, "halld_journal_head_seq")
	missing := s.cen.wait(uint64(head), 120*time.Second)
	uniq, dups, ooo := s.cen.counts()
	s.joinPressCentral()
	for _, ph := range []string{"day", "soak"} {
		if len(s.lat.sorted(ph, "press→central")) > 0 {
			s.row("pad press → central subscriber ("+ph+")", "%s", s.lat.summary(ph, "press→central"))
			s.row("journal event → central subscriber, from the event's ts (ms resolution) ("+ph+")", "%s", s.lat.summary(ph, "event→central"))
		}
	}
	_, hwm := procMem(cmd.Process.Pid)
	s.row("halld peak RSS (VmHWM) over the run", "%.1f MiB", hwm)
	if o.soak > 0 {
		// RSS grows with the day's tickets (they are the hall's state until
		// midnight), so a flat line is not the test of a leak. This is: the
		// soaked halld's live heap against a fresh halld holding the same
		// state, rebuilt from the same journal.
		soaked, err1 := heapAfterGC(h.pprof)
		cmd.Process.Signal(interrupt)
		cmd.Wait()
		var restartIn time.Duration
		var err2 error
		cmd, restartIn, err2 = h.start()
		if err2 != nil {
			return err2
		}
		time.Sleep(10 * time.Second) // devices up, statistics folded
		fresh, err3 := heapAfterGC(h.pprof)
		if err := errors.Join(err1, err3); err != nil {
			s.row("soak: live heap vs a fresh halld", "not measured: %v", err)
		} else {
			s.row("soak: live heap after GC vs a fresh halld on the same journal", "%.1f MiB vs %.1f MiB: %+.1f MiB the soak left beyond the hall's state (fresh READY in %v)",
				soaked, fresh, soaked-fresh, restartIn.Round(time.Millisecond))
		}
	}
	s.row("central (real mosquitto, dedupe on id)", "central: %d events, %d missing, %d out of order (journal head %d; %d duplicate deliveries)", uniq, missing, ooo, uint64(head), dups)
	s.row("bench errors (timeouts, refused requests) / stream reconnects", "%d / %d", s.errs.Load(), s.st.drops)
	s.row("halld log", "%s", logSummary(h.logf.Name()))
	s.print()
	return nil
}

func (s *hallSim) startTerminals(url string) error {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	for i := 1; i <= s.o.terminals; i++ {
		id := termName(i)
		t := termsim.New(url, "bench-hall", id, termPassword(id), termsim.Options{Heartbeat: 5 * time.Second})
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := t.Start(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if err == nil {
				s.terms = append(s.terms, t)
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// devices is halld's /api/v1/devices: id → state, kind.
func devices(addr string) map[string][2]string {
	resp, err := http.Get("http://" + addr + "/api/v1/devices")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var body struct {
		Devices []struct{ ID, Kind, State string }
	}
	json.NewDecoder(resp.Body).Decode(&body)
	out := map[string][2]string{}
	for _, d := range body.Devices {
		out[d.ID] = [2]string{d.State, d.Kind}
	}
	return out
}

// waitAllReady waits until every device is ready: first the serial ones
// and pads, then the terminals too. Times are from exec.
func (s *hallSim) waitAllReady(exec0 time.Time, limit time.Duration) (serial, all time.Duration, err error) {
	want := s.o.printers + s.o.readers + s.o.buses + s.o.pads
	for time.Since(exec0) < limit {
		ser, term := 0, 0
		for _, d := range devices(s.addr) {
			switch {
			case d[1] == "kiosk":
			case d[1] == "terminal" && d[0] == "ready":
				term++
			case d[0] == "ready":
				ser++
			}
		}
		if ser == want && serial == 0 {
			serial = time.Since(exec0)
		}
		if ser == want && term == s.o.terminals {
			return serial, time.Since(exec0), nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, 0, fmt.Errorf("not every device came up within %v: %v", limit, devices(s.addr))
}

// cardShare is the share of citizens who take their number with their ID
// card. A card read is not compressed with the day (the reader polls every
// 1 s, and the next card waits until it saw the last one go), so a
// compressed day cannot have as many as a real one: 12% keeps ten kiosks
// within the 90 s day.
const cardShare = 0.12

// day profile: arrivals per hour of a 09:00–18:00 day, relative (morning
// peak, lunch dip, afternoon peak, quiet end).
var dayProfile = []float64{0.9, 1.4, 1.3, 0.6, 0.8, 1.3, 1.2, 0.9, 0.4}

// runDay runs a 9-hour hall day compressed into o.day.
func (s *hallSim) runDay() error {
	o := s.o
	s.lat.setPhase("day")
	scale := float64(o.day) / float64(9*time.Hour)
	mean := 0.0
	for _, w := range dayProfile {
		mean += w / float64(len(dayProfile))
	}
	base := float64(o.tickets) / o.day.Seconds()
	rate := func(f float64) float64 { return base * dayProfile[min(int(f*9), 8)] / mean }
	serviceTime := time.Duration(float64(10*time.Minute) * scale)
	think := max(time.Duration(float64(20*time.Second)*scale), 20*time.Millisecond)
	faultEvery := time.Duration(float64(9*time.Hour) / 60 * scale) // ~60 terminal faults a day

	pid := s.cmd.Process.Pid
	cpu0, t0, head0, tk0, pr0, un0 := procCPU(pid), time.Now(), s.head(), s.tickets.Load(), s.presses.Load(), s.unprinted.Load()
	wctx, stopWindows := context.WithCancel(context.Background())
	wg := s.runWindows(wctx, serviceTime, think)
	fctx, stopFaults := context.WithCancel(context.Background())
	go s.runTerminalFaults(fctx, faultEvery)
	arrived := s.arrivals(context.Background(), o.day, rate, cardShare)
	// The hall closes its doors; windows serve whoever is still waiting.
	for deadline := time.Now().Add(60 * time.Second); s.st.backlog() > 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	stopWindows()
	wg.Wait()
	stopFaults()
	el := time.Since(t0)
	cpu := procCPU(pid) - cpu0
	time.Sleep(500 * time.Millisecond)
	rss, _ := procMem(pid)
	s.joinPrinted("day")
	events := s.head() - head0

	s.row("**Hall day**", "9 h compressed ×%.0f into %v (+%v to serve the last in line): %d citizens, %d tickets (%d not printed), %d pad presses, %d ratings, %d terminal faults; %d journal events (%.0f/s)",
		1/scale, o.day, (el - o.day).Round(time.Second), arrived, s.tickets.Load()-tk0, s.unprinted.Load()-un0, s.presses.Load()-pr0,
		s.st.typeCount("rating.submitted"), s.faults.Load(), events, float64(events)/el.Seconds())
	s.row("pad press → WebSocket (day)", "%s", s.lat.summary("day", "press→ws"))
	s.row("kiosk request → last ticket byte at the printer (day)", "%s", s.lat.summary("day", "kiosk→last byte"))
	s.row("card placed → kiosk page (day)", "%s", s.lat.summary("day", "card→kiosk"))
	s.row("window finish key → pad shows RATE (screen pushed over the line)", "%s", s.lat.summary("day", "finish→pad RATE screen"))
	s.row("halld CPU / RSS over the day", "%.0f%% of one core / %.1f MiB", 100*cpu.Seconds()/el.Seconds(), rss)
	return nil
}

// head is halld's journal head (last durable seq).
func (s *hallSim) head() uint64 {
	v, _ := scrapeMetric(s.addr, "halld_journal_head_seq")
	return uint64(v)
}

// joinPrinted times each ticket of phase from its request to its last byte.
func (s *hallSim) joinPrinted(phase string) {
	time.Sleep(300 * time.Millisecond)
	s.imu.Lock()
	defer s.imu.Unlock()
	for _, r := range s.issuedList {
		if r.phase != phase {
			continue
		}
		if lb, ok := s.prn.printedAt(r.number); ok && lb.After(r.t0) {
			s.lat.addIn(phase, "kiosk→last byte", lb.Sub(r.t0))
		}
	}
}

// joinPressCentral times pad presses to their arrival at central.
func (s *hallSim) joinPressCentral() {
	for id, p := range s.st.presses() {
		if at, ok := s.cen.arrival(id); ok {
			s.lat.addIn(p.phase, "press→central", at.Sub(p.t0))
		}
	}
}

// runStress is the throughput ceiling: many kiosks at once, every pad
// pressing, for o.stress; events per second through the durable journal.
func (s *hallSim) runStress() {
	o := s.o
	if o.stress <= 0 {
		return
	}
	s.lat.setPhase("stress")
	s.st.clearPending()
	pid := s.cmd.Process.Pid
	cpu0, t0, head0, tk0, un0 := procCPU(pid), time.Now(), s.head(), s.tickets.Load(), s.unprinted.Load()
	ctx, cancel := context.WithTimeout(context.Background(), o.stress)
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < o.conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			k := fmt.Sprintf("kiosk-%d", w%len(s.kiosks)+1)
			for ctx.Err() == nil {
				svc := pickService()
				s.issue(k, svc, "/api/v1/tickets", fmt.Sprintf(`{"service":%q,"kiosk":%q}`, svc, k))
			}
		}(w)
	}
	var keys atomic.Int64
	for _, p := range s.pb.pads {
		wg.Add(1)
		go func(p simPad) {
			defer wg.Done()
			for sleepCtx(ctx, time.Duration(150+rand.IntN(200))*time.Millisecond) {
				p.pad.Key(hpad.KeyRecall)
				keys.Add(1)
			}
		}(p)
	}
	wg.Wait()
	el := time.Since(t0)
	cpu := procCPU(pid) - cpu0
	// Events still coming in from the pads' queues count too: wait for the
	// lines to drain before the head is read.
	time.Sleep(time.Second)
	events := s.head() - head0
	rss, _ := procMem(pid)
	s.joinPrinted("stress")
	tk := s.tickets.Load() - tk0
	s.row("**Stress** (throughput ceiling)", "%d concurrent kiosks + all %d pads pressing every ~250 ms for %v: %d tickets (%.0f/s, %d not printed), %d key presses; %d durable journal events = **%.0f events/s**",
		o.conc, o.pads, o.stress, tk, float64(tk)/el.Seconds(), s.unprinted.Load()-un0, keys.Load(), events, float64(events)/(el+time.Second).Seconds())
	s.row("kiosk request → last ticket byte (stress)", "%s", s.lat.summary("stress", "kiosk→last byte"))
	s.row("halld CPU / RSS under stress", "%.0f%% of one core / %.1f MiB", 100*cpu.Seconds()/el.Seconds(), rss)
}

func (s *hallSim) print() {
	fmt.Printf("## halld hall day (%s)\n\n", time.Now().Format("2006-01-02"))
	o := s.o
	fmt.Printf("command: `go run ./daemon/bench -mode hall -pads %d -buses %d -printers %d -readers %d -terminals %d -tickets %d -day %v -stress %v -outage %v -unplugs %d -soak %v`\n\n",
		o.pads, o.buses, o.printers, o.readers, o.terminals, o.tickets, o.day, o.stress, o.outage, o.unplugs, o.soak)
	fmt.Printf("| measure | value |\n|---|---|\n")
	for _, r := range s.rows {
		fmt.Printf("| %s | %s |\n", r[0], r[1])
	}
	s.printFloors()
}
