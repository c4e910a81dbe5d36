package linedev

import (
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// gb is s in GB18030, as a scanner set to GBK/GB18030 output sends it.
func gb(t testing.TB, s string) string {
	t.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newFramer(t testing.TB, o Options) *Framer {
	t.Helper()
	f, err := NewFramer(o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// run feeds the chunks one after another, then flushes if asked.
func run(f *Framer, flush bool, chunks ...string) []string {
	var out []string
	for _, c := range chunks {
		out = append(out, f.Feed([]byte(c))...)
	}
	if flush {
		if l, ok := f.Flush(); ok {
			out = append(out, l)
		}
	}
	return out
}

func TestFramer(t *testing.T) {
	gbCode := gb(t, "预约码:HN20261125-0042")
	tests := []struct {
		name    string
		o       Options
		in      string
		flush   bool
		want    []string
		stats   Stats // Bytes is filled in
		pending int
	}{
		{"crlf", Options{Terminator: CRLF}, "A001\r\nB002\r\n", false,
			[]string{"A001", "B002"}, Stats{Lines: 2}, 0},
		{"crlf: a lone CR is a control byte", Options{Terminator: CRLF}, "A0\r01\r\nB002\r\n", false,
			[]string{"B002"}, Stats{Lines: 1, Garbage: 1}, 0},
		{"crlf: a lone LF is a control byte", Options{Terminator: CRLF}, "A0\n01\r\nB002\r\n", false,
			[]string{"B002"}, Stats{Lines: 1, Garbage: 1}, 0},
		{"crlf: CR CR LF", Options{Terminator: CRLF}, "A001\r\r\nB002\r\n", false,
			[]string{"B002"}, Stats{Lines: 1, Garbage: 1}, 0},
		{"crlf: a CR waits for its LF", Options{Terminator: CRLF}, "A001\r", false,
			nil, Stats{}, 5},
		{"cr", Options{Terminator: CR}, "A001\rB002\r", false,
			[]string{"A001", "B002"}, Stats{Lines: 2}, 0},
		{"cr: a CRLF device is read too", Options{Terminator: CR}, "A001\r\nB002\r\n", false,
			[]string{"A001", "B002"}, Stats{Lines: 2}, 0},
		{"cr: a lone LF is a control byte", Options{Terminator: CR}, "A0\n01\rB002\r", false,
			[]string{"B002"}, Stats{Lines: 1, Garbage: 1}, 0},
		{"cr: a line is given at its CR, not its LF", Options{Terminator: CR}, "A001\r", false,
			[]string{"A001"}, Stats{Lines: 1}, 0},
		{"lf", Options{Terminator: LF}, "A001\nB002\n", false,
			[]string{"A001", "B002"}, Stats{Lines: 2}, 0},
		{"lf: a CRLF device is read too", Options{Terminator: LF}, "A001\r\nB002\r\n", false,
			[]string{"A001", "B002"}, Stats{Lines: 2}, 0},
		{"lf: a lone CR is a control byte", Options{Terminator: LF}, "A0\r01\nB002\n", false,
			[]string{"B002"}, Stats{Lines: 1, Garbage: 1}, 0},
		{"lf: CR LF LF gives an empty line, ignored", Options{Terminator: LF}, "\r\n\nA001\r\n\n", false,
			[]string{"A001"}, Stats{Lines: 1}, 0},
		{"any: CR, LF and CRLF", Options{Terminator: Any}, "A001\rB002\nC003\r\nD004\n\r", false,
			[]string{"A001", "B002", "C003", "D004"}, Stats{Lines: 4}, 0},
		{"any: LF CR is two terminators", Options{Terminator: Any}, "A001\n\rB002\n\r", false,
			[]string{"A001", "B002"}, Stats{Lines: 2}, 0},
		{"zero options are any", Options{}, "A001\rB002\n", false,
			[]string{"A001", "B002"}, Stats{Lines: 2}, 0},
		{"empty lines are ignored", Options{}, "\r\n\n\r\r\n\n", false,
			nil, Stats{}, 0},
		{"partial line waits", Options{}, "A0", false,
			nil, Stats{}, 2},
		{"partial line flushed", Options{}, "A001", true,
			[]string{"A001"}, Stats{Lines: 1, Flushed: 1}, 0},
		{"flush takes a held CR for a cut terminator", Options{Terminator: LF}, "A001\r", true,
			[]string{"A001"}, Stats{Lines: 1, Flushed: 1}, 0},
		{"flush of nothing", Options{}, "A001\r\n", true,
			[]string{"A001"}, Stats{Lines: 1}, 0},
		{"flush of garbage", Options{}, "A\x0001", true,
			nil, Stats{Garbage: 1}, 0},
		{"exactly MaxLen", Options{MaxLen: 8}, "12345678\r\n", false,
			[]string{"12345678"}, Stats{Lines: 1}, 0},
		{"exactly MaxLen before a held CR", Options{MaxLen: 8, Terminator: CRLF}, "12345678\r\n", false,
			[]string{"12345678"}, Stats{Lines: 1}, 0},
		{"overlong then normal", Options{MaxLen: 8}, "123456789\r\nOK\r\n", false,
			[]string{"OK"}, Stats{Lines: 1, Overlong: 1}, 0},
		{"overlong is dropped up to its terminator", Options{MaxLen: 4}, strings.Repeat("X", 100) + "\nOK\n", false,
			[]string{"OK"}, Stats{Lines: 1, Overlong: 1}, 0},
		{"overlong partial keeps being skipped", Options{MaxLen: 4}, strings.Repeat("X", 10), false,
			nil, Stats{}, 10},
		{"overlong partial flushed", Options{MaxLen: 4}, strings.Repeat("X", 10), true,
			nil, Stats{Overlong: 1}, 0},
		{"overlong wins over garbage", Options{MaxLen: 4}, "\x00\x01\x02\x03\x04\x05\n", false,
			nil, Stats{Overlong: 1}, 0},
		{"binary garbage, then a scan", Options{}, "\x00\x01\x02\xff\xfe\x10\r\nA001\r\n", false,
			[]string{"A001"}, Stats{Lines: 1, Garbage: 1}, 0},
		{"a wrong baud rate looks like this", Options{}, "\xf8\x80\x00\x78\xf8\x80\x80\x00\x80\r\nA001\r\n", false,
			[]string{"A001"}, Stats{Lines: 1, Garbage: 1}, 0},
		{"DEL is a control byte", Options{}, "A\x7f01\n", false,
			nil, Stats{Garbage: 1}, 0},
		{"ESC is a control byte", Options{}, "\x1b[2J\n", false,
			nil, Stats{Garbage: 1}, 0},
		{"TAB is kept", Options{}, "A001\tB002\n", false,
			[]string{"A001\tB002"}, Stats{Lines: 1}, 0},
		{"spaces are kept", Options{}, " A001 \n", false,
			[]string{" A001 "}, Stats{Lines: 1}, 0},
		{"UTF-8", Options{}, "预约码:HN20261125-0042\r\n身份证 43010519900101123X\r\n", false,
			[]string{"预约码:HN20261125-0042", "身份证 43010519900101123X"}, Stats{Lines: 2}, 0},
		{"invalid UTF-8", Options{}, "A\xff001\r\nB002\r\n", false,
			[]string{"B002"}, Stats{Lines: 1, BadEncoding: 1}, 0},
		{"UTF-8 cut in a character", Options{}, "预"[:2] + "\r\n", false,
			nil, Stats{BadEncoding: 1}, 0},
		{"C1 control in UTF-8", Options{}, "A\u0085001\n", false,
			nil, Stats{Garbage: 1}, 0},
		{"GB18030 line in utf8 mode", Options{}, gbCode + "\r\n", false,
			nil, Stats{BadEncoding: 1}, 0},
		{"GB18030", Options{Charset: GB18030}, gbCode + "\r\n", false,
			[]string{"预约码:HN20261125-0042"}, Stats{Lines: 1}, 0},
		{"GB18030 four-byte character", Options{Charset: GB18030}, gb(t, "€ 😀 䶵") + "\n", false,
			[]string{"€ 😀 䶵"}, Stats{Lines: 1}, 0},
		{"GB18030 cut in a character", Options{Charset: GB18030}, gbCode[:2] + "\x81\r\nA001\r\n", false,
			[]string{"A001"}, Stats{Lines: 1, BadEncoding: 1}, 0},
		{"GB18030: 0x80 is not a character", Options{Charset: GB18030}, "\x80\n", false,
			nil, Stats{BadEncoding: 1}, 0},
		{"GB18030: an unassigned four-byte code", Options{Charset: GB18030}, "\x84\x31\xa5\x30\n", false,
			nil, Stats{BadEncoding: 1}, 0},
		{"GB18030: user-defined area (x/text cannot decode it, golang/go#62063)", Options{Charset: GB18030}, "\xaa\xa1\n", false,
			nil, Stats{BadEncoding: 1}, 0},
		{"GB18030: a C1 control is garbage", Options{Charset: GB18030}, gb(t, "A\u0085") + "\n", false,
			nil, Stats{Garbage: 1}, 0},
		{"GB18030: MaxLen also bounds the UTF-8", Options{Charset: GB18030, MaxLen: 6}, gb(t, "预约码") + "\n" + gb(t, "预约") + "\n", false,
			// 6 bytes on the wire, 9 in UTF-8; the second is 6 in UTF-8
			[]string{"预约"}, Stats{Lines: 1, Overlong: 1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFramer(t, tt.o)
			got := run(f, tt.flush, tt.in)
			tt.stats.Bytes = uint64(len(tt.in))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("lines %q, want %q", got, tt.want)
			}
			if f.Stats() != tt.stats {
				t.Errorf("stats %+v, want %+v", f.Stats(), tt.stats)
			}
			if f.Pending() != tt.pending {
				t.Errorf("pending %d, want %d", f.Pending(), tt.pending)
			}

			// The same lines however the stream is split: at every
			// boundary, and a byte at a time.
			for i := 0; i <= len(tt.in); i++ {
				s := newFramer(t, tt.o)
				if got := run(s, tt.flush, tt.in[:i], tt.in[i:]); !reflect.DeepEqual(got, tt.want) || s.Stats() != f.Stats() {
					t.Fatalf("split at %d: %q %+v", i, got, s.Stats())
				}
			}
			s := newFramer(t, tt.o)
			if got := run(s, tt.flush, strings.Split(tt.in, "")...); !reflect.DeepEqual(got, tt.want) || s.Stats() != f.Stats() {
				t.Fatalf("a byte at a time: %q %+v", got, s.Stats())
			}
		})
	}
}

// A CRLF split between two reads counts once in "any" mode, and the line
// is given at the CR, without waiting for the LF.
func TestCRLFSplitCountsOnce(t *testing.T) {
	f := newFramer(t, Options{Terminator: Any})
	if got := f.Feed([]byte("A001\r")); !reflect.DeepEqual(got, []string{"A001"}) {
		t.Fatalf("at CR: %q", got)
	}
	if got := f.Feed([]byte("\nB002\r")); !reflect.DeepEqual(got, []string{"B002"}) {
		t.Fatalf("after LF: %q", got)
	}
	if got := f.Feed([]byte("\n")); got != nil {
		t.Fatalf("lone LF after the line: %q", got)
	}
	if s := f.Stats(); s.Lines != 2 || s.Garbage != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestDrop(t *testing.T) {
	f := newFramer(t, Options{Terminator: CRLF})
	if n := f.Drop(); n != 0 || f.Stats().Cut != 0 {
		t.Fatalf("drop of nothing: %d %+v", n, f.Stats())
	}
	f.Feed([]byte("A00"))
	if n := f.Drop(); n != 3 || f.Stats().Cut != 1 {
		t.Fatalf("drop: %d %+v", n, f.Stats())
	}
	// A held CR is dropped with the line: the LF of the next connection
	// is then a control byte of its first line, not a terminator.
	f.Feed([]byte("A001\r"))
	f.Drop()
	if got := f.Feed([]byte("\nB002\r\n")); got != nil {
		t.Fatalf("after drop: %q", got)
	}
	if got := f.Feed([]byte("C003\r\n")); !reflect.DeepEqual(got, []string{"C003"}) {
		t.Fatalf("resync: %q", got)
	}
	if s := f.Stats(); s != (Stats{Lines: 1, Garbage: 1, Cut: 2, Bytes: 21}) {
		t.Fatalf("stats %+v", s)
	}
}

func TestNewFramerRefusesBadOptions(t *testing.T) {
	for _, o := range []Options{
		{Terminator: "CRLF"},
		{Terminator: "nul"},
		{Charset: "gbk"},
		{Charset: "utf-8"},
		{MaxLen: -1},
	} {
		if _, err := NewFramer(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
		if _, err := Encode("A001", o); err == nil {
			t.Errorf("Encode with %+v accepted", o)
		}
	}
	f := newFramer(t, Options{})
	if o := f.Options(); o != (Options{Terminator: Any, MaxLen: DefaultMaxLen, Charset: UTF8}) {
		t.Fatalf("defaults %+v", o)
	}
}

func BenchmarkFramer(b *testing.B) {
	var in []byte
	for range 100 {
		in = append(in, "预约码:HN20261125-0042\r\n"...)
	}
	f := newFramer(b, Options{})
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		f.Feed(in)
	}
}
