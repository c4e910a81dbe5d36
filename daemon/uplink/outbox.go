package uplink

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/time/rate"

	"halld/daemon/journal"
)

// outbox is the publishing state; it lives across connections of one Run.
//
// On each connection the events after the cursor are split in two lanes at
// split, the journal head when the connection opened (or when a rewind was
// asked for): the replay lane (cursor, split] is the backlog, published at
// most MaxRate a second; the live lane (split, …] is everything appended
// since, never rate-limited. By default the live lane starts once the
// backlog is all handed out, so the wire carries one seq order; with
// Options.LiveFirst live events go first and replayed ones carry
// "replay": true. Each lane is in seq order on the wire; the cursor moves
// over the contiguous acknowledged prefix of both (the replay lane, then
// the live lane), so a crash or an outage re-sends from the first event not
// acknowledged, as before.
type outbox struct {
	cursor uint64 // every event <= cursor is acknowledged by the broker
	split  uint64 // events <= split are the replay lane on this connection
	replay lane
	live   lane
}

// lane is one seq-ordered stream of publishes.
type lane struct {
	acked    uint64           // every event of the lane <= acked is acknowledged
	last     uint64           // last seq handed to paho (>= acked)
	buf      []journal.Record // read from the journal, not yet published
	inflight []flight         // published, in seq order, not yet popped
}

type flight struct {
	seq  uint64
	tok  mqtt.Token
	sent time.Time
}

func done(tok mqtt.Token) bool {
	select {
	case <-tok.Done():
		return true
	default:
		return false
	}
}

// reset starts the lanes over after the cursor: what was in flight is sent
// again, and its acks no longer count. Events up to split are replayed.
func (ob *outbox) reset(split uint64) {
	ob.split = max(split, ob.cursor)
	ob.replay = lane{acked: ob.cursor, last: ob.cursor}
	ob.live = lane{acked: ob.split, last: ob.split}
}

// inflight is the number of publishes awaiting their PUBACK.
func (ob *outbox) inflight() int { return len(ob.replay.inflight) + len(ob.live.inflight) }

// advance recomputes the cursor from the lanes.
func (ob *outbox) advance() {
	if ob.replay.acked >= ob.split {
		ob.cursor = max(ob.cursor, ob.live.acked)
	} else {
		ob.cursor = max(ob.cursor, ob.replay.acked)
	}
}

// pop removes the acknowledged prefix of the lane; a completed token with
// an error means the connection is gone.
func (l *lane) pop() (n int, err error) {
	for n < len(l.inflight) && done(l.inflight[n].tok) {
		if e := l.inflight[n].tok.Error(); e != nil {
			err = fmt.Errorf("publish seq %d: %w", l.inflight[n].seq, e)
			break
		}
		n++
	}
	if n > 0 {
		l.acked = l.inflight[n-1].seq
		l.inflight = append(l.inflight[:0], l.inflight[n:]...)
	}
	return n, err
}

// collect pops the acknowledged prefix of both lanes and advances the
// cursor over what is contiguous. An ack for seq 10 while 9 is outstanding
// stays in flight until 9's arrives.
func (u *Uplink) collect(ob *outbox) (advanced bool, err error) {
	before := ob.cursor
	_, err1 := ob.replay.pop()
	_, err2 := ob.live.pop()
	ob.advance()
	u.mu.Lock()
	u.st.Cursor = ob.cursor
	u.st.InFlight = ob.inflight()
	u.mu.Unlock()
	if ob.cursor != before {
		select {
		case u.cursorMoved <- struct{}{}:
		default:
		}
	}
	if err1 != nil {
		return ob.cursor != before, err1
	}
	return ob.cursor != before, err2
}

// replayBody marks a replayed event: {"replay":true,…}. Live events go as
// recorded, encoded once.
func replayBody(body []byte) []byte {
	if len(body) < 2 || body[0] != '{' {
		return body
	}
	out := make([]byte, 0, len(body)+15)
	out = append(out, `{"replay":true`...)
	if len(body) > 2 {
		out = append(out, ',')
	}
	return append(out, body[1:]...)
}

// fill reads the lane's next events (at most max, none past upTo) into its
// buffer. It returns false when there is nothing to read. upTo is always a
// bound: the live lane passes noEnd. (It once meant "none" at 0, which is
// also the replay lane's end on a connection opened with an empty journal:
// both lanes then sent everything.)
func (u *Uplink) fill(ctx context.Context, l *lane, max int, upTo uint64) (bool, error) {
	if len(l.buf) > 0 {
		return true, nil
	}
	if l.last >= upTo {
		return false, nil
	}
	max = int(min(uint64(max), upTo-l.last))
	recs, err := u.j.Read(ctx, l.last, max)
	if err != nil || len(recs) == 0 {
		return false, err
	}
	if recs[0].Seq != l.last+1 {
		u.log.Error("journal no longer holds events the uplink never sent (pruned)",
			"from", l.last+1, "to", recs[0].Seq-1)
	}
	for len(recs) > 0 && recs[len(recs)-1].Seq > upTo {
		recs = recs[:len(recs)-1]
	}
	l.buf = recs
	return len(recs) > 0, nil
}

// noEnd is the live lane's end: none.
const noEnd = math.MaxUint64

// send publishes the lane's next buffered event.
func (u *Uplink) send(c *conn, l *lane, topic string, replay bool) error {
	rec := l.buf[0]
	body := rec.Body
	if replay {
		body = replayBody(body)
	}
	tok, err := u.publish(c, topic, false, body)
	if err != nil {
		// Not sent (lost, or paho's write queue timed out): stop here,
		// before anything later goes out, and start over.
		return fmt.Errorf("publish seq %d: %w", rec.Seq, err)
	}
	l.inflight = append(l.inflight, flight{seq: rec.Seq, tok: tok, sent: time.Now()})
	l.buf[0] = journal.Record{}
	l.buf = l.buf[1:]
	l.last = rec.Seq
	return nil
}

// pump publishes events after the cursor on an open connection until the
// connection is lost, a publish fails, or ctx ends.
func (u *Uplink) pump(ctx context.Context, c *conn, ob *outbox) error {
	// Whatever was in flight on an earlier connection is sent again, as
	// replay, with what the journal holds now.
	ob.reset(u.j.Head())
	u.log.Info("uplink publishing", "cursor", ob.cursor, "replay_to", ob.split)
	topic := u.root + "/events"
	window := u.o.Batch
	// With LiveFirst the replay lane leaves a quarter of the window to live
	// events, so a live event waits for no more than one ack while a
	// backlog drains.
	replayWindow := window
	if u.o.LiveFirst {
		replayWindow = max(1, window-window/4)
	}
	rate := newBucket(u.o.MaxRate, replayWindow)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var readErrAt time.Time
	nextBeat := time.Now()
	if u.o.Heartbeat <= 0 {
		nextBeat = time.Time{}
	}
	readErr := func(err error, after uint64) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		readErrAt = time.Now()
		u.setError(err)
		u.log.Error("uplink cannot read the journal", "err", err, "after", after)
		return nil
	}

	for {
		// Taken before reading, so an append after the read still wakes us.
		changed := u.j.Changed()

		// paho flips the status at once when the connection breaks, but
		// its OnConnectionLost can come much later (it first waits for its
		// workers): look at the status too, at least every second while
		// anything is in flight.
		if !c.client.IsConnectionOpen() {
			return errLost
		}
		u.applyRewind(ob)

		if _, err := u.collect(ob); err != nil {
			return err
		}
		if !nextBeat.IsZero() && !time.Now().Before(nextBeat) {
			u.heartbeat(c, ob)
			nextBeat = time.Now().Add(u.o.Heartbeat)
		}

		readable := time.Since(readErrAt) >= time.Second
		published := 0
		liveDrained := false // read up to the head: an append must wake us
		var rateWait time.Duration
		// Live: everything appended since the connection opened, never
		// rate-limited; with LiveFirst ahead of the backlog, else once the
		// backlog is all handed out (one seq order on the wire).
		sendLive := func() error {
			for readable && ob.inflight() < window && (u.o.LiveFirst || ob.replay.last >= ob.split) {
				ok, err := u.fill(ctx, &ob.live, window, noEnd)
				if err != nil {
					if e := readErr(err, ob.live.last); e != nil {
						return e
					}
					readable = false
					return nil
				}
				if !ok {
					liveDrained = true
					return nil
				}
				if err := u.send(c, &ob.live, topic, false); err != nil {
					return err
				}
				published++
			}
			return nil
		}
		// The backlog, at MaxRate, in what room is left.
		sendReplay := func() error {
			for readable && len(ob.replay.inflight) < replayWindow && ob.inflight() < window {
				ok, err := u.fill(ctx, &ob.replay, replayWindow, ob.split)
				if err != nil {
					if e := readErr(err, ob.replay.last); e != nil {
						return e
					}
					readable = false
					return nil
				}
				if !ok {
					return nil
				}
				if w := rate.take(time.Now()); w > 0 {
					rateWait = w
					return nil
				}
				if err := u.send(c, &ob.replay, topic, u.o.LiveFirst); err != nil {
					return err
				}
				published++
			}
			return nil
		}
		steps := []func() error{sendReplay, sendLive}
		if u.o.LiveFirst {
			steps = []func() error{sendLive, sendReplay}
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		if published > 0 {
			u.mu.Lock()
			u.st.Published += uint64(published)
			u.st.InFlight = ob.inflight()
			u.mu.Unlock()
		}

		// Wait for the first of: a head-of-line ack, an append (only when
		// we could publish it), the rate limiter, a heartbeat due, an ack
		// overdue, a device status, the connection, ctx. Idle with nothing
		// in flight, nothing wakes but those: no polling.
		var headR, headL <-chan struct{}
		wait := time.Duration(0)
		for _, l := range []*lane{&ob.replay, &ob.live} {
			if len(l.inflight) == 0 {
				continue
			}
			overdue := time.Until(l.inflight[0].sent.Add(u.ackTimeout))
			if overdue <= 0 {
				return fmt.Errorf("no PUBACK for seq %d in %v", l.inflight[0].seq, u.ackTimeout)
			}
			wait = minWait(wait, min(overdue, time.Second))
		}
		if len(ob.replay.inflight) > 0 {
			headR = ob.replay.inflight[0].tok.Done()
		}
		if len(ob.live.inflight) > 0 {
			headL = ob.live.inflight[0].tok.Done()
		}
		var wake <-chan struct{}
		if ob.inflight() < window && liveDrained {
			wake = changed
		}
		if rateWait > 0 {
			wait = minWait(wait, rateWait)
		}
		if !readErrAt.IsZero() && !readable {
			wait = minWait(wait, max(time.Until(readErrAt.Add(time.Second)), time.Millisecond))
		}
		if !nextBeat.IsZero() {
			wait = minWait(wait, max(time.Until(nextBeat), time.Millisecond))
		}
		var tc <-chan time.Time
		if wait > 0 {
			timer.Reset(wait) // Go >= 1.23: no stale tick after Reset
			tc = timer.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.lost:
			return errLost
		case <-headR:
		case <-headL:
		case <-wake:
		case <-tc:
		case <-u.kick: // device status, node state, or a rewind (applied at the top)
			u.publishNodeState(c)
			u.publishDeviceStatus(c)
			u.publishRetained(c, false)
		}
		timer.Stop()
	}
}

// minWait is the smaller of two waits, 0 meaning none.
func minWait(a, b time.Duration) time.Duration {
	if a == 0 {
		return b
	}
	return min(a, b)
}

// Heartbeat is the payload of …/heartbeat: how far the outbox is behind.
type Heartbeat struct {
	TS          int64  `json:"ts"`            // Unix ms
	Head        uint64 `json:"head"`          // last journal seq
	Cursor      uint64 `json:"cursor"`        // last seq acknowledged, with all before it
	Outbox      uint64 `json:"outbox"`        // events not yet acknowledged (head - cursor)
	OldestAgeMs int64  `json:"oldest_age_ms"` // age of the oldest of them (0 when none)
	InFlight    int    `json:"in_flight"`
	ReplayTo    uint64 `json:"replay_to"` // the backlog of this connection ends here
	Connects    uint64 `json:"connects"`  // since halld started
}

// heartbeat publishes the outbox's depth and age (QoS 1, not retained).
func (u *Uplink) heartbeat(c *conn, ob *outbox) {
	st := u.Status()
	hb := Heartbeat{TS: time.Now().UnixMilli(), Head: st.Head, Cursor: ob.cursor, Outbox: st.Lag,
		OldestAgeMs: st.OldestUnsent.Milliseconds(), InFlight: ob.inflight(), ReplayTo: ob.split, Connects: st.Connects}
	b, _ := json.Marshal(hb)
	if _, err := u.publish(c, u.root+"/heartbeat", false, b); err != nil {
		u.log.Debug("uplink heartbeat not sent", "err", err)
	}
}

// bucket paces the backlog: rate events per second, up to burst at once
// (golang.org/x/time/rate); rate ≤ 0 is unlimited.
type bucket struct{ l *rate.Limiter }

func newBucket(r, burst int) *bucket {
	if r <= 0 {
		return &bucket{l: rate.NewLimiter(rate.Inf, 0)}
	}
	return &bucket{l: rate.NewLimiter(rate.Limit(r), max(1, min(burst, r)))}
}

// take takes a token and returns 0, or takes none and returns how long
// until one is there.
func (b *bucket) take(now time.Time) time.Duration {
	if b.l.AllowN(now, 1) {
		return 0
	}
	need := 1 - b.l.TokensAt(now)
	return max(time.Duration(need/float64(b.l.Limit())*float64(time.Second)), time.Millisecond)
}
