package abuse

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The floods come from a network namespace this test creates, so their
// source address is off loopback, like a host on the hall LAN: a veth pair,
// hostIP on the host side, nsIP inside halld-abuse-<pid>. The /30 is picked
// from the pid inside 10.231.0.0/16 so two runs at once do not collide.
type netns struct {
	name, hostIf, nsIf string
	hostIP, nsIP       string
}

const nsPrefix = "halld-abuse-"

// needNetns skips the test when netns cannot be made (not root, no ip),
// except on CI or with HALLD_REQUIRE_NETNS=1, where it fails.
func needNetns(t *testing.T) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root for ip netns"
	} else if _, err := exec.LookPath("ip"); err != nil {
		why = "needs ip (iproute2) for ip netns"
	} else if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil {
		why = fmt.Sprintf("ip netns unavailable: %v %s", err, out)
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" || os.Getenv("HALLD_REQUIRE_NETNS") == "1" {
		t.Fatalf("%s (CI=true or HALLD_REQUIRE_NETNS=1: a flood test may not skip)", why)
	}
	t.Skipf("%s; the flood tests need it (run as root, or set HALLD_REQUIRE_NETNS=1 to make this a failure)", why)
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

var (
	staleNS = regexp.MustCompile(`^` + nsPrefix + `(\d+)\b`)
	staleIf = regexp.MustCompile(`^\d+: (hab(\d+))[@:]`)
)

func alive(pid int) bool {
	if pid == os.Getpid() {
		return false // ours, left by an earlier test of this run: remove it
	}
	return syscall.Kill(pid, 0) == nil || errors.Is(syscall.Kill(pid, 0), syscall.EPERM)
}

// removeStale deletes namespaces and veths an earlier run of this suite left
// behind (its pid is gone), and ours.
func removeStale() {
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if m := staleNS.FindStringSubmatch(line); m != nil {
				if pid, _ := strconv.Atoi(m[1]); !alive(pid) {
					exec.Command("ip", "netns", "del", nsPrefix+m[1]).Run()
				}
			}
		}
	}
	if out, err := exec.Command("ip", "-o", "link", "show").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if m := staleIf.FindStringSubmatch(line); m != nil {
				if pid, _ := strconv.Atoi(m[2]); !alive(pid) {
					exec.Command("ip", "link", "del", m[1]).Run()
				}
			}
		}
	}
}

func newNetns(t *testing.T) *netns {
	t.Helper()
	needNetns(t)
	removeStale()
	pid := os.Getpid()
	i := pid % 16384
	base := fmt.Sprintf("10.231.%d.", i/64)
	n := &netns{
		name: nsPrefix + strconv.Itoa(pid), hostIf: "hab" + strconv.Itoa(pid), nsIf: "hab" + strconv.Itoa(pid) + "p",
		hostIP: base + strconv.Itoa((i%64)*4+1), nsIP: base + strconv.Itoa((i%64)*4+2),
	}
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", n.name).Run()
		exec.Command("ip", "link", "del", n.hostIf).Run()
	})
	for _, args := range [][]string{
		{"netns", "add", n.name},
		{"link", "add", n.hostIf, "type", "veth", "peer", "name", n.nsIf},
		{"link", "set", n.nsIf, "netns", n.name},
		{"addr", "add", n.hostIP + "/30", "dev", n.hostIf},
		{"link", "set", n.hostIf, "up"},
		{"-n", n.name, "addr", "add", n.nsIP + "/30", "dev", n.nsIf},
		{"-n", n.name, "link", "set", n.nsIf, "up"},
		{"-n", n.name, "link", "set", "lo", "up"},
	} {
		if err := ipCmd(args...); err != nil {
			t.Fatalf("netns setup: %v", err)
		}
	}
	return n
}

// sources gives the namespace k more addresses (10.232.x.0/26, routed to it
// from the host), so a flood can come from many LAN hosts at once.
func (n *netns) sources(t *testing.T, k int) []string {
	t.Helper()
	if k > 62 {
		t.Fatalf("at most 62 sources, not %d", k)
	}
	base := fmt.Sprintf("10.232.%d.", os.Getpid()%256)
	var out []string
	for i := 1; i <= k; i++ {
		ip := base + strconv.Itoa(i)
		if err := ipCmd("-n", n.name, "addr", "add", ip+"/32", "dev", n.nsIf); err != nil {
			t.Fatalf("netns source %s: %v", ip, err)
		}
		out = append(out, ip)
	}
	if err := ipCmd("route", "add", base+"0/26", "via", n.nsIP, "dev", n.hostIf); err != nil {
		t.Fatalf("route to the sources: %v", err)
	}
	t.Cleanup(func() { exec.Command("ip", "route", "del", base+"0/26").Run() })
	return out
}

// The helper is this test binary re-executed under `ip netns exec`, told by
// environment variables what to do; it answers in JSON lines on stdout.
const helperEnv = "HALLD_ABUSE_HELPER"

type helperProc struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	errb  *strings.Builder
}

// helper starts the client inside the namespace.
func (n *netns) helper(t *testing.T, env map[string]string) *helperProc {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", n.name, self)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	p := &helperProc{t: t, cmd: cmd, stdin: stdin, lines: make(chan string, 16), errb: &strings.Builder{}}
	cmd.Stderr = &lockedWriter{b: p.errb}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return p
}

type lockedWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.b.Len() < 64<<10 {
		w.b.Write(p)
	}
	return len(p), nil
}

// next reads the helper's next JSON line into v.
func (p *helperProc) next(v any, limit time.Duration) {
	p.t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			p.t.Fatalf("netns helper ended without answering; stderr:\n%s", p.errb.String())
		}
		if err := json.Unmarshal([]byte(line), v); err != nil {
			p.t.Fatalf("netns helper said %.300q: %v", line, err)
		}
	case <-time.After(limit):
		p.t.Fatalf("netns helper silent for %v; stderr:\n%s", limit, p.errb.String())
	}
}

// release tells an idle flood to close its connections and reads its last word.
func (p *helperProc) release(v any) {
	p.t.Helper()
	p.stdin.Close()
	p.next(v, 20*time.Second)
}

// inNetns runs a one-shot helper mode and decodes its one answer.
func (n *netns) inNetns(t *testing.T, env map[string]string, v any) {
	t.Helper()
	n.helper(t, env).next(v, 30*time.Second)
}

// floodReady is the idle flood's first line: connections open and held.
type floodReady struct {
	Opened    int    `json:"opened"`
	Failed    int    `json:"failed"`
	Responses int    `json:"responses"` // keep-alive requests answered before idling
	TookMS    int64  `json:"took_ms"`
	FirstErr  string `json:"first_err"`
}

// floodDone is its last line.
type floodDone struct {
	Held         int   `json:"held"`           // connections still open when released
	ClosedByPeer int   `json:"closed_by_peer"` // connections halld closed during the hold
	HeldMS       int64 `json:"held_ms"`
}

// httpResult is one request made from the namespace.
type httpResult struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
	Err    string `json:"err"`
}

// wsResult is one WebSocket read from the namespace.
type wsResult struct {
	Status   int      `json:"status"` // of the upgrade answer (101 when upgraded)
	Err      string   `json:"err"`
	Body     string   `json:"body"` // of a refused upgrade
	Messages []string `json:"messages"`
}

func runHelper(mode string) int {
	raiseNofile()
	var out any
	switch mode {
	case "idle":
		return helperIdle()
	case "http":
		out = helperHTTP()
	case "ws":
		out = helperWS()
	default:
		fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
		return 2
	}
	json.NewEncoder(os.Stdout).Encode(out)
	return 0
}

func raiseNofile() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return def
}

// helperIdle opens HALLD_ABUSE_NREQ connections that each send one
// keep-alive request and read its answer, then HALLD_ABUSE_N that send
// nothing, to HALLD_ABUSE_ADDR; holds them all until stdin closes (or
// HALLD_ABUSE_HOLD passes), then closes them.
func helperIdle() int {
	addr := os.Getenv("HALLD_ABUSE_ADDR")
	nreq, nbare := envInt("HALLD_ABUSE_NREQ", 0), envInt("HALLD_ABUSE_N", 0)
	hold, err := time.ParseDuration(os.Getenv("HALLD_ABUSE_HOLD"))
	if err != nil {
		hold = 60 * time.Second
	}
	var srcs []string // HALLD_ABUSE_SRC: source addresses, dealt round
	if v := os.Getenv("HALLD_ABUSE_SRC"); v != "" {
		srcs = strings.Split(v, ",")
	}
	var next atomic.Int64
	start := time.Now()
	var (
		mu        sync.Mutex
		conns     []net.Conn
		failed    int
		firstErr  string
		responses atomic.Int64
		closed    atomic.Int64
	)
	open := func(n int, request bool) {
		jobs := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 100; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range jobs {
					d := net.Dialer{Timeout: 3 * time.Second}
					if len(srcs) > 0 {
						d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(srcs[int(next.Add(1))%len(srcs)])}
					}
					c, err := d.Dial("tcp", addr)
					if err != nil {
						mu.Lock()
						failed++
						if firstErr == "" {
							firstErr = err.Error()
						}
						mu.Unlock()
						continue
					}
					if request {
						c.SetDeadline(time.Now().Add(5 * time.Second))
						fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: keep-alive\r\n\r\n", addr)
						if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							responses.Add(1)
						}
						c.SetDeadline(time.Time{})
					}
					mu.Lock()
					conns = append(conns, c)
					mu.Unlock()
				}
			}()
		}
		for i := 0; i < n; i++ {
			jobs <- struct{}{}
		}
		close(jobs)
		wg.Wait()
	}
	open(nreq, true)
	open(nbare, false)
	// Notice connections halld closes while they are held.
	for _, c := range conns {
		go func(c net.Conn) {
			buf := make([]byte, 512)
			for {
				if _, err := c.Read(buf); err != nil {
					if !errors.Is(err, net.ErrClosed) {
						closed.Add(1)
					}
					return
				}
			}
		}(c)
	}
	json.NewEncoder(os.Stdout).Encode(floodReady{Opened: len(conns), Failed: failed, Responses: int(responses.Load()),
		TookMS: time.Since(start).Milliseconds(), FirstErr: firstErr})
	held := time.Now()
	released := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(released) }()
	select {
	case <-released:
	case <-time.After(hold):
	}
	n := len(conns) - int(closed.Load())
	byPeer := int(closed.Load())
	for _, c := range conns {
		c.Close()
	}
	json.NewEncoder(os.Stdout).Encode(floodDone{Held: n, ClosedByPeer: byPeer, HeldMS: time.Since(held).Milliseconds()})
	return 0
}

// helperHTTP makes the requests in HALLD_ABUSE_REQS (JSON: [{method, url,
// headers, body}]) one after another.
func helperHTTP() []httpResult {
	var reqs []struct {
		Method, URL, Body string
		Headers           map[string]string
	}
	json.Unmarshal([]byte(os.Getenv("HALLD_ABUSE_REQS")), &reqs)
	c := &http.Client{Timeout: 10 * time.Second}
	var out []httpResult
	for _, r := range reqs {
		a := do(c, r.Method, r.URL, r.Body, r.Headers)
		res := httpResult{Status: a.status, Body: string(a.body)}
		if a.err != nil {
			res.Err = a.err.Error()
		}
		out = append(out, res)
	}
	return out
}

// helperWS opens HALLD_ABUSE_URL as a WebSocket and collects the messages
// of HALLD_ABUSE_HOLD.
func helperWS() wsResult {
	hold, err := time.ParseDuration(os.Getenv("HALLD_ABUSE_HOLD"))
	if err != nil {
		hold = 3 * time.Second
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.Dial(os.Getenv("HALLD_ABUSE_URL"), nil)
	var out wsResult
	if resp != nil {
		out.Status = resp.StatusCode
		if resp.Body != nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			out.Body = string(b)
		}
	}
	if err != nil {
		out.Err = err.Error()
		return out
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(hold))
	for {
		_, m, err := conn.ReadMessage()
		if err != nil {
			break
		}
		out.Messages = append(out.Messages, string(m))
	}
	return out
}
