// Package issuer issues tickets and gets them printed, for every way a
// ticket comes to be: a number taken at the kiosk, an appointment checked in
// by code, scan or ID card. The number is durable before anything is
// printed; the print's outcome is recorded after, so a crash in between
// shows up as an interrupted print (reprintable), never as a lost or doubled
// number.
package issuer

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"halld/daemon/engine"
	"halld/daemon/hall"
	"halld/daemon/printing"
)

// Issuer issues and prints.
type Issuer struct {
	eng      *engine.Engine
	printing *printing.Dispatcher

	issued   *prometheus.CounterVec
	printDur prometheus.Histogram
	failures *prometheus.CounterVec
}

// New makes an issuer; its metrics go to reg.
func New(eng *engine.Engine, p *printing.Dispatcher, reg prometheus.Registerer) *Issuer {
	is := &Issuer{eng: eng, printing: p,
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "halld_tickets_issued_total",
			Help: "Tickets issued since start, by service."}, []string{"service"}),
		printDur: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "halld_ticket_print_seconds",
			Help: "Time from issued to printed (or failed), including failover.", Buckets: prometheus.DefBuckets}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "halld_ticket_print_failures_total",
			Help: "Tickets no printer could print, by code."}, []string{"code"}),
	}
	reg.MustRegister(is.issued, is.printDur, is.failures)
	return is
}

// Issue runs a command that issues a ticket, then prints it at the kiosk's
// printers. created is false for an idempotent repeat (the ticket as it
// stands is returned, not printed again). The caller's cancellation does not
// cut it short: once the number exists, printing and recording finish.
func (is *Issuer) Issue(ctx context.Context, cmd any, kiosk string) (t *hall.Ticket, created bool, err error) {
	ctx = context.WithoutCancel(ctx)
	res, err := is.eng.Submit(ctx, cmd)
	if err != nil {
		return nil, false, err
	}
	if len(res.Events) == 0 {
		return res.Ticket, false, nil
	}
	is.issued.WithLabelValues(res.Ticket.Service).Inc()
	return is.Print(ctx, kiosk, res.Ticket, false), true, nil
}

// Print prints a ticket (again, for 补打) and records the outcome.
func (is *Issuer) Print(ctx context.Context, kiosk string, t *hall.Ticket, reprint bool) *hall.Ticket {
	start := time.Now()
	out := is.printing.Print(ctx, kiosk, t)
	is.printDur.Observe(time.Since(start).Seconds())
	cmd := hall.PrintOutcome{TicketID: t.ID, Printer: out.Printer, Reprint: reprint, Tried: out.Tried}
	if out.Err != nil {
		cmd.Code, cmd.Message = out.Err.Code, out.Err.Message
		is.failures.WithLabelValues(out.Err.Code).Inc()
	}
	res, err := is.eng.Submit(ctx, cmd)
	if err != nil || res.Ticket == nil {
		// The outcome could not be recorded; the ticket stays pending and is
		// resolved as interrupted at the next start. Tell the truth now.
		c := *t
		c.PrintStatus = hall.PrintFailed
		c.PrintError = &hall.ErrorInfo{Code: "storage_failed", Message: "打印结果未能记录，请记住您的号码"}
		return &c
	}
	return res.Ticket
}
