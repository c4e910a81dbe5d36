package escpos

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/skip2/go-qrcode"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"

	"halld/drivers/escpos/internal/bigfont"
)

// Command prefixes (docs/protocols.md §1.1).
const (
	dle = 0x10
	eot = 0x04
	esc = 0x1B
	fs  = 0x1C
	gs  = 0x1D
	lf  = 0x0A
)

// tearFeedLines is how far a printer without a cutter feeds after a ticket
// so the last line clears the tear bar.
const tearFeedLines = 4

// Align is the ESC a justification.
type Align int

const (
	AlignLeft   Align = 0
	AlignCenter Align = 1
	AlignRight  Align = 2
)

// Builder accumulates one print job. Methods chain; the first error is kept
// and every later call is a no-op, so callers check Err once at the end.
type Builder struct {
	p       Profile
	buf     []byte
	err     error
	subs    int
	w, h    int // current GS ! magnification, restored after BigText
	align   Align
	midLine bool // text sent since the last line end: cuts and images need a line start
	enc     *encoding.Encoder
	dec     *encoding.Decoder
}

// NewBuilder starts an empty job for printer profile p.
func NewBuilder(p Profile) *Builder {
	b := &Builder{
		p: p, w: 1, h: 1,
		enc: simplifiedchinese.GB18030.NewEncoder(),
		dec: simplifiedchinese.GB18030.NewDecoder(),
	}
	if err := p.Validate(); err != nil {
		b.err = err
	}
	return b
}

// Bytes returns a copy of the job so far.
func (b *Builder) Bytes() []byte { return append([]byte(nil), b.buf...) }

// Err returns the first error, if any.
func (b *Builder) Err() error { return b.err }

// Substituted counts the runes Text printed as '?' because the profile's
// charset cannot print them.
func (b *Builder) Substituted() int { return b.subs }

func (b *Builder) fail(format string, a ...any) *Builder {
	if b.err == nil {
		b.err = fmt.Errorf("escpos: "+format, a...)
	}
	return b
}

func (b *Builder) raw(p ...byte) { b.buf = append(b.buf, p...) }

// lineStart ends a pending text line: cuts work only at the beginning of a
// line (docs/protocols.md §1.1), and images and QR codes should not share one.
func (b *Builder) lineStart() {
	if b.midLine {
		b.raw(lf)
		b.midLine = false
	}
}

// Init resets the printer, then turns Chinese mode on: ESC @ may or may not
// keep it (docs/protocols.md §1.3, §5), so we never rely on the power-up state.
func (b *Builder) Init() *Builder {
	if b.err != nil {
		return b
	}
	b.raw(esc, '@', fs, '&')
	b.w, b.h, b.align, b.midLine = 1, 1, AlignLeft, false
	return b
}

// Align sets the justification of the following lines (ESC a n).
func (b *Builder) Align(a Align) *Builder {
	if b.err != nil {
		return b
	}
	if a < AlignLeft || a > AlignRight {
		return b.fail("align %d: must be 0, 1 or 2", a)
	}
	b.raw(esc, 'a', byte(a))
	b.align = a
	return b
}

// Bold turns emphasis on or off (ESC E n).
func (b *Builder) Bold(on bool) *Builder {
	if b.err != nil {
		return b
	}
	n := byte(0)
	if on {
		n = 1
	}
	b.raw(esc, 'E', n)
	return b
}

// Size sets the character magnification (GS ! n), clamped to
// 1..MaxCharMag: an out-of-range n is ignored or misread by some firmwares.
func (b *Builder) Size(w, h int) *Builder {
	if b.err != nil {
		return b
	}
	w, h = clamp(w, 1, b.p.MaxCharMag), clamp(h, 1, b.p.MaxCharMag)
	b.raw(gs, '!', byte((w-1)<<4|(h-1)))
	b.w, b.h = w, h
	return b
}

// Text prints s without ending the line. '\n' ends a line; runes the
// profile's charset cannot print, and control characters (which would be
// read as commands), are printed as '?' and counted in Substituted.
func (b *Builder) Text(s string) *Builder {
	if b.err != nil {
		return b
	}
	for _, r := range s {
		if r == '\n' {
			b.raw(lf)
			b.midLine = false
			continue
		}
		code, ok := b.gb(r)
		if !ok {
			b.subs++
			code = []byte{'?'}
		}
		b.raw(code...)
		b.midLine = true
	}
	return b
}

// Line prints s and ends the line.
func (b *Builder) Line(s string) *Builder {
	if b.err != nil {
		return b
	}
	b.Text(s)
	b.raw(lf)
	b.midLine = false
	return b
}

// gb returns r's GB18030 bytes if the profile's charset can print it.
func (b *Builder) gb(r rune) ([]byte, bool) {
	if r < utf8.RuneSelf {
		return []byte{byte(r)}, r >= 0x20 && r < 0x7F
	}
	// Private-use runes land in GB user-defined areas, which print blank.
	if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Co, r) {
		return nil, false
	}
	var src, code, back [utf8.UTFMax]byte
	ns := utf8.EncodeRune(src[:], r)
	b.enc.Reset()
	nc, _, err := b.enc.Transform(code[:], src[:ns], true)
	if err != nil {
		return nil, false
	}
	switch {
	case nc == 2 && b.p.Charset == CharsetGB2312:
		// GB2312 occupies leads A1–F7, trails A1–FE; older firmwares know no more.
		if code[0] < 0xA1 || code[0] > 0xF7 || code[1] < 0xA1 || code[1] == 0xFF {
			return nil, false
		}
	case nc == 2:
	case nc == 4 && b.p.Charset == CharsetGB18030:
	default:
		return nil, false
	}
	// Print only what the printer's table maps back to the same rune.
	b.dec.Reset()
	nb, _, err := b.dec.Transform(back[:], code[:nc], true)
	if err != nil || string(back[:nb]) != string(src[:ns]) {
		return nil, false
	}
	return code[:nc], true
}

// BigText prints s on a line of its own at magnification mag. Up to
// MaxCharMag this is GS !; past it, s is drawn as a raster image (GS v 0)
// from a built-in font for [0-9A-Z-] and space (lower case is upper-cased),
// which is what ticket numbers like A001 need. Text the font cannot draw
// falls back to GS ! at MaxCharMag rather than being lost. Images too wide
// for the paper are shrunk.
func (b *Builder) BigText(s string, mag int) *Builder {
	if b.err != nil {
		return b
	}
	b.lineStart()
	mag = max(mag, 1)
	if mag <= b.p.MaxCharMag {
		return b.bigAsText(s, mag)
	}
	up := make([]rune, 0, len(s))
	for _, r := range s {
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		if !bigfont.Supported(r) {
			return b.bigAsText(s, b.p.MaxCharMag)
		}
		up = append(up, r)
	}
	if len(up) == 0 {
		return b.bigAsText(s, mag)
	}
	mag = min(mag, b.p.Dots/bigfont.Width(len(up), 1))
	if mag <= b.p.MaxCharMag {
		return b.bigAsText(s, max(mag, 1))
	}
	x0 := b.alignOffset(bigfont.Width(len(up), mag))
	data, h := bigfont.Render(string(up), mag, b.p.Dots, x0)
	b.raster(data, b.p.Dots/8, h)
	return b
}

func (b *Builder) bigAsText(s string, mag int) *Builder {
	w, h := b.w, b.h
	b.Size(mag, mag).Line(s)
	return b.Size(w, h)
}

// alignOffset places an image of width dots per the current justification.
// Our images span the whole printable width, so firmwares that ignore ESC a
// for GS v 0 and those that honour it print them the same.
func (b *Builder) alignOffset(width int) int {
	switch b.align {
	case AlignCenter:
		return (b.p.Dots - width) / 2
	case AlignRight:
		return b.p.Dots - width
	}
	return 0
}

// raster sends GS v 0 in normal density. Our images are drawn with pixels
// at least 2 dots wide, so their data can never contain 10 04 n, which the
// printer would execute as a status query even inside image data.
func (b *Builder) raster(data []byte, widthBytes, height int) {
	b.raw(gs, 'v', '0', 0,
		byte(widthBytes), byte(widthBytes>>8), byte(height), byte(height>>8))
	b.raw(data...)
	b.midLine = false
}

// Feed prints the buffer and feeds n lines (ESC d n), n clamped to 0..255.
func (b *Builder) Feed(n int) *Builder {
	if b.err != nil {
		return b
	}
	b.raw(esc, 'd', byte(clamp(n, 0, 255)))
	b.midLine = false
	return b
}

// QR prints data as a model 2 QR code: GS ( k functions 165, 167, 169, 180
// and 181 (docs/protocols.md §1.2). module is clamped to 1..QRMaxModule dots. ecc
// is 'L', 'M', 'Q' or 'H' (also accepted: '0'..'3' and 0..3). Keep data
// ASCII: printers differ on how they read other bytes. A profile with
// QRMaxData 0 has no GS ( k; the symbol is then drawn here and sent as an
// image.
func (b *Builder) QR(data string, module int, ecc byte) *Builder {
	if b.err != nil {
		return b
	}
	level, ok := qrLevel(ecc)
	if !ok {
		return b.fail("QR error correction %#x: want L, M, Q or H", ecc)
	}
	if data == "" {
		return b.fail("QR data is empty")
	}
	module = clamp(module, 1, b.p.QRMaxModule)
	if b.p.QRMaxData == 0 {
		return b.qrImage(data, module, level)
	}
	if len(data) > b.p.QRMaxData {
		return b.fail("QR data is %d bytes; profile %s takes at most %d", len(data), b.p.Name, b.p.QRMaxData)
	}
	b.lineStart()
	b.raw(gs, '(', 'k', 4, 0, '1', 'A', '2', 0)       // fn 165: model 2
	b.raw(gs, '(', 'k', 3, 0, '1', 'C', byte(module)) // fn 167: module size
	b.raw(gs, '(', 'k', 3, 0, '1', 'E', '0'+level)    // fn 169: error correction
	n := len(data) + 3
	b.raw(gs, '(', 'k', byte(n), byte(n>>8), '1', 'P', '0') // fn 180: store
	b.buf = append(b.buf, data...)
	b.raw(gs, '(', 'k', 3, 0, '1', 'Q', '0') // fn 181: print
	return b
}

// qrLevel maps the accepted ECC spellings to 0..3 (L, M, Q, H).
func qrLevel(ecc byte) (byte, bool) {
	switch ecc {
	case 'L', 'l', '0', 0:
		return 0, true
	case 'M', 'm', '1', 1:
		return 1, true
	case 'Q', 'q', '2', 2:
		return 2, true
	case 'H', 'h', '3', 3:
		return 3, true
	}
	return 0, false
}

// qrImage draws the symbol for printers without GS ( k. Modules are at
// least 2 dots wide (see raster) and shrink to fit the paper.
func (b *Builder) qrImage(data string, module int, level byte) *Builder {
	q, err := qrcode.New(data, []qrcode.RecoveryLevel{qrcode.Low, qrcode.Medium, qrcode.High, qrcode.Highest}[level])
	if err != nil {
		return b.fail("QR: %w", err)
	}
	bm := q.Bitmap() // includes the 4-module quiet zone
	n := len(bm)
	module = min(max(module, 2), b.p.Dots/n)
	if module < 2 {
		return b.fail("QR of %d modules does not fit %d dots", n, b.p.Dots)
	}
	b.lineStart()
	wb := b.p.Dots / 8
	x0 := b.alignOffset(n * module)
	img := make([]byte, wb*n*module)
	for y := range n * module {
		for x := range n * module {
			if bm[y/module][x/module] {
				X := x0 + x
				img[y*wb+X/8] |= 0x80 >> (X % 8)
			}
		}
	}
	b.raster(img, wb, n*module)
	return b
}

// Cut ends the ticket. With a cutter: GS V 65/66 0, which feeds the last
// line past the cutter and then cuts (full or partial per profile). Without
// one: feed a few lines so the ticket can be torn off.
func (b *Builder) Cut() *Builder {
	if b.err != nil {
		return b
	}
	b.lineStart()
	switch b.p.Cutter {
	case CutterFull:
		b.raw(gs, 'V', 65, 0)
	case CutterPartial:
		b.raw(gs, 'V', 66, 0)
	default:
		b.Feed(tearFeedLines)
	}
	return b
}

// StatusQuery is the real-time status request DLE EOT n, n = 1..4
// (1 printer, 2 offline cause, 3 error cause, 4 roll paper).
func StatusQuery(n int) []byte { return []byte{dle, eot, byte(n)} }

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }
