package printing_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"halld/daemon/config"
	"halld/daemon/printing"
	"halld/drivers/escpos/escpossim"
	"halld/drivers/escpos/printer"
	"halld/internal/ptytest"
	"halld/internal/testprinter"
)

const failoverYAML = `
hall:
  id: h
  name: 湖南湘江新区政务服务大厅
  opening_hours: [{days: [mon], open: "09:00", close: "17:00"}]
areas: [{id: front, name: 前台}]
services:
  - {id: biz, prefix: A, name: 企业开办, area: front, materials: [公司章程, 股东身份证件, 营业执照副本复印件（加盖公章）, 法定代表人身份证明]}
windows:
  - {id: w3, number: 3, name: 综合窗口, services: [{service: biz}]}
devices:
  - {id: kiosk-1, kind: kiosk, area: front, kiosk: {printers: [p1, p2]}}
  - {id: p1, kind: ticket_printer, area: front, simulate: true}
  - {id: p2, kind: ticket_printer, area: front, simulate: true}
`

// realPrinter runs a printer.Printer over a pty to a simulated printer that
// takes nothing while hold is set.
func realPrinter(t *testing.T, id string, hold *ptytest.Hold, wt time.Duration) (*printer.Printer, *escpossim.Simulator) {
	return testprinter.Start(t, id, testprinter.Options{WriteTimeout: wt,
		Line: hold.Line})
}

// A kiosk's first printer stops taking data: the ticket that finds it stuck
// fails over to the second printer as soon as the write times out (not
// after the 8 s job timeout), and the next tickets go straight to the
// second printer.
func TestStuckPrinterFailsOverAtOnce(t *testing.T) {
	c, err := config.Parse("t.yaml", []byte(failoverYAML))
	if err != nil {
		t.Fatal(err)
	}
	const wt = 500 * time.Millisecond
	var hold1, hold2 ptytest.Hold
	p1, sim1 := realPrinter(t, "p1", &hold1, wt)
	p2, sim2 := realPrinter(t, "p2", &hold2, wt)
	d := printing.New(c, []printing.Printer{p1, p2})
	tk := ticket()
	tk.Service = "biz"
	if out := d.Print(context.Background(), "kiosk-1", tk); out.Printer != "p1" {
		t.Fatalf("healthy p1 did not print: %+v", out)
	}
	hold1.Store(true)
	failedOver := false
	var worst time.Duration
	for i := 0; i < 300 && !failedOver; i++ {
		start := time.Now()
		out := d.Print(context.Background(), "kiosk-1", tk)
		took := time.Since(start)
		worst = max(worst, took)
		if took > wt+time.Second {
			t.Fatalf("ticket %d took %v (write timeout %v): %+v", i, took, wt, out)
		}
		if out.Printer == "" {
			t.Fatalf("ticket %d printed nowhere: %+v %+v", i, out, out.Err)
		}
		if out.Printer == "p2" {
			failedOver = true
			t.Logf("ticket %d: p1 stuck; failed over to p2 after %v (tried %v); write timeout %v", i, took, out.Tried, wt)
			if strings.Join(out.Tried, ",") != "p1,p2" && strings.Join(out.Tried, ",") != "p2" {
				t.Fatalf("tried %v", out.Tried)
			}
		}
	}
	if !failedOver {
		t.Fatal("p1 never got stuck")
	}
	t.Logf("slowest ticket while p1 got stuck: %v", worst)
	if p1.CanPrint() {
		t.Fatal("stuck p1 still offers itself")
	}
	for i := range 5 {
		start := time.Now()
		out := d.Print(context.Background(), "kiosk-1", tk)
		if out.Printer != "p2" || strings.Join(out.Tried, ",") != "p2" {
			t.Fatalf("after the failover, ticket %d: %+v", i, out)
		}
		if took := time.Since(start); took > 300*time.Millisecond {
			t.Fatalf("after the failover, ticket %d took %v", i, took)
		}
	}
	if n := len(sim2.Tickets()); n < 6 {
		t.Fatalf("p2 printed %d tickets", n)
	}
	_ = sim1
}
