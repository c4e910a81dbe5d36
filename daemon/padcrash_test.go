package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"halld/daemon/hall"
	"halld/daemon/journal"
	"halld/drivers/hpad"
	"halld/drivers/hpad/hpadsim"
	"halld/drivers/vport"
	"halld/internal/ptytest"
)

const padYAML = `
hall:
  id: pad-hall
  name: 测试大厅
  timezone: Asia/Shanghai
  always_open: true
  opening_hours: [{days: [mon], open: "09:00", close: "17:00"}]
http: {listen: %s}
storage: {dir: %s}
areas: [{id: front, name: 前台}]
services: [{id: s1, prefix: A, name: 服务, area: front, max_number: 9999}]
windows:
%sstaff:
%sdevices:
  - {id: line-1, kind: bus, area: front, serial: {port: %s, baud: 115200}}
%s`

// TestPadRatingsSurviveCrashes: pads live outside halld (as real ones do)
// and keep unacknowledged events across halld's death. halld is killed with
// SIGKILL at random moments while citizens rate; at the end every rating a
// pad took is in the journal exactly once, bound to the visit it showed.
// padLine puts n simulated pads on one RS-485 line (a pty outside halld)
// and returns them with the YAML of their windows (serving service), staff
// (ids staffPrefix+i) and pad devices on bus line-1.
func padLine(t *testing.T, dir string, n int, service, staffPrefix string) (map[int]*hpadsim.Pad, *vport.Port, string, string, string) {
	t.Helper()
	sim := hpadsim.NewBus()
	var windows, staff, pads strings.Builder
	simPads := map[int]*hpadsim.Pad{}
	for i := 1; i <= n; i++ {
		simPads[i] = sim.AddPad(byte(i), hpadsim.PadInfo{Model: "T", FW: "1", Serial: fmt.Sprint(i)})
		simPads[i].SetThanksDelay(20 * time.Millisecond)
		fmt.Fprintf(&windows, "  - {id: w%d, number: %d, services: [{service: %s}]}\n", i, i, service)
		fmt.Fprintf(&staff, "  - {id: %s%d, name: 员工%d, windows: [w%d]}\n", staffPrefix, i, i, i)
		fmt.Fprintf(&pads, "  - {id: pad-%d, kind: eval_pad, area: front, window: w%d, bus: line-1, address: %d}\n", i, i, i)
	}
	vp := ptytest.DeviceAt(t, filepath.Join(dir, "line-1"), sim.Serve)
	return simPads, vp, windows.String(), staff.String(), pads.String()
}

// rateWhenAsked waits up to wait for the pad to ask for a rating and
// presses a random one; ok is true when the press went out (its visit).
func rateWhenAsked(ctx context.Context, p *hpadsim.Pad, wait time.Duration) (uint32, bool) {
	deadline := time.Now().Add(wait)
	for p.State() != hpad.StateRate && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
	tk, ok := p.Ticket()
	if !ok || p.State() != hpad.StateRate {
		return 0, false
	}
	return tk.Visit, p.Press(byte(1+rand.IntN(5)), 1) == nil
}

// auditRatings: every pressed rating is in the journal once, none is there
// that nobody pressed, and every pad event was recorded once.
func auditRatings(t *testing.T, pressed map[uint32]bool, ratings map[uint32]int, devEvents map[string]int) {
	t.Helper()
	for v := range pressed {
		if ratings[v] != 1 {
			t.Errorf("visit %d: pressed once, %d ratings in the journal", v, ratings[v])
		}
	}
	for v, n := range ratings {
		if !pressed[v] {
			t.Errorf("visit %d: %d ratings nobody pressed", v, n)
		}
	}
	for k, n := range devEvents {
		if n != 1 {
			t.Errorf("pad event %s recorded %d times", k, n)
		}
	}
}

func TestPadRatingsSurviveCrashes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs and kills a real halld")
	}
	const nPads = 4
	dir := t.TempDir()
	simPads, vp, windows, staff, pads := padLine(t, dir, nPads, "s1", "s")
	addr := freeAddr(t)
	cfgPath := filepath.Join(dir, "devices.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(padYAML, addr, filepath.Join(dir, "data"), windows, staff, vp.Path(), pads)), 0o644)
	logf, _ := os.Create(filepath.Join(dir, "halld.log"))
	defer logf.Close()
	client := &http.Client{Timeout: 5 * time.Second}
	post := func(path, body string) int {
		resp, err := client.Post("http://"+addr+path, "application/json", strings.NewReader(body))
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	var mu sync.Mutex
	pressed := map[uint32]bool{} // visits a citizen rated on a pad
	rounds := 6
	for round := 0; round < rounds; round++ {
		cmd := startBinary(t, cfgPath, addr, logf)
		killAt := time.Now().Add(time.Duration(300+rand.IntN(900)) * time.Millisecond)
		var wg sync.WaitGroup
		for i := 1; i <= nPads; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				p := simPads[i]
				post(fmt.Sprintf("/api/v1/windows/w%d/sign-in", i), fmt.Sprintf(`{"staff":"s%d"}`, i))
				for time.Now().Before(killAt) {
					post("/api/v1/tickets", `{"service":"s1"}`)
					post(fmt.Sprintf("/api/v1/windows/w%d/call-next", i), `{}`)
					if post(fmt.Sprintf("/api/v1/windows/w%d/finish", i), `{}`) != 200 {
						continue
					}
					if visit, ok := rateWhenAsked(context.Background(), p, time.Second); ok {
						mu.Lock()
						pressed[visit] = true
						mu.Unlock()
					}
				}
			}(i)
		}
		time.Sleep(time.Until(killAt) + time.Duration(rand.IntN(30))*time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		wg.Wait()
	}
	// A last run delivers what the pads still hold, then stops cleanly.
	cmd := startBinary(t, cfgPath, addr, logf)
	deadline := time.Now().Add(15 * time.Second)
	for {
		left := 0
		for _, p := range simPads {
			left += len(p.Events())
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pad events never acknowledged", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()

	j, err := journal.Open(filepath.Join(dir, "data", "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ratings := map[uint32]int{}
	devEvents := map[string]int{}
	j.Scan(context.Background(), 0, func(r journal.Record) error {
		v, _ := hall.Decode(r.Type, r.Body)
		switch e := v.(type) {
		case *hall.RatingSubmitted:
			ratings[e.Visit]++
		case *hall.DeviceEvent:
			devEvents[fmt.Sprintf("%s/%d", e.Device, e.EvtSeq)]++
		}
		return nil
	})
	if len(pressed) < rounds {
		t.Fatalf("only %d ratings pressed: the test did not exercise halld", len(pressed))
	}
	auditRatings(t, pressed, ratings, devEvents)
	t.Logf("%d kills: %d ratings pressed, each exactly once in the journal; %d pad events", rounds, len(pressed), len(devEvents))
}
