package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	pprof                   string // HALLD_PPROF for halld, when set (a soak reads the heap after a GC)
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
	} else if h.pprof != "" {
		cmd.Env = append(cmd.Env, "HALLD_PPROF="+h.pprof)
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
	if os.Getenv("BENCH_KEEP") != "" {
		fmt.Fprintln(os.Stderr, "bench: kept", h.dir)
		return
	}
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

// fdCount is the number of open file descriptors of a process.
func fdCount(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(ents)
}

// scrapeMetric reads one unlabelled sample from halld's /metrics.
func scrapeMetric(addr, name string) (float64, bool) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == name {
			v, err := strconv.ParseFloat(f[1], 64)
			return v, err == nil
		}
	}
	return 0, false
}

// logSummary counts halld's warnings and errors by message.
func logSummary(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	counts := map[string]int{}
	var order []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.Contains(l, "level=WARN") && !strings.Contains(l, "level=ERROR") {
			continue
		}
		msg := l
		if i := strings.Index(l, "msg="); i >= 0 {
			msg = l[i+4:]
			if strings.HasPrefix(msg, `"`) {
				if j := strings.Index(msg[1:], `"`); j >= 0 {
					msg = msg[1 : j+1]
				}
			} else if j := strings.IndexByte(msg, ' '); j >= 0 {
				msg = msg[:j]
			}
		}
		if strings.Contains(l, "level=ERROR") {
			msg = "ERROR " + msg
		}
		if counts[msg] == 0 {
			order = append(order, msg)
		}
		counts[msg]++
	}
	if len(order) == 0 {
		return "no warnings or errors"
	}
	var parts []string
	for _, m := range order {
		parts = append(parts, fmt.Sprintf("%s ×%d", m, counts[m]))
	}
	return strings.Join(parts, "; ")
}

// heapAfterGC is halld's live heap in MiB: its pprof heap endpoint with gc=1
// runs a collection first, so garbage not yet collected does not count.
func heapAfterGC(pprofAddr string) (float64, error) {
	resp, err := http.Get("http://" + pprofAddr + "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# HeapAlloc = "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return n / (1 << 20), err
		}
	}
	return 0, fmt.Errorf("no HeapAlloc in the heap profile (%v)", sc.Err())
}
