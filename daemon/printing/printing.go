// Package printing turns an issued ticket into an ESC/POS job and gets it out
// of a printer: the kiosk's preferred printers first, then any other in the
// same area. When none can print, the caller records the failure so the
// citizen keeps the number on screen and can ask for a reprint (补打) — a
// ticket is never lost silently.
package printing

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"halld/daemon/config"
	"halld/daemon/hall"
	"halld/daemon/phonetoken"
	"halld/drivers/escpos"
	"halld/drivers/escpos/printer"
)

// Printer is what the dispatcher needs of a printer.
type Printer interface {
	ID() string
	Profile() escpos.Profile
	CanPrint() bool
	Print(ctx context.Context, data []byte) error
}

var _ Printer = (*printer.Printer)(nil)

// Dispatcher picks printers and prints tickets.
type Dispatcher struct {
	cfg      *config.Config
	printers map[string]Printer
	area     map[string]string // printer id → area
	// JobTimeout bounds one attempt on one printer.
	JobTimeout time.Duration
	// PhoneKey makes the ticket's QR link to its phone page (nil: the
	// hall.eval_url link, or none). Set before the first print.
	PhoneKey *phonetoken.Key
}

// New makes a dispatcher over the given printers.
func New(cfg *config.Config, printers []Printer) *Dispatcher {
	d := &Dispatcher{cfg: cfg, printers: map[string]Printer{}, area: map[string]string{}, JobTimeout: 8 * time.Second}
	for _, p := range printers {
		d.printers[p.ID()] = p
		if dev, ok := cfg.Device(p.ID()); ok {
			d.area[p.ID()] = dev.Area
		}
	}
	return d
}

// Candidates lists the printers to try for a kiosk, best first: the kiosk's
// own list, then the rest of its area. A request without a kiosk may use any.
func (d *Dispatcher) Candidates(kiosk string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(id string) {
		if _, ok := d.printers[id]; ok && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	area := ""
	if k, ok := d.cfg.Device(kiosk); ok {
		area = k.Area
		if k.Kiosk != nil {
			for _, id := range k.Kiosk.Printers {
				add(id)
			}
		}
	}
	for _, dev := range d.cfg.Devices {
		if dev.Kind == "ticket_printer" && (area == "" || dev.Area == area) {
			add(dev.ID)
		}
	}
	return out
}

// Outcome is the result of printing one ticket.
type Outcome struct {
	Printer string // empty when none printed
	Tried   []string
	Err     *hall.ErrorInfo
}

// Print tries the candidates in order, skipping those known unable to print,
// and stops at the first that prints.
func (d *Dispatcher) Print(ctx context.Context, kiosk string, t *hall.Ticket) Outcome {
	var out Outcome
	var last error
	for _, id := range d.Candidates(kiosk) {
		p := d.printers[id]
		if !p.CanPrint() {
			continue
		}
		out.Tried = append(out.Tried, id)
		job, err := Render(d.cfg, p.Profile(), t, d.PhoneKey)
		if err != nil {
			last = err
			continue
		}
		actx, cancel := context.WithTimeout(ctx, d.JobTimeout)
		err = p.Print(actx, job)
		cancel()
		if err == nil {
			out.Printer = id
			return out
		}
		last = err
	}
	msg := "没有可用的打印机，请记住您的号码，稍后可补打小票"
	code := "no_printer"
	if pe, ok := printer.IsPrintError(last); ok {
		code = pe.Code
		msg = pe.Message + "，请记住您的号码，稍后可补打小票"
	}
	out.Err = &hall.ErrorInfo{Code: code, Message: msg}
	return out
}

// Render lays out a ticket for a printer profile (docs/hall.md: what a Chinese
// hall ticket shows); phone is the hall's phone key for the QR (nil: none).
func Render(cfg *config.Config, prof escpos.Profile, t *hall.Ticket, phone *phonetoken.Key) ([]byte, error) {
	svc, _ := cfg.Service(t.Service)
	b := escpos.NewBuilder(prof).Init()
	rule := strings.Repeat("-", prof.Columns)

	b.Align(escpos.AlignCenter).Bold(true).Size(2, 2).Line(cfg.Hall.Name).Size(1, 1).Bold(false)
	b.Line(rule)
	b.Line(t.ServiceName)
	b.BigText(t.Number, min(4, max(prof.MaxCharMag, 1))).Feed(1)
	switch t.Priority {
	case hall.PriorityGreen:
		b.Bold(true).Line("【绿色通道】").Bold(false)
	case hall.PriorityAppointment:
		b.Bold(true).Line("【预约】").Bold(false)
	}
	b.Line(fmt.Sprintf("您前面还有 %d 人等候", t.Ahead))
	switch e := t.Estimate; {
	case e != nil && !e.Servable:
		b.Line(e.Text) // nobody can call it now: say so, promise nothing
	case e != nil && e.Low != nil && e.High != nil && *e.High > 0:
		b.Line(fmt.Sprintf("预计等候约 %d–%d 分钟", *e.Low, *e.High))
	case e == nil:
		if wait := hall.EstimatedWait(cfg, t.Service, t.Ahead); wait > 0 {
			b.Line("预计等候约 " + strconv.Itoa(wait) + " 分钟")
		}
	}
	if ws := hall.TicketWindows(cfg, t); len(ws) > 0 {
		b.Line("办理窗口：" + strings.Join(ws, "、"))
	}
	b.Line(time.Time(t.IssuedAt).Format("2006年01月02日 15:04:05"))
	if t.MaskedID != "" {
		b.Line("证件尾号：" + t.MaskedID)
	}
	b.Align(escpos.AlignLeft).Line(rule)
	if svc != nil && len(svc.Materials) > 0 {
		b.Bold(true).Line("请准备以下材料（一次性告知）：").Bold(false)
		for i, m := range svc.Materials {
			b.Line(strconv.Itoa(i+1) + ". " + m)
		}
		if svc.PromisedTime != "" {
			b.Line("承诺办结时限：" + svc.PromisedTime)
		}
		if svc.Tolerance != "" {
			b.Line("容缺受理：" + svc.Tolerance)
		}
		b.Line(rule)
	}
	b.Align(escpos.AlignCenter)
	if qr := phonetoken.QR(cfg, phone, t); qr != "" {
		b.QR(qr, 6, 0x31)
		b.Line("扫码评价 · 查询办理进度")
	}
	if cfg.Hall.TicketFooter != "" {
		b.Line(cfg.Hall.TicketFooter)
	}
	if cfg.Hall.Hotline != "" {
		b.Line("服务热线：" + cfg.Hall.Hotline)
	}
	if cfg.Hall.SupervisionPhone != "" {
		b.Line("监督电话：" + cfg.Hall.SupervisionPhone)
	}
	b.Feed(2).Cut()
	if err := b.Err(); err != nil {
		return nil, fmt.Errorf("render ticket %s: %w", t.Number, err)
	}
	return b.Bytes(), nil
}
