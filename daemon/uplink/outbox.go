package uplink

import (
	"context"
	"fmt"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"halld/daemon/journal"
)

// outbox is the publishing state; it lives across connections of one Run.
type outbox struct {
	cursor uint64 // every event <= cursor is acknowledged by the broker

	last     uint64           // last seq handed to paho on this connection (>= cursor)
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

// collect pops the acknowledged prefix of inflight and advances the cursor
// over it. An ack for seq 10 while 9 is outstanding stays in inflight until
// 9's arrives. A completed token with an error means the connection is
// gone.
func (u *Uplink) collect(ob *outbox) (advanced bool, err error) {
	n := 0
	for n < len(ob.inflight) && done(ob.inflight[n].tok) {
		if err := ob.inflight[n].tok.Error(); err != nil {
			return n > 0, u.popped(ob, n, fmt.Errorf("publish seq %d: %w", ob.inflight[n].seq, err))
		}
		n++
	}
	return n > 0, u.popped(ob, n, nil)
}

func (u *Uplink) popped(ob *outbox, n int, err error) error {
	if n > 0 {
		ob.cursor = ob.inflight[n-1].seq
		ob.inflight = append(ob.inflight[:0], ob.inflight[n:]...)
	}
	u.mu.Lock()
	u.st.Cursor = ob.cursor
	u.st.InFlight = len(ob.inflight)
	u.mu.Unlock()
	if n > 0 {
		select {
		case u.cursorMoved <- struct{}{}:
		default:
		}
	}
	return err
}

// pump publishes events after the cursor on an open connection until the
// connection is lost, a publish fails, or ctx ends.
func (u *Uplink) pump(ctx context.Context, c *conn, ob *outbox) error {
	// Whatever was in flight on an earlier connection is sent again.
	ob.last, ob.buf, ob.inflight = ob.cursor, nil, nil
	topic := u.root + "/events"
	batch := u.o.Batch
	rate := newBucket(u.o.MaxRate, batch)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var readErrAt time.Time

	for {
		// Taken before reading, so an append after the read still wakes us.
		changed := u.j.Changed()

		// paho flips the status at once when the connection breaks, but
		// its OnConnectionLost can come much later (it first waits for its
		// workers): look at the status too, at least every second.
		if !c.client.IsConnectionOpen() {
			return errLost
		}
		u.applyRewind(ob)

		if _, err := u.collect(ob); err != nil {
			return err
		}

		var rateWait time.Duration
		for len(ob.inflight) < batch {
			if len(ob.buf) == 0 {
				if time.Since(readErrAt) < time.Second {
					break
				}
				recs, err := u.j.Read(ctx, ob.last, batch)
				if err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					readErrAt = time.Now()
					u.setError(err)
					u.log.Error("uplink cannot read the journal", "err", err, "after", ob.last)
					break
				}
				if len(recs) == 0 {
					break
				}
				if recs[0].Seq != ob.last+1 {
					u.log.Error("journal no longer holds events the uplink never sent (pruned)",
						"from", ob.last+1, "to", recs[0].Seq-1)
				}
				ob.buf = recs
			}
			if w := rate.take(time.Now()); w > 0 {
				rateWait = w
				break
			}
			rec := ob.buf[0]
			tok, err := u.publish(c, topic, false, rec.Body)
			if err != nil {
				// Not sent (lost, or paho's write queue timed out): stop
				// here, before anything later goes out, and start over.
				return fmt.Errorf("publish seq %d: %w", rec.Seq, err)
			}
			ob.inflight = append(ob.inflight, flight{seq: rec.Seq, tok: tok, sent: time.Now()})
			ob.buf[0] = journal.Record{}
			ob.buf = ob.buf[1:]
			ob.last = rec.Seq
			u.mu.Lock()
			u.st.Published++
			u.st.InFlight = len(ob.inflight)
			u.mu.Unlock()
		}

		// Wait for the first of: the head-of-line ack, an append (only when
		// we could publish it), the rate limiter, a cursor write due, an ack
		// overdue, a device status, the connection, ctx.
		var head <-chan struct{}
		var wait = time.Second
		if len(ob.inflight) > 0 {
			head = ob.inflight[0].tok.Done()
			overdue := time.Until(ob.inflight[0].sent.Add(u.ackTimeout))
			if overdue <= 0 {
				return fmt.Errorf("no PUBACK for seq %d in %v", ob.inflight[0].seq, u.ackTimeout)
			}
			wait = min(wait, overdue)
		}
		var wake <-chan struct{}
		if len(ob.inflight) < batch && len(ob.buf) == 0 && rateWait == 0 {
			wake = changed
		}
		if rateWait > 0 {
			wait = min(wait, rateWait)
		}
		if !readErrAt.IsZero() && len(ob.buf) == 0 {
			wait = min(wait, max(time.Until(readErrAt.Add(time.Second)), time.Millisecond))
		}
		timer.Reset(wait) // Go >= 1.23: no stale tick after Reset
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.lost:
			return errLost
		case <-head:
		case <-wake:
		case <-timer.C:
		case <-u.kick: // device status, node state, or a rewind (applied at the top)
			u.publishNodeState(c)
			u.publishDeviceStatus(c)
		}
	}
}

// bucket is a token bucket: rate tokens per second, up to burst.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newBucket(rate, burst int) *bucket {
	if rate < 0 {
		return &bucket{}
	}
	b := &bucket{rate: float64(rate), burst: float64(max(1, min(burst, rate)))}
	b.tokens = b.burst
	return b
}

// take takes a token and returns 0, or returns how long until one is there.
func (b *bucket) take(now time.Time) time.Duration {
	if b.rate == 0 {
		return 0
	}
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return max(time.Duration((1-b.tokens)/b.rate*float64(time.Second)), time.Millisecond)
}
