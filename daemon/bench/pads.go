package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"halld/drivers/hpad"
)

// runPads measures pad press → event on the WebSocket with pads on RS-485
// lines emulated at their baud rate, and the lines' poll cycle.
func runPads(nPads, nBuses, baud, presses int, bin string) error {
	h, err := newHarness(bin)
	if err != nil {
		return err
	}
	defer h.close()
	pb, err := startPadBuses(h, nPads, nBuses, baud, "front")
	if err != nil {
		return err
	}
	defer pb.close()
	pads, perBus := pb.pads, pb.perBus
	var windows strings.Builder
	for _, p := range pads {
		fmt.Fprintf(&windows, "  - {id: w%d, number: %d, services: [{service: s1}]}\n", p.n, p.n)
	}
	cfg := fmt.Sprintf(`hall:
  id: bench-hall
  name: 湖南湘江新区政务服务大厅
  always_open: true
  opening_hours: [{days: [mon], open: "09:00", close: "17:00"}]
http: {listen: %s}
storage: {dir: %s}
areas: [{id: front, name: 前台}]
services: [{id: s1, prefix: A, name: 服务}]
windows:
%sdevices:
%s`, h.addr, h.path("data"), windows.String(), pb.yaml.String())
	if err := h.writeConfig(cfg); err != nil {
		return err
	}
	cmd, ready, err := h.start()
	if err != nil {
		return err
	}
	defer func() { cmd.Process.Signal(interrupt); cmd.Wait() }()

	// Wait until every pad answers.
	deadline := time.Now().Add(60 * time.Second)
	for {
		up := countReadyPads(h.addr)
		if up == nPads {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d pads came up", up, nPads)
		}
		time.Sleep(200 * time.Millisecond)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+h.addr+"/api/v1/stream", http.Header{"Origin": {"http://" + h.addr}})
	if err != nil {
		return err
	}
	defer ws.Close()
	if _, _, err := ws.ReadMessage(); err != nil { // the snapshot
		return err
	}
	// One press at a time on a random pad: each a RECALL key, which the rules
	// refuse (no ticket called) but record as a device.event — the path of
	// every pad event, without depending on a window's state.
	var lat []time.Duration
	for i := 0; i < presses; i++ {
		p := pads[rand.IntN(len(pads))]
		t0 := time.Now()
		p.pad.Key(hpad.KeyRecall)
		for {
			ws.SetReadDeadline(time.Now().Add(10 * time.Second))
			var m struct {
				Event struct {
					Type   string `json:"type"`
					Device string `json:"device"`
				} `json:"event"`
			}
			if err := ws.ReadJSON(&m); err != nil {
				return fmt.Errorf("press %d: %w", i, err)
			}
			if m.Event.Type == "device.event" && m.Event.Device == p.id {
				lat = append(lat, time.Since(t0))
				break
			}
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	cycles := scrapeCycles(h.addr)
	if os.Getenv("BENCH_DEBUG") != "" {
		r, _ := http.Get("http://" + h.addr + "/metrics")
		b, _ := io.ReadAll(r.Body)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "halld_padbus") {
				fmt.Println(l)
			}
		}
	}
	rss, _ := procMem(cmd.Process.Pid)
	floor := pb.cycleFloor(baud)

	fmt.Printf("## halld pad run (%s)\n\n", time.Now().Format("2006-01-02"))
	fmt.Printf("command: `go run ./daemon/bench -mode pads -pads %d -buses %d -baud %d -presses %d`\n\n", nPads, nBuses, baud, presses)
	fmt.Printf("| measure | value |\n|---|---|\n")
	fmt.Printf("| pads / lines / pads per line | %d / %d / %d at %d baud (emulated on ptys) |\n", nPads, nBuses, perBus, baud)
	fmt.Printf("| exec → READY=1 | %v |\n", ready.Round(time.Millisecond))
	fmt.Printf("| pad press → event on the WebSocket (n=%d) | p50 %v · p99 %v · max %v |\n", len(lat), pct(lat, 50), pct(lat, 99), pct(lat, 100))
	fmt.Printf("| poll cycle per line (last, from /metrics) | %s |\n", cycles)
	fmt.Printf("| wire floor of one cycle (POLL + empty reply × %d pads) | %v |\n", perBus, floor.Round(100*time.Microsecond))
	fmt.Printf("| halld RSS | %.1f MiB |\n", rss)
	return nil
}

func countReadyPads(addr string) int {
	resp, err := http.Get("http://" + addr + "/api/v1/devices")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var body struct {
		Devices []struct{ Kind, State string }
	}
	json.NewDecoder(resp.Body).Decode(&body)
	n := 0
	for _, d := range body.Devices {
		if d.Kind == "eval_pad" && d.State == "ready" {
			n++
		}
	}
	return n
}

// scrapeCycles summarises halld_padbus_cycle_seconds over the lines.
func scrapeCycles(addr string) string {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	var vals []float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "halld_padbus_cycle_seconds{") {
			f := strings.Fields(line)
			if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
				vals = append(vals, v*1000)
			}
		}
	}
	if len(vals) == 0 {
		return "?"
	}
	sort.Float64s(vals)
	return fmt.Sprintf("min %.1f ms · max %.1f ms over %d lines", vals[0], vals[len(vals)-1], len(vals))
}
