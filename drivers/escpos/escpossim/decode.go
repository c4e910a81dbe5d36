// Package escpossim is the printer's side of ESC/POS: a streaming decoder of
// what a host sends, and a simulated queue-ticket printer built on it, for
// tests and the demo hall.
package escpossim

import (
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Item kinds.
const (
	KindText        = "text"
	KindQR          = "qr"
	KindRaster      = "raster"
	KindCut         = "cut"
	KindFeed        = "feed"
	KindStatusQuery = "status_query"
	KindInit        = "init"
	KindUnknown     = "unknown"
)

// Item is one thing the printer did.
type Item struct {
	Kind    string
	Text    string // text: the line; qr: the payload
	Width   int    // text: character magnification 1..8, taken at the line's first character
	Height  int
	Bold    bool
	Align   int    // text: 0 left, 1 center, 2 right
	N       int    // feed: lines; status_query: 1..4; qr: module size in dots
	W, H    int    // raster: size in dots
	Partial bool   // cut: partial rather than full
	Raw     []byte // unknown: the command's bytes (only its header if its data was long); raster: the image rows, W/8 bytes each (nil past 1 MiB)
}

// maxKeep bounds the image data a raster Item carries.
const maxKeep = 1 << 20

// Decoder parses a host's byte stream as a printer does. Feed it bytes as
// they arrive, split anywhere; commands cut short wait for the rest. The
// zero value is ready, in Chinese mode, as CN printers power up.
//
// Unknown commands are skipped by a fixed rule, reported as KindUnknown:
// ESC x, GS x and FS x that we do not know skip those 2 bytes (any
// argument bytes then read as text, as on a printer that lacks the
// command); a lone DLE skips 1 byte. Known commands we do not model are
// skipped whole, with their data: see the tables below.
type Decoder struct {
	pend []byte // bytes not yet parsed
	rt   int    // real-time scanner: how much of "10 04" was just seen

	skip  int  // data bytes to pass over without parsing
	keep  bool // keep the skipped bytes in img
	img   []byte
	after *Item // emitted once skip is done

	alnum bool // FS . seen: bytes are single-byte code page characters
	w, h  int  // magnification − 1
	bold  bool
	align int

	line     []rune
	lineOpen bool
	lineAttr Item

	qr       []byte // stored by GS ( k fn 180
	qrModule int

	gb *encoding.Decoder
}

// Feed parses p and returns what the printer did. DLE EOT n is recognised
// wherever it occurs, even inside another command's data, because printers
// execute it on receipt (docs/protocols.md §1.4); its Item comes before those of
// commands still incomplete at that point.
func (d *Decoder) Feed(p []byte) []Item {
	var out []Item
	for _, c := range p {
		d.pend = append(d.pend, c)
		if n, ok := d.realtime(c); ok {
			out = d.parse(out)
			out = append(out, Item{Kind: KindStatusQuery, N: n})
		}
	}
	return d.parse(out)
}

// realtime spots DLE EOT n (n = 1..4) in the raw stream.
func (d *Decoder) realtime(c byte) (int, bool) {
	switch {
	case d.rt == 2 && c >= 1 && c <= 4:
		d.rt = 0
		return int(c), true
	case c == 0x10:
		d.rt = 1
	case d.rt == 1 && c == 0x04:
		d.rt = 2
	default:
		d.rt = 0
	}
	return 0, false
}

func (d *Decoder) parse(out []Item) []Item {
	for {
		if d.skip > 0 {
			n := min(d.skip, len(d.pend))
			if d.keep {
				d.img = append(d.img, d.pend[:n]...)
			}
			d.pend, d.skip = d.pend[n:], d.skip-n
			if d.skip > 0 {
				return out
			}
		}
		if d.after != nil {
			it := *d.after
			if d.keep {
				it.Raw = d.img
			}
			out = append(out, it)
			d.after, d.keep, d.img = nil, false, nil
		}
		if len(d.pend) == 0 {
			return out
		}
		n := d.step(&out)
		if n == 0 {
			return out // incomplete: wait for more bytes
		}
		d.pend = d.pend[n:]
	}
}

// Argument byte counts of fixed-length commands we skip without modelling.
var (
	escArgs = map[byte]int{
		' ': 1, '!': 1, '$': 2, '%': 1, '-': 1, '2': 0, '3': 1, '<': 0, '=': 1, '?': 1,
		'E': 1, 'G': 1, 'J': 1, 'L': 0, 'M': 1, 'R': 1, 'S': 0, 'T': 1, 'V': 1,
		'W': 8, '\\': 2, 'a': 1, 'c': 2, 'd': 1, 'e': 1, 'p': 3, 'r': 1, 't': 1, '{': 1,
	}
	gsArgs = map[byte]int{
		'!': 1, '$': 2, '/': 1, ':': 0, 'B': 1, 'H': 1, 'I': 1, 'L': 2, 'P': 2, 'T': 1,
		'W': 2, '\\': 2, '^': 3, 'a': 1, 'b': 1, 'f': 1, 'h': 1, 'r': 1, 'w': 1,
	}
	fsArgs = map[byte]int{
		'&': 0, '.': 0, '!': 1, '-': 1, 'C': 1, 'S': 2, 'W': 1, 'p': 2, '2': 74, // FS 2 c1 c2 + 72 bytes
	}
)

// step parses one command or character at the head of d.pend and returns
// how many bytes it used, or 0 if it needs more. Every decision depends only
// on bytes the command needs, so a split stream parses the same.
func (d *Decoder) step(out *[]Item) int {
	p := d.pend
	c := p[0]
	switch {
	case c == '\n':
		d.endLine(out, true)
		return 1
	case c == 0x10:
		return d.dle(out, p)
	case c == 0x1B:
		return d.esc(out, p)
	case c == 0x1D:
		return d.gs(out, p)
	case c == 0x1C:
		return d.fs(out, p)
	case c < 0x20 || c == 0x7F:
		return 1 // other controls (CR, HT, …) do nothing we model
	case c < 0x80:
		d.text(rune(c))
		return 1
	case !d.alnum && c >= 0x81 && c <= 0xFE:
		return d.gbChar(p)
	default:
		d.text('?') // a single-byte code page character: we do not track ESC t
		return 1
	}
}

// gbChar decodes a GB18030 2- or 4-byte code; a bad one prints '?' for its
// lead byte and parsing resumes at the next byte.
func (d *Decoder) gbChar(p []byte) int {
	if len(p) < 2 {
		return 0
	}
	n := 0
	switch c1 := p[1]; {
	case c1 >= 0x30 && c1 <= 0x39:
		if len(p) < 4 {
			return 0
		}
		if p[2] >= 0x81 && p[2] <= 0xFE && p[3] >= 0x30 && p[3] <= 0x39 {
			n = 4
		}
	case c1 >= 0x40 && c1 <= 0xFE && c1 != 0x7F:
		n = 2
	}
	if n == 0 {
		d.text('?')
		return 1
	}
	if d.gb == nil {
		d.gb = simplifiedchinese.GB18030.NewDecoder()
	}
	var buf [8]byte
	d.gb.Reset()
	m, _, err := d.gb.Transform(buf[:], p[:n], true)
	r, size := utf8.DecodeRune(buf[:m])
	if err != nil || r == utf8.RuneError || size != m {
		r = '?'
	}
	d.text(r)
	return n
}

func (d *Decoder) text(r rune) {
	if !d.lineOpen {
		d.lineOpen = true
		d.lineAttr = d.attrs()
	}
	d.line = append(d.line, r)
}

func (d *Decoder) attrs() Item {
	return Item{Kind: KindText, Width: d.w + 1, Height: d.h + 1, Bold: d.bold, Align: d.align}
}

// endLine prints the line buffer. LF prints even an empty line (force);
// other commands only flush pending text.
func (d *Decoder) endLine(out *[]Item, force bool) {
	if !d.lineOpen && !force {
		return
	}
	it := d.attrs()
	if d.lineOpen {
		it = d.lineAttr
	}
	it.Text = string(d.line)
	*out = append(*out, it)
	d.line, d.lineOpen = d.line[:0], false
}

func (d *Decoder) unknown(out *[]Item, raw []byte) {
	*out = append(*out, Item{Kind: KindUnknown, Raw: append([]byte(nil), raw...)})
}

// skipData passes over k data bytes after a header of hdr bytes, then emits
// it. Only raster images keep their data.
func (d *Decoder) skipData(hdr []byte, k int, it Item) int {
	if it.Kind == KindUnknown {
		it.Raw = append([]byte(nil), hdr...)
	}
	d.skip, d.after = k, &it
	d.keep = it.Kind == KindRaster && k <= maxKeep
	return len(hdr)
}

func (d *Decoder) dle(out *[]Item, p []byte) int {
	if len(p) < 2 {
		return 0
	}
	n := 1
	switch p[1] {
	case 0x04, 0x05: // DLE EOT n (already reported by realtime), DLE ENQ n
		n = 3
	case 0x14: // DLE DC4 fn …: fn 8 (clear buffers) takes 8 more bytes, others 3
		if len(p) < 3 {
			return 0
		}
		n = 5
		if p[2] == 8 {
			n = 10
		}
	}
	if len(p) < n {
		return 0
	}
	if p[1] != 0x04 {
		d.unknown(out, p[:n])
	}
	return n
}

func (d *Decoder) esc(out *[]Item, p []byte) int {
	if len(p) < 2 {
		return 0
	}
	switch p[1] {
	case '@':
		d.reset()
		*out = append(*out, Item{Kind: KindInit})
		return 2
	case '*': // ESC * m nL nH + data: 1 byte per column for 8-dot modes, 3 for 24-dot
		if len(p) < 5 {
			return 0
		}
		k := int(p[3]) | int(p[4])<<8
		if p[2] >= 32 {
			k *= 3
		}
		return d.skipData(p[:5], k, Item{Kind: KindUnknown})
	case 'D': // ESC D n1 … nk NUL, k ≤ 32
		for i := 2; i < len(p) && i < 2+33; i++ {
			if p[i] == 0 || i == 2+32 {
				d.unknown(out, p[:i+1])
				return i + 1
			}
		}
		return 0
	}
	args, ok := escArgs[p[1]]
	if !ok {
		d.unknown(out, p[:2])
		return 2
	}
	if len(p) < 2+args {
		return 0
	}
	switch n := p[2:]; p[1] {
	case '!':
		d.w, d.h, d.bold = int(n[0]>>5&1), int(n[0]>>4&1), n[0]&0x08 != 0
	case 'E':
		d.bold = n[0]&1 != 0
	case 'a':
		if a := int(n[0] & 0x0F); (n[0] < 3 || (n[0] >= '0' && n[0] <= '2')) && a <= 2 {
			d.align = a
		}
	case 'd':
		d.endLine(out, false)
		*out = append(*out, Item{Kind: KindFeed, N: int(n[0])})
	default:
		d.unknown(out, p[:2+args])
	}
	return 2 + args
}

// reset is ESC @: the buffer is cleared and modes return to power-up state.
func (d *Decoder) reset() {
	d.line, d.lineOpen = d.line[:0], false
	d.alnum, d.w, d.h, d.bold, d.align = false, 0, 0, false, 0
	d.qr, d.qrModule = nil, 0
}

func (d *Decoder) gs(out *[]Item, p []byte) int {
	if len(p) < 2 {
		return 0
	}
	switch p[1] {
	case 'v': // GS v 0 m xL xH yL yH + data
		if len(p) < 3 {
			return 0
		}
		if p[2] != '0' {
			d.unknown(out, p[:2])
			return 2
		}
		if len(p) < 8 {
			return 0
		}
		x, y := int(p[4])|int(p[5])<<8, int(p[6])|int(p[7])<<8
		d.endLine(out, false)
		return d.skipData(p[:8], x*y, Item{Kind: KindRaster, W: x * 8, H: y})
	case 'V': // GS V m, or GS V m n for m ≥ 65
		if len(p) < 3 {
			return 0
		}
		n := 3
		if p[2] >= 65 {
			n = 4
		}
		if len(p) < n {
			return 0
		}
		if d.lineOpen {
			d.unknown(out, p[:n]) // a cut works only at the beginning of a line
			return n
		}
		m := p[2]
		*out = append(*out, Item{Kind: KindCut, Partial: m == 1 || m == 49 || m == 66 || m == 98 || m == 104})
		return n
	case '(': // GS ( fn pL pH + pL+pH*256 bytes
		if len(p) < 5 {
			return 0
		}
		k := int(p[3]) | int(p[4])<<8
		if p[2] != 'k' {
			return d.skipData(p[:5], k, Item{Kind: KindUnknown})
		}
		if len(p) < 5+k {
			return 0
		}
		d.symbol(out, p[:5+k])
		return 5 + k
	case '*': // GS * x y + x*y*8 bytes
		if len(p) < 4 {
			return 0
		}
		return d.skipData(p[:4], int(p[2])*int(p[3])*8, Item{Kind: KindUnknown})
	case '8': // GS 8 L p1 p2 p3 p4 + p1..p4 bytes
		if len(p) < 7 {
			return 0
		}
		if p[2] != 'L' {
			d.unknown(out, p[:2])
			return 2
		}
		k := int(p[3]) | int(p[4])<<8 | int(p[5])<<16 | int(p[6])<<24
		return d.skipData(p[:7], k, Item{Kind: KindUnknown})
	case 'k': // GS k m: m ≤ 6 data NUL (≤ 255 bytes); 65 ≤ m ≤ 73 n + n bytes
		if len(p) < 3 {
			return 0
		}
		if m := p[2]; m <= 6 {
			for i := 3; i < len(p) && i < 3+256; i++ {
				if p[i] == 0 || i == 3+255 {
					d.unknown(out, p[:i+1])
					return i + 1
				}
			}
			return 0
		} else if m >= 65 && m <= 73 {
			if len(p) < 4 || len(p) < 4+int(p[3]) {
				return 0
			}
			n := 4 + int(p[3])
			d.unknown(out, p[:n])
			return n
		}
		d.unknown(out, p[:3])
		return 3
	}
	args, ok := gsArgs[p[1]]
	if !ok {
		d.unknown(out, p[:2])
		return 2
	}
	if len(p) < 2+args {
		return 0
	}
	if p[1] == '!' {
		// Bits 4–6 width−1, 0–2 height−1; an n out of range is ignored.
		if n := p[2]; n&0x88 == 0 {
			d.w, d.h = int(n>>4), int(n&0x07)
		}
	} else {
		d.unknown(out, p[:2+args])
	}
	return 2 + args
}

// symbol handles GS ( k. Only the QR functions (cn '1') are modelled.
func (d *Decoder) symbol(out *[]Item, p []byte) {
	if len(p) < 7 || p[5] != '1' {
		d.unknown(out, p)
		return
	}
	arg := p[7:]
	switch p[6] {
	case 'A', 'E': // model, error correction: no effect on the payload
	case 'C':
		if len(arg) > 0 {
			d.qrModule = int(arg[0])
		}
	case 'P':
		if len(arg) > 0 {
			d.qr = append(d.qr[:0], arg[1:]...)
		}
	case 'Q':
		d.endLine(out, false)
		if d.qr != nil {
			*out = append(*out, Item{Kind: KindQR, Text: string(d.qr), N: d.qrModule})
		}
	default:
		d.unknown(out, p)
	}
}

func (d *Decoder) fs(out *[]Item, p []byte) int {
	if len(p) < 2 {
		return 0
	}
	if p[1] == '(' { // FS ( fn pL pH + data
		if len(p) < 5 {
			return 0
		}
		return d.skipData(p[:5], int(p[3])|int(p[4])<<8, Item{Kind: KindUnknown})
	}
	args, ok := fsArgs[p[1]]
	if !ok {
		d.unknown(out, p[:2])
		return 2
	}
	if len(p) < 2+args {
		return 0
	}
	switch p[1] {
	case '&':
		d.alnum = false
	case '.':
		d.alnum = true
	default:
		d.unknown(out, p[:2+args])
	}
	return 2 + args
}
