package idcard

import (
	"bytes"
	"encoding/binary"
)

// Stats counts what a decoder accepted and dropped since it was made.
type Stats struct {
	Frames      uint64 // frames accepted
	BadChecksum uint64 // candidates whose XOR did not match
	Oversize    uint64 // candidates with LEN > MaxLen
	Undersize   uint64 // candidates with a LEN too short for a body
	Truncated   uint64 // candidates abandoned by Flush before their last byte came
	JunkBytes   uint64 // bytes dropped: every byte fed is in an accepted frame, dropped, or still buffered
}

// Bad is the number of broken frames seen (checksum, length, truncation).
func (s Stats) Bad() uint64 { return s.BadChecksum + s.Oversize + s.Undersize + s.Truncated }

// Add sums two sets of counters (a driver keeps one per connection).
func (s Stats) Add(o Stats) Stats {
	return Stats{
		Frames: s.Frames + o.Frames, BadChecksum: s.BadChecksum + o.BadChecksum, Oversize: s.Oversize + o.Oversize,
		Undersize: s.Undersize + o.Undersize, Truncated: s.Truncated + o.Truncated, JunkBytes: s.JunkBytes + o.JunkBytes,
	}
}

// Decoder finds responses in the byte stream from a reader, as docs/protocols.md
// §2.1 says a receiver does: it hunts for the preamble, reads LEN, waits for
// LEN more bytes and accepts the frame only when the XOR matches; otherwise
// it drops the candidate and hunts again from the byte after its start, so a
// good frame right behind a broken one is not lost. A LEN over MaxLen (or
// too short for SW1 SW2 SW3) is dropped at once instead of being waited for.
// The zero value is ready.
//
// Feed bytes as they arrive, split anywhere: the responses are the same
// however the stream is cut. A frame cut short waits for its claimed length;
// when the reply timeout passes, call Flush so it cannot hold up what is
// behind it.
//
// Replies carry personal data: bytes the decoder has finished with are
// zeroed, not merely dropped.
type Decoder struct{ s scanner }

// Feed adds p to the stream and returns the responses it completed, in
// order. Their Data are fresh copies (nil when empty).
func (d *Decoder) Feed(p []byte) []Response {
	d.s.buf = append(d.s.buf, p...)
	return d.scan(false)
}

// Flush declares the stream quiet: a candidate still waiting for bytes is
// abandoned (counted Truncated) and the bytes behind it are searched again.
// It returns the responses found that way and leaves nothing buffered.
func (d *Decoder) Flush() []Response { return d.scan(true) }

// Buffered is how many bytes wait for the rest of a frame.
func (d *Decoder) Buffered() int { return len(d.s.buf) }

// Stats returns the counters.
func (d *Decoder) Stats() Stats { return d.s.stats }

func (d *Decoder) scan(flush bool) []Response {
	var out []Response
	d.s.scan(MinRspLen, flush, func(v int, body []byte) {
		if v != accept {
			return
		}
		r := Response{SW1: body[0], SW2: body[1], SW3: body[2]}
		if len(body) > 3 {
			r.Data = append([]byte(nil), body[3:]...)
		}
		out = append(out, r)
	})
	return out
}

// Request is a host frame as a reader receives it. A frame whose checksum
// or length is wrong is still reported, with Status set to the code the
// reader answers it with (BadHostChecksum, BadHostLength); its Command is
// then empty. Status is OK for a good frame.
type Request struct {
	Command
	Status Status
}

// RequestDecoder finds the host's commands in a byte stream: the reader's
// side of Decoder, with the same framing and resync rules, except that a
// frame cut short gets no answer. Simulators use it.
type RequestDecoder struct{ s scanner }

// Feed adds p to the stream and returns the requests it completed.
func (d *RequestDecoder) Feed(p []byte) []Request {
	d.s.buf = append(d.s.buf, p...)
	return d.scan(false)
}

// Flush abandons a frame cut short and returns the requests found behind it.
func (d *RequestDecoder) Flush() []Request { return d.scan(true) }

// Buffered is how many bytes wait for the rest of a frame.
func (d *RequestDecoder) Buffered() int { return len(d.s.buf) }

// Stats returns the counters.
func (d *RequestDecoder) Stats() Stats { return d.s.stats }

func (d *RequestDecoder) scan(flush bool) []Request {
	var out []Request
	d.s.scan(MinCmdLen, flush, func(v int, body []byte) {
		switch v {
		case accept:
			r := Request{Command: Command{Cmd: body[0], Para: body[1]}, Status: OK}
			if len(body) > 2 {
				r.Data = append([]byte(nil), body[2:]...)
			}
			out = append(out, r)
		case badChecksum:
			out = append(out, Request{Status: BadHostChecksum})
		case oversize, undersize:
			out = append(out, Request{Status: BadHostLength})
		}
	})
	return out
}

// verdicts of a candidate at the head of the buffer
const (
	needMore = iota
	accept
	badChecksum
	oversize
	undersize
	truncated
)

// scanner is the framing both decoders share.
type scanner struct {
	buf   []byte
	stats Stats
}

// scan judges the candidates in the buffer in order and calls emit for each
// (body, between LEN and CHK, only on accept). body aliases the buffer: emit
// copies what it keeps, before the buffer is compacted.
func (s *scanner) scan(minLen int, flush bool, emit func(verdict int, body []byte)) {
	i := 0 // first byte not yet consumed
	defer func() { s.compact(i) }()
	for i < len(s.buf) {
		j := bytes.Index(s.buf[i:], preamble[:])
		if j < 0 {
			// Keep a tail that may be the start of a preamble cut by the
			// split, unless the stream is quiet: then it is junk too.
			keep := 0
			if !flush {
				keep = partialPreamble(s.buf[i:])
			}
			s.stats.JunkBytes += uint64(len(s.buf) - i - keep)
			i = len(s.buf) - keep
			return
		}
		s.stats.JunkBytes += uint64(j)
		i += j
		body, n, v := check(s.buf[i:], minLen)
		switch v {
		case accept:
			s.stats.Frames++
			emit(v, body)
			i += n
			continue
		case needMore:
			if !flush {
				return
			}
			v = truncated
			s.stats.Truncated++
		case badChecksum:
			s.stats.BadChecksum++
		case oversize:
			s.stats.Oversize++
		case undersize:
			s.stats.Undersize++
		}
		emit(v, nil)
		s.stats.JunkBytes++ // the false preamble's first byte; hunt again from the next
		i++
	}
}

// compact drops the consumed bytes, zeroing them, and a large backing array
// with them, so one big Feed does not pin its memory.
func (s *scanner) compact(i int) {
	n := copy(s.buf, s.buf[i:])
	clear(s.buf[n:])
	s.buf = s.buf[:n]
	if cap(s.buf) > 4*(HeaderLen+MaxLen) && n < HeaderLen+MaxLen {
		old := s.buf[:cap(s.buf)]
		s.buf = append([]byte(nil), s.buf...)
		clear(old)
	}
}

// partialPreamble is the length of the longest tail of b that is a proper
// prefix of the preamble.
func partialPreamble(b []byte) int {
	for k := min(len(b), len(preamble)-1); k > 0; k-- {
		if bytes.Equal(b[len(b)-k:], preamble[:k]) {
			return k
		}
	}
	return 0
}

// check judges the candidate at b[0] (a preamble). On accept it returns the
// body (between LEN and CHK) and the frame's length on the wire.
func check(b []byte, minLen int) ([]byte, int, int) {
	if len(b) < HeaderLen {
		return nil, 0, needMore
	}
	n := int(binary.BigEndian.Uint16(b[5:7]))
	switch {
	case n > MaxLen:
		return nil, 0, oversize
	case n < minLen:
		return nil, 0, undersize
	case len(b) < HeaderLen+n:
		return nil, 0, needMore
	}
	size := HeaderLen + n
	if Checksum(b[5:size-1]) != b[size-1] {
		return nil, 0, badChecksum
	}
	return b[HeaderLen : size-1], size, accept
}
