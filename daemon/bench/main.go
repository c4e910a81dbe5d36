// Command bench is halld's load harness: it starts a real halld process
// against printer simulators on real ptys (halld sees them as serial devices,
// exactly as hardware), and measures what the hall cares about:
//
//   - time from exec to READY=1 (sd_notify, through a real NOTIFY_SOCKET);
//   - kiosk request → last ticket byte at the printer (p50/p99/max);
//   - durable tickets per second under concurrent kiosks;
//   - halld's RSS.
//
// Usage:
//
//	go run ./daemon/bench [-printers 10] [-duration 10s] [-concurrency 32]
//	go run ./daemon/bench -mode pads -pads 200 -buses 13 [-baud 115200] [-presses 300]
//	go run ./daemon/bench -mode lines -lines 64 -rate 1000 -duration 10s -outage 15s
//	go run ./daemon/bench -mode hall [-day 90s] [-tickets 2000] [-stress 10s] [-unplugs 5] [-soak 1h [-soak-rate 5] [-sample 10s]]
//
// -mode hall is all of it at once (hall.go): 200 pads on 13 RS-485 lines, 10
// printers, 10 ID card readers (one per kiosk), 40 terminals on halld's hall
// broker, a real mosquitto as the central server; a 9-hour hall day
// compressed into -day (kiosk tickets, cards, windows calling and finishing
// on their pads, ratings, terminal faults), a throughput phase (-stress), an
// unplug storm over every serial device (-unplugs, storm.go), an optional
// soak with RSS/goroutine/fd trends (-soak, soak.go), and at the end every
// journal event checked at central. -pads and -buses override 200 and 13.
// BENCH_KEEP=1 keeps the run's directory (halld.log, journal) for a look.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"halld/daemon/journal"
)

func main() {
	printers := flag.Int("printers", 10, "simulated printers (on ptys)")
	duration := flag.Duration("duration", 10*time.Second, "length of each phase")
	conc := flag.Int("concurrency", 32, "concurrent kiosks in the throughput phase")
	baud := flag.Int("baud", 115200, "printer baud rate (ptys ignore it; it sets the wire-time floor)")
	bin := flag.String("halld", "", "halld binary (default: build it)")
	mode := flag.String("mode", "printers", "printers (kiosk → ticket), pads (pad press → WebSocket), lines (line devices → central) or hall (all of it: a hall day, stress, unplug storm, soak)")
	nPads := flag.Int("pads", 16, "pads, in -mode pads (-mode hall: 200)")
	buses := flag.Int("buses", 1, "RS-485 lines the pads share, in -mode pads (-mode hall: 13)")
	presses := flag.Int("presses", 300, "pad presses to time, in -mode pads")
	nLines := flag.Int("lines", 64, "line devices, in -mode lines")
	rate := flag.Int("rate", 1000, "total lines per second, in -mode lines")
	outage := flag.Duration("outage", 15*time.Second, "central broker outage, in -mode lines and hall (0: none)")
	readers := flag.Int("readers", 10, "ID card readers (one a kiosk), in -mode hall")
	terminals := flag.Int("terminals", 40, "24-hour terminals over MQTT, in -mode hall")
	tickets := flag.Int("tickets", 2000, "citizens in the hall day, in -mode hall")
	day := flag.Duration("day", 90*time.Second, "the 9-hour hall day compressed into this, in -mode hall")
	stress := flag.Duration("stress", 10*time.Second, "throughput phase, in -mode hall (0: none)")
	unplugs := flag.Int("unplugs", 5, "unplug storm rounds over every serial device, in -mode hall (0: none)")
	soak := flag.Duration("soak", 0, "steady load after the rest, sampling RSS, goroutines and fds, in -mode hall (e.g. 1h)")
	soakRate := flag.Float64("soak-rate", 5, "citizens per second during the soak, in -mode hall")
	sample := flag.Duration("sample", 10*time.Second, "soak sampling period, in -mode hall")
	flag.Parse()
	var err error
	switch *mode {
	case "printers":
		err = run(*printers, *duration, *conc, *baud, *bin)
	case "pads":
		err = runPads(*nPads, *buses, *baud, *presses, *bin)
	case "lines":
		err = runLines(*nLines, *rate, *duration, *outage, *bin)
	case "hall":
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		o := hallOpts{pads: 200, buses: 13, printers: *printers, readers: *readers, terminals: *terminals,
			tickets: *tickets, conc: *conc, unplugs: *unplugs, baud: *baud, day: *day, stress: *stress,
			soak: *soak, sample: *sample, soakRate: *soakRate, bin: *bin, outage: 15 * time.Second}
		if set["outage"] {
			o.outage = *outage
		}
		if set["pads"] {
			o.pads = *nPads
		}
		if set["buses"] {
			o.buses = *buses
		}
		err = runHall(o)
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(nPrinters int, dur time.Duration, conc, baud int, bin string) error {
	h, err := newHarness(bin)
	if err != nil {
		return err
	}
	defer h.close()
	addr := h.addr

	// Printers: simulators on ptys (no wire emulation: the wire time is
	// reported beside the measure, as the floor on real serial).
	prn, err := startPrinters(h, nPrinters, baud, false, "self-24h")
	if err != nil {
		return err
	}
	defer prn.close()
	// Letters A..J so each printed number maps back to its request.
	var svcs strings.Builder
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&svcs, "  - {id: s%d, prefix: %c, name: 服务%d, area: self-24h, max_number: 9999, materials: [身份证原件, 申请表, 相关证明材料]}\n", i, 'A'+i, i)
	}
	cfg := fmt.Sprintf(`hall:
  id: bench-hall
  name: 湖南湘江新区政务服务大厅
  timezone: Asia/Shanghai
  hotline: "0731-88995297"
  eval_url: https://eval.example/t?id=
  opening_hours: [{days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}]
http: {listen: %s}
storage: {dir: %s}
areas: [{id: self-24h, name: 自助区, open_24h: true}]
services:
%sdevices:
  - {id: kiosk-1, kind: kiosk, area: self-24h}
%s`, addr, h.path("data"), svcs.String(), prn.yaml.String())
	if err := h.writeConfig(cfg); err != nil {
		return err
	}

	cmd, ready, err := h.start()
	if err != nil {
		return err
	}
	defer func() { cmd.Process.Signal(interrupt); cmd.Wait() }()
	// Let every printer connect and answer its first status poll.
	time.Sleep(2 * time.Second)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

	issue := func(svc int) (string, time.Time, bool) {
		t0 := time.Now()
		num, printed, ok := postTicket(client, "http://"+addr+"/api/v1/tickets", fmt.Sprintf(`{"service":"s%d","kiosk":"kiosk-1"}`, svc))
		if !ok {
			return "", t0, false
		}
		return num, t0, printed
	}

	// Phase 1: latency at a hall-like pace (4 kiosks, one request at a time each).
	type req struct {
		number string
		t0     time.Time
	}
	var reqs []req
	var rmu sync.Mutex
	phase := func(workers int, d time.Duration) (ok, printed int64) {
		var okN, prN atomic.Int64
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					num, t0, pr := issue((w + i) % 10)
					if num == "" {
						continue
					}
					okN.Add(1)
					if pr {
						prN.Add(1)
					}
					rmu.Lock()
					reqs = append(reqs, req{num, t0})
					rmu.Unlock()
				}
			}(w)
		}
		wg.Wait()
		return okN.Load(), prN.Load()
	}
	latOK, latPrinted := phase(4, dur)
	time.Sleep(500 * time.Millisecond)
	var lat []time.Duration
	for _, r := range reqs {
		if lb, ok := prn.printedAt(r.number); ok {
			lat = append(lat, lb.Sub(r.t0))
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })

	// Phase 2: throughput with many concurrent kiosks.
	reqs = nil
	thrStart := time.Now()
	thrOK, thrPrinted := phase(conc, dur)
	thrSecs := time.Since(thrStart).Seconds()

	rss, hwm := procMem(cmd.Process.Pid)

	// Restart with everything above in the journal: the replay cost.
	cmd.Process.Signal(interrupt)
	cmd.Wait()
	events := countEvents(h.path("data/journal.db"))
	cmd, readyAgain, err := h.start()
	if err != nil {
		return err
	}
	wire := prn.wire(baud)

	fmt.Printf("## halld load run (%s)\n\n", time.Now().Format("2006-01-02"))
	fmt.Printf("command: `go run ./daemon/bench -printers %d -duration %s -concurrency %d`\n\n", nPrinters, dur, conc)
	fmt.Printf("| measure | value |\n|---|---|\n")
	fmt.Printf("| exec → READY=1 (journal replay, %d printers on ptys) | %v |\n", nPrinters, ready.Round(time.Millisecond))
	fmt.Printf("| kiosk request → last ticket byte at printer, 4 kiosks (n=%d) | p50 %v · p99 %v · max %v |\n",
		len(lat), pct(lat, 50), pct(lat, 99), pct(lat, 100))
	fmt.Printf("| ticket job size / wire time at %d baud (the floor on real serial) | %d bytes / %v |\n", baud, prn.jobBytes.Load(), wire.Round(time.Millisecond))
	fmt.Printf("| tickets acknowledged, latency phase | %d (%d printed) |\n", latOK, latPrinted)
	fmt.Printf("| durable tickets/s, %d concurrent kiosks | %.0f (%d in %.1fs, %d printed) |\n", conc, float64(thrOK)/thrSecs, thrOK, thrSecs, thrPrinted)
	fmt.Printf("| halld RSS after the load / peak | %.1f MiB / %.1f MiB |\n", rss, hwm)
	fmt.Printf("| restart → READY=1 with %d events in the journal | %v |\n", events, readyAgain.Round(time.Millisecond))
	return nil
}

func countEvents(path string) uint64 {
	j, err := journal.Open(path, journal.Options{})
	if err != nil {
		return 0
	}
	defer j.Close()
	return j.Head()
}

var interrupt = os.Interrupt
