package abuse

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

const termPassword = "abuse-term-1-password"

// terminalYAML configures term-1, a real (not simulated) terminal that logs
// in to the hall broker with the password in its password_file.
func terminalYAML(t *testing.T) string {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "term-1.pass")
	if err := os.WriteFile(pw, []byte(termPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("  - {id: term-1, kind: terminal, area: front, password_file: %q}\n", pw)
}

// connack connects to the hall broker as term-1 and reports how long the
// CONNACK took; limit bounds the attempt.
func connack(broker string, limit time.Duration) (time.Duration, error) {
	o := mqtt.NewClientOptions().AddBroker("tcp://" + broker).SetClientID("term-1").
		SetUsername("term-1").SetPassword(termPassword).SetCleanSession(true).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(limit).SetProtocolVersion(4)
	c := mqtt.NewClient(o)
	start := time.Now()
	tok := c.Connect()
	if !tok.WaitTimeout(limit) {
		go func() { tok.Wait(); c.Disconnect(0) }()
		return time.Since(start), fmt.Errorf("no CONNACK within %v", limit)
	}
	took := time.Since(start)
	if tok.Error() != nil {
		return took, tok.Error()
	}
	c.Disconnect(50)
	return took, nil
}

// TestAbuseBrokerIdleFlood: a LAN host opens 1,100 TCP connections to the
// hall broker and never sends CONNECT, for 10 s. The API must not notice
// (loopback /healthz within 1 s, a ticket issued and printed), and once the
// connections close a terminal logs in within 2 s.
func TestAbuseBrokerIdleFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a real halld")
	}
	ns := newNetns(t)
	broker := ns.hostIP + ":" + freePort(t)
	h := startHall(t, hallOpts{
		mqtt:    fmt.Sprintf("mqtt: {broker: {embedded: true, listen: %q}}", broker),
		devices: terminalYAML(t),
	})
	if took, err := connack(broker, 2*time.Second); err != nil {
		t.Fatalf("before the flood: term-1 cannot log in: %v (%v)", err, took)
	}
	const conns = 1100
	const hold = 10 * time.Second
	fdBase := fdCount(h.pid())
	flood := ns.helper(t, map[string]string{helperEnv: "idle", "HALLD_ABUSE_ADDR": broker,
		"HALLD_ABUSE_N": strconv.Itoa(conns), "HALLD_ABUSE_HOLD": "60s"})
	var ready floodReady
	flood.next(&ready, 60*time.Second)
	t.Logf("flood: %d connections open in %d ms (%d failed: %s)", ready.Opened, ready.TookMS, ready.Failed, ready.FirstErr)
	if ready.Opened < 100 {
		// Refusing at connect is a fair defence, but then some must have
		// reached halld's listener at all, or the test attacked nothing.
		t.Fatalf("the flood opened only %d of %d connections (%s): the test did not reach halld", ready.Opened, conns, ready.FirstErr)
	}
	heldFrom := time.Now()
	s := sample(h.url("/healthz"), 100*time.Millisecond, time.Second)
	time.Sleep(time.Second)
	tk := h.ticket(5 * time.Second)
	if !tk.okPrinted() {
		t.Errorf("during the flood a ticket was not issued and printed: %v (print_status %q, error %s)", tk.answer, tk.PrintStatus, tk.PrintError)
	}
	fdPeak := fdCount(h.pid())
	time.Sleep(time.Until(heldFrom.Add(hold)))
	p99, max, n, fails := s.stop()
	var done floodDone
	flood.release(&done)
	if len(fails) > 0 || max > time.Second {
		t.Errorf("during the flood /healthz failed %d of %d times (p99 %v, max %v); first: %v", len(fails), n, p99, max, first(fails))
	}
	// Recovery: a terminal logs in within 2 s of the flood ending.
	var took time.Duration
	var err error
	attempts := 0
	recovery, ok := waitFor(10*time.Second, func() bool {
		attempts++
		took, err = connack(broker, 2*time.Second)
		return err == nil
	})
	if !ok {
		t.Errorf("after the flood term-1 still cannot log in after %v (%d attempts): %v", recovery, attempts, err)
	} else if attempts > 1 {
		t.Errorf("after the flood term-1 logged in only at attempt %d, %v after the connections closed (want a CONNACK within 2 s)", attempts, recovery)
	}
	reliability(t, "broker-idle-flood", "conns", ready.Opened, "held", ms(hold), "closed_by_halld", done.ClosedByPeer,
		"healthz_p99", ms(p99), "healthz_max", ms(max), "healthz_fail", len(fails),
		"ticket", fmt.Sprintf("%d/%s", tk.status, tk.PrintStatus), "ticket_ms", ms(tk.took),
		"fd_base", fdBase, "fd_peak", fdPeak, "connack", ms(took), "recovery", ms(recovery))
}

func first(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return xs[0]
}

// TestAbuseHTTPIdleFlood: a LAN host opens 1,000 keep-alive HTTP
// connections (one request each, then idle) and 1,000 that never send a
// request. Loopback /healthz and a ticket must still answer during it;
// afterwards everything answers within 2 s and halld's open files return to
// where they were.
func TestAbuseHTTPIdleFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a real halld")
	}
	ns := newNetns(t)
	port := freePort(t)
	h := startHall(t, hallOpts{httpListen: "0.0.0.0:" + port})
	if tk := h.ticket(5 * time.Second); !tk.okPrinted() {
		t.Fatalf("before the flood: %v", tk.answer)
	}
	time.Sleep(300 * time.Millisecond)
	fdBase := fdCount(h.pid())
	const keepAlive, bare = 1000, 1000
	const hold = 8 * time.Second
	flood := ns.helper(t, map[string]string{helperEnv: "idle", "HALLD_ABUSE_ADDR": ns.hostIP + ":" + port,
		"HALLD_ABUSE_NREQ": strconv.Itoa(keepAlive), "HALLD_ABUSE_N": strconv.Itoa(bare), "HALLD_ABUSE_HOLD": "60s"})
	var ready floodReady
	flood.next(&ready, 60*time.Second)
	t.Logf("flood: %d connections open in %d ms, %d keep-alive requests answered (%d failed: %s)",
		ready.Opened, ready.TookMS, ready.Responses, ready.Failed, ready.FirstErr)
	if ready.Opened < 100 {
		t.Fatalf("the flood opened only %d of %d connections (%s): the test did not reach halld", ready.Opened, keepAlive+bare, ready.FirstErr)
	}
	heldFrom := time.Now()
	s := sample(h.url("/healthz"), 100*time.Millisecond, time.Second)
	time.Sleep(time.Second)
	tk := h.ticket(5 * time.Second)
	if !tk.okPrinted() {
		t.Errorf("during the flood a ticket was not issued and printed: %v", tk.answer)
	}
	fdPeak := fdCount(h.pid())
	time.Sleep(time.Until(heldFrom.Add(hold)))
	p99, max, n, fails := s.stop()
	var done floodDone
	flood.release(&done)
	released := time.Now()
	if len(fails) > 0 || max > time.Second {
		t.Errorf("during the flood /healthz failed %d of %d times (p99 %v, max %v); first: %v", len(fails), n, p99, max, first(fails))
	}
	// Recovery: at once, everything answers within 2 s.
	hz := do(fresh(2*time.Second), "GET", h.url("/healthz"), "", nil)
	after := h.ticket(2 * time.Second)
	snap := do(fresh(2*time.Second), "GET", h.url("/api/v1/snapshot"), "", nil)
	if hz.err != nil || hz.status != 200 {
		t.Errorf("after the flood /healthz: %v", hz)
	}
	if !after.okPrinted() {
		t.Errorf("after the flood a ticket: %v", after.answer)
	}
	if snap.err != nil || snap.status != 200 {
		t.Errorf("after the flood the snapshot: %v", snap)
	}
	answered := time.Since(released)
	fdRecovery, ok := waitFor(15*time.Second, func() bool { return fdCount(h.pid()) <= fdBase+4 })
	if !ok {
		t.Errorf("halld's open files did not return to %d (+4) within %v of the flood: %d", fdBase, fdRecovery, fdCount(h.pid()))
	}
	reliability(t, "http-idle-flood", "conns", ready.Opened, "keepalive_answered", ready.Responses, "held", ms(hold),
		"closed_by_halld", done.ClosedByPeer, "healthz_p99", ms(p99), "healthz_max", ms(max), "healthz_fail", len(fails),
		"ticket", fmt.Sprintf("%d/%s", tk.status, tk.PrintStatus), "ticket_ms", ms(tk.took),
		"fd_base", fdBase, "fd_peak", fdPeak, "answered_after", ms(answered), "fd_recovery", ms(fdRecovery))
}

// TestAbuseBrokerFloodFromManyHosts: 40 LAN hosts open 30 idle connections
// each to the hall broker (1,200, never sending CONNECT), so the per-address
// bound alone cannot refuse them: the total bound and the connect timeout
// must. halld's descriptors stay within the bound, the API is untouched,
// and once the flood ends a terminal logs in within 2 s.
func TestAbuseBrokerFloodFromManyHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a real halld")
	}
	ns := newNetns(t)
	srcs := ns.sources(t, 40)
	broker := ns.hostIP + ":" + freePort(t)
	h := startHall(t, hallOpts{
		mqtt:    fmt.Sprintf("mqtt: {broker: {embedded: true, listen: %q}}", broker),
		devices: terminalYAML(t),
	})
	if took, err := connack(broker, 2*time.Second); err != nil {
		t.Fatalf("before the flood: term-1 cannot log in: %v (%v)", err, took)
	}
	const conns = 1200
	const hold = 8 * time.Second
	fdBase := fdCount(h.pid())
	flood := ns.helper(t, map[string]string{helperEnv: "idle", "HALLD_ABUSE_ADDR": broker,
		"HALLD_ABUSE_N": strconv.Itoa(conns), "HALLD_ABUSE_HOLD": "60s", "HALLD_ABUSE_SRC": strings.Join(srcs, ",")})
	var ready floodReady
	flood.next(&ready, 60*time.Second)
	t.Logf("flood from %d hosts: %d connections open in %d ms (%d failed: %s)", len(srcs), ready.Opened, ready.TookMS, ready.Failed, ready.FirstErr)
	if ready.Opened < 300 {
		t.Fatalf("the flood opened only %d of %d connections (%s): it did not fill the broker", ready.Opened, conns, ready.FirstErr)
	}
	heldFrom := time.Now()
	s := sample(h.url("/healthz"), 100*time.Millisecond, time.Second)
	time.Sleep(time.Second)
	tk := h.ticket(5 * time.Second)
	if !tk.okPrinted() {
		t.Errorf("during the flood a ticket was not issued and printed: %v", tk.answer)
	}
	fdPeak := fdCount(h.pid())
	time.Sleep(time.Until(heldFrom.Add(hold)))
	p99, max, n, fails := s.stop()
	var done floodDone
	flood.release(&done)
	if len(fails) > 0 || max > time.Second {
		t.Errorf("during the flood /healthz failed %d of %d times (p99 %v, max %v); first: %v", len(fails), n, p99, max, first(fails))
	}
	if fdPeak > fdBase+600 {
		t.Errorf("halld's descriptors went from %d to %d: the broker's bounds did not hold", fdBase, fdPeak)
	}
	var took time.Duration
	var err error
	attempts := 0
	recovery, ok := waitFor(10*time.Second, func() bool {
		attempts++
		took, err = connack(broker, 2*time.Second)
		return err == nil
	})
	if !ok || recovery > 2*time.Second {
		t.Errorf("after the flood term-1 logged in after %v (%d attempts, ok %v): %v; want within 2 s", recovery, attempts, ok, err)
	}
	reliability(t, "broker-flood-many-hosts", "hosts", len(srcs), "conns", ready.Opened, "held", ms(hold),
		"closed_by_halld", done.ClosedByPeer, "healthz_p99", ms(p99), "healthz_fail", len(fails),
		"ticket", fmt.Sprintf("%d/%s", tk.status, tk.PrintStatus), "fd_base", fdBase, "fd_peak", fdPeak,
		"connack", ms(took), "recovery", ms(recovery))
}
