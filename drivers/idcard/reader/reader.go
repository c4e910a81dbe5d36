// Package reader drives one ID card reader (SAM protocol, docs/protocols.md §2)
// over a serial port: it checks the SAM, polls for a card, reads it and
// hands it over once per placement, and notices when it is taken away.
//
// The sequence is HEV's: at open SAM status (11 FF → 90), then set RF frame
// (61 FF 50) and read SAM id (12 FF); every PollInterval find card (20 01)
// until 9F, then select (20 02 → 90) and read (30 01 → 90); the SAM status
// again every StatusInterval.
//
// Telling "still there" from "gone": after a successful read a reader
// answers find with 80 (no card) until the card is taken off and put back
// (§2.2), so 80 alone cannot mean "removed". While a card is on the reader,
// an 80 is followed by select card: 90 means the card is still in the field,
// 81 that it is gone; GoneAfter such answers in a row end the placement
// (onGone). A reader that answers 9F again for a card already read (some
// may) is handled too: the card is read again and compared, by a digest of
// its text block, with the one on record, so the same card never makes a
// second event and a swapped card makes gone + a new event.
//
// Personal data: the driver keeps no card after handing it to onCard (only
// a SHA-256 of its text block, to recognise it), zeroes the reply bytes it
// read, and its errors and reports carry the device id and status codes,
// never card contents.
package reader

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"halld/drivers/device"
	"halld/drivers/idcard"
	"halld/drivers/serialport"
)

// Options tune a reader; zero values take docs/protocols.md's numbers.
type Options struct {
	PollInterval   time.Duration // between find card polls (1 s)
	StatusInterval time.Duration // between SAM status checks (3 s)
	Timeout        time.Duration // per command reply (5 s)
	Retries        int           // resends after a damaged reply or SW3 10/11 (2)
	GoneAfter      int           // "not there" answers in a row that end a placement (2)
}

// Stats are counters for the monitor, since halld started.
type Stats struct {
	Cards        uint64       // cards handed to onCard
	ReadFailures uint64       // reads that failed (status, unparsable or inconsistent text)
	Timeouts     uint64       // commands without a reply in time
	Retries      uint64       // commands sent again
	Stale        uint64       // replies dropped as not answering the command sent (late ones)
	Frames       idcard.Stats // the reply decoder's counters: bad checksums, junk bytes…
}

// Reasons a report gives.
const (
	ReasonNoReply        = "no_reply"             // offline: the reader does not answer
	ReasonSelfTestFailed = "sam_self_test_failed" // fault: SW3 60
	ReasonUnauthorised   = "sam_unauthorised"     // fault: SW3 66
	ReasonSAMStatus      = "sam_status"           // fault: another status to 11 FF
	ReasonReadFailed     = "read_failed"          // degraded: the last card read failed
)

var _ device.Driver = (*Reader)(nil)

// Reader is one ID card reader. It outlives connections: the supervisor
// calls Run once per connection.
type Reader struct {
	id     string
	opts   Options
	onCard func(idcard.Card)
	onGone func()

	mu    sync.Mutex
	stats Stats
}

// New makes a reader. onCard gets each card read, once per placement, and
// owns it from then on (Wipe it when done); onGone follows when that card
// leaves the reader, or its link is lost. The two alternate, onCard first.
// Both run on Run's goroutine and must return quickly.
func New(id string, opts Options, onCard func(idcard.Card), onGone func()) *Reader {
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.StatusInterval <= 0 {
		opts.StatusInterval = 3 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Retries <= 0 {
		opts.Retries = 2
	}
	if opts.GoneAfter <= 0 {
		opts.GoneAfter = 2
	}
	if onCard == nil {
		onCard = func(c idcard.Card) { c.Wipe() }
	}
	if onGone == nil {
		onGone = func() {}
	}
	return &Reader{id: id, opts: opts, onCard: onCard, onGone: onGone}
}

// ID is the device id.
func (r *Reader) ID() string { return r.id }

// Stats returns the counters.
func (r *Reader) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Jobs counts cards read, for the supervisor's work counter.
func (r *Reader) Jobs() uint64 { return r.Stats().Cards }

func (r *Reader) count(f func(*Stats)) {
	r.mu.Lock()
	f(&r.stats)
	r.mu.Unlock()
}

// errDamaged: a reply arrived broken (bad checksum, bad length) and was dropped.
var errDamaged = errors.New("damaged reply")

// conn is one connection's state.
type conn struct {
	r      *Reader
	port   device.Port
	report func(device.Report)
	dec    idcard.Decoder
	base   idcard.Stats // decoder counters of earlier connections

	samID   string
	idAsked bool          // read SAM id answered (a reader may not support it)
	sam     idcard.Status // last answer to SAM status; 0 before the first
	inited  bool          // RF frame set
	noReply bool          // the last command timed out
	failure *failure      // the last card read failed; cleared by a good read

	present bool     // a card was handed over and is still on the reader
	digest  [32]byte // of its text block
	misses  int      // "not there" answers in a row while present
	pending bool     // a card was found but not read whole yet
}

// failure is why the last read failed, for the report.
type failure struct {
	sw3 idcard.Status // 0 when not a status
	err error
}

// Run drives the reader over one connection until the link dies or ctx ends.
func (r *Reader) Run(ctx context.Context, port device.Port, report func(device.Report)) error {
	r.mu.Lock()
	c := &conn{r: r, port: port, report: report, base: r.stats.Frames}
	r.mu.Unlock()
	defer func() {
		if c.present {
			// The card cannot be vouched for without the link.
			c.gone()
		}
	}()

	c.checkStatus()
	nextStatus := time.Now().Add(r.opts.StatusInterval)
	tick := time.NewTicker(r.opts.PollInterval)
	defer tick.Stop()
	for {
		if c.sam == idcard.OK && !c.noReply {
			c.pollCard()
		}
		select {
		case <-port.Dead():
			return port.Err()
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if !time.Now().Before(nextStatus) {
			c.checkStatus()
			nextStatus = time.Now().Add(r.opts.StatusInterval)
		}
	}
}

// checkStatus asks the SAM's state and, the first time it is fine, sets
// the RF frame; it reads the SAM id once (an unauthorised SAM still tells
// it, and hall IT needs it to have the SAM authorised).
func (c *conn) checkStatus() {
	rsp, ok := c.do(idcard.SAMStatus())
	if !ok {
		return
	}
	c.sam = rsp.Status()
	if c.sam == idcard.OK && !c.inited {
		// HEV sends it once at open. A reader that refuses it still reads
		// cards, so a refusal is not an error.
		if _, ok := c.do(idcard.SetMaxRFFrame(idcard.DefaultRFFrame)); !ok {
			return
		}
		c.inited = true
	}
	if !c.idAsked && c.sam != idcard.SelfTestFailed {
		rsp, ok := c.do(idcard.ReadSAMID())
		if !ok {
			return
		}
		if rsp.Status() == idcard.OK {
			c.samID, _ = idcard.FormatSAMID(rsp.Data)
			c.idAsked = true
		} else if !rsp.Status().SAMFault() {
			c.idAsked = true // refused: do not ask every StatusInterval
		}
	}
	c.publish()
}

// pollCard is one find card and what follows from its answer.
func (c *conn) pollCard() {
	rsp, ok := c.do(idcard.FindCard())
	if !ok {
		return
	}
	switch st := rsp.Status(); {
	case st == idcard.FindOK:
		c.pending = true
		c.read()
	case st == idcard.NoCard && c.pending:
		// The last read did not come back whole, but the SAM may have done
		// it (a reply lost on the line), and then find says 80 while the
		// card is still there: select decides.
		c.retryPending()
	case st == idcard.NoCard && c.present:
		c.probe()
	case st == idcard.NoCard:
	case st.SAMFault():
		c.sam = st
	default:
		// A card that find cannot use (unknown type, failed
		// authentication): a failed read, as far as the citizen knows.
		c.fail(idcard.FindCard(), st, nil)
	}
	c.publish()
}

// read selects and reads the card found, and hands it over if it is new.
func (c *conn) read() {
	if !c.selectCard() {
		return
	}
	c.readSelected()
}

func (c *conn) retryPending() {
	rsp, ok := c.do(idcard.SelectCard())
	if !ok {
		return
	}
	if rsp.Status() != idcard.OK {
		c.pending = false // gone before it could be read
		if c.present {
			c.miss()
		}
		return
	}
	c.readSelected()
}

// selectCard selects the card found; false if that failed.
func (c *conn) selectCard() bool {
	rsp, ok := c.do(idcard.SelectCard())
	if !ok {
		return false
	}
	if st := rsp.Status(); st != idcard.OK {
		c.fail(idcard.SelectCard(), st, nil)
		return false
	}
	return true
}

func (c *conn) readSelected() {
	rsp, ok := c.do(idcard.ReadCard())
	if !ok {
		return
	}
	defer clear(rsp.Data)
	if st := rsp.Status(); st != idcard.OK {
		c.fail(idcard.ReadCard(), st, nil)
		return
	}
	card, err := idcard.ParseRead(rsp.Data)
	if err == nil {
		if err = card.Validate(); err != nil {
			card.Wipe()
		}
	}
	if err != nil {
		// The reply passed its checksum: reading again gives the same
		// bytes. Wait for the next placement instead.
		c.pending = false
		c.fail(idcard.ReadCard(), 0, err)
		return
	}
	digest := sha256.Sum256(rsp.Data[4 : 4+idcard.TextLen])
	c.pending, c.failure, c.misses = false, nil, 0
	if c.present {
		if digest == c.digest {
			// The same card, found again by a reader that does so.
			card.Wipe()
			return
		}
		c.gone() // another card took its place between two polls
	}
	c.present, c.digest = true, digest
	c.r.count(func(s *Stats) { s.Cards++ })
	c.publish() // ready again before the hall hears of the card
	c.r.onCard(card)
}

// probe asks whether the card handed over is still in the field.
func (c *conn) probe() {
	rsp, ok := c.do(idcard.SelectCard())
	if !ok {
		return
	}
	switch st := rsp.Status(); {
	case st == idcard.OK:
		c.misses = 0
	case st.SAMFault():
		c.sam = st
	default:
		c.miss()
	}
}

func (c *conn) miss() {
	c.misses++
	if c.misses >= c.r.opts.GoneAfter {
		c.gone()
	}
}

func (c *conn) gone() {
	c.present, c.digest, c.misses = false, [32]byte{}, 0
	c.r.onGone()
}

// fail records a failed read.
func (c *conn) fail(cmd idcard.Command, st idcard.Status, err error) {
	if err == nil {
		err = st
	}
	c.failure = &failure{sw3: st, err: fmt.Errorf("%s: %v: %w", c.r.id, cmd, err)}
	c.r.count(func(s *Stats) { s.ReadFailures++ })
}

// do runs one command. ok is false when no reply came (the state says so);
// a link that died is noticed by Run.
func (c *conn) do(cmd idcard.Command) (idcard.Response, bool) {
	rsp, err := c.transact(cmd)
	if err != nil {
		if errors.Is(err, serialport.ErrTimeout) || errors.Is(err, errDamaged) {
			c.noReply = true
			c.publish()
		}
		return idcard.Response{}, false
	}
	c.noReply = false
	return rsp, true
}

// transact sends a command and waits for its reply, sending it again after
// a damaged reply or a reader that blames the host's frame (line noise).
// There is no sequence number: bytes left from an earlier reply are dropped
// before sending, so a late reply cannot answer the next command.
func (c *conn) transact(cmd idcard.Command) (idcard.Response, error) {
	frame := cmd.Encode()
	for try := 0; ; try++ {
		if try > 0 {
			c.r.count(func(s *Stats) { s.Retries++ })
		}
		for _, stale := range c.dec.Flush() {
			clear(stale.Data)
		}
		c.port.Discard()
		if _, err := c.port.Write(frame); err != nil {
			return idcard.Response{}, fmt.Errorf("%s: %v: %w", c.r.id, cmd, err)
		}
		rsp, err := c.await(cmd)
		c.r.count(func(s *Stats) { s.Frames = c.base.Add(c.dec.Stats()) })
		switch {
		case errors.Is(err, errDamaged) && try < c.r.opts.Retries:
			continue
		case err == nil && rsp.Status().HostFrameError() && try < c.r.opts.Retries:
			continue
		case errors.Is(err, serialport.ErrTimeout):
			c.r.count(func(s *Stats) { s.Timeouts++ })
		}
		if err != nil {
			return idcard.Response{}, fmt.Errorf("%s: %v: %w", c.r.id, cmd, err)
		}
		return rsp, nil
	}
}

// await reads until a reply to cmd arrives, a damaged one is dropped, or
// the timeout passes. A reply that cannot answer cmd (a late reply to an
// earlier command) is dropped and the wait goes on.
func (c *conn) await(cmd idcard.Command) (idcard.Response, error) {
	deadline := time.Now().Add(c.r.opts.Timeout)
	bad := c.dec.Stats().Bad()
	for {
		left := time.Until(deadline)
		if left <= 0 {
			// A false frame start in noise may hold the reply behind it.
			if rsp, ok := c.pick(cmd, c.dec.Flush()); ok {
				return rsp, nil
			}
			return idcard.Response{}, serialport.ErrTimeout
		}
		chunk, err := c.port.Read(left)
		if errors.Is(err, serialport.ErrTimeout) {
			continue
		}
		if err != nil {
			return idcard.Response{}, err
		}
		rs := c.dec.Feed(chunk)
		clear(chunk)
		if rsp, ok := c.pick(cmd, rs); ok {
			return rsp, nil
		}
		if c.dec.Stats().Bad() > bad {
			return idcard.Response{}, errDamaged
		}
	}
}

// pick returns the first of rs that can answer cmd, counts the stale ones
// before it, and zeroes every other: one command, one reply.
func (c *conn) pick(cmd idcard.Command, rs []idcard.Response) (idcard.Response, bool) {
	var got idcard.Response
	found := false
	for _, r := range rs {
		switch {
		case !found && cmd.Accepts(r):
			got, found = r, true
			continue
		case !found:
			c.r.count(func(s *Stats) { s.Stale++ })
		}
		clear(r.Data)
	}
	return got, found
}

// publish reports the device's state.
func (c *conn) publish() {
	detail := map[string]any{}
	if c.samID != "" {
		detail["sam_id"] = c.samID
	}
	rep := device.Report{State: device.StateReady, Detail: detail, Seen: true}
	status := func(st idcard.Status) {
		detail["sw3"] = fmt.Sprintf("%02X", byte(st))
		detail["message"] = st.Message()
	}
	switch {
	case c.noReply:
		rep = device.Report{State: device.StateOffline, Reason: ReasonNoReply, Detail: detail}
	case c.sam == 0:
		return // nothing known yet
	case c.sam == idcard.SelfTestFailed:
		rep.State, rep.Reason = device.StateFault, ReasonSelfTestFailed
		status(c.sam)
	case c.sam == idcard.SAMUnauthorised:
		rep.State, rep.Reason = device.StateFault, ReasonUnauthorised
		status(c.sam)
	case c.sam != idcard.OK:
		rep.State, rep.Reason = device.StateFault, ReasonSAMStatus
		status(c.sam)
	case c.failure != nil:
		rep.State, rep.Reason = device.StateDegraded, ReasonReadFailed
		if c.failure.sw3 != 0 {
			status(c.failure.sw3)
		}
		detail["error"] = c.failure.err.Error()
	}
	c.report(rep)
}
