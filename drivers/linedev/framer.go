// Package linedev is the framing codec of plain line devices: QR/barcode
// scanners (扫码枪) that send each scan as one line, LED strips, sensors and
// older callers. It is pure code, no I/O: a Framer cuts a byte stream into
// lines and decodes them to UTF-8; Encode makes an outbound line. The
// device's side (a simulator) is linedev/linesim; the I/O driver is
// linedev/lineport.
//
// A line is what comes before a terminator. What cannot be a line a person
// scanned is dropped and counted, never passed on: a line longer than
// MaxLen, a line with control bytes (binary garbage, a wrong baud rate), a
// line that is not valid in the charset. Empty lines are ignored. The lines
// are the same however the stream is split between Feeds.
//
// Lines may carry personal data (booking codes, ID numbers in QR codes): this
// package never puts a line's contents into an error, and Mask is what a log
// may show of one.
package linedev

import (
	"bytes"
	"fmt"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Terminator is what ends a line on the wire.
type Terminator string

// Terminators. A device set up for CRLF is read correctly in every mode: in
// "lf" mode a CR right before the LF is part of the terminator (as Go's
// bufio.ScanLines does), in "cr" mode an LF right after the CR is, so a
// scanner whose suffix setting differs from devices.yaml still works. Only
// "crlf" is strict: there a lone CR or LF is a control byte in the line.
const (
	CRLF Terminator = "crlf"
	CR   Terminator = "cr"
	LF   Terminator = "lf"
	Any  Terminator = "any" // CR, LF or CRLF each end a line; CRLF counts once
)

// Charset is the encoding of lines on the wire.
type Charset string

// Charsets.
const (
	UTF8    Charset = "utf8"
	GB18030 Charset = "gb18030" // also reads GB2312 and GBK, its subsets
)

// DefaultMaxLen is MaxLen when unset: far above any scan (a QR code a phone
// shows for a booking is well under 200 bytes), low enough that a stream
// without terminators cannot grow a buffer.
const DefaultMaxLen = 512

// Options say how a device frames its lines; zero values take the defaults
// (any, DefaultMaxLen, utf8).
type Options struct {
	Terminator Terminator
	// MaxLen bounds a line in bytes both on the wire and as delivered in
	// UTF-8 (a Chinese character is 2 bytes in GB18030 and 3 in UTF-8), so
	// whoever takes the lines gets the bound that was configured.
	MaxLen  int
	Charset Charset
}

// withDefaults fills in zero values and checks the rest.
func (o Options) withDefaults() (Options, error) {
	switch o.Terminator {
	case "":
		o.Terminator = Any
	case CRLF, CR, LF, Any:
	default:
		return o, fmt.Errorf("linedev: terminator %q: want crlf, cr, lf or any", string(o.Terminator))
	}
	switch o.Charset {
	case "":
		o.Charset = UTF8
	case UTF8, GB18030:
	default:
		return o, fmt.Errorf("linedev: charset %q: want utf8 or gb18030", string(o.Charset))
	}
	switch {
	case o.MaxLen == 0:
		o.MaxLen = DefaultMaxLen
	case o.MaxLen < 0:
		return o, fmt.Errorf("linedev: max length %d: must be positive", o.MaxLen)
	}
	return o, nil
}

// Stats counts what a Framer did since it was made. Every line ended (by a
// terminator, Flush or Drop) that was not empty is counted exactly once:
// as one of Lines, or dropped as Overlong, Garbage, BadEncoding or Cut,
// under the first of these that applies.
type Stats struct {
	Lines       uint64 // lines returned, by Feed or Flush
	Overlong    uint64 // lines over MaxLen, dropped whole
	Garbage     uint64 // lines with control bytes other than TAB (binary data, a wrong baud rate)
	BadEncoding uint64 // lines not valid in the charset
	Flushed     uint64 // of Lines, those ended by Flush rather than a terminator
	Cut         uint64 // partial lines thrown away by Drop (a link lost mid-line)
	Bytes       uint64 // bytes fed
}

// Framer cuts a byte stream into lines. Feed it bytes as they arrive, split
// anywhere. It is not safe for concurrent use.
type Framer struct {
	o Options

	buf      []byte // the line so far; no longer kept once it is known bad
	n        int    // bytes in the line so far, kept or not
	overlong bool
	garbage  bool
	heldCR   bool // crlf/lf: a CR that is the terminator if an LF comes next
	skipLF   bool // cr/any: a line just ended with CR; an LF right after is part of it

	gbDec *encoding.Decoder
	gbEnc *encoding.Encoder
	stats Stats
}

// NewFramer makes a framer, refusing unknown options.
func NewFramer(o Options) (*Framer, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	f := &Framer{o: o}
	if o.Charset == GB18030 {
		f.gbDec = simplifiedchinese.GB18030.NewDecoder()
		f.gbEnc = simplifiedchinese.GB18030.NewEncoder()
	}
	return f, nil
}

// Options are the framer's options, defaults filled in.
func (f *Framer) Options() Options { return f.o }

// Feed adds p to the stream and returns the lines it completed, in order,
// decoded to UTF-8 without their terminators.
func (f *Framer) Feed(p []byte) []string {
	f.stats.Bytes += uint64(len(p))
	var out []string
	for _, b := range p {
		if f.skipLF {
			f.skipLF = false
			if b == '\n' {
				continue
			}
		}
		if f.heldCR {
			f.heldCR = false
			if b == '\n' {
				out = f.end(out, false)
				continue
			}
			f.add('\r') // a lone CR: a control byte inside the line
		}
		t := f.o.Terminator
		switch {
		case b == '\r' && (t == CR || t == Any):
			out = f.end(out, false)
			f.skipLF = true
		case b == '\r':
			f.heldCR = true
		case b == '\n' && (t == LF || t == Any):
			out = f.end(out, false)
		default:
			f.add(b)
		}
	}
	return out
}

// Flush ends the partial line as if its terminator had come: the driver
// calls it when the line has gone quiet, for scanners set up without a
// suffix. A held CR (crlf or lf mode) is taken for a terminator cut short.
// It returns the line if there was one and it was valid.
func (f *Framer) Flush() (string, bool) {
	f.heldCR, f.skipLF = false, false
	out := f.end(nil, true)
	if len(out) == 0 {
		return "", false
	}
	return out[0], true
}

// Drop throws the partial line away (counted as Cut) and returns how many
// bytes it had: for a link lost mid-line, where what came is most likely
// the start of a scan, not a whole one. The next byte starts a new line.
func (f *Framer) Drop() int {
	n := f.Pending()
	if f.n > 0 {
		f.stats.Cut++
	}
	f.reset()
	f.heldCR, f.skipLF = false, false
	return n
}

// Pending is how many bytes of an unfinished line have been fed (those of
// an overlong line being skipped included).
func (f *Framer) Pending() int {
	if f.heldCR {
		return f.n + 1
	}
	return f.n
}

// Stats returns the counters.
func (f *Framer) Stats() Stats { return f.stats }

// add appends one byte of line content.
func (f *Framer) add(b byte) {
	f.n++
	if b < 0x20 && b != '\t' || b == 0x7F {
		f.garbage = true
	}
	if f.n > f.o.MaxLen {
		f.overlong = true
	}
	if !f.overlong && !f.garbage {
		f.buf = append(f.buf, b)
	}
}

// end finishes the current line, appending it to out if it is good.
func (f *Framer) end(out []string, flushed bool) []string {
	defer f.reset()
	switch {
	case f.n == 0:
		return out // an empty line: ignored, not counted
	case f.overlong:
		f.stats.Overlong++
		return out
	case f.garbage:
		f.stats.Garbage++
		return out
	}
	line, ok := f.decode(f.buf)
	switch {
	case !ok:
		f.stats.BadEncoding++
	case hasControl(line):
		f.stats.Garbage++ // C1 controls (U+0080–U+009F) are only seen once decoded
	case len(line) > f.o.MaxLen:
		f.stats.Overlong++
	default:
		f.stats.Lines++
		if flushed {
			f.stats.Flushed++
		}
		out = append(out, line)
	}
	return out
}

func (f *Framer) reset() {
	f.buf = f.buf[:0]
	f.n, f.overlong, f.garbage = 0, false, false
}

// decode returns b as UTF-8, or false if b is not valid in the charset.
func (f *Framer) decode(b []byte) (string, bool) {
	if f.o.Charset == UTF8 {
		return string(b), utf8.Valid(b)
	}
	// x/text replaces what it cannot decode with U+FFFD instead of failing,
	// so a line is valid only if it encodes back to the bytes that came.
	s, err := f.gbDec.Bytes(b)
	if err != nil {
		return "", false
	}
	back, err := f.gbEnc.Bytes(s)
	if err != nil || !bytes.Equal(back, b) {
		return "", false
	}
	return string(s), true
}

// hasControl reports a control character other than TAB.
func hasControl(s string) bool {
	for _, r := range s {
		if r != '\t' && unicode.IsControl(r) {
			return true
		}
	}
	return false
}
