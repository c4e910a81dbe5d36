package linedev

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var allOptions = []Options{
	{Terminator: CRLF}, {Terminator: CR}, {Terminator: LF}, {Terminator: Any},
	{Terminator: CRLF, Charset: GB18030}, {Terminator: CR, Charset: GB18030},
	{Terminator: LF, Charset: GB18030}, {Terminator: Any, Charset: GB18030},
}

func TestEncodeWire(t *testing.T) {
	tests := []struct {
		line string
		o    Options
		want string
	}{
		{"A001", Options{Terminator: CRLF}, "A001\r\n"},
		{"A001", Options{Terminator: CR}, "A001\r"},
		{"A001", Options{Terminator: LF}, "A001\n"},
		{"A001", Options{Terminator: Any}, "A001\r\n"},
		{"A001", Options{}, "A001\r\n"},
		{"请到3号窗口", Options{Terminator: LF}, "请到3号窗口\n"},
		{"预约码", Options{Terminator: CR, Charset: GB18030}, "\xd4\xa4\xd4\xbc\xc2\xeb\r"},
	}
	for _, tt := range tests {
		got, err := Encode(tt.line, tt.o)
		if err != nil || string(got) != tt.want {
			t.Errorf("Encode(%q, %+v) = %q, %v; want %q", tt.line, tt.o, got, err, tt.want)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	lines := []string{
		"A001", "预约码:HN20261125-0042", "身份证 43010519900101123X", "LED 3 请 A012 到 3 号窗口",
		"tab\tseparated", " spaced ", "€ 😀 䶵 ㊣", "\uFFFD", strings.Repeat("码", 170),
	}
	for _, o := range allOptions {
		f := newFramer(t, o)
		var wire []byte
		for _, l := range lines {
			b, err := Encode(l, o)
			if err != nil {
				t.Fatalf("%+v: Encode(%q): %v", o, l, err)
			}
			wire = append(wire, b...)
		}
		if got := f.Feed(wire); !reflect.DeepEqual(got, lines) {
			t.Errorf("%+v: read back %q", o, got)
		}
		if s := f.Stats(); s != (Stats{Lines: uint64(len(lines)), Bytes: uint64(len(wire))}) || f.Pending() != 0 {
			t.Errorf("%+v: stats %+v pending %d", o, s, f.Pending())
		}
	}
}

func TestEncodeRefuses(t *testing.T) {
	tests := []struct {
		name, line string
		o          Options
	}{
		{"empty", "", Options{}},
		{"CR", "A\r001", Options{}},
		{"LF", "A001\n", Options{}},
		{"NUL", "A\x00", Options{}},
		{"C1", "A\u0085", Options{}},
		{"invalid UTF-8", "A\xff", Options{}},
		{"over MaxLen", "123456789", Options{MaxLen: 8}},
		{"over MaxLen in UTF-8 only", "预约码", Options{MaxLen: 8, Charset: GB18030}},
		{"over MaxLen in GB18030 only", "\u0080\u0080\u0080", Options{MaxLen: 8, Charset: GB18030}},
		{"private use char x/text maps wrongly", "A\ue4e9", Options{Charset: GB18030}},
	}
	for _, tt := range tests {
		b, err := Encode(tt.line, tt.o)
		if !errors.Is(err, ErrBadLine) {
			t.Errorf("%s: %q, %v", tt.name, b, err)
			continue
		}
		if tt.line != "" && strings.Contains(err.Error(), tt.line) {
			t.Errorf("%s: the error quotes the line: %v", tt.name, err)
		}
	}
	if _, err := Encode("12345678", Options{MaxLen: 8}); err != nil {
		t.Errorf("exactly MaxLen: %v", err)
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"A001", "****"},
		{"A0011", "*****"},
		{"HN202611", "****2611"},
		{"HN20261125-0042", strings.Repeat("*", 11) + "0042"},
		{"43010519900101123X", strings.Repeat("*", 14) + "123X"},
		{"预约码:HN20261125-0042", strings.Repeat("*", 15) + "0042"},
		{"身份证号码是居民身份", "******居民身份"},
		{"\x1b[2J\x1b[2J\x1b[2J", strings.Repeat("*", 9) + "[2J"}, // no escape sequence survives
		{"1234567\x1b[2J", strings.Repeat("*", 8) + "[2J"},
		{"\xff\xff\xff\xff\xff\xff\xff\xff", "****\uFFFD\uFFFD\uFFFD\uFFFD"},
	}
	for _, tt := range tests {
		got := Mask(tt.in)
		if got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
