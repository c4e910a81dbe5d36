// Package lineport drives one line device over a serial port: a QR/barcode
// scanner (扫码枪) whose scans it hands to the hall one line at a time, or an
// LED strip, sensor or caller that also takes lines from the hall (Send).
//
// Lines are handed over in order on the driver's own goroutine: a slow
// handler holds up reading (the port's queue, then the kernel's tty buffer
// take up the slack) rather than lines overtaking each other. A handler
// should therefore take milliseconds: a device without flow control loses
// bytes once those buffers are full. Every line already read when the
// handler is free again is handed over at once (NewBatch): a handler that
// makes lines durable shares one commit among them, so a port's rate is not
// bounded by one commit per line. Each time the handler was still busy
// while more bytes waited, the device counts it (Backpressure, "held" in
// its detail): the port is being held back, nothing is dropped.
//
// Lines carry personal data (booking codes, ID numbers in QR codes). This
// package logs nothing and reports only counters; whoever logs a line uses
// linedev.Mask.
package lineport

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"halld/drivers/device"
	"halld/drivers/linedev"
	"halld/drivers/serialport"
)

// Options tune a line device; zero values take the defaults.
type Options struct {
	linedev.Options
	// PartialTimeout: a partial line after which nothing has arrived for
	// this long is taken as a whole line (default 300 ms), for scanners set
	// up without a suffix. It is measured from the last byte, not the
	// first, so a long line at 9600 baud (1 ms a byte) is never cut. A
	// negative value turns it off: only a terminator ends a line.
	PartialTimeout time.Duration
	// ReportEvery: changed counters are reported at most this often
	// (default 10 s). Every change of a device's detail is a journal event;
	// one per scan would bury the hall's own events.
	ReportEvery time.Duration
}

// ErrOffline means the device is not connected: a line cannot be sent.
var ErrOffline = errors.New("line device not connected")

// Reasons a device reports besides ready.
const (
	// ReasonBadInput: since the last report only dropped lines came
	// (garbage, overlong, bad encoding) and no good one — most likely a
	// wrong baud rate, terminator or charset in devices.yaml.
	ReasonBadInput = "bad_input"
)

// pollEvery is how long Run waits in one read before it looks at ctx again.
const pollEvery = 200 * time.Millisecond

// settle is the least a read waits. A partial line is flushed only after a
// read that waited and found nothing: after a slow handler the rest of the
// line may already be queued, and a read that does not wait may miss it.
const settle = 10 * time.Millisecond

var _ device.Driver = (*Device)(nil)

// Device is one line device. It outlives connections: the supervisor calls
// Run once per connection.
type Device struct {
	id      string
	opts    Options
	onLines func(lines []string) []error

	mu            sync.Mutex
	fr            *linedev.Framer // fed by Run only; locked for Stats
	port          device.Port
	handled       uint64 // lines the handler took
	handlerErrors uint64 // lines the handler refused
	held          uint64 // handler returns that found more bytes already waiting
}

// maxBatch bounds the lines handed over at once.
const maxBatch = 512

// New makes a line device. onLine takes each line, decoded to UTF-8 without
// its terminator. Its error is counted and reported, and the line is gone:
// a scanner cannot be asked to send it again.
func New(id string, o Options, onLine func(line string) error) (*Device, error) {
	if onLine == nil {
		return nil, fmt.Errorf("%s: no line handler", id)
	}
	return NewBatch(id, o, func(lines []string) []error {
		var errs []error
		for i, l := range lines {
			if err := onLine(l); err != nil {
				if errs == nil {
					errs = make([]error, len(lines))
				}
				errs[i] = err
			}
		}
		return errs
	})
}

// NewBatch is New with a handler that takes every line already read at once,
// in order (at most 512); errs[i] is lines[i]'s outcome (nil errs: all
// taken). A handler that commits lines durably shares one commit among them.
func NewBatch(id string, o Options, onLines func(lines []string) []error) (*Device, error) {
	fr, err := linedev.NewFramer(o.Options)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	if onLines == nil {
		return nil, fmt.Errorf("%s: no line handler", id)
	}
	if o.PartialTimeout == 0 {
		o.PartialTimeout = 300 * time.Millisecond
	}
	if o.ReportEvery <= 0 {
		o.ReportEvery = 10 * time.Second
	}
	o.Options = fr.Options()
	return &Device{id: id, opts: o, onLines: onLines, fr: fr}, nil
}

// ID is the device id.
func (d *Device) ID() string { return d.id }

// Stats returns the framing counters since halld started.
func (d *Device) Stats() linedev.Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fr.Stats()
}

// HandlerErrors counts lines the handler returned an error for.
func (d *Device) HandlerErrors() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.handlerErrors
}

// Backpressure counts the times the handler, once done, found more bytes
// already waiting: the port was held back by the handler (the bytes wait
// in the port's queue and the kernel's buffer; none is dropped).
func (d *Device) Backpressure() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.held
}

// Jobs counts lines the handler took (the supervisor shows it as the
// device's work done).
func (d *Device) Jobs() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.handled
}

// Send writes one line to the device. It fails with ErrOffline when the
// device is not connected, and refuses a line the device could not read
// back whole (linedev.ErrBadLine). The port serialises writes, so
// concurrent Sends never interleave; nothing else is written to a line
// device. ctx is honoured up to the write: a line is short, and a serial
// write without flow control does not wait on the device.
func (d *Device) Send(ctx context.Context, line string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", d.id, err)
	}
	b, err := linedev.Encode(line, d.opts.Options)
	if err != nil {
		return fmt.Errorf("%s: %w", d.id, err)
	}
	d.mu.Lock()
	port := d.port
	d.mu.Unlock()
	if port == nil {
		return fmt.Errorf("%s: %w", d.id, ErrOffline)
	}
	if _, err := port.Write(b); err != nil {
		return fmt.Errorf("%w: %w", ErrOffline, err)
	}
	return nil
}

// Run reads lines over one connection until the link dies or ctx ends.
//
// A partial line left when the connection ends is dropped (counted as Cut),
// not delivered. A scanner sends a scan in one burst (25 ms for a booking
// code at 9600 baud), so a line cut by a pulled cable is almost certainly
// the start of a scan, and a prefix of a booking code may be another
// booking's code. A missing scan costs the citizen a second scan; a wrong
// one cannot be taken back. (A suffix-less scanner's last scan, unplugged
// within PartialTimeout of it, is lost the same way: a rare double event.)
func (d *Device) Run(ctx context.Context, port device.Port, report func(device.Report)) error {
	d.mu.Lock()
	d.port = port
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.port = nil
		d.fr.Drop()
		d.mu.Unlock()
	}()

	r := reporter{report: report}
	r.send(d.tally(), device.StateReady, "", false)
	next := time.Now().Add(d.opts.ReportEvery)
	var lastByte time.Time
	var carry []byte // a chunk found waiting after the handler returned
	for {
		if ctx.Err() != nil {
			return nil
		}
		wait := min(pollEvery, time.Until(next))
		flushing := d.opts.PartialTimeout > 0 && d.pending() > 0
		if flushing {
			wait = min(wait, time.Until(lastByte.Add(d.opts.PartialTimeout)))
		}
		var chunk []byte
		var err error
		if carry != nil {
			chunk, carry = carry, nil
		} else {
			chunk, err = port.Read(max(wait, settle))
		}
		switch {
		case errors.Is(err, serialport.ErrTimeout):
			if flushing && time.Since(lastByte) >= d.opts.PartialTimeout {
				d.mu.Lock()
				line, ok := d.fr.Flush()
				d.mu.Unlock()
				if ok {
					d.deliver([]string{line})
				}
			}
		case err != nil:
			return err
		default:
			lastByte = time.Now()
			d.mu.Lock()
			lines := d.fr.Feed(chunk)
			d.mu.Unlock()
			// Take what else is queued already, so the handler gets every
			// line read so far in one call.
			for len(lines) > 0 && len(lines) < maxBatch {
				more, ok := queued(port)
				if !ok {
					break
				}
				d.mu.Lock()
				lines = append(lines, d.fr.Feed(more)...)
				d.mu.Unlock()
			}
			for len(lines) > 0 {
				n := min(len(lines), maxBatch)
				d.deliver(lines[:n])
				lines = lines[n:]
			}
			if more, ok := queued(port); ok {
				carry = more // read next, without waiting
				d.mu.Lock()
				d.held++
				d.mu.Unlock()
			}
		}
		if now := time.Now(); !now.Before(next) {
			next = now.Add(d.opts.ReportEvery)
			r.update(d.tally())
		}
	}
}

// queued returns a chunk the port has already received, without waiting.
func queued(port device.Port) ([]byte, bool) {
	b, err := port.Read(0)
	return b, err == nil && len(b) > 0
}

func (d *Device) pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fr.Pending()
}

// deliver hands lines to the handler, on Run's goroutine.
func (d *Device) deliver(lines []string) {
	errs := d.onLines(lines)
	d.mu.Lock()
	defer d.mu.Unlock()
	bad := 0
	for _, err := range errs {
		if err != nil {
			bad++
		}
	}
	d.handlerErrors += uint64(bad)
	d.handled += uint64(len(lines) - bad)
}

// tally is what the device detail shows.
type tally struct {
	lines, overlong, garbage, badEncoding, flushed, cut, handlerErrors, held uint64
}

func (d *Device) tally() tally {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.fr.Stats()
	return tally{s.Lines, s.Overlong, s.Garbage, s.BadEncoding, s.Flushed, s.Cut, d.handlerErrors, d.held}
}

func (t tally) dropped() uint64 { return t.overlong + t.garbage + t.badEncoding }

func (t tally) detail() map[string]any {
	return map[string]any{
		"lines": t.lines, "overlong": t.overlong, "garbage": t.garbage, "bad_encoding": t.badEncoding,
		"flushed": t.flushed, "cut": t.cut, "handler_errors": t.handlerErrors, "held": t.held,
	}
}

// reporter reports a connection's state when its counters change.
type reporter struct {
	report        func(device.Report)
	last          tally
	state, reason string
}

func (r *reporter) send(t tally, state, reason string, seen bool) {
	r.last, r.state, r.reason = t, state, reason
	r.report(device.Report{State: state, Reason: reason, Detail: t.detail(), Seen: seen})
}

// update reports t if it changed: ready when a good line came, degraded
// when only dropped lines did (a misconfigured port), the state unchanged
// otherwise (handler errors are the hall's, not the device's).
func (r *reporter) update(t tally) {
	if t == r.last {
		return
	}
	state, reason := r.state, r.reason
	good := t.lines > r.last.lines
	switch {
	case good:
		state, reason = device.StateReady, ""
	case t.dropped() > r.last.dropped():
		state, reason = device.StateDegraded, ReasonBadInput
	}
	r.send(t, state, reason, good)
}
