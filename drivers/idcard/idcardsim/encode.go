package idcardsim

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"
	"unicode/utf16"

	"halld/drivers/idcard"
)

// EncodeText writes a card as the 256-byte text block a card of its kind
// holds (docs/protocols.md §2.5), space padded. The offsets are written out here
// from the table, apart from the codec's parser, so that a round trip
// through both checks each against the other. It fails when a field does
// not fit or a required one is missing; errors name the field, never its
// content.
func EncodeText(c idcard.Card) ([]byte, error) {
	w := &textWriter{b: make([]byte, idcard.TextLen), kind: c.Kind}
	for i := 0; i < len(w.b); i += 2 {
		w.b[i] = ' '
	}
	switch c.Kind {
	case idcard.KindResident:
		w.str("name", 0, 30, c.Name)
		w.sex(30, c.Sex)
		w.num("nation", 32, 4, int(c.Nation))
		w.date("birth", 36, c.Birth)
		w.str("address", 52, 70, c.Address)
		w.str("number", 122, 36, c.Number)
		w.str("authority", 158, 30, c.Authority)
		w.date("valid from", 188, c.ValidFrom)
		w.validTo(204, c)
	case idcard.KindHKMOTW:
		w.str("name", 0, 30, c.Name)
		w.sex(30, c.Sex)
		w.date("birth", 36, c.Birth)
		w.str("address", 52, 70, c.Address)
		w.str("number", 122, 36, c.Number)
		w.str("authority", 158, 30, c.Authority)
		w.date("valid from", 188, c.ValidFrom)
		w.validTo(204, c)
		w.str("pass number", 220, 18, c.PassNumber)
		w.num("issue count", 238, 4, c.IssueCount)
		w.str("kind", 248, 2, "J")
	case idcard.KindForeigner2017:
		w.str("English name", 0, 120, c.NameEn)
		w.sex(120, c.Sex)
		w.str("number", 122, 30, c.Number)
		w.str("nationality", 152, 6, c.Nationality)
		w.str("name", 158, 30, c.Name)
		w.date("valid from", 188, c.ValidFrom)
		w.validTo(204, c)
		w.date("birth", 220, c.Birth)
		w.str("card version", 236, 4, c.CardVersion)
		w.str("authority code", 240, 8, c.AuthorityCode)
		w.str("kind", 248, 2, "I")
	case idcard.KindForeigner2023:
		w.str("name", 0, 30, c.Name)
		w.sex(30, c.Sex)
		w.num("renewal count", 32, 4, c.IssueCount)
		w.date("birth", 36, c.Birth)
		// English name: 35 characters at 52, the rest (up to 11) at 220.
		en := utf16.Encode([]rune(c.NameEn))
		if len(en) > 35+11 {
			w.fail("English name", 52, "longer than 46 UTF-16 units")
		} else {
			w.units("English name", 52, 70, en[:min(len(en), 35)])
			w.units("English name", 220, 22, en[min(len(en), 35):])
		}
		w.str("number", 122, 36, c.Number)
		w.date("valid from", 188, c.ValidFrom)
		w.validTo(204, c)
		w.str("nationality", 242, 6, c.Nationality)
		w.str("kind", 248, 2, "Y")
		switch len(c.PrevCardLink) {
		case 0:
		case 6:
			copy(w.b[250:], c.PrevCardLink)
		default:
			w.fail("previous card link", 250, "not 6 bytes")
		}
	default:
		return nil, fmt.Errorf("idcardsim: unknown card kind %q", c.Kind)
	}
	if w.err != nil {
		return nil, w.err
	}
	return w.b, nil
}

// textWriter fills fields and keeps the first error.
type textWriter struct {
	b    []byte
	kind idcard.Kind
	err  error
}

func (w *textWriter) fail(field string, off int, reason string) {
	if w.err == nil {
		w.err = &idcard.FieldError{Kind: w.kind, Field: field, Offset: off, Reason: reason}
	}
}

func (w *textWriter) str(field string, off, size int, s string) {
	w.units(field, off, size, utf16.Encode([]rune(s)))
}

func (w *textWriter) units(field string, off, size int, u []uint16) {
	if 2*len(u) > size {
		w.fail(field, off, fmt.Sprintf("longer than %d UTF-16 units", size/2))
		return
	}
	for i, c := range u {
		binary.LittleEndian.PutUint16(w.b[off+2*i:], c)
	}
}

func (w *textWriter) sex(off int, s idcard.Sex) {
	if !s.Valid() {
		w.fail("sex", off, "not a GB/T 2261.1 code")
		return
	}
	w.str("sex", off, 2, string(rune('0'+s)))
}

// num writes n as size/2 zero-padded digits.
func (w *textWriter) num(field string, off, size, n int) {
	s := fmt.Sprintf("%0*d", size/2, n)
	if n < 0 || len(s) > size/2 {
		w.fail(field, off, "out of range")
		return
	}
	w.str(field, off, size, s)
}

func (w *textWriter) date(field string, off int, t time.Time) {
	if t.IsZero() {
		w.fail(field, off, "missing")
		return
	}
	w.str(field, off, 16, t.In(idcard.Zone()).Format("20060102"))
}

func (w *textWriter) validTo(off int, c idcard.Card) {
	if c.Permanent {
		w.str("valid to", off, 16, "长期")
		return
	}
	w.date("valid to", off, c.ValidTo)
}

// Photo is the WLT photo the simulator returns for a card: the card's own
// PhotoWLT when it has one, otherwise 1024 bytes of deterministic fake data
// derived from its number (distinct per card, the same on every read). It
// is not a decodable WLT image; nothing in halld decodes WLT.
func Photo(c idcard.Card) []byte {
	if len(c.PhotoWLT) > 0 {
		return append([]byte(nil), c.PhotoWLT...)
	}
	return fake("photo", c.Number, idcard.PhotoLen)
}

// fake is n deterministic bytes for a card (SHA-256 in counter mode).
func fake(what, number string, n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	for i := 0; len(out) < n; i++ {
		h := sha256.Sum256([]byte(fmt.Sprintf("idcardsim %s %s %d", what, number, i)))
		out = append(out, h[:]...)
	}
	return out[:n]
}

// Samples are four made-up cards, one of each kind, that pass
// idcard.Card.Validate: for tests and the demo hall.
func Samples() []idcard.Card {
	return []idcard.Card{
		{
			Kind: idcard.KindResident, Name: "张三", Sex: idcard.SexMale, Nation: 1, Birth: idcard.Date(1990, 3, 7),
			Address: "湖南省长沙市岳麓区麓谷大道627号", Number: "430104199003071237", Authority: "长沙市公安局岳麓分局",
			ValidFrom: idcard.Date(2015, 6, 1), ValidTo: idcard.Date(2035, 6, 1),
		},
		{
			Kind: idcard.KindHKMOTW, Name: "陈大文", Sex: idcard.SexMale, Birth: idcard.Date(1988, 2, 15),
			Address: "湖南省长沙市天心区书院路9号", Number: "810000198802150033", Authority: "长沙市公安局天心分局",
			ValidFrom: idcard.Date(2019, 9, 1), ValidTo: idcard.Date(2029, 9, 1), PassNumber: "H12345678", IssueCount: 3,
		},
		{
			Kind: idcard.KindForeigner2017, Name: "史密斯", NameEn: "SMITH JOHN  WILLIAM", Sex: idcard.SexMale,
			Birth: idcard.Date(1985, 6, 15), Number: "CAN110085061501", Nationality: "CAN",
			ValidFrom: idcard.Date(2017, 3, 1), ValidTo: idcard.Date(2027, 3, 1), CardVersion: "01", AuthorityCode: "1500",
		},
		{
			Kind: idcard.KindForeigner2023, Name: "玛丽", NameEn: "MARIA ALEXANDRA DE LOS SANTOS ROSAS LOPEZ",
			Sex: idcard.SexFemale, IssueCount: 1, Birth: idcard.Date(1985, 6, 20), Number: "91184019850620004X",
			Nationality: "USA", ValidFrom: idcard.Date(2023, 6, 15), ValidTo: idcard.Date(2033, 6, 15),
			PrevCardLink: []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06},
		},
	}
}
