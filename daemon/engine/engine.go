// Package engine runs the hall rules against the journal: one goroutine takes
// commands in order, decides their events with the pure rules, appends them
// durably (group commit: every command that arrived together shares one
// fsync), and only then folds them into the state and answers the callers.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"halld/daemon/config"
	"halld/daemon/hall"
	"halld/daemon/journal"
)

// Result is what a command produced, once durable.
type Result struct {
	Events []journal.Record
	// Ticket is set for ticket commands: the ticket as it now stands.
	Ticket *hall.Ticket
}

// Engine owns the hall state.
type Engine struct {
	cfg  *config.Config
	j    *journal.Journal
	log  *slog.Logger
	now  func() time.Time
	reqs chan request
	st   *hall.State // touched only by the loop goroutine after Start
	done chan struct{}

	// committed is e.st as of the last commit, for readers off the loop
	// (Committed, Query, Snapshot). A committed state is never written
	// again: a batch that changes the state decides on a Clone and swaps it
	// in, and one that only moves the seq (device lines) swaps in a shallow
	// copy. next is closed when a newer one is stored.
	committed atomic.Pointer[published]

	// MaxBatch bounds how many commands share one commit.
	MaxBatch int

	storageErr atomic.Value // errBox: the last append's outcome

	// A checkpoint of the state is written after CheckpointEvery events or
	// CheckpointInterval, whichever comes first, and at stop, so a restart
	// folds only what follows it and the journal can be pruned behind it.
	// Not more often: a busy day's state is megabytes, and the box's flash
	// wears with every write; an hour of events folds in well under a second.
	CheckpointEvery    uint64
	CheckpointInterval time.Duration
	ckSeq              uint64 // loop goroutine: seq of the last checkpoint handed to the writer
	ckAt               time.Time
	ckDone             atomic.Uint64 // seq of the last checkpoint on disk
	ckCh               chan *hall.State
}

type errBox struct{ err error }

type published struct {
	st   *hall.State
	next chan struct{}
}

// publish makes st the committed state and wakes readers waiting for it.
func (e *Engine) publish(st *hall.State) {
	old := e.committed.Swap(&published{st: st, next: make(chan struct{})})
	if old != nil {
		close(old.next)
	}
}

// StorageErr is the error of the last journal append, nil when it succeeded:
// while appends fail, halld is not ready (nothing can be made durable).
func (e *Engine) StorageErr() error {
	if b, ok := e.storageErr.Load().(errBox); ok {
		return b.err
	}
	return nil
}

type request struct {
	ctx   context.Context
	cmd   any                      // a hall command, or nil for a ping
	query func(st *hall.State) any // a ping's: run after the batch is committed
	reply chan reply
}

type reply struct {
	res   Result
	value any
	err   error
}

// New restores the state from the journal: its checkpoint, then the events
// after it. now is the clock (tests pass their own).
func New(ctx context.Context, cfg *config.Config, j *journal.Journal, log *slog.Logger, now func() time.Time) (*Engine, error) {
	if now == nil {
		now = time.Now
	}
	e := &Engine{cfg: cfg, j: j, log: log, now: now, reqs: make(chan request, 1024), done: make(chan struct{}), MaxBatch: 256,
		CheckpointEvery: 10000, CheckpointInterval: time.Hour}
	st, err := Replay(ctx, j, cfg.Location, log)
	if err != nil {
		return nil, err
	}
	e.st = st
	e.publish(st)
	e.ckSeq = j.CheckpointSeq(CheckpointName)
	return e, nil
}

// CheckpointName is the hall state's checkpoint in the journal.
const CheckpointName = "hall"

// Replay rebuilds the state: from the journal's checkpoint when it is usable,
// else from the first event held; times are given to the rules in the hall's
// zone (loc), as they were when recorded.
func Replay(ctx context.Context, j *journal.Journal, loc *time.Location, log *slog.Logger) (*hall.State, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	seq, body, ok, err := j.Checkpoint(CheckpointName)
	if err != nil {
		return nil, err
	}
	if ok {
		st, err := hall.DecodeState(body)
		switch {
		case err != nil:
			log.Warn("state checkpoint not usable; rebuilding from the journal", "err", err, "checkpoint_seq", seq)
		case seq > j.Head() || seq+1 < j.Oldest():
			log.Warn("state checkpoint does not meet the journal; rebuilding from it", "checkpoint_seq", seq, "head", j.Head(), "oldest", j.Oldest())
		default:
			return Fold(ctx, j, loc, st, seq, j.Head())
		}
	}
	if o := j.Oldest(); o > 1 && o <= j.Head() {
		// Pruned with no usable checkpoint: today's queue is intact (retention
		// is days), but older follow-ups and appointments are gone.
		log.Error("journal was pruned and has no usable state checkpoint: state rebuilt from the oldest event held",
			"oldest", o)
	}
	return Fold(ctx, j, loc, hall.NewState(), 0, j.Head())
}

// Fold applies the journal's events after seq `after`, up to upTo, to st.
func Fold(ctx context.Context, j *journal.Journal, loc *time.Location, st *hall.State, after, upTo uint64) (*hall.State, error) {
	errStop := errors.New("stop")
	err := j.Scan(ctx, after, func(r journal.Record) error {
		if r.Seq > upTo {
			return errStop
		}
		data, err := hall.Decode(r.Type, r.Body)
		if err != nil {
			return fmt.Errorf("replay seq %d: %w", r.Seq, err)
		}
		hall.Apply(st, r.Seq, r.Type, r.TS.In(loc), data)
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if upTo > st.Seq {
		st.Seq = upTo // a pruned journal's last events may all be gone
	}
	return st, nil
}

// Run processes commands until ctx ends; it returns after the last batch is
// committed.
func (e *Engine) Run(ctx context.Context) {
	defer close(e.done)
	e.ckCh = make(chan *hall.State, 1)
	e.ckAt = e.now()
	e.ckDone.Store(e.ckSeq)
	wrote := make(chan struct{})
	go e.checkpointWriter(wrote)
	defer func() {
		// The last checkpoint, written after the last batch: a clean
		// restart replays nothing.
		e.offerCheckpoint(true)
		close(e.ckCh)
		<-wrote
	}()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		var first request
		select {
		case <-ctx.Done():
			e.drain()
			return
		case <-tick.C:
			e.offerCheckpoint(false)
			continue
		case first = <-e.reqs:
		}
		batch := []request{first}
	more:
		for len(batch) < e.MaxBatch {
			select {
			case r := <-e.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		e.process(batch)
		e.offerCheckpoint(false)
	}
}

// offerCheckpoint hands a copy of the state to the writer when one is due
// (or final). It never waits for a busy writer except when final.
func (e *Engine) offerCheckpoint(final bool) {
	if e.st.Seq <= e.ckSeq {
		return
	}
	if !final && e.st.Seq-e.ckSeq < e.CheckpointEvery && e.now().Sub(e.ckAt) < e.CheckpointInterval {
		return
	}
	if !final && len(e.ckCh) > 0 {
		return // the writer has not taken the last one yet: do not copy the state for nothing
	}
	st := e.st.Clone()
	if final {
		select {
		case <-e.ckCh: // a stale one not yet taken: the final one replaces it
		default:
		}
		e.ckCh <- st
	} else {
		e.ckCh <- st // room is certain: only this goroutine sends
	}
	e.ckSeq, e.ckAt = st.Seq, e.now()
}

// checkpointWriter encodes and stores checkpoints off the command loop, so a
// busy day's state (a few MB of JSON) never delays a ticket.
func (e *Engine) checkpointWriter(done chan<- struct{}) {
	defer close(done)
	for st := range e.ckCh {
		body, err := hall.EncodeState(st)
		if err == nil {
			err = e.j.SaveCheckpoint(CheckpointName, st.Seq, body)
		}
		if err != nil {
			e.log.Warn("state checkpoint not written; the next one will try again", "err", err, "seq", st.Seq)
			continue
		}
		e.ckDone.Store(st.Seq)
	}
}

// CheckpointSeq is the seq of the last state checkpoint on disk: the journal
// may be pruned up to it and no further.
func (e *Engine) CheckpointSeq() uint64 { return e.ckDone.Load() }

// drain answers what is still queued at shutdown, so no caller waits forever.
func (e *Engine) drain() {
	for {
		select {
		case r := <-e.reqs:
			r.reply <- reply{err: errors.New("halld is stopping")}
		default:
			return
		}
	}
}

// Done is closed when Run has returned.
func (e *Engine) Done() <-chan struct{} { return e.done }

type pending struct {
	req    request
	data   []any
	recs   []journal.Record
	err    error
	ticket string
}

func (e *Engine) process(batch []request) {
	now := e.now().In(e.cfg.Location)
	seq := e.j.Head()
	work := make([]pending, len(batch))
	// The rules decide against a scratch copy of the state, so that a failed
	// commit leaves the real state untouched.
	scratch := e.st
	copied := false
	for i, r := range batch {
		p := &work[i]
		p.req = r
		if r.cmd == nil {
			continue
		}
		if r.ctx.Err() != nil {
			p.err = r.ctx.Err()
			continue
		}
		emits, err := hall.Decide(e.cfg, scratch, r.cmd, now)
		var dup *hall.Duplicate
		if errors.As(err, &dup) {
			p.ticket = dup.TicketID
			continue
		}
		if err != nil {
			p.err = err
			continue
		}
		if !copied && !stateless(emits) {
			scratch = e.st.Clone()
			copied = true
		}
		for _, em := range emits {
			seq++
			env := hall.Envelope{ID: uuid.Must(uuid.NewV7()).String(), Seq: seq, TS: hall.Stamp(now.In(e.cfg.Location)), Type: em.Type, Hall: e.cfg.Hall.ID}
			body, err := hall.Encode(env, em.Data)
			if err != nil {
				panic(err) // our own payload types always encode
			}
			p.recs = append(p.recs, journal.Record{Seq: seq, ID: env.ID, Type: em.Type, TS: now, Body: body})
			p.data = append(p.data, em.Data)
			if copied {
				hall.Apply(scratch, seq, em.Type, now, em.Data)
			} // else stateless: only the seq moves, set once committed
			if ref, ok := em.Data.(hall.TicketRef); ok && p.ticket == "" {
				p.ticket = ref.TicketRef()
			}
		}
	}

	var all []journal.Record
	for _, p := range work {
		all = append(all, p.recs...)
	}
	var commitErr error
	if len(all) > 0 {
		commitErr = e.j.Append(context.Background(), all)
	}
	if len(all) > 0 {
		e.storageErr.Store(errBox{commitErr})
	}
	if commitErr != nil {
		e.log.Error("journal append failed; commands refused", "err", commitErr, "events", len(all))
	} else {
		if copied {
			e.st = scratch
		} else if len(all) > 0 {
			// Only the seq moves; readers may hold the state before it,
			// so it is not written in place.
			ns := *e.st
			e.st = &ns
		}
		if len(all) > 0 {
			e.st.Seq = all[len(all)-1].Seq // the last events may be stateless ones
			e.publish(e.st)                // before any answer: who was answered reads at least this
		}
	}

	for _, p := range work {
		if p.req.cmd == nil {
			p.req.reply <- reply{value: p.req.query(e.st)}
			continue
		}
		switch {
		case p.err != nil:
			p.req.reply <- reply{err: p.err}
		case commitErr != nil && len(p.recs) > 0:
			p.req.reply <- reply{err: &hall.RuleError{Status: 503, ErrorInfo: hall.ErrorInfo{Code: "storage_failed", Message: "系统存储故障，请稍后再试或联系工作人员"}}}
		default:
			res := Result{Events: p.recs}
			if t, ok := e.st.Tickets[p.ticket]; ok {
				c := *t
				res.Ticket = &c
			}
			p.req.reply <- reply{res: res}
		}
	}
}

// stateless reports whether emits are all of types the state does not fold
// (only its seq moves): a line device's lines. Deciding them needs no scratch
// copy of the state, which costs O(tickets of the day) per batch: a port
// sending hundreds of lines a second goes through the rules, not through
// the whole hall state.
func stateless(emits []hall.Emit) bool {
	for _, em := range emits {
		if em.Type != hall.TypeDeviceLine {
			return false
		}
	}
	return true
}

// Submit runs one command and waits until its events are durable.
func (e *Engine) Submit(ctx context.Context, cmd any) (Result, error) {
	r := request{ctx: ctx, cmd: cmd, reply: make(chan reply, 1)}
	select {
	case e.reqs <- r:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-e.done:
		return Result{}, errors.New("halld is stopping")
	}
	select {
	case rep := <-r.reply:
		return rep.res, rep.err
	case <-e.done:
		return Result{}, errors.New("halld is stopping")
	}
	// No ctx case on the reply: once queued the command may be committed, and
	// the caller must learn the outcome rather than guess.
}

// SubmitAll runs cmds in order and waits until all are decided and their
// events durable; errs[i] is cmds[i]'s outcome. Queued together, they share
// group commits: a burst of device changes (an unplug storm, 200 pads coming
// back) costs a few fsyncs instead of one each.
func (e *Engine) SubmitAll(ctx context.Context, cmds []any) []error {
	errs := make([]error, len(cmds))
	reqs := make([]request, 0, len(cmds))
	for i, c := range cmds {
		r := request{ctx: ctx, cmd: c, reply: make(chan reply, 1)}
		select {
		case e.reqs <- r:
			reqs = append(reqs, r)
		case <-ctx.Done():
			errs[i] = ctx.Err()
		case <-e.done:
			errs[i] = errors.New("halld is stopping")
		}
		if errs[i] != nil {
			for k := i + 1; k < len(cmds); k++ {
				errs[k] = errs[i]
			}
			break
		}
	}
	for i, r := range reqs {
		select {
		case rep := <-r.reply:
			errs[i] = rep.err
		case <-e.done:
			errs[i] = errors.New("halld is stopping")
		}
	}
	return errs
}

// Query runs fn against the committed state (Committed) on the caller's
// goroutine: it sees every command already answered and every event the
// journal holds, and it costs the command loop nothing, however many pages
// and phones ask. fn must not modify the state.
func (e *Engine) Query(ctx context.Context, fn func(st *hall.State) any) (any, error) {
	st, err := e.current(ctx)
	if err != nil {
		return nil, err
	}
	return fn(st), nil
}

// current is the committed state once it includes the journal's head as
// of the call. The journal wakes its followers inside Append, a moment
// before the engine swaps in the state those events made: a follower that
// reads as soon as it is woken must not get the state before them.
func (e *Engine) current(ctx context.Context) (*hall.State, error) {
	head := e.j.Head()
	for p := e.committed.Load(); ; p = e.committed.Load() {
		if p.st.Seq >= head {
			return p.st, nil
		}
		select {
		case <-p.next:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-e.done:
			return nil, errors.New("halld is stopping")
		}
	}
}

// Ping goes through the command loop and back: nil when the loop is
// taking commands (the systemd watchdog's proof of life), ctx's error when
// it is not within ctx.
func (e *Engine) Ping(ctx context.Context) error {
	return e.onLoop(ctx, func(*hall.State) {})
}

// onLoop runs fn on the command loop, after the batch it lands in is
// committed, and waits for it.
func (e *Engine) onLoop(ctx context.Context, fn func(*hall.State)) error {
	r := request{ctx: ctx, query: func(st *hall.State) any { fn(st); return nil }, reply: make(chan reply, 1)}
	select {
	case e.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-e.done:
		return errors.New("halld is stopping")
	}
	select {
	case <-r.reply:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-e.done:
		return errors.New("halld is stopping")
	}
}

// Committed is the state as of the last commit, read without the command
// loop: it includes every command already answered and every event the
// journal holds (it waits the moment until the engine has swapped it in).
// It must not be modified, and it does not change (a later commit makes a
// new one); nil only when halld is stopping.
func (e *Engine) Committed() *hall.State {
	st, _ := e.current(context.Background())
	return st
}

// Snapshot returns the hall view and the seq it includes, as JSON. It is
// built from Committed on the caller's goroutine: a board that reconnects,
// or a hundred of them, costs the command loop nothing (it used to build
// and encode the whole view there, ahead of the next ticket).
func (e *Engine) Snapshot(ctx context.Context) (uint64, json.RawMessage, error) {
	st, err := e.current(ctx)
	if err != nil {
		return 0, nil, err
	}
	b, err := json.Marshal(hall.MakeView(e.cfg, st, e.now()))
	return st.Seq, b, err
}

// Config returns the configuration the engine runs with.
func (e *Engine) Config() *config.Config { return e.cfg }

// Now is the engine's clock.
func (e *Engine) Now() time.Time { return e.now() }
