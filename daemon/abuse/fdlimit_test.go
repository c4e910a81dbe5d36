package abuse

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestAbuseTooFewDescriptorsIsNotReady: a hall with more serial devices than
// the descriptors halld was given (a unit with a low LimitNOFILE). Some
// ports cannot open; /readyz must say so (503, naming them) rather than
// "ready", and halld must keep serving what did open. On the code before,
// /readyz said ready while 37 of 350 ports failed with "too many open files".
func TestAbuseTooFewDescriptorsIsNotReady(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real halld")
	}
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prlimit (util-linux) missing on CI")
		}
		t.Skip("no prlimit")
	}
	// Real ports (ptys the test holds), as a hall's USB adapters would be:
	// halld opens each itself, so it is halld's descriptors that run out.
	var devs strings.Builder
	const extra = 60
	for i := 2; i <= extra+1; i++ {
		master, slave, err := pty.Open()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { master.Close() })
		fmt.Fprintf(&devs, "  - {id: printer-%d, kind: ticket_printer, area: front, serial: {port: %s, baud: 9600}}\n", i, slave.Name())
		slave.Close()
	}
	h := writeHall(t, hallOpts{devices: devs.String()})
	logf, err := os.Create(h.logPath)
	if err != nil {
		t.Fatal(err)
	}
	// Soft and hard alike, so halld cannot raise it: each simulated printer
	// takes a pty pair and the port's own descriptors.
	cmd := exec.Command(prlimit, "--nofile=120:120", halldBin, "run", "-config", h.cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		if t.Failed() {
			b, _ := os.ReadFile(h.logPath)
			t.Logf("halld log ends:\n%s", tail(b, 3000))
		}
	})

	type ready struct {
		Ready   bool     `json:"ready"`
		Reasons []string `json:"reasons"`
		Devices int      `json:"devices"`
		Down    []struct {
			ID, State, Reason string
		} `json:"devices_not_ready"`
	}
	var last ready
	var status int
	c := &http.Client{Timeout: time.Second}
	took, ok := waitFor(20*time.Second, func() bool {
		resp, err := c.Get(h.url("/readyz"))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		status = resp.StatusCode
		last = ready{}
		json.NewDecoder(resp.Body).Decode(&last)
		for _, r := range last.Reasons {
			if strings.Contains(r, "too many open files") {
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("/readyz never said a device cannot be opened for want of descriptors: %d %+v", status, last)
	}
	if status != http.StatusServiceUnavailable || last.Ready {
		t.Errorf("/readyz %d ready=%v with devices that cannot open", status, last.Ready)
	}
	// Ports open up to the reserve, not none: the reserve is a margin, not a
	// refusal of the hall.
	if len(last.Reasons) >= extra {
		t.Errorf("every port refused (%d reasons): halld opened none of them", len(last.Reasons))
	}
	// What did open still works: the API answers and lists every device.
	resp, err := c.Get(h.url("/api/v1/devices"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("devices API while short of descriptors: %v", err)
	}
	resp.Body.Close()
	reliability(t, "too-few-descriptors", "serial_devices", extra+1, "nofile", 120, "not_ready_devices", len(last.Down),
		"reasons", len(last.Reasons), "noticed", ms(took))
}
