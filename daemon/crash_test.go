package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"halld/daemon/hall"
	"halld/daemon/journal"
)

var halldBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "halld-bin")
	if err != nil {
		panic(err)
	}
	halldBin = filepath.Join(dir, "halld")
	cmd := exec.Command("go", "build", "-o", halldBin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build halld: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// The service sits in a 24-hour area so the test runs at any hour.
const crashYAML = `
hall:
  id: crash-hall
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
  - {id: s1, prefix: A, name: 自助一, area: self-24h, max_number: 9999}
  - {id: s2, prefix: B, name: 自助二, area: self-24h, max_number: 9999}
devices:
  - {id: kiosk-1, kind: kiosk, area: self-24h}
  - {id: printer-1, kind: ticket_printer, area: self-24h, simulate: true, printer: {poll_interval: 200ms}}
  - {id: printer-2, kind: ticket_printer, area: self-24h, simulate: true, printer: {poll_interval: 200ms}}
`

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startBinary(t *testing.T, cfgPath, addr string, logf *os.File) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(halldBin, "run", "-config", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	b, _ := os.ReadFile(logf.Name())
	t.Fatalf("halld not ready within 20 s; its log ends:\n%s", tail(b, 2000))
	return nil
}

type acked struct {
	ID, Number, Service string
}

// TestCrashLosesNothing kills halld with SIGKILL at random moments while
// kiosks take tickets, many times, then audits the journal: every ticket a
// kiosk was told about is there exactly once, and numbers per service and day
// run 1..N with no gap and no duplicate.
func TestCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and kills a real halld")
	}
	rounds := 8
	if v, err := strconv.Atoi(os.Getenv("HALLD_CRASH_ROUNDS")); err == nil {
		rounds = v
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	cfgPath := filepath.Join(dir, "devices.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(crashYAML, addr, filepath.Join(dir, "data"))), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "halld.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()

	var mu sync.Mutex
	var got []acked
	client := &http.Client{Timeout: 10 * time.Second}
	for round := 0; round < rounds; round++ {
		cmd := startBinary(t, cfgPath, addr, logf)
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				svc := []string{"s1", "s2"}[w%2]
				for ctx.Err() == nil {
					resp, err := client.Post("http://"+addr+"/api/v1/tickets", "application/json",
						strings.NewReader(`{"service":"`+svc+`","kiosk":"kiosk-1"}`))
					if err != nil {
						continue // the daemon is down; a kiosk would retry
					}
					var body struct{ Ticket hall.Ticket }
					err = json.NewDecoder(resp.Body).Decode(&body)
					resp.Body.Close()
					if err == nil && resp.StatusCode == 201 {
						mu.Lock()
						got = append(got, acked{body.Ticket.ID, body.Ticket.Number, body.Ticket.Service})
						mu.Unlock()
					}
				}
			}(w)
		}
		time.Sleep(time.Duration(150+rand.IntN(900)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		stop()
		wg.Wait()
	}
	// One clean start resolves prints that were in flight, then a clean stop.
	cmd := startBinary(t, cfgPath, addr, logf)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("clean stop after crashes: %v", err)
	}
	if len(got) < rounds {
		t.Fatalf("only %d tickets acknowledged in %d rounds: the test did not load halld", len(got), rounds)
	}

	j, err := journal.Open(filepath.Join(dir, "data", "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	issued := map[string]hall.Ticket{}
	numbers := map[string][]int{} // day/service → numbers in journal order
	outcome := map[string]bool{}
	var lastSeq uint64
	err = j.Scan(context.Background(), 0, func(r journal.Record) error {
		if r.Seq != lastSeq+1 {
			return fmt.Errorf("seq gap: %d after %d", r.Seq, lastSeq)
		}
		lastSeq = r.Seq
		v, err := hall.Decode(r.Type, r.Body)
		if err != nil {
			return err
		}
		switch e := v.(type) {
		case *hall.TicketIssued:
			if _, dup := issued[e.Ticket.ID]; dup {
				return fmt.Errorf("ticket %s issued twice", e.Ticket.ID)
			}
			issued[e.Ticket.ID] = e.Ticket
			n, _ := strconv.Atoi(e.Ticket.Number[1:])
			k := e.Ticket.Day + "/" + e.Ticket.Service
			numbers[k] = append(numbers[k], n)
		case *hall.TicketPrinted:
			outcome[e.TicketID] = true
		case *hall.TicketPrintFailed:
			outcome[e.TicketID] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range got {
		tk, ok := issued[a.ID]
		if !ok || tk.Number != a.Number || tk.Service != a.Service {
			t.Errorf("acknowledged ticket %+v missing or changed in the journal (%+v)", a, tk)
		}
	}
	for k, ns := range numbers {
		for i, n := range ns {
			if n != i+1 {
				t.Fatalf("%s: numbers not 1..N in order: position %d holds %d", k, i, n)
			}
		}
	}
	for id := range issued {
		if !outcome[id] {
			t.Errorf("ticket %s has no print outcome after restart", id)
		}
	}
	t.Logf("%d rounds: %d tickets acknowledged, %d in the journal, %d events", rounds, len(got), len(issued), lastSeq)
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// TestSystemdStopFinishesPrints runs halld as systemd would (NOTIFY_SOCKET),
// sends SIGTERM while kiosks are taking tickets, and checks: READY=1 then
// STOPPING=1, exit status 0, and every ticket in the journal has its print
// outcome recorded without needing a restart — the print in flight finished.
func TestSystemdStopFinishesPrints(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real halld")
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	cfgPath := filepath.Join(dir, "devices.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(crashYAML, addr, filepath.Join(dir, "data"))), 0o644)
	sock := filepath.Join(dir, "notify.sock")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()
	var msgs []string
	var mmu sync.Mutex
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := notify.Read(buf)
			if err != nil {
				return
			}
			mmu.Lock()
			msgs = append(msgs, string(buf[:n]))
			mmu.Unlock()
		}
	}()
	logf, _ := os.Create(filepath.Join(dir, "halld.log"))
	defer logf.Close()
	cmd := exec.Command(halldBin, "run", "-config", cfgPath)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		mmu.Lock()
		ready := len(msgs) > 0 && strings.Contains(strings.Join(msgs, "\n"), "READY=1")
		mmu.Unlock()
		if ready {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no READY=1 on NOTIFY_SOCKET")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // printers connected

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var okCount, printed int64
	var cmu sync.Mutex
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				resp, err := client.Post("http://"+addr+"/api/v1/tickets", "application/json", strings.NewReader(`{"service":"s1","kiosk":"kiosk-1"}`))
				if err != nil {
					return
				}
				var body struct{ Ticket hall.Ticket }
				json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				if resp.StatusCode == 201 {
					cmu.Lock()
					okCount++
					if body.Ticket.PrintStatus == hall.PrintPrinted {
						printed++
					}
					cmu.Unlock()
				}
			}
		}()
	}
	time.Sleep(400 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	waitErr := cmd.Wait()
	stop()
	wg.Wait()
	if waitErr != nil {
		b, _ := os.ReadFile(logf.Name())
		t.Fatalf("halld exit after SIGTERM: %v\n%s", waitErr, tail(b, 2000))
	}
	mmu.Lock()
	all := strings.Join(msgs, "\n")
	mmu.Unlock()
	if !strings.Contains(all, "STOPPING=1") || strings.Index(all, "READY=1") > strings.Index(all, "STOPPING=1") {
		t.Fatalf("notify messages: %q", all)
	}
	if okCount == 0 || printed != okCount {
		t.Fatalf("%d tickets acknowledged, %d printed", okCount, printed)
	}
	j, err := journal.Open(filepath.Join(dir, "data", "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	pending := map[string]bool{}
	j.Scan(context.Background(), 0, func(r journal.Record) error {
		v, _ := hall.Decode(r.Type, r.Body)
		switch e := v.(type) {
		case *hall.TicketIssued:
			pending[e.Ticket.ID] = true
		case *hall.TicketPrinted:
			delete(pending, e.TicketID)
		case *hall.TicketPrintFailed:
			if e.Code == "interrupted" {
				t.Errorf("a clean stop interrupted the print of %s", e.TicketID)
			}
			delete(pending, e.TicketID)
		}
		return nil
	})
	if len(pending) > 0 {
		t.Fatalf("%d tickets left without a print outcome by a clean stop", len(pending))
	}
	t.Logf("SIGTERM under load: %d tickets, all printed and recorded; notify: %q", okCount, all)
}
