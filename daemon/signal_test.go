package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"halld/internal/ptytest"
)

// The first signal cancels the context; a second exits at once with
// 128+signal. (SIGUSR1 stands in for SIGTERM so the test process survives.)
func TestSecondSignalExitsAtOnce(t *testing.T) {
	exited := make(chan int, 1)
	ctx, stop := stopOnSignal(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)),
		func(code int) { exited <- code }, syscall.SIGUSR1)
	defer stop()
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
		t.Fatal("first signal did not start the stop")
	}
	select {
	case code := <-exited:
		t.Fatalf("first signal exited with %d", code)
	case <-time.After(50 * time.Millisecond):
	}
	sent := time.Now()
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	select {
	case code := <-exited:
		if code != 128+int(syscall.SIGUSR1) {
			t.Fatalf("exit code %d", code)
		}
		t.Logf("second signal: exit after %v", time.Since(sent))
	case <-time.After(time.Second):
		t.Fatal("second signal did not exit")
	}
}

const stuckYAML = `
hall:
  id: stuck-hall
  name: 测试大厅
  timezone: Asia/Shanghai
  opening_hours: [{days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}]
http:
  listen: %s
storage:
  dir: %s
areas:
  - {id: self-24h, name: 24小时自助服务区, open_24h: true}
services:
  - {id: s1, prefix: A, name: 自助一, area: self-24h, max_number: 9999, materials: [营业执照副本复印件（加盖公章）, 法定代表人身份证明, 公司章程, 股东身份证件,
      全体股东签署的公司登记申请书, 公司住所使用证明（房屋租赁合同及产权证明）, 经办人身份证件及授权委托书, 企业名称自主申报告知书]}
devices:
  - {id: kiosk-1, kind: kiosk, area: self-24h}
  - {id: printer-1, kind: ticket_printer, area: self-24h, serial: {port: %s}, printer: {poll_interval: 200ms}}
`

type devCounters struct {
	Connects      int `json:"connects"`
	WriteTimeouts int `json:"write_timeouts"`
}

func printerCounters(t *testing.T, addr string) (devCounters, string) {
	resp, err := http.Get("http://" + addr + "/api/v1/devices")
	if err != nil {
		return devCounters{}, ""
	}
	defer resp.Body.Close()
	var v struct {
		Devices []struct {
			ID       string      `json:"id"`
			Reason   string      `json:"reason"`
			Counters devCounters `json:"counters"`
		} `json:"devices"`
	}
	json.NewDecoder(resp.Body).Decode(&v)
	for _, d := range v.Devices {
		if d.ID == "printer-1" {
			return d.Counters, d.Reason
		}
	}
	return devCounters{}, ""
}

// stuckHalld runs halld with a printer that takes no data (a pty nobody
// reads, its buffer full), and returns once the
// printer has been dropped for a write timeout and reconnected: its new
// connection is then stuck writing its first status poll.
func stuckHalld(t *testing.T, dir string) (cmd *exec.Cmd, logPath string) {
	t.Helper()
	vp := ptytest.DeviceAt(t, filepath.Join(dir, "printer-1"), func(ctx context.Context, rw io.ReadWriter) error {
		<-ctx.Done()
		return nil
	})
	// Fill the line before halld opens it: every write halld makes stalls.
	fd, err := syscall.Open(vp.Path(), syscall.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The kernel frees some room a moment after a pty first fills: write
	// until a whole second passes without room.
	filled := 0
	for last := time.Now(); time.Since(last) < time.Second; {
		n, _ := syscall.Write(fd, make([]byte, 1024))
		if n > 0 {
			filled += n
			last = time.Now()
			continue
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Close(fd)
	t.Logf("%d bytes wait in the printer's pty", filled)
	addr := freeAddr(t)
	cfgPath := filepath.Join(dir, "devices.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(stuckYAML, addr, filepath.Join(dir, "data"), vp.Path())), 0o644)
	logPath = filepath.Join(dir, "halld.log")
	logf, _ := os.Create(logPath)
	t.Cleanup(func() { logf.Close() })
	cmd = startBinary(t, cfgPath, addr, logf)
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for c, _ := printerCounters(t, addr); c.WriteTimeouts == 0; c, _ = printerCounters(t, addr) {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("printer never timed out writing; log:\n%s", tail(b, 3000))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Each write timeout ended one connection; one more connection than
	// timeouts is the reopen. (Read from one snapshot: with full jitter the
	// reopen can follow the timeout within a millisecond, before a second
	// look at the counters.)
	for c, _ := printerCounters(t, addr); c.Connects <= c.WriteTimeouts; c, _ = printerCounters(t, addr) {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			_, reason := printerCounters(t, addr)
			t.Fatalf("printer never reconnected (counters %+v, state reason %q); log:\n%s", c, reason, tail(b, 4000))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cmd, logPath
}

func waitExit(cmd *exec.Cmd, d time.Duration) (int, bool) {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), true
		}
		return 0, true
	case <-time.After(d):
		return 0, false
	}
}

// SIGTERM while a printer takes no data: halld stops cleanly, in bounded time.
func TestTermWithStuckPrinterIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real halld")
	}
	cmd, logPath := stuckHalld(t, t.TempDir())
	sent := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	code, ok := waitExit(cmd, 10*time.Second)
	b, _ := os.ReadFile(logPath)
	if !ok {
		t.Fatalf("halld still running 10 s after SIGTERM with a stuck printer; log:\n%s", tail(b, 3000))
	}
	took := time.Since(sent)
	t.Logf("SIGTERM with a stuck printer: exit %d after %v", code, took)
	if code != 0 || took > 7*time.Second {
		t.Fatalf("exit %d after %v; log:\n%s", code, took, tail(b, 3000))
	}
	if !strings.Contains(string(b), "halld stopped") {
		t.Fatalf("no clean stop in the log:\n%s", tail(b, 3000))
	}
}

// A second SIGTERM while halld stops exits at once, non-zero.
func TestSecondTermExitsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real halld")
	}
	cmd, logPath := stuckHalld(t, t.TempDir())
	cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(100 * time.Millisecond)
	sent := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	code, ok := waitExit(cmd, 5*time.Second)
	b, _ := os.ReadFile(logPath)
	if !ok {
		t.Fatalf("halld ignored a second SIGTERM; log:\n%s", tail(b, 3000))
	}
	took := time.Since(sent)
	t.Logf("second SIGTERM: exit %d after %v", code, took)
	if code != 128+int(syscall.SIGTERM) || took > 500*time.Millisecond {
		t.Fatalf("second SIGTERM: exit %d after %v; log:\n%s", code, took, tail(b, 3000))
	}
	if !strings.Contains(string(b), "second signal") {
		t.Fatalf("the forced exit is not logged:\n%s", tail(b, 3000))
	}
}
