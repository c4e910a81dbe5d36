package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// harness runs halld as its own process, as systemd would: a config file, a
// NOTIFY_SOCKET to time READY=1, a log file.
type harness struct {
	dir, bin, cfgPath, addr string
	notify                  *net.UnixConn
	sock                    string
	logf                    *os.File
}

func newHarness(bin string) (*harness, error) {
	dir, err := os.MkdirTemp("", "halld-bench")
	if err != nil {
		return nil, err
	}
	h := &harness{dir: dir, bin: bin, cfgPath: filepath.Join(dir, "devices.yaml"), sock: filepath.Join(dir, "notify.sock")}
	if h.bin == "" {
		h.bin = filepath.Join(dir, "halld")
		cmd := exec.Command("go", "build", "-o", h.bin, "./daemon")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build: %v\n%s", err, out)
		}
	}
	if h.notify, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: h.sock, Net: "unixgram"}); err != nil {
		return nil, err
	}
	if h.logf, err = os.Create(filepath.Join(dir, "halld.log")); err != nil {
		return nil, err
	}
	if h.addr, err = freeAddr(); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *harness) path(name string) string { return filepath.Join(h.dir, name) }

func (h *harness) writeConfig(cfg string) error { return os.WriteFile(h.cfgPath, []byte(cfg), 0o644) }

// start runs halld and returns once it has sent READY=1, with the time it took.
func (h *harness) start() (*exec.Cmd, time.Duration, error) {
	cmd := exec.Command(h.bin, "run", "-config", h.cfgPath)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+h.sock)
	if p := os.Getenv("BENCH_PPROF"); p != "" {
		cmd.Env = append(cmd.Env, "HALLD_PPROF="+p) // profile halld during the run
	}
	cmd.Stdout, cmd.Stderr = h.logf, h.logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	h.notify.SetReadDeadline(time.Now().Add(60 * time.Second))
	buf := make([]byte, 512)
	for {
		n, err := h.notify.Read(buf)
		if err != nil {
			b, _ := os.ReadFile(h.logf.Name())
			cmd.Process.Kill()
			return nil, 0, fmt.Errorf("no READY=1: %v\n%s", err, b)
		}
		if bytes.Contains(buf[:n], []byte("READY=1")) {
			return cmd, time.Since(start), nil
		}
	}
}

func (h *harness) close() {
	h.notify.Close()
	h.logf.Close()
	os.RemoveAll(h.dir)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func procMem(pid int) (rss, hwm float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb float64
		if _, err := fmt.Sscanf(line, "VmRSS: %f kB", &kb); err == nil {
			rss = kb / 1024
		}
		if _, err := fmt.Sscanf(line, "VmHWM: %f kB", &kb); err == nil {
			hwm = kb / 1024
		}
	}
	return
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := (len(d)*p + 99) / 100
	i = min(max(i-1, 0), len(d)-1)
	return d[i].Round(10 * time.Microsecond)
}
