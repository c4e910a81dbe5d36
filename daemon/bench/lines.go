package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"halld/drivers/linedev"
	"halld/drivers/linedev/linesim"
	"halld/drivers/vport"
)

// runLines measures line devices → central subscriber through halld's
// durable journal and uplink: latency at a total line rate, RSS, CPU per
// line, time to the first delivered line, and lines lost across a broker
// outage (none may be: the journal holds them).
func runLines(nDevs, rate int, dur, outage time.Duration, bin string) error {
	h, err := newHarness(bin)
	if err != nil {
		return err
	}
	defer h.close()
	broker, stopBroker, err := startBroker(h)
	if err != nil {
		return err
	}
	defer func() { stopBroker() }()

	var devs strings.Builder
	sims := make([]*linesim.Device, nDevs)
	for i := range sims {
		sim, err := linesim.New(linedev.Options{Terminator: linedev.LF})
		if err != nil {
			return err
		}
		vp, err := vport.New(h.path(fmt.Sprintf("line-%d", i)), sim.Serve)
		if err != nil {
			return err
		}
		defer vp.Close()
		sims[i] = sim
		fmt.Fprintf(&devs, "  - {id: sensor-%d, kind: line, area: front, serial: {port: %s, baud: 115200}, framing: {terminator: lf}}\n", i, vp.Path())
	}
	cfg := fmt.Sprintf(`hall:
  id: bench-hall
  name: 湖南湘江新区政务服务大厅
  always_open: true
  opening_hours: [{days: [mon], open: "09:00", close: "17:00"}]
http: {listen: %s}
storage: {dir: %s}
mqtt:
  uplink: {url: "%s", node: edge, max_rate: 100000}
areas: [{id: front, name: 前台}]
services: [{id: s1, prefix: A, name: 服务}]
devices:
%s`, h.addr, h.path("data"), broker, devs.String())
	if err := h.writeConfig(cfg); err != nil {
		return err
	}

	// The central side: one subscriber; each line carries its send time.
	var mu sync.Mutex
	arrived := map[string]time.Duration{} // event id → latency
	lines := map[string]bool{}            // line text → seen (dedupe across outage replays)
	var first time.Time
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("bench-central").SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(200 * time.Millisecond))
	if t := sub.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		return fmt.Errorf("subscriber: %v", t.Error())
	}
	defer sub.Disconnect(100)
	subscribe := func() {
		sub.Subscribe("hall/bench-hall/edge/events", 1, func(_ mqtt.Client, m mqtt.Message) {
			var e struct {
				ID, Type, Text string
			}
			if json.Unmarshal(m.Payload(), &e) != nil || e.Type != "device.line" {
				return
			}
			sent, err := strconv.ParseInt(strings.SplitN(e.Text, " ", 2)[0], 10, 64)
			if err != nil {
				return
			}
			mu.Lock()
			if strings.Contains(e.Text, " early=") {
				if first.IsZero() {
					first = time.Now()
				}
				mu.Unlock()
				return
			}
			if _, dup := arrived[e.ID]; !dup {
				arrived[e.ID] = time.Since(time.Unix(0, sent))
				lines[e.Text] = true
			}
			mu.Unlock()
		}).WaitTimeout(10 * time.Second)
	}
	subscribe()

	// One device talks from the moment halld starts: the first of its lines
	// to reach central gives the time to the first delivered line.
	start := time.Now()
	early := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case <-early:
				return
			case <-time.After(10 * time.Millisecond):
				sims[0].Send(fmt.Sprintf("%d early=%d", time.Now().UnixNano(), i))
			}
		}
	}()
	cmd, ready, err := h.start()
	if err != nil {
		close(early)
		return err
	}
	defer func() { cmd.Process.Signal(interrupt); cmd.Wait() }()
	time.Sleep(time.Second) // every line device connected
	close(early)
	mu.Lock()
	firstLine := first.Sub(start)
	for k := range lines {
		if strings.Contains(k, " early=") {
			delete(lines, k) // not part of the counted run
		}
	}
	arrived = map[string]time.Duration{}
	mu.Unlock()
	cpu0 := procCPU(cmd.Process.Pid)

	send := func(d time.Duration) int {
		n := 0
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		end := time.Now().Add(d)
		for time.Now().Before(end) {
			<-tick.C
			sims[n%nDevs].Send(fmt.Sprintf("%d T=%d", time.Now().UnixNano(), n))
			n++
		}
		return n
	}
	sent := send(dur)
	time.Sleep(500 * time.Millisecond)
	cpu1 := procCPU(cmd.Process.Pid)
	mu.Lock()
	var lat []time.Duration
	for _, d := range arrived {
		lat = append(lat, d)
	}
	mu.Unlock()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	rss, _ := procMem(cmd.Process.Pid)

	// Outage: the broker goes away while lines keep coming, then returns.
	stopBroker()
	outSent := send(outage)
	broker2, stop2, err := startBrokerAt(h, broker)
	if err != nil {
		return err
	}
	stopBroker = stop2
	_ = broker2
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		got := len(lines)
		mu.Unlock()
		if got >= sent+outSent {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	delivered := len(lines)
	mu.Unlock()
	cpuPerLine := time.Duration(0)
	if len(lat) > 0 {
		cpuPerLine = (cpu1 - cpu0) / time.Duration(sent)
	}

	fmt.Printf("## halld line-device run (%s)\n\n", time.Now().Format("2006-01-02"))
	fmt.Printf("command: `go run ./daemon/bench -mode lines -lines %d -rate %d -duration %s -outage %s`\n\n", nDevs, rate, dur, outage)
	fmt.Printf("| measure | value |\n|---|---|\n")
	fmt.Printf("| line devices on ptys / total rate | %d / %d lines/s |\n", nDevs, rate)
	fmt.Printf("| line → central subscriber (durable journal + uplink, n=%d) | p50 %v · p99 %v · max %v |\n", len(lat), pct(lat, 50), pct(lat, 99), pct(lat, 100))
	fmt.Printf("| halld RSS | %.1f MiB |\n", rss)
	fmt.Printf("| halld CPU per line | %v |\n", cpuPerLine.Round(time.Microsecond))
	fmt.Printf("| exec → READY=1 / exec → first line at central | %v / %v |\n", ready.Round(time.Millisecond), firstLine.Round(time.Millisecond))
	fmt.Printf("| lines sent during a %v broker outage / lost | %d / %d |\n", outage, outSent, sent+outSent-delivered)
	return nil
}

// startBroker runs mosquitto on a free loopback port for the run.
func startBroker(h *harness) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := l.Addr().String()
	l.Close()
	return startBrokerAt(h, "tcp://"+addr)
}

// startBrokerAt runs mosquitto at url (tcp://host:port) with persistence,
// so a restart keeps the subscriber's session.
func startBrokerAt(h *harness, url string) (string, func(), error) {
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(url, "tcp://"))
	conf := fmt.Sprintf("listener %s 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\nmax_queued_messages 0\npersistence true\npersistence_location %s/\n",
		port, h.dir)
	if os.Geteuid() == 0 {
		conf += "user root\n"
	}
	path := filepath.Join(h.dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return "", nil, err
	}
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
	}
	cmd := exec.Command(bin, "-c", path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("mosquitto: %w", err)
	}
	stop := func() { cmd.Process.Signal(interrupt); cmd.Wait() }
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			return url, stop, nil
		}
	}
	stop()
	return "", nil, fmt.Errorf("mosquitto did not start: %s", out.String())
}

// procCPU is a process's user+system CPU time from /proc.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}
