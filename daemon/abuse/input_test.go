package abuse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"halld/drivers/terminal/termsim"
)

// TestAbuseAlertFlood: one terminal with valid credentials publishes 3,000
// fault events. The hall's alerts must stay one per device and cause, with
// a count, and the snapshot small; the hall still issues tickets.
func TestAbuseAlertFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real halld")
	}
	broker := "127.0.0.1:" + freePort(t)
	h := startHall(t, hallOpts{
		mqtt:    fmt.Sprintf("mqtt: {broker: {embedded: true, listen: %q}}", broker),
		devices: terminalYAML(t),
	})
	term := termsim.New("tcp://"+broker, "abuse-hall", "term-1", termPassword, termsim.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := term.Start(ctx)
	cancel()
	if err != nil {
		t.Fatalf("term-1 cannot log in: %v", err)
	}
	t.Cleanup(func() { term.Stop() })
	snap0, size0 := h.snapshot()
	before := map[string]bool{}
	for _, a := range alertsOf(snap0) {
		before[fmt.Sprint(a["alert_id"])] = true
	}

	const faults = 3000
	codes := []string{"E101", "E202"} // two causes
	var sent atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < faults; i += 8 {
				code := codes[i%2]
				if _, err := term.Fault(code, "打印机卡纸 "+code); err != nil {
					firstErr.CompareAndSwap(nil, err.Error())
					return
				}
				sent.Add(1)
			}
		}(w)
	}
	wg.Wait()
	published := time.Since(start)
	if e := firstErr.Load(); e != nil {
		t.Logf("the terminal's publishing stopped: %v (halld may have cut it off)", e)
	}
	// Let halld digest: until the journal stops moving for 1.5 s.
	var seq float64 = -1
	var still time.Time
	digest, _ := waitFor(60*time.Second, func() bool {
		snap, _ := h.snapshot()
		s, _ := snap["seq"].(float64)
		if s != seq {
			seq, still = s, time.Now()
			return false
		}
		return time.Since(still) > 1500*time.Millisecond
	})
	snap, size := h.snapshot()
	// Every alert the flood opened, whatever its kind (a terminal_fault per
	// cause, a "too many" alert of the device…), counts.
	var faultAlerts, maxCount int
	var counted float64
	for _, m := range alertsOf(snap) {
		if before[fmt.Sprint(m["alert_id"])] {
			continue
		}
		faultAlerts++
		c, ok := m["count"].(float64)
		if !ok {
			c = 1 // absent: once
		}
		counted += c
		if int(c) > maxCount {
			maxCount = int(c)
		}
	}
	if faultAlerts == 0 {
		t.Errorf("no alert after %d faults: the flood raised nothing", sent.Load())
	}
	if faultAlerts > len(codes) {
		t.Errorf("%d alerts opened by %d faults of %d causes from one terminal; want one per device and cause", faultAlerts, sent.Load(), len(codes))
	}
	if faultAlerts > 0 && maxCount <= 1 {
		t.Errorf("the flood's alerts carry no count of repeats (\"count\"): %d alerts, counts sum %v", faultAlerts, counted)
	}
	if size > size0+16<<10 {
		t.Errorf("the snapshot grew from %d to %d bytes with the flood; want it small", size0, size)
	}
	tk := h.ticket(5 * time.Second)
	if !tk.okPrinted() {
		t.Errorf("after the alert flood a ticket: %v", tk.answer)
	}
	reliability(t, "alert-flood", "faults", sent.Load(), "published", ms(published), "digested", ms(digest+published),
		"alerts", faultAlerts, "max_count", maxCount, "count_sum", counted, "snapshot_bytes_before", size0, "snapshot_bytes_after", size,
		"ticket", fmt.Sprintf("%d/%s", tk.status, tk.PrintStatus))
}

// TestAbuseAliasBomb: a devices.yaml anchoring a 60 KB string and aliasing
// it 20,000 times (1.2 GB once expanded, from a 200 KB file). `halld check`
// must refuse it quickly with file:line, and `halld run` must refuse to
// start on it.
func TestAbuseAliasBomb(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "devices.yaml")
	var b strings.Builder
	b.WriteString(`hall:
  id: bomb-hall
  name: 测试大厅
  always_open: true
  opening_hours: [{days: [mon], open: "09:00", close: "17:00"}]
storage: {dir: "` + filepath.Join(dir, "data") + `"}
http: {listen: "127.0.0.1:` + freePort(t) + `"}
x-big: &big "`)
	b.WriteString(strings.Repeat("材", 20000)) // 60 KB of UTF-8
	b.WriteString("\"\nservices:\n  - id: s1\n    prefix: A\n    name: 综合业务\n    materials:\n")
	for i := 0; i < 20000; i++ {
		b.WriteString("      - *big\n")
	}
	b.WriteString("devices:\n  - {id: printer-1, kind: ticket_printer, simulate: true}\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	cmd := exec.Command(halldBin, "check", path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Start()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var checkErr error
	select {
	case checkErr = <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		checkErr = errors.New("still running after 20 s")
		<-done
	}
	checkTook := time.Since(start)
	var checkRSS int64
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			checkRSS = ru.Maxrss
		}
	}
	where := regexp.MustCompile(regexp.QuoteMeta(path) + `:\d+`)
	if checkErr == nil {
		t.Errorf("halld check accepted the alias bomb (%v, %d KiB max RSS): %.300s", checkTook, checkRSS, out.String())
	} else if !where.MatchString(out.String()) {
		t.Errorf("halld check refused the alias bomb (%v) but its message names no file:line: %.500s", checkErr, out.String())
	}

	// halld run must refuse it too, and not become a 1.2 GB process first.
	start = time.Now()
	run := exec.Command(halldBin, "run", "-config", path)
	var runOut bytes.Buffer
	run.Stdout, run.Stderr = &runOut, &runOut
	run.Start()
	rdone := make(chan error, 1)
	go func() { rdone <- run.Wait() }()
	var runErr error
	exited := true
	select {
	case runErr = <-rdone:
	case <-time.After(10 * time.Second):
		exited = false
		run.Process.Kill()
		<-rdone
	}
	runTook := time.Since(start)
	var runRSS int64
	if run.ProcessState != nil {
		if ru, ok := run.ProcessState.SysUsage().(*syscall.Rusage); ok {
			runRSS = ru.Maxrss
		}
	}
	switch {
	case !exited:
		t.Errorf("halld run started on the alias bomb (still running after 10 s, %d KiB max RSS)", runRSS)
	case runErr == nil:
		t.Errorf("halld run exited 0 on the alias bomb: %.300s", runOut.String())
	}
	reliability(t, "alias-bomb", "file_bytes", b.Len(), "check_exit", exitCode(checkErr), "check_took", ms(checkTook),
		"check_maxrss_kb", checkRSS, "run_exit", exitCode(runErr), "run_exited", exited, "run_took", ms(runTook), "run_maxrss_kb", runRSS)
}

func exitCode(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "0"
	case errors.As(err, &ee):
		return fmt.Sprint(ee.ExitCode())
	}
	return "none"
}

func alertsOf(snap map[string]any) []map[string]any {
	data, _ := snap["data"].(map[string]any)
	as, _ := data["alerts"].([]any)
	var out []map[string]any
	for _, a := range as {
		if m, ok := a.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
