package idcard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"
)

// block is a text block built by hand from the offsets of docs/protocols.md
// §2.5, independently of the parser (and of the simulator's encoder).
type block [TextLen]byte

// newBlock is a block of UCS-2 spaces.
func newBlock() *block {
	var b block
	for i := 0; i < TextLen; i += 2 {
		b[i] = ' '
	}
	return &b
}

// put writes s as UTF-16LE at off, in a field of size bytes (space padded).
func (b *block) put(t testing.TB, off, size int, s string) *block {
	t.Helper()
	u := utf16.Encode([]rune(s))
	if 2*len(u) > size {
		t.Fatalf("%q does not fit %d bytes at %d", s, size, off)
	}
	for i := 0; i < size/2; i++ {
		c := uint16(' ')
		if i < len(u) {
			c = u[i]
		}
		binary.LittleEndian.PutUint16(b[off+2*i:], c)
	}
	return b
}

// kind writes the layout letter at 248.
func (b *block) kind(c byte) *block { b[248], b[249] = c, 0; return b }

func residentBlock(t testing.TB) *block {
	return newBlock().
		put(t, 0, 30, "张三").
		put(t, 30, 2, "1").
		put(t, 32, 4, "01").
		put(t, 36, 16, "19900307").
		put(t, 52, 70, "湖南省长沙市岳麓区麓谷大道627号").
		put(t, 122, 36, "430104199003071237").
		put(t, 158, 30, "长沙市公安局岳麓分局").
		put(t, 188, 16, "20150601").
		put(t, 204, 16, "20350601")
}

var residentCard = Card{
	Kind: KindResident, Name: "张三", Sex: SexMale, Nation: 1, Birth: Date(1990, 3, 7),
	Address: "湖南省长沙市岳麓区麓谷大道627号", Number: "430104199003071237", Authority: "长沙市公安局岳麓分局",
	ValidFrom: Date(2015, 6, 1), ValidTo: Date(2035, 6, 1),
}

func TestParseText(t *testing.T) {
	// 长期, NUL padding instead of spaces, and zeros in the reserved area
	// (offset 248 is then 00 00: still a resident card).
	older := residentBlock(t).
		put(t, 0, 30, "李四").put(t, 30, 2, "2").put(t, 32, 4, "03").put(t, 36, 16, "19551120").
		put(t, 122, 36, "430102195511201244").put(t, 188, 16, "20101120")
	copy(older[204:220], []byte{0x7F, 0x95, 0x1F, 0x67}) // 长期 in UTF-16LE, then NULs
	clear(older[208:256])
	older.put(t, 52, 70, "湖南省长沙市芙蓉区五一大道1号")
	clear(older[52+2*15 : 52+70])

	tests := []struct {
		name string
		b    *block
		want Card
	}{
		{"resident", residentBlock(t), residentCard},
		{"resident, 长期, NUL padding", older, Card{
			Kind: KindResident, Name: "李四", Sex: SexFemale, Nation: 3, Birth: Date(1955, 11, 20),
			Address: "湖南省长沙市芙蓉区五一大道1号", Number: "430102195511201244", Authority: "长沙市公安局岳麓分局",
			ValidFrom: Date(2010, 11, 20), Permanent: true,
		}},
		{"J: HK/Macao/Taiwan residence permit", newBlock().
			put(t, 0, 30, "陈大文").
			put(t, 30, 2, "1").
			put(t, 36, 16, "19880215").
			put(t, 52, 70, "湖南省长沙市天心区书院路9号").
			put(t, 122, 36, "810000198802150033").
			put(t, 158, 30, "长沙市公安局天心分局").
			put(t, 188, 16, "20190901").
			put(t, 204, 16, "20240901").
			put(t, 220, 18, "H12345678").
			put(t, 238, 4, "03").
			kind('J'), Card{
			Kind: KindHKMOTW, Name: "陈大文", Sex: SexMale, Birth: Date(1988, 2, 15),
			Address: "湖南省长沙市天心区书院路9号", Number: "810000198802150033", Authority: "长沙市公安局天心分局",
			ValidFrom: Date(2019, 9, 1), ValidTo: Date(2024, 9, 1), PassNumber: "H12345678", IssueCount: 3,
		}},
		{"I: foreigner permanent residence card (2017)", newBlock().
			put(t, 0, 120, "SMITH JOHN  WILLIAM").
			put(t, 120, 2, "1").
			put(t, 122, 30, "CAN110085061501").
			put(t, 152, 6, "CAN").
			put(t, 158, 30, "史密斯").
			put(t, 188, 16, "20170301").
			put(t, 204, 16, "20270301").
			put(t, 220, 16, "19850615").
			put(t, 236, 4, "01").
			put(t, 240, 8, "1500").
			kind('I'), Card{
			Kind: KindForeigner2017, Name: "史密斯", NameEn: "SMITH JOHN  WILLIAM", Sex: SexMale, Birth: Date(1985, 6, 15),
			Number: "CAN110085061501", Nationality: "CAN", ValidFrom: Date(2017, 3, 1), ValidTo: Date(2027, 3, 1),
			CardVersion: "01", AuthorityCode: "1500",
		}},
		{"Y: foreigner permanent residence ID card (2023)", func() *block {
			b := newBlock().
				put(t, 0, 30, "玛丽").
				put(t, 30, 2, "2").
				put(t, 32, 4, "01").
				put(t, 36, 16, "19850620").
				// 35 characters at 52, the rest at 220: the joint is a space.
				put(t, 52, 70, "MARIA ALEXANDRA DE LOS SANTOS ROSAS").
				put(t, 122, 36, "91184019850620004X").
				put(t, 188, 16, "20230615").
				put(t, 204, 16, "20330615").
				put(t, 220, 22, " LOPEZ").
				put(t, 242, 6, "USA").
				kind('Y')
			copy(b[250:], []byte{1, 2, 3, 4, 5, 6})
			return b
		}(), Card{
			Kind: KindForeigner2023, Name: "玛丽", NameEn: "MARIA ALEXANDRA DE LOS SANTOS ROSAS LOPEZ", Sex: SexFemale,
			IssueCount: 1, Birth: Date(1985, 6, 20), Number: "91184019850620004X", Nationality: "USA",
			ValidFrom: Date(2023, 6, 15), ValidTo: Date(2033, 6, 15), PrevCardLink: []byte{1, 2, 3, 4, 5, 6},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if k := KindOf(tt.b[:]); k != tt.want.Kind {
				t.Fatalf("KindOf = %s", k)
			}
			got, err := ParseText(tt.b[:])
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("\n got %s\nwant %s", dump(got), dump(tt.want))
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

// dump shows a card's fields (a Card itself prints masked).
func dump(c Card) string {
	type plain Card // no methods: fmt prints the fields
	return fmt.Sprintf("%+v", plain(c))
}

func TestParseTextErrors(t *testing.T) {
	tests := []struct {
		name   string
		b      *block
		field  string
		offset int
	}{
		{"30 February", residentBlock(t).put(t, 36, 16, "19900230"), "birth", 36},
		{"date with letters", residentBlock(t).put(t, 188, 16, "2015O601"), "valid from", 188},
		{"short date", residentBlock(t).put(t, 204, 16, "2035061"), "valid to", 204},
		{"blank date", residentBlock(t).put(t, 36, 16, "        "), "birth", 36},
		{"date in Chinese digits", residentBlock(t).put(t, 36, 16, "一九九〇〇三〇七"), "birth", 36},
		{"sex code 3", residentBlock(t).put(t, 30, 2, "3"), "sex", 30},
		{"sex blank", residentBlock(t).put(t, 30, 2, " "), "sex", 30},
		{"nation not digits", residentBlock(t).put(t, 32, 4, "0A"), "nation", 32},
		{"nation one digit", residentBlock(t).put(t, 32, 4, "1"), "nation", 32},
		{"J issue count", newBlock().put(t, 30, 2, "1").put(t, 36, 16, "19880215").put(t, 188, 16, "20190901").
			put(t, 204, 16, "20240901").put(t, 238, 4, "x1").kind('J'), "issue count", 238},
		{"I birth at 220", newBlock().put(t, 120, 2, "1").put(t, 188, 16, "20170301").put(t, 204, 16, "20270301").
			put(t, 220, 16, "1985061").kind('I'), "birth", 220},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.b.put(t, 0, 30, "张三")
			c, err := ParseText(tt.b[:])
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || fe.Offset != tt.offset {
				t.Fatalf("error %v, want %s at %d", err, tt.field, tt.offset)
			}
			if !reflect.DeepEqual(c, Card{}) {
				t.Fatalf("a failed parse returned a card: %s", dump(c))
			}
			// The error names the field, never the content.
			for _, secret := range []string{"张三", "1990", "430104", "岳麓"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q shows %q", err, secret)
				}
			}
		})
	}
	if _, err := ParseText(make([]byte, 255)); err == nil {
		t.Fatal("255 bytes accepted")
	}
}

func readData(text []byte, photo []byte) []byte {
	d := binary.BigEndian.AppendUint16(nil, uint16(len(text)))
	d = binary.BigEndian.AppendUint16(d, uint16(len(photo)))
	return cat(d, text, photo)
}

func TestParseRead(t *testing.T) {
	photo := bytes.Repeat([]byte{0x57, 0x4C, 0x54, 0x01}, PhotoLen/4)
	data := readData(residentBlock(t)[:], photo)
	if len(data) != ReadDataLen || data[0] != 0x01 || data[1] != 0x00 || data[2] != 0x04 || data[3] != 0x00 {
		t.Fatalf("lengths % X", data[:4])
	}
	c, err := ParseRead(data)
	if err != nil {
		t.Fatal(err)
	}
	want := residentCard
	want.PhotoWLT = photo
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %s", dump(c))
	}
	clear(data)
	if !bytes.Equal(c.PhotoWLT, photo) {
		t.Fatal("the photo aliases the reply")
	}

	bad := [][]byte{
		nil,
		{0x01, 0x00, 0x04},
		readData(make([]byte, 255), photo), // text length 255
		readData(residentBlock(t)[:], photo)[:ReadDataLen-1],    // shorter than its lengths
		append(readData(residentBlock(t)[:], photo), 0),         // longer
		readData(residentBlock(t).put(t, 30, 2, "7")[:], photo), // text that does not parse
	}
	for i, d := range bad {
		if _, err := ParseRead(d); err == nil {
			t.Errorf("case %d accepted", i)
		}
	}
}

func TestParseReadFingerprint(t *testing.T) {
	photo, fp := make([]byte, PhotoLen), bytes.Repeat([]byte{0x43}, FingerprintLen)
	lens := func(tl, pl, fl int) []byte {
		return []byte{byte(tl >> 8), byte(tl), byte(pl >> 8), byte(pl), byte(fl >> 8), byte(fl)}
	}
	c, err := ParseReadFingerprint(cat(lens(TextLen, PhotoLen, FingerprintLen), residentBlock(t)[:], photo, fp))
	if err != nil || !bytes.Equal(c.Fingerprint, fp) || len(c.PhotoWLT) != PhotoLen || c.Name != "张三" {
		t.Fatalf("%v, fingerprint %d bytes", err, len(c.Fingerprint))
	}
	c, err = ParseReadFingerprint(cat(lens(TextLen, PhotoLen, 0), residentBlock(t)[:], photo))
	if err != nil || c.Fingerprint != nil {
		t.Fatalf("no fingerprint: %v, %d bytes", err, len(c.Fingerprint))
	}
	if _, err := ParseReadFingerprint(cat(lens(TextLen, PhotoLen, 10), residentBlock(t)[:], photo)); err == nil {
		t.Fatal("missing fingerprint bytes accepted")
	}
	if _, err := ParseReadFingerprint(lens(0, 0, 0)); err == nil {
		t.Fatal("empty text accepted")
	}
}

func TestParseExtraAddress(t *testing.T) {
	entry := func(s string) []byte {
		b := newBlock().put(t, 0, ExtraAddrLen, s)
		return b[:ExtraAddrLen]
	}
	got, err := ParseExtraAddress(cat(entry("湖南省长沙市岳麓区新址1号"), entry(""), entry("湖南省长沙市雨花区新址2号")))
	if err != nil || !reflect.DeepEqual(got, []string{"湖南省长沙市岳麓区新址1号", "湖南省长沙市雨花区新址2号"}) {
		t.Fatalf("%q %v", got, err)
	}
	if got, err := ParseExtraAddress(nil); err != nil || got != nil {
		t.Fatalf("empty: %q %v", got, err)
	}
	if _, err := ParseExtraAddress(make([]byte, 69)); err == nil {
		t.Fatal("69 bytes accepted")
	}
	if _, err := ParseExtraAddress(make([]byte, 5*ExtraAddrLen)); err == nil {
		t.Fatal("5 entries accepted")
	}
}
