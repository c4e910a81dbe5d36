// Package printer drives one ESC/POS queue-ticket printer over a serial
// port: it prints jobs and polls real-time status (DLE EOT 1–4) between them,
// never inside one, because a printer executes DLE EOT wherever it finds it.
package printer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"halld/drivers/device"
	"halld/drivers/escpos"
	"halld/drivers/serialport"
)

// Options tune a printer; zero values take the defaults.
type Options struct {
	PollInterval time.Duration // between status polls when idle (default 1.5 s)
	ReplyTimeout time.Duration // per DLE EOT reply (default 300 ms)
	// StallAfter: once a write has gone this long without the printer
	// taking a byte, CanPrint is false and Print fails at once, before the
	// port's write timeout kills the link (default 500 ms).
	StallAfter time.Duration
}

// PrintError is a job that was refused or failed, with a code the hall shows.
type PrintError struct {
	Code, Message string
	Err           error // the port's error, if any (errors.Is(err, serialport.ErrWriteTimeout))
}

func (e *PrintError) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *PrintError) Unwrap() error { return e.Err }

// Errors a Print can return.
var (
	ErrOffline     = &PrintError{Code: "printer_offline", Message: "打印机未连接"}
	ErrPaperEnd    = &PrintError{Code: "paper_end", Message: "打印机缺纸"}
	ErrCoverOpen   = &PrintError{Code: "cover_open", Message: "打印机仓盖未合上"}
	ErrFault       = &PrintError{Code: "printer_fault", Message: "打印机故障"}
	ErrBusy        = &PrintError{Code: "printer_busy", Message: "打印机忙，请稍候"}
	ErrWriteFailed = &PrintError{Code: "write_failed", Message: "打印数据发送失败"}
	// ErrWriteTimeout: the printer took no data for the port's write
	// timeout (it holds flow control, or the cable); the link is reopened.
	ErrWriteTimeout = &PrintError{Code: "write_timeout", Message: "写入超时：打印机不接收数据（流控或线缆）"}
	// ErrStalled: a write to the printer is under way and it takes nothing.
	ErrStalled = &PrintError{Code: "write_stalled", Message: "打印机不接收数据（流控或线缆）"}
)

var _ device.Driver = (*Printer)(nil)

// Printer is one ticket printer. It outlives connections: the supervisor
// calls Run once per connection.
type Printer struct {
	id   string
	prof escpos.Profile
	opts Options
	jobs chan *job

	mu        sync.Mutex
	connected bool
	polled    bool        // this connection's first status poll went out
	port      device.Port // while connected
	status    escpos.Status
	jobsDone  uint64
}

type job struct {
	ctx   context.Context
	data  []byte
	done  chan error
	taken atomic.Bool // by the driver to print it, or by Print to withdraw it
}

// take claims the job: for the driver (it is printed) or for Print (it is
// withdrawn and will never print). Exactly one side wins.
func (j *job) take() bool { return j.taken.CompareAndSwap(false, true) }

// New makes a printer for profile prof.
func New(id string, prof escpos.Profile, opts Options) *Printer {
	if opts.PollInterval <= 0 {
		opts.PollInterval = 1500 * time.Millisecond
	}
	if opts.ReplyTimeout <= 0 {
		opts.ReplyTimeout = 300 * time.Millisecond
	}
	if opts.StallAfter <= 0 {
		opts.StallAfter = 500 * time.Millisecond
	}
	return &Printer{id: id, prof: prof, opts: opts, jobs: make(chan *job, 8)}
}

// ID is the device id.
func (p *Printer) ID() string { return p.id }

// Profile is the printer's capability profile.
func (p *Printer) Profile() escpos.Profile { return p.prof }

// CanPrint tells whether a job sent now is expected to print: connected,
// its first status poll of this connection sent, no write stuck on a
// printer that takes nothing, and no known fault.
func (p *Printer) CanPrint() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.connected && p.polled && !p.stalledLocked() && p.blockingLocked() == nil
}

// stalledLocked tells whether a write is stuck on a printer taking nothing.
func (p *Printer) stalledLocked() bool {
	return p.port != nil && p.port.WriteStalled() >= p.opts.StallAfter
}

// blockingLocked is the error that stops printing now, if any. An unknown
// status (no reply) does not block: many printers print but do not answer.
func (p *Printer) blockingLocked() *PrintError {
	s := p.status
	if !s.Known {
		return nil
	}
	switch {
	case s.Paper == escpos.PaperEnd:
		return ErrPaperEnd
	case s.CoverOpen:
		return ErrCoverOpen
	case s.Valid[0] && !s.Online, s.CutterError, s.Unrecoverable:
		return ErrFault
	}
	return nil
}

// Print sends one job and waits until it is written and the printer reports
// no fault after it. It fails fast when the printer is known unable to print.
func (p *Printer) Print(ctx context.Context, data []byte) error {
	p.mu.Lock()
	if !p.connected {
		p.mu.Unlock()
		return ErrOffline
	}
	if p.stalledLocked() {
		p.mu.Unlock()
		return ErrStalled
	}
	if err := p.blockingLocked(); err != nil {
		p.mu.Unlock()
		return err
	}
	p.mu.Unlock()
	j := &job{ctx: ctx, data: data, done: make(chan error, 1)}
	select {
	case p.jobs <- j:
	default:
		return ErrBusy
	}
	// A job waiting behind a write that got stuck (a status poll, another
	// job) is withdrawn as soon as the stall shows, so the caller can fail
	// over at once; a job already being written is waited for.
	check := time.NewTicker(max(p.opts.StallAfter/4, 5*time.Millisecond))
	defer check.Stop()
	for {
		select {
		case err := <-j.done:
			return err
		case <-check.C:
			p.mu.Lock()
			stalled := p.stalledLocked()
			p.mu.Unlock()
			if stalled && j.take() {
				return ErrStalled
			}
		case <-ctx.Done():
			if j.take() {
				return fmt.Errorf("%s: %w (not sent)", p.id, ctx.Err())
			}
			// The job may still print; its outcome is then unknown to the
			// caller, who records the failure and offers a reprint.
			return fmt.Errorf("%s: %w", p.id, ctx.Err())
		}
	}
}

// Run drives the printer over one connection until the link dies or ctx ends.
func (p *Printer) Run(ctx context.Context, port device.Port, report func(device.Report)) error {
	p.mu.Lock()
	p.connected, p.polled, p.port = true, false, port
	p.status = escpos.Status{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.connected, p.port = false, nil
		p.mu.Unlock()
		p.failQueued()
	}()

	if !p.poll(port, report) {
		return port.Err()
	}
	p.mu.Lock()
	p.polled = true
	p.mu.Unlock()
	tick := time.NewTicker(p.opts.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-port.Dead():
			return port.Err()
		case j := <-p.jobs:
			p.run(port, j, report)
		case <-tick.C:
			// A job waiting goes first: a poll is 4 round trips.
			select {
			case j := <-p.jobs:
				p.run(port, j, report)
			default:
				p.poll(port, report)
			}
		}
	}
}

func (p *Printer) run(port device.Port, j *job, report func(device.Report)) {
	if j.take() {
		j.done <- p.print(port, j, report)
	}
}

func (p *Printer) print(port device.Port, j *job, report func(device.Report)) error {
	if j.ctx.Err() != nil {
		return j.ctx.Err()
	}
	if _, err := port.Write(j.data); err != nil {
		// The link is dead (the port kills it on a failed write): no job
		// is offered to this connection again.
		p.mu.Lock()
		p.connected = false
		p.mu.Unlock()
		if errors.Is(err, serialport.ErrWriteTimeout) {
			return &PrintError{Code: ErrWriteTimeout.Code, Message: ErrWriteTimeout.Message, Err: err}
		}
		return &PrintError{Code: ErrWriteFailed.Code, Message: ErrWriteFailed.Message, Err: err}
	}
	p.mu.Lock()
	p.jobsDone++
	p.mu.Unlock()
	// Ask right after the job: paper that ran out or a cover opened during
	// it means the ticket did not come out whole.
	p.poll(port, report)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.blockingLocked(); err != nil {
		return err
	}
	return nil
}

// failQueued answers jobs that were queued when the link died.
func (p *Printer) failQueued() {
	for {
		select {
		case j := <-p.jobs:
			if j.take() {
				j.done <- ErrOffline
			}
		default:
			return
		}
	}
}

// poll asks DLE EOT 1..4 and publishes the decoded status. It is false
// when the queries could not be sent (the link is dead).
func (p *Printer) poll(port device.Port, report func(device.Report)) bool {
	if !p.prof.Status {
		report(device.Report{State: device.StateReady, Detail: map[string]any{"online": true, "status": "not_supported"}})
		return true
	}
	var replies [4]int
	port.Discard()
	for n := 1; n <= 4; n++ {
		replies[n-1] = -1
		sent := time.Now()
		if _, err := port.Write(escpos.StatusQuery(n)); err != nil {
			return false
		}
		if time.Since(sent) >= p.opts.StallAfter {
			// The printer barely takes data: do not spend up to three more
			// stalls on this poll (the status stays unknown for now).
			for m := n + 1; m <= 4; m++ {
				replies[m-1] = -1
			}
			break
		}
		b, err := readReply(port, p.opts.ReplyTimeout)
		if err == nil {
			replies[n-1] = int(b)
		}
	}
	st := escpos.DecodeStatus(replies)
	p.mu.Lock()
	p.status = st
	p.mu.Unlock()
	report(Classify(st))
	return true
}

// readReply waits for one valid DLE EOT reply byte, skipping ASB pushes and
// noise (a printer with auto status back on may interleave them).
func readReply(port device.Port, timeout time.Duration) (byte, error) {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return 0, serialport.ErrTimeout
		}
		b, err := port.NextByte(left)
		if err != nil {
			return 0, err
		}
		if escpos.ValidReply(b) {
			return b, nil
		}
	}
}

// Classify maps a decoded status to a device state and detail.
func Classify(st escpos.Status) device.Report {
	detail := map[string]any{
		"online":       st.Known && (!st.Valid[0] || st.Online),
		"paper":        string(st.Paper),
		"cover":        "closed",
		"cutter_error": st.CutterError,
	}
	if st.CoverOpen {
		detail["cover"] = "open"
	}
	if !st.Known {
		detail["cover"] = "unknown"
		return device.Report{State: device.StateDegraded, Detail: detail, Reason: "no_status_reply"}
	}
	problems := st.Problems()
	if len(problems) > 0 {
		detail["problems"] = problems
	}
	switch {
	case st.Paper == escpos.PaperEnd:
		return device.Report{State: device.StateFault, Detail: detail, Reason: "paper_end", Seen: true}
	case st.CoverOpen:
		return device.Report{State: device.StateFault, Detail: detail, Reason: "cover_open", Seen: true}
	case st.Valid[0] && !st.Online:
		return device.Report{State: device.StateFault, Detail: detail, Reason: "offline", Seen: true}
	case st.CutterError || st.Unrecoverable:
		return device.Report{State: device.StateFault, Detail: detail, Reason: problems[0], Seen: true}
	case st.Paper == escpos.PaperNearEnd:
		return device.Report{State: device.StateDegraded, Detail: detail, Reason: "paper_near_end", Seen: true}
	case st.AutoRecoverable:
		return device.Report{State: device.StateDegraded, Detail: detail, Reason: "auto_recoverable", Seen: true}
	}
	return device.Report{State: device.StateReady, Detail: detail, Seen: true}
}

// Jobs counts jobs sent whole to the printer since halld started.
func (p *Printer) Jobs() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.jobsDone
}

// IsPrintError extracts a *PrintError.
func IsPrintError(err error) (*PrintError, bool) {
	var pe *PrintError
	ok := errors.As(err, &pe)
	return pe, ok
}
