package abuse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// halldBin is the halld under test: built from this tree by TestMain, or
// HALLD_ABUSE_BIN.
var halldBin string

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		// Re-executed inside a network namespace as the attacking client.
		os.Exit(runHelper(mode))
	}
	if b := os.Getenv("HALLD_ABUSE_BIN"); b != "" {
		halldBin = b
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "halld-abuse-bin")
	if err != nil {
		panic(err)
	}
	halldBin = filepath.Join(dir, "halld")
	cmd := exec.Command("go", "build", "-o", halldBin, "halld/daemon")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build halld: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// hallYAML is the hall every attack runs against: always open, one service,
// one window with a named staff member, a kiosk with a simulated ID reader
// and simulated printers. %[1]s http.listen, %[2]s storage.dir, %[3]s extra
// top-level sections (mqtt), %[4]s the kiosk's printers, %[5]s extra devices.
const hallYAML = `
hall:
  id: abuse-hall
  name: 压力测试大厅
  timezone: Asia/Shanghai
  always_open: true
  opening_hours: [{days: [mon], open: "09:00", close: "17:00"}]
http: {listen: "%[1]s"}
storage: {dir: "%[2]s"}
%[3]s
areas:
  - {id: front, name: 前台}
services:
  - {id: s1, prefix: A, name: 综合业务, area: front, max_number: 9999}
windows:
  - {id: w1, number: 1, name: 1号窗口, area: front, services: [{service: s1}]}
staff:
  - {id: "S001", name: ` + secretStaff + `, title: 综合受理员, windows: [w1]}
devices:
  - {id: kiosk-1, kind: kiosk, area: front, kiosk: {printers: [%[4]s], readers: [idreader-1]}}
  - {id: idreader-1, kind: id_reader, area: front, simulate: true}
  - {id: printer-1, kind: ticket_printer, area: front, simulate: true, printer: {poll_interval: 200ms}}
%[5]s`

// Personal data planted by the off-loopback test; none of it may leave the box.
const (
	secretStaff   = "赵保密"
	secretComment = "评论内容机密QX7"
	secretBooking = "BKSECRET7788"
	secretIDNum   = "110101199003077531"
)

type hallOpts struct {
	httpListen string // default 127.0.0.1:<free port>
	mqtt       string // extra top-level YAML
	printers   string // the kiosk's printers; default printer-1
	devices    string // extra device lines
	env        []string
}

type halld struct {
	t       *testing.T
	dir     string
	cfgPath string
	addr    string // loopback host:port of the API
	port    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

// writeHall writes the config and returns the unstarted halld.
func writeHall(t *testing.T, o hallOpts) *halld {
	t.Helper()
	dir := t.TempDir()
	h := &halld{t: t, dir: dir, cfgPath: filepath.Join(dir, "devices.yaml"), logPath: filepath.Join(dir, "halld.log")}
	if o.httpListen == "" {
		o.httpListen = "127.0.0.1:" + freePort(t)
	}
	_, h.port, _ = net.SplitHostPort(o.httpListen)
	h.addr = "127.0.0.1:" + h.port
	if o.printers == "" {
		o.printers = "printer-1"
	}
	y := fmt.Sprintf(hallYAML, o.httpListen, filepath.Join(dir, "data"), o.mqtt, o.printers, o.devices)
	if err := os.WriteFile(h.cfgPath, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return h
}

// startHall writes the config and starts halld, ready.
func startHall(t *testing.T, o hallOpts) *halld {
	t.Helper()
	h := writeHall(t, o)
	h.start(o.env)
	return h
}

func (h *halld) start(env []string) {
	t := h.t
	t.Helper()
	logf, err := os.Create(h.logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(halldBin, "run", "-config", h.cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h.cmd, h.done = cmd, make(chan struct{})
	go func() { h.waitErr = cmd.Wait(); logf.Close(); close(h.done) }()
	t.Cleanup(func() {
		select {
		case <-h.done:
		default:
			cmd.Process.Signal(syscall.SIGKILL)
			<-h.done
		}
		if t.Failed() {
			b, _ := os.ReadFile(h.logPath)
			t.Logf("halld log ends:\n%s", tail(b, 3000))
		}
	})
	c := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(30 * time.Millisecond) {
		select {
		case <-h.done:
			b, _ := os.ReadFile(h.logPath)
			t.Fatalf("halld exited at start (%v):\n%s", h.waitErr, tail(b, 3000))
		default:
		}
		if resp, err := c.Get(h.url("/readyz")); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
	}
	// Ready means the API answers; the simulated printer may still be
	// opening. Attacks start once it prints.
	if _, ok := waitFor(10*time.Second, func() bool { st, _ := h.deviceState("printer-1"); return st == "ready" }); !ok {
		st, why := h.deviceState("printer-1")
		t.Fatalf("halld not ready, or printer-1 not ready (%s %s), within 30 s", st, why)
	}
}

func (h *halld) pid() int { return h.cmd.Process.Pid }

func (h *halld) url(path string) string { return "http://" + h.addr + path }

// stop sends SIGTERM and reports how long halld took to exit (false: not
// within limit).
func (h *halld) stop(limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
		return time.Since(start), true
	case <-time.After(limit):
		return time.Since(start), false
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// fresh is a client that opens a new connection for every request: a probe
// must go through halld's accept, not ride an old keep-alive connection.
func fresh(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
}

type answer struct {
	status int
	body   []byte
	took   time.Duration
	err    error
}

func (a answer) String() string {
	if a.err != nil {
		return fmt.Sprintf("error after %v: %v", a.took.Round(time.Millisecond), a.err)
	}
	return fmt.Sprintf("%d after %v: %.300s", a.status, a.took.Round(time.Millisecond), a.body)
}

func do(c *http.Client, method, url string, body string, hdr map[string]string) answer {
	start := time.Now()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return answer{err: err}
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{err: err, took: time.Since(start)}
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return answer{status: resp.StatusCode, body: b, took: time.Since(start), err: err}
}

// ticketResult is a POST /api/v1/tickets answer.
type ticketResult struct {
	answer
	Number, PrintStatus, PrintedBy, PrintError string
}

var ticketSeq struct {
	sync.Mutex
	n int
}

func (h *halld) ticket(timeout time.Duration) ticketResult {
	ticketSeq.Lock()
	ticketSeq.n++
	id := fmt.Sprintf("abuse-%d-%d", os.Getpid(), ticketSeq.n)
	ticketSeq.Unlock()
	a := do(fresh(timeout), "POST", h.url("/api/v1/tickets"), `{"service":"s1","kiosk":"kiosk-1","request_id":"`+id+`"}`, nil)
	r := ticketResult{answer: a}
	var body struct {
		Ticket struct {
			Number      string          `json:"number"`
			PrintStatus string          `json:"print_status"`
			PrintedBy   *string         `json:"printed_by"`
			PrintError  json.RawMessage `json:"print_error"`
		} `json:"ticket"`
	}
	if a.err == nil && json.Unmarshal(a.body, &body) == nil {
		r.Number, r.PrintStatus = body.Ticket.Number, body.Ticket.PrintStatus
		if body.Ticket.PrintedBy != nil {
			r.PrintedBy = *body.Ticket.PrintedBy
		}
		r.PrintError = string(body.Ticket.PrintError)
	}
	return r
}

// okPrinted says whether a ticket was issued (201) and printed.
func (r ticketResult) okPrinted() bool {
	return r.err == nil && r.status == http.StatusCreated && r.PrintStatus == "printed"
}

// post is a loopback JSON write that must succeed (test setup).
func (h *halld) post(path, body string, want ...int) answer {
	h.t.Helper()
	a := do(fresh(10*time.Second), "POST", h.url(path), body, nil)
	if a.err != nil || (len(want) > 0 && !contains(want, a.status)) || (len(want) == 0 && a.status/100 != 2) {
		h.t.Fatalf("POST %s %s: %v", path, body, a)
	}
	return a
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// sampler probes a URL on loopback every interval with fresh connections
// and the given timeout, until stopped.
type sampler struct {
	mu    sync.Mutex
	lat   []time.Duration
	fails []string
	stopc chan struct{}
	done  chan struct{}
}

func sample(url string, every, timeout time.Duration) *sampler {
	s := &sampler{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		c := fresh(timeout)
		for {
			a := do(c, "GET", url, "", nil)
			s.mu.Lock()
			if a.err != nil || a.status != 200 {
				s.fails = append(s.fails, a.String())
				s.lat = append(s.lat, timeout)
			} else {
				s.lat = append(s.lat, a.took)
			}
			s.mu.Unlock()
			select {
			case <-s.stopc:
				return
			case <-time.After(every):
			}
		}
	}()
	return s
}

func (s *sampler) stop() (p99, max time.Duration, n int, fails []string) {
	close(s.stopc)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	l := append([]time.Duration(nil), s.lat...)
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	if len(l) == 0 {
		return 0, 0, 0, s.fails
	}
	i := len(l) * 99 / 100
	if i >= len(l) {
		i = len(l) - 1
	}
	return l[i], l[len(l)-1], len(l), s.fails
}

// waitFor retries f every 50 ms until it is true or limit passes; it returns
// how long it took and whether f became true.
func waitFor(limit time.Duration, f func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if f() {
			return time.Since(start), true
		}
		if time.Since(start) > limit {
			return time.Since(start), false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fdCount is how many files process pid has open.
func fdCount(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(ents)
}

// rssKB is process pid's resident set (VmRSS) in KiB.
func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return -1
}

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// reliability logs one result line in the fixed format RELIABILITY.md is
// built from: RELIABILITY: attack=NAME key=value …
func reliability(t *testing.T, attack string, kv ...any) {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "RELIABILITY: attack=%s", attack)
	for i := 0; i+1 < len(kv); i += 2 {
		v := kv[i+1]
		if d, ok := v.(time.Duration); ok {
			v = d.Round(time.Millisecond)
		}
		fmt.Fprintf(&b, " %v=%v", kv[i], v)
	}
	fmt.Fprintf(&b, " result=%s", map[bool]string{true: "FAIL", false: "pass"}[t.Failed()])
	t.Log(b.String())
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }

// snapshot reads GET /api/v1/snapshot on loopback.
func (h *halld) snapshot() (map[string]any, int) {
	h.t.Helper()
	a := do(fresh(10*time.Second), "GET", h.url("/api/v1/snapshot"), "", nil)
	if a.err != nil || a.status != 200 {
		h.t.Fatalf("snapshot: %v", a)
	}
	var v map[string]any
	if err := json.Unmarshal(a.body, &v); err != nil {
		h.t.Fatalf("snapshot: %v", err)
	}
	return v, len(a.body)
}

// deviceState reads a device's state from GET /api/v1/devices.
func (h *halld) deviceState(id string) (state, reason string) {
	a := do(fresh(5*time.Second), "GET", h.url("/api/v1/devices"), "", nil)
	if a.err != nil || a.status != 200 {
		return "unanswered: " + a.String(), ""
	}
	var v struct {
		Devices []struct{ ID, State, Reason string }
	}
	json.Unmarshal(a.body, &v)
	for _, d := range v.Devices {
		if d.ID == id {
			return d.State, d.Reason
		}
	}
	return "missing", ""
}
