package idcard

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
)

// Sizes of what a read returns (docs/protocols.md §2.4).
const (
	TextLen        = 256  // text block
	PhotoLen       = 1024 // WLT photo
	FingerprintLen = 1024 // two 512-byte templates (30 10)
	ReadDataLen    = 4 + TextLen + PhotoLen
	ExtraAddrLen   = 70 // one 追加住址 entry, 35 UCS-2 characters
	MaxExtraAddrs  = 4
)

// KindOffset is where the text block says which layout it is (a UCS-2
// letter: 'J', 'I', 'Y'; anything else is a resident card).
const KindOffset = 248

// FieldError is a text field that does not parse. It names the field and
// its offset, never its content: the content is personal data.
type FieldError struct {
	Kind   Kind
	Field  string
	Offset int
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("idcard: %s text block: %s at offset %d: %s", e.Kind, e.Field, e.Offset, e.Reason)
}

// KindOf tells the layout of a text block from its offset 248.
func KindOf(block []byte) Kind {
	if len(block) < KindOffset+2 {
		return KindResident
	}
	switch binary.LittleEndian.Uint16(block[KindOffset:]) {
	case 'J':
		return KindHKMOTW
	case 'I':
		return KindForeigner2017
	case 'Y':
		return KindForeigner2023
	}
	return KindResident
}

// ParseText decodes a 256-byte text block (docs/protocols.md §2.5). Text is
// UTF-16LE with trailing spaces and NULs trimmed (inner spaces stay: English
// names have them). Dates, sex, nation and counts must parse; whether the
// card's data agree with each other is Validate's job.
func ParseText(block []byte) (Card, error) {
	if len(block) != TextLen {
		return Card{}, fmt.Errorf("idcard: text block of %d bytes, want %d", len(block), TextLen)
	}
	p := textParser{b: block, c: Card{Kind: KindOf(block)}}
	c := &p.c
	switch c.Kind {
	case KindResident:
		c.Name = p.str("name", 0, 30)
		c.Sex = p.sex(30)
		c.Nation = p.nation(32)
		c.Birth = p.date("birth", 36)
		c.Address = p.str("address", 52, 70)
		c.Number = p.str("number", 122, 36)
		c.Authority = p.str("authority", 158, 30)
		c.ValidFrom = p.date("valid from", 188)
		c.ValidTo, c.Permanent = p.validTo(204)
	case KindHKMOTW:
		c.Name = p.str("name", 0, 30)
		c.Sex = p.sex(30)
		c.Birth = p.date("birth", 36)
		c.Address = p.str("address", 52, 70)
		c.Number = p.str("number", 122, 36)
		c.Authority = p.str("authority", 158, 30)
		c.ValidFrom = p.date("valid from", 188)
		c.ValidTo, c.Permanent = p.validTo(204)
		c.PassNumber = p.str("pass number", 220, 18)
		c.IssueCount = p.count("issue count", 238)
	case KindForeigner2017:
		c.NameEn = p.str("English name", 0, 120)
		c.Sex = p.sex(120)
		c.Number = p.str("number", 122, 30)
		c.Nationality = p.str("nationality", 152, 6)
		c.Name = p.str("name", 158, 30)
		c.ValidFrom = p.date("valid from", 188)
		c.ValidTo, c.Permanent = p.validTo(204)
		c.Birth = p.date("birth", 220)
		c.CardVersion = p.str("card version", 236, 4)
		c.AuthorityCode = p.str("authority code", 240, 8)
	case KindForeigner2023:
		c.Name = p.str("name", 0, 30)
		c.Sex = p.sex(30)
		c.IssueCount = p.count("renewal count", 32)
		c.Birth = p.date("birth", 36)
		// The English name runs on from offset 52 (35 characters) to 220
		// (11 more): join the raw halves, then trim, so a space at the
		// joint stays inside the name.
		c.NameEn = trim(decode(block[52:122]) + decode(block[220:242]))
		c.Number = p.str("number", 122, 36)
		c.ValidFrom = p.date("valid from", 188)
		c.ValidTo, c.Permanent = p.validTo(204)
		c.Nationality = p.str("nationality", 242, 6)
		c.PrevCardLink = append([]byte(nil), block[250:256]...)
	}
	if p.err != nil {
		c.Wipe()
		return Card{}, p.err
	}
	return *c, nil
}

// textParser reads fields and keeps the first error.
type textParser struct {
	b   []byte
	c   Card
	err error
}

func (p *textParser) fail(field string, off int, reason string) {
	if p.err == nil {
		p.err = &FieldError{Kind: p.c.Kind, Field: field, Offset: off, Reason: reason}
	}
}

func (p *textParser) str(_ string, off, n int) string { return trim(decode(p.b[off : off+n])) }

// ascii is a fixed field of n bytes that must hold ASCII only.
func (p *textParser) ascii(field string, off, n int) (string, bool) {
	s := p.str(field, off, n)
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			p.fail(field, off, "not ASCII")
			return "", false
		}
	}
	return s, true
}

func (p *textParser) sex(off int) Sex {
	s, ok := p.ascii("sex", off, 2)
	if !ok {
		return 0
	}
	if len(s) != 1 || s[0] < '0' || s[0] > '9' || !Sex(s[0]-'0').Valid() {
		p.fail("sex", off, "not a GB/T 2261.1 code (0, 1, 2, 9)")
		return 0
	}
	return Sex(s[0] - '0')
}

func (p *textParser) nation(off int) Nation {
	s, ok := p.ascii("nation", off, 4)
	if !ok {
		return 0
	}
	n, ok := digits(s, 2)
	if !ok {
		p.fail("nation", off, "not two digits")
		return 0
	}
	return Nation(n)
}

func (p *textParser) count(field string, off int) int {
	s, ok := p.ascii(field, off, 4)
	if !ok || s == "" {
		return 0
	}
	n, ok := digits(s, len(s))
	if !ok {
		p.fail(field, off, "not a number")
		return 0
	}
	return n
}

func (p *textParser) date(field string, off int) time.Time {
	s, ok := p.ascii(field, off, 16)
	if !ok {
		return time.Time{}
	}
	t, ok := parseDate(s)
	if !ok {
		p.fail(field, off, "not a YYYYMMDD date")
	}
	return t
}

// permanentText is the valid-to field of a card without end: 长期.
const permanentText = "长期"

func (p *textParser) validTo(off int) (time.Time, bool) {
	if p.str("valid to", off, 16) == permanentText {
		return time.Time{}, true
	}
	return p.date("valid to", off), false
}

// parseDate reads YYYYMMDD as midnight in Asia/Shanghai; the date must exist.
func parseDate(s string) (time.Time, bool) {
	if len(s) != 8 {
		return time.Time{}, false
	}
	y, ok1 := digits(s[:4], 4)
	m, ok2 := digits(s[4:6], 2)
	d, ok3 := digits(s[6:], 2)
	if !ok1 || !ok2 || !ok3 || y == 0 {
		return time.Time{}, false
	}
	t := Date(y, time.Month(m), d)
	if t.Year() != y || t.Month() != time.Month(m) || t.Day() != d {
		return time.Time{}, false // 20230230 would roll over to March
	}
	return t, true
}

// digits parses exactly n ASCII digits.
func digits(s string, n int) (int, bool) {
	if len(s) != n || n == 0 {
		return 0, false
	}
	v := 0
	for i := 0; i < n; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

// decode reads UTF-16LE (UCS-2 on the cards; a stray surrogate becomes
// U+FFFD rather than an error).
func decode(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// trim drops trailing spaces and NULs only: the padding. (HEV cuts at the
// first space, which breaks English names.)
func trim(s string) string { return strings.TrimRight(s, " \x00") }

// ParseRead decodes the data of a read card reply (30 01, after SW3): text
// length and photo length (big-endian), the text block, the WLT photo. The
// photo is kept raw.
func ParseRead(data []byte) (Card, error) {
	if len(data) < 4 {
		return Card{}, fmt.Errorf("idcard: read reply of %d bytes", len(data))
	}
	tl, pl := int(binary.BigEndian.Uint16(data)), int(binary.BigEndian.Uint16(data[2:]))
	if tl != TextLen {
		return Card{}, fmt.Errorf("idcard: read reply: text length %d, want %d", tl, TextLen)
	}
	if len(data) != 4+tl+pl {
		return Card{}, fmt.Errorf("idcard: read reply of %d bytes, its lengths say %d", len(data), 4+tl+pl)
	}
	c, err := ParseText(data[4 : 4+tl])
	if err != nil {
		return Card{}, err
	}
	c.PhotoWLT = append([]byte(nil), data[4+tl:]...)
	return c, nil
}

// ParseReadFingerprint decodes the data of a read with fingerprint reply
// (30 10): text, photo and fingerprint lengths (big-endian), then the three.
// docs/protocols.md marks this layout as unverified.
func ParseReadFingerprint(data []byte) (Card, error) {
	if len(data) < 6 {
		return Card{}, fmt.Errorf("idcard: read with fingerprint reply of %d bytes", len(data))
	}
	tl := int(binary.BigEndian.Uint16(data))
	pl := int(binary.BigEndian.Uint16(data[2:]))
	fl := int(binary.BigEndian.Uint16(data[4:]))
	if tl != TextLen {
		return Card{}, fmt.Errorf("idcard: read with fingerprint reply: text length %d, want %d", tl, TextLen)
	}
	if len(data) != 6+tl+pl+fl {
		return Card{}, fmt.Errorf("idcard: read with fingerprint reply of %d bytes, its lengths say %d", len(data), 6+tl+pl+fl)
	}
	c, err := ParseText(data[6 : 6+tl])
	if err != nil {
		return Card{}, err
	}
	c.PhotoWLT = append([]byte(nil), data[6+tl:6+tl+pl]...)
	if fl > 0 {
		c.Fingerprint = append([]byte(nil), data[6+tl+pl:]...)
	}
	return c, nil
}

// ParseExtraAddress decodes the data of a read extra address reply (30 03):
// up to four 70-byte UCS-2 entries (追加住址), oldest first; blank entries
// are skipped. The mapping of this reply is inferred (docs/protocols.md §2.2).
func ParseExtraAddress(data []byte) ([]string, error) {
	if len(data)%ExtraAddrLen != 0 || len(data) > MaxExtraAddrs*ExtraAddrLen {
		return nil, fmt.Errorf("idcard: extra address of %d bytes, want up to %d entries of %d", len(data), MaxExtraAddrs, ExtraAddrLen)
	}
	var out []string
	for i := 0; i < len(data); i += ExtraAddrLen {
		if s := trim(decode(data[i : i+ExtraAddrLen])); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}
