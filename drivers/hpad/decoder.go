package hpad

import (
	"bytes"
	"encoding/binary"
)

// Stats counts what a Decoder accepted and dropped since it was made.
type Stats struct {
	Frames    uint64 // frames accepted
	BadCRC    uint64 // candidates whose CRC did not match (ETX did)
	BadETX    uint64 // candidates without 03 where ETX belongs
	Oversize  uint64 // candidates with LEN > MaxPayload
	Truncated uint64 // candidates abandoned by Flush before their last byte came
	JunkBytes uint64 // bytes dropped: every byte fed is in an accepted frame, dropped, or still buffered
}

// Decoder finds frames in a byte stream, as docs/protocols.md §3.1 says a
// receiver does: it hunts for STX, reads the header, waits for LEN+3 more
// bytes and accepts the frame only when both the CRC and ETX match;
// otherwise it resyncs from the next 02 after the bad start, so a good
// frame right behind a broken one is not lost. A LEN over MaxPayload is
// garbage at once. The zero value is ready.
//
// Feed bytes as they arrive, split anywhere: the frames are the same however
// the stream is cut. There is no byte stuffing, so a 02 inside a payload
// may start a false candidate; such a candidate waits for its claimed length
// before failing. When the line has gone quiet (the master's reply timeout,
// the pad's inter-frame gap), call Flush so a cut-off frame cannot hold up
// the frames behind it.
type Decoder struct {
	buf   []byte
	stats Stats
}

// verdicts of a candidate at the head of the buffer
const (
	needMore = iota
	accept
	badCRC
	badETX
	oversize
)

// Feed adds p to the stream and returns the frames it completed, in order.
// Their payloads are fresh copies.
func (d *Decoder) Feed(p []byte) []Frame {
	d.buf = append(d.buf, p...)
	return d.scan(false)
}

// Flush declares the stream quiet: every candidate still waiting for bytes
// is abandoned (counted Truncated) and the bytes behind it are searched
// again. It returns the frames found that way and leaves nothing buffered.
func (d *Decoder) Flush() []Frame { return d.scan(true) }

// Buffered is how many bytes wait for the rest of a frame.
func (d *Decoder) Buffered() int { return len(d.buf) }

// Stats returns the counters.
func (d *Decoder) Stats() Stats { return d.stats }

func (d *Decoder) scan(flush bool) []Frame {
	var out []Frame
	i := 0 // first byte not yet consumed
	for i < len(d.buf) {
		j := bytes.IndexByte(d.buf[i:], STX)
		if j < 0 {
			d.stats.JunkBytes += uint64(len(d.buf) - i)
			i = len(d.buf)
			break
		}
		d.stats.JunkBytes += uint64(j)
		i += j
		f, n, v := check(d.buf[i:])
		if v == accept {
			d.stats.Frames++
			out = append(out, f)
			i += n
			continue
		}
		switch v {
		case needMore:
			if !flush {
				d.compact(i)
				return out
			}
			d.stats.Truncated++
		case badCRC:
			d.stats.BadCRC++
		case badETX:
			d.stats.BadETX++
		case oversize:
			d.stats.Oversize++
		}
		d.stats.JunkBytes++ // the false STX; resync from the byte after it
		i++
	}
	d.compact(i)
	return out
}

// compact drops the consumed bytes, and a large backing array with them, so
// one big Feed does not pin its memory.
func (d *Decoder) compact(i int) {
	n := copy(d.buf, d.buf[i:])
	d.buf = d.buf[:n]
	if cap(d.buf) > 4*(Overhead+MaxPayload) && n < Overhead+MaxPayload {
		d.buf = append([]byte(nil), d.buf...)
	}
}

// check judges the candidate at b[0] (an STX). On accept it returns the
// frame and its length on the wire.
func check(b []byte) (Frame, int, int) {
	if len(b) < headerLen {
		return Frame{}, 0, needMore
	}
	n := int(binary.LittleEndian.Uint16(b[4:6]))
	if n > MaxPayload {
		return Frame{}, 0, oversize
	}
	size := Overhead + n
	if len(b) < size {
		return Frame{}, 0, needMore
	}
	// ETX first: on a misframed candidate it almost always fails, and it is cheaper.
	if b[size-1] != ETX {
		return Frame{}, 0, badETX
	}
	if CRC16(b[1:headerLen+n]) != binary.LittleEndian.Uint16(b[headerLen+n:]) {
		return Frame{}, 0, badCRC
	}
	f := Frame{Addr: b[1], Seq: b[2], Cmd: b[3]}
	if n > 0 {
		f.Payload = append([]byte(nil), b[headerLen:headerLen+n]...)
	}
	return f, size, accept
}
