package linedev

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// fuzzOptions picks options from one byte: the terminator, the charset and
// a MaxLen small enough to hit often (or the default).
func fuzzOptions(mode uint8) Options {
	o := Options{
		Terminator: []Terminator{CRLF, CR, LF, Any}[mode&3],
		Charset:    []Charset{UTF8, GB18030}[mode>>2&1],
		MaxLen:     int(mode>>3) + 1,
	}
	if o.MaxLen == 32 {
		o.MaxLen = DefaultMaxLen
	}
	return o
}

// feedSplit feeds data in random pieces.
func feedSplit(f *Framer, data []byte, r *rand.Rand) []string {
	var out []string
	for len(data) > 0 {
		n := r.IntN(min(len(data), 40) + 1)
		out = append(out, f.Feed(data[:n])...)
		data = data[n:]
	}
	return out
}

func FuzzFramer(f *testing.F) {
	gb, _ := simplifiedchinese.GB18030.NewEncoder().String("预约码:HN20261125-0042\r\n€😀\n")
	for i, s := range []string{
		"A001\r\nB002\r\n", "A001\rB002\nC003\r\n\n\r", "\r\n\n", "123456789\r\nOK\r\n",
		"\x00\x01\xff\r\nA001\r\n", "预约码:HN20261125-0042\r\n", gb, "A\u0085\n", "A001",
		"A001\r", "A\r\r\nB\n\r\n", "\xf8\x80\x00\x78\xf8\x80\r\n",
	} {
		for _, mode := range []uint8{0, 1, 2, 3, 4 | 3, 31<<3 | 3, 31<<3 | 4, 7 << 3} {
			f.Add([]byte(s), uint64(i), mode)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, mode uint8) {
		o := fuzzOptions(mode)
		whole := newFramer(t, o)
		want := whole.Feed(data)
		split := newFramer(t, o)
		got := feedSplit(split, data, rand.New(rand.NewPCG(seed, seed)))
		if !reflect.DeepEqual(got, want) || split.Stats() != whole.Stats() || split.Pending() != whole.Pending() {
			t.Fatalf("split feed differs:\n got %q %+v\nwant %q %+v", got, split.Stats(), want, whole.Stats())
		}
		l1, ok1 := whole.Flush()
		l2, ok2 := split.Flush()
		if l1 != l2 || ok1 != ok2 || split.Stats() != whole.Stats() {
			t.Fatalf("flush differs: %q %v, %q %v", l1, ok1, l2, ok2)
		}
		if ok1 {
			want = append(want, l1)
		}
		if whole.Pending() != 0 {
			t.Fatalf("%d bytes pending after Flush", whole.Pending())
		}
		s := whole.Stats()
		if s.Bytes != uint64(len(data)) || s.Lines != uint64(len(want)) {
			t.Fatalf("%d bytes, %d lines; stats %+v", len(data), len(want), s)
		}
		// Every line is clean, bounded, and in the input, in order.
		at := 0
		for _, l := range want {
			if l == "" || !utf8.ValidString(l) || len(l) > o.MaxLen {
				t.Fatalf("line %q (%d bytes, MaxLen %d)", l, len(l), o.MaxLen)
			}
			for _, r := range l {
				if r != '\t' && unicode.IsControl(r) {
					t.Fatalf("line %q has control character %U", l, r)
				}
			}
			wire := []byte(l)
			if o.Charset == GB18030 {
				var err error
				if wire, err = simplifiedchinese.GB18030.NewEncoder().Bytes(wire); err != nil {
					t.Fatal(err)
				}
			}
			i := bytes.Index(data[at:], wire)
			if i < 0 {
				t.Fatalf("line %q is not in the input after offset %d", l, at)
			}
			at += i + len(wire)
		}
	})
}

// FuzzEncode: whatever Encode accepts reads back as exactly that line, in
// every mode and however it is split; what it refuses is ErrBadLine.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"A001", "预约码:HN20261125-0042", "€😀", "\t", "A\r", "\x00", "\xff", "\u0085", ""} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(31<<3|4))
	}
	f.Fuzz(func(t *testing.T, line string, mode uint8) {
		o := fuzzOptions(mode)
		b, err := Encode(line, o)
		if err != nil {
			if !errors.Is(err, ErrBadLine) {
				t.Fatalf("error %v is not ErrBadLine", err)
			}
			return
		}
		fr := newFramer(t, o)
		if got := fr.Feed(b); len(got) != 1 || got[0] != line || fr.Pending() != 0 {
			t.Fatalf("%+v: Encode(%q) = % X reads back as %q, %d pending", o, line, b, got, fr.Pending())
		}
		fr = newFramer(t, o)
		var got []string
		for i := range b {
			got = append(got, fr.Feed(b[i:i+1])...)
		}
		if len(got) != 1 || got[0] != line {
			t.Fatalf("%+v: byte by byte %q", o, got)
		}
	})
}
