package printing_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"halld/daemon/config"
	"halld/daemon/hall"
	"halld/daemon/printing"
	"halld/drivers/escpos"
	"halld/drivers/escpos/escpossim"
)

const yaml = `
hall:
  id: h
  name: 湖南湘江新区政务服务大厅
  hotline: "0731-88995297"
  eval_url: https://eval.example/t?id=
  opening_hours: [{days: [mon], open: "09:00", close: "17:00"}]
areas: [{id: front, name: 前台}, {id: pickup, name: 出件区}]
services:
  - {id: biz, prefix: A, name: 企业开办, area: front, materials: [公司章程, 股东身份证件], promised_time: 1个工作日, tolerance: 可容缺受理}
windows:
  - {id: w3, number: 3, name: 综合窗口, services: [{service: biz}]}
devices:
  - {id: kiosk-1, kind: kiosk, area: front, kiosk: {printers: [p2]}}
  - {id: p1, kind: ticket_printer, area: front, simulate: true}
  - {id: p2, kind: ticket_printer, area: front, simulate: true}
  - {id: p9, kind: ticket_printer, area: pickup, simulate: true}
`

func cfg(t testing.TB) *config.Config {
	c, err := config.Parse("t.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type fake struct {
	id      string
	can     bool
	err     error
	printed int
}

func (f *fake) ID() string              { return f.id }
func (f *fake) Profile() escpos.Profile { p, _ := escpos.LookupProfile("generic-80mm"); return p }
func (f *fake) CanPrint() bool          { return f.can }
func (f *fake) Print(ctx context.Context, b []byte) error {
	if f.err == nil {
		f.printed++
	}
	return f.err
}

func ticket() *hall.Ticket {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	return &hall.Ticket{ID: "T20261125-A007", Number: "A007", Service: "biz", ServiceName: "企业开办", Priority: hall.PriorityGreen,
		Ahead: 2, IssuedAt: hall.Stamp(time.Date(2026, 11, 25, 9, 30, 0, 0, loc)), MaskedID: "****1234"}
}

func TestCandidatesAndFailover(t *testing.T) {
	c := cfg(t)
	p1, p2, p9 := &fake{id: "p1", can: true}, &fake{id: "p2", can: true}, &fake{id: "p9", can: true}
	d := printing.New(c, []printing.Printer{p1, p2, p9})
	if got := strings.Join(d.Candidates("kiosk-1"), ","); got != "p2,p1" {
		t.Fatalf("kiosk-1 candidates %s: its own printer first, then its area, never another area", got)
	}
	if out := d.Print(context.Background(), "kiosk-1", ticket()); out.Printer != "p2" {
		t.Fatalf("%+v", out)
	}
	p2.err = errors.New("boom")
	if out := d.Print(context.Background(), "kiosk-1", ticket()); out.Printer != "p1" || strings.Join(out.Tried, ",") != "p2,p1" {
		t.Fatalf("failover: %+v", out)
	}
	p1.can = false
	out := d.Print(context.Background(), "kiosk-1", ticket())
	if out.Printer != "" || out.Err == nil || out.Err.Message == "" || p9.printed != 0 {
		t.Fatalf("nothing may print: %+v (p9 printed %d)", out, p9.printed)
	}
}

func TestRenderEveryProfile(t *testing.T) {
	c := cfg(t)
	for _, name := range escpos.ProfileNames() {
		prof, _ := escpos.LookupProfile(name)
		b, err := printing.Render(c, prof, ticket(), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var dec escpossim.Decoder
		var lines, qrs []string
		cut := false
		for _, it := range dec.Feed(b) {
			switch it.Kind {
			case escpossim.KindText:
				lines = append(lines, it.Text)
			case escpossim.KindQR:
				qrs = append(qrs, it.Text)
			case escpossim.KindCut:
				cut = true
			}
		}
		text := strings.Join(lines, "\n")
		for _, want := range []string{"湖南湘江新区政务服务大厅", "企业开办", "【绿色通道】", "您前面还有 2 人等候",
			"3号窗口", "2026年11月25日 09:30:00", "****1234", "1. 公司章程", "承诺办结时限：1个工作日", "容缺受理：可容缺受理",
			"过号请重新取号", "0731-88995297"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: ticket lacks %q", name, want)
			}
		}
		if prof.QRMaxData > 0 && (len(qrs) != 1 || qrs[0] != "https://eval.example/t?id=T20261125-A007") {
			t.Errorf("%s: QR %v", name, qrs)
		}
		if cut != (prof.Cutter != escpos.CutterNone) {
			t.Errorf("%s: cut %v with cutter %q", name, cut, prof.Cutter)
		}
	}
}

func BenchmarkRenderTicket(b *testing.B) {
	c := cfg(b)
	prof, _ := escpos.LookupProfile("generic-80mm")
	tk := ticket()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		out, err := printing.Render(c, prof, tk, nil)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.ReportMetric(float64(n), "bytes/ticket")
}

// The ticket prints the windows that serve its service as the rules saw them
// at issue (today's 潮汐窗口 change included), not devices.yaml's.
func TestRenderPrintsTheTicketsWindows(t *testing.T) {
	c := cfg(t)
	prof, _ := escpos.LookupProfile("generic-80mm")
	tk := ticket()
	tk.Windows = []string{"3号窗口", "5号窗口"}
	b, err := printing.Render(c, prof, tk, nil)
	if err != nil {
		t.Fatal(err)
	}
	var dec escpossim.Decoder
	var lines []string
	for _, it := range dec.Feed(b) {
		if it.Kind == escpossim.KindText {
			lines = append(lines, it.Text)
		}
	}
	if text := strings.Join(lines, "\n"); !strings.Contains(text, "办理窗口：3号窗口、5号窗口") {
		t.Fatalf("ticket does not print today's windows:\n%s", text)
	}
}
