package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"halld/daemon/hall"
)

// TestMeasurePhoneStreams measures N idle phones on the phone live socket
// and, for comparison, on the public stream: memory and goroutines per
// connection, CPU while idle, and the cost of one event's fan-out (a call
// moves every waiting phone's view). Not a pass/fail test: it runs only
// with HALLD_MEASURE=1 and logs the numbers for BENCHMARKS.md:
//
//	HALLD_MEASURE=1 go test -count=1 -run TestMeasurePhoneStreams -v ./daemon/web/
//
// The clients run in the same process, so the CPU figures include their
// reading (an upper bound for halld's share).
func TestMeasurePhoneStreams(t *testing.T) {
	if os.Getenv("HALLD_MEASURE") != "1" {
		t.Skip("set HALLD_MEASURE=1 to measure")
	}
	n := 500
	for _, kind := range []string{"phone", "public"} {
		t.Run(kind, func(t *testing.T) { measureStreams(t, kind, n) })
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

func measureStreams(t *testing.T, kind string, n int) {
	p := newPhoneHall(t)
	// The guest Wi-Fi: off loopback, no token (the public projection).
	guest := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = "192.168.20.7:" + strings.Split(r.RemoteAddr, ":")[1]
		p.s.ServeHTTP(w, r)
	})
	p.cfg.Phone.AddressBurst, p.cfg.Phone.AddressPerMinute = 100000, 600000
	p.s.phone().limit.cfg = p.cfg.Phone
	srv := httptest.NewServer(guest)
	t.Cleanup(srv.Close)
	p.must(hall.SignIn{Window: "w1", Staff: "s1"})
	tokens := make([]string, n+20)
	for i := range tokens {
		_, tokens[i] = p.issue("")
	}
	base := "ws" + strings.TrimPrefix(srv.URL, "http")
	dialer := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 256}
	hdr := http.Header{"Host": {"127.0.0.1:8080"}}
	_ = hdr
	var frames, bytesIn atomic.Int64
	g0, h0 := runtime.NumGoroutine(), heap()
	conns := make([]*websocket.Conn, 0, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		url := base + "/api/v1/stream"
		if kind == "phone" {
			url = base + "/api/v1/phone/" + tokens[20+i] + "/live" // the last n: all waiting behind the calls
		}
		c, resp, err := dialer.Dial(url, nil)
		if err != nil {
			code := 0
			if resp != nil {
				code = resp.StatusCode
			}
			t.Fatalf("dial %d: %v (%d)", i, err, code)
		}
		conns = append(conns, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, msg, err := c.ReadMessage()
				if err != nil {
					return
				}
				frames.Add(1)
				bytesIn.Add(int64(len(msg)))
			}
		}()
	}
	for frames.Load() < int64(n) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second) // the hub's first pass
	first := bytesIn.Load()
	clientG := n // one reading goroutine per client in this process
	g1, h1 := runtime.NumGoroutine(), heap()
	t.Logf("%s: %d idle connections: %.1f KB heap+stack each (server and client sides), %.1f goroutines each on the server; first message %.0f bytes each",
		kind, n, float64(h1-h0)/float64(n)/1024, float64(g1-g0-clientG)/float64(n), float64(first)/float64(n))

	c0 := cpuTime()
	time.Sleep(10 * time.Second)
	t.Logf("%s: idle CPU with %d connections: %.2f%% of a core", kind, n, float64(cpuTime()-c0)/float64(10*time.Second)*100)

	// Fan-out: each call moves every phone one place.
	const events = 10
	f0, b0, c1 := frames.Load(), bytesIn.Load(), cpuTime()
	var lat []time.Duration
	for i := 0; i < events; i++ {
		start := time.Now()
		before := frames.Load()
		p.must(hall.CallNext{Window: "w1"})
		want := int64(n) // every phone's view changes; every stream client gets the event
		for frames.Load()-before < want {
			if time.Since(start) > 10*time.Second {
				t.Fatalf("event %d: %d of %d frames", i, frames.Load()-before, want)
			}
			time.Sleep(time.Millisecond)
		}
		lat = append(lat, time.Since(start))
		p.must(hall.Finish{Window: "w1"})
		time.Sleep(400 * time.Millisecond)
	}
	cpu := cpuTime() - c1
	var worst time.Duration
	var sum time.Duration
	for _, d := range lat {
		sum += d
		worst = max(worst, d)
	}
	t.Logf("%s: %d calls (each + a finish) to %d connections: %d frames, %.0f bytes per frame; call → last client %v on average, %v worst; CPU %.1f ms per call+finish (%.0f µs per connection)",
		kind, events, n, frames.Load()-f0, float64(bytesIn.Load()-b0)/float64(frames.Load()-f0),
		(sum / events).Round(time.Millisecond), worst.Round(time.Millisecond),
		float64(cpu)/float64(events)/1e6, float64(cpu)/float64(events)/float64(n)/1e3)
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
	fmt.Fprint(os.Stderr)
}
