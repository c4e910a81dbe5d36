// Package hpadsim is the pads' side of HPAD-1 (docs/protocols.md §3): a bus of
// simulated evaluation pads answering a master on one io.ReadWriter, as
// several pads share one RS-485 line. Tests drive the pads (a citizen's
// rating, staff keys, faults, power loss) and inject line faults; vport puts
// a Bus behind a real pty for the daemon.
package hpadsim

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"halld/drivers/hpad"
	"halld/drivers/vport"
)

// Gap is how long the line must stay quiet before a pad gives up on a frame
// cut short (the decoder's Flush). Real pads use the 3.5-character gap; a
// pty or pipe can stall for milliseconds inside one frame, so the simulator
// is more patient, yet still well under the master's 200 ms timeout.
const Gap = 20 * time.Millisecond

// Bus is one RS-485 line with pads on it.
type Bus struct {
	mu    sync.Mutex
	pads  map[byte]*Pad
	stats hpad.Stats
	dec   hpad.Decoder // owned by Serve
}

// NewBus returns a line with no pads.
func NewBus() *Bus { return &Bus{pads: map[byte]*Pad{}} }

// AddPad attaches a pad at addr (01–F7). It panics on an invalid or taken
// address: that is a mistake in the test or demo setup.
func (b *Bus) AddPad(addr byte, info PadInfo) *Pad {
	if addr < hpad.AddrMin || addr > hpad.AddrMax {
		panic(fmt.Sprintf("hpadsim: pad address %02X outside %02X-%02X", addr, hpad.AddrMin, hpad.AddrMax))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pads[addr] != nil {
		panic(fmt.Sprintf("hpadsim: two pads at address %02X", addr))
	}
	p := newPad(addr, info)
	b.pads[addr] = p
	return p
}

// Pad returns the pad at addr, or nil.
func (b *Bus) Pad(addr byte) *Pad { b.mu.Lock(); defer b.mu.Unlock(); return b.pads[addr] }

// Stats returns what the pads' receiver made of the line so far (frames,
// bad CRCs, junk).
func (b *Bus) Stats() hpad.Stats { b.mu.Lock(); defer b.mu.Unlock(); return b.stats }

// Serve plays the pads on rw: it decodes the master's frames and lets the
// addressed pad answer at once (after its SetSlow delay). Broadcasts (00)
// are executed by every pad without a reply; frames for absent addresses,
// frames with a bad CRC and replies (another device's, or an echo) get no
// reply. AddrAny (FE) reaches the pad when it is alone on the bus, and the
// reply carries the pad's own address, so a master can learn it.
//
// Serve returns rw's read or write error (io.EOF, a closed pty) or ctx's
// error. A Read blocked when ctx ends is left to return when the caller
// closes rw. Serve calls must not overlap; the pads' state carries over
// between them.
func (b *Bus) Serve(ctx context.Context, rw io.ReadWriter) error {
	b.dec.Flush() // a frame cut off on the last connection is gone
	chunks, stop := vport.ReadChunks(rw)
	defer stop()
	gap := time.NewTimer(Gap)
	gap.Stop()
	defer gap.Stop()
	for {
		var frames []hpad.Frame
		var rerr error
		select {
		case <-ctx.Done():
			return ctx.Err()
		case c := <-chunks:
			frames, rerr = b.dec.Feed(c.B), c.Err
			if b.dec.Buffered() > 0 {
				gap.Reset(Gap)
			} else {
				gap.Stop()
			}
		case <-gap.C:
			frames = b.dec.Flush()
		}
		b.mu.Lock()
		b.stats = b.dec.Stats()
		b.mu.Unlock()
		for _, f := range frames {
			if err := b.handle(ctx, f, rw); err != nil {
				return err
			}
		}
		if rerr != nil {
			return fmt.Errorf("hpadsim: read: %w", rerr)
		}
	}
}

// handle routes one frame and writes the reply, if any.
func (b *Bus) handle(ctx context.Context, f hpad.Frame, w io.Writer) error {
	if hpad.IsReply(f.Cmd) {
		return nil
	}
	b.mu.Lock()
	var p *Pad
	switch f.Addr {
	case hpad.AddrBroadcast:
		pads := make([]*Pad, 0, len(b.pads))
		for _, addr := range slices.Sorted(maps.Keys(b.pads)) {
			pads = append(pads, b.pads[addr])
		}
		b.mu.Unlock()
		for _, p := range pads {
			p.broadcast(f)
		}
		return nil
	case hpad.AddrAny:
		// Only meaningful point to point; on a shared bus every pad would
		// answer at once and garble the line, which a master sees as silence.
		if len(b.pads) == 1 {
			for _, only := range b.pads {
				p = only
			}
		}
	default:
		p = b.pads[f.Addr]
	}
	b.mu.Unlock()
	if p == nil {
		return nil
	}
	reply, delay := p.request(f)
	if reply == nil {
		return nil
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	if _, err := w.Write(reply); err != nil {
		return fmt.Errorf("hpadsim: pad %02X: write reply: %w", p.addr, err)
	}
	return nil
}
