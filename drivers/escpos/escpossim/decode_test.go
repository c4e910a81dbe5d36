package escpossim

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"halld/drivers/escpos"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func text(s string) Item { return Item{Kind: KindText, Text: s, Width: 1, Height: 1} }

func TestDecoder(t *testing.T) {
	qr := "1D 28 6B 04 00 31 41 32 00 1D 28 6B 03 00 31 43 06 1D 28 6B 03 00 31 45 31 1D 28 6B 05 00 31 50 30 61 62 1D 28 6B 03 00 31 51 30"
	tests := []struct {
		name string
		in   string // hex
		want []Item
	}{
		{"init, Chinese text", "1B 40 1C 26 CE C2 B6 C8 32 33 2E 35 A1 E6 0A",
			[]Item{{Kind: KindInit}, text("温度23.5℃")}},
		{"Chinese mode is on at power-up", "D6 D0 0A", []Item{text("中")}},
		{"FS . makes bytes single-byte", "1C 2E B0 A1 0A 1C 26 B0 A1 0A", []Item{text("??"), text("啊")}},
		{"4-byte GB18030", "95 32 82 36 0A", []Item{text("\U00020000")}},
		{"bad trail byte: lead prints ?", "B0 0A", []Item{text("?")}},
		{"bad 4-byte code", "95 32 20 36 0A", []Item{text("?2 6")}},
		{"empty line", "0A", []Item{text("")}},
		{"CR and HT ignored", "41 0D 09 42 0A", []Item{text("AB")}},
		{"GS ! 4x4", "1D 21 33 41 0A 1D 21 00", []Item{{Kind: KindText, Text: "A", Width: 4, Height: 4}}},
		{"GS ! w2 h1", "1D 21 10 41 0A", []Item{{Kind: KindText, Text: "A", Width: 2, Height: 1}}},
		{"GS ! out of range ignored", "1D 21 88 41 0A", []Item{text("A")}},
		{"ESC ! 0x38: double both, bold", "1B 21 38 41 0A", []Item{{Kind: KindText, Text: "A", Width: 2, Height: 2, Bold: true}}},
		{"bold, center", "1B 45 01 1B 61 01 41 0A", []Item{{Kind: KindText, Text: "A", Width: 1, Height: 1, Bold: true, Align: 1}}},
		{"align '2'", "1B 61 32 41 0A", []Item{{Kind: KindText, Text: "A", Width: 1, Height: 1, Align: 2}}},
		{"attributes from the line's first character", "41 1D 21 11 42 0A", []Item{text("AB")}},
		{"ESC @ clears the line and modes", "1D 21 11 41 1B 40 42 0A", []Item{{Kind: KindInit}, text("B")}},
		{"ESC d prints the line, then feeds", "41 1B 64 03 1B 64 02", []Item{text("A"), {Kind: KindFeed, N: 3}, {Kind: KindFeed, N: 2}}},
		{"QR", qr, []Item{{Kind: KindQR, Text: "ab", N: 6}}},
		{"QR print flushes the line", "41 " + qr, []Item{text("A"), {Kind: KindQR, Text: "ab", N: 6}}},
		{"QR print without data prints nothing", "1D 28 6B 03 00 31 51 30", nil},
		{"full cut, feed first", "1D 56 41 00", []Item{{Kind: KindCut}}},
		{"partial cut, feed first", "1D 56 42 00", []Item{{Kind: KindCut, Partial: true}}},
		{"full cut", "1D 56 00", []Item{{Kind: KindCut}}},
		{"partial cut '1'", "1D 56 31", []Item{{Kind: KindCut, Partial: true}}},
		{"cut mid-line is ignored", "41 1D 56 41 00 0A", []Item{{Kind: KindUnknown, Raw: []byte{0x1D, 0x56, 0x41, 0x00}}, text("A")}},
		{"raster", "41 1D 76 30 00 02 00 03 00 01 02 03 04 05 06 42 0A",
			[]Item{text("A"), {Kind: KindRaster, W: 16, H: 3, Raw: []byte{1, 2, 3, 4, 5, 6}}, text("B")}},
		{"status query", "10 04 01 10 04 04", []Item{{Kind: KindStatusQuery, N: 1}, {Kind: KindStatusQuery, N: 4}}},
		{"status query inside image data, answered first", "1D 76 30 00 01 00 04 00 10 04 02 00 41 0A",
			[]Item{{Kind: KindStatusQuery, N: 2}, {Kind: KindRaster, W: 8, H: 4, Raw: []byte{0x10, 0x04, 0x02, 0x00}}, text("A")}},
		{"status query inside QR data", "1D 28 6B 07 00 31 50 30 61 10 04 03 1D 28 6B 03 00 31 51 30",
			[]Item{{Kind: KindStatusQuery, N: 3}, {Kind: KindQR, Text: "a\x10\x04\x03"}}},
		{"DLE EOT 5 is no query", "10 04 05 41 0A", []Item{text("A")}},
		{"DLE ENQ", "10 05 02", []Item{{Kind: KindUnknown, Raw: []byte{0x10, 0x05, 0x02}}}},
		{"DLE DC4 pulse", "10 14 01 00 01", []Item{{Kind: KindUnknown, Raw: []byte{0x10, 0x14, 0x01, 0x00, 0x01}}}},
		{"unknown ESC skips 2 bytes", "1B 78 41 0A", []Item{{Kind: KindUnknown, Raw: []byte{0x1B, 0x78}}, text("A")}},
		{"unknown GS skips 2 bytes", "1D 5A 41 0A", []Item{{Kind: KindUnknown, Raw: []byte{0x1D, 0x5A}}, text("A")}},
		{"unknown FS skips 2 bytes", "1C 78 41 0A", []Item{{Kind: KindUnknown, Raw: []byte{0x1C, 0x78}}, text("A")}},
		{"ESC t n skipped whole", "1B 74 00 41 0A", []Item{{Kind: KindUnknown, Raw: []byte{0x1B, 0x74, 0x00}}, text("A")}},
		{"FS C n skipped whole", "1C 43 01 41 0A", []Item{{Kind: KindUnknown, Raw: []byte{0x1C, 0x43, 0x01}}, text("A")}},
		{"barcode type A", "1D 6B 04 31 32 00 41 0A", []Item{{Kind: KindUnknown, Raw: unhex(t, "1D 6B 04 31 32 00")}, text("A")}},
		{"barcode type B", "1D 6B 49 03 7B 42 31 41 0A", []Item{{Kind: KindUnknown, Raw: unhex(t, "1D 6B 49 03 7B 42 31")}, text("A")}},
		{"GS ( L data skipped, header kept", "1D 28 4C 03 00 30 45 0A 41 0A", []Item{{Kind: KindUnknown, Raw: unhex(t, "1D 28 4C 03 00")}, text("A")}},
		{"ESC * bit image skipped", "1B 2A 21 01 00 0A 0A 0A 41 0A", []Item{{Kind: KindUnknown, Raw: unhex(t, "1B 2A 21 01 00")}, text("A")}},
		{"ESC D tabs", "1B 44 08 10 00 41 0A", []Item{{Kind: KindUnknown, Raw: unhex(t, "1B 44 08 10 00")}, text("A")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := unhex(t, tt.in)
			var d Decoder
			if got := d.Feed(in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			// The same bytes a byte at a time give the same items.
			var d2 Decoder
			if got := feedBytewise(&d2, in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("bytewise got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func feedBytewise(d *Decoder, p []byte) []Item {
	var out []Item
	for i := range p {
		out = append(out, d.Feed(p[i:i+1])...)
	}
	return out
}

func feedSplit(d *Decoder, p []byte, r *rand.Rand) []Item {
	var out []Item
	for len(p) > 0 {
		n := 1 + r.IntN(min(len(p), 64))
		out = append(out, d.Feed(p[:n])...)
		p = p[n:]
	}
	return out
}

// ticketJob is a full Chinese ticket as the daemon would print it.
func ticketJob(t testing.TB, p escpos.Profile) []byte {
	t.Helper()
	b := escpos.NewBuilder(p).Init().
		Align(escpos.AlignCenter).Bold(true).Line("某某市政务服务中心").Bold(false).
		BigText("A001", 4).
		Line("不动产登记").
		Line("您前面还有 3 人等候").
		Align(escpos.AlignLeft).
		Line("所需材料：").
		Line("1. 身份证原件").
		Line("2. 不动产权证书").
		Align(escpos.AlignCenter).
		QR("https://hall.example.cn/r?t=A001", 6, 'M').
		Line("扫码评价  热线 88995297").
		Cut()
	if b.Err() != nil {
		t.Fatal(b.Err())
	}
	return b.Bytes()
}

func TestDecoderSplitAnywhere(t *testing.T) {
	for _, name := range escpos.ProfileNames() {
		p, _ := escpos.LookupProfile(name)
		job := ticketJob(t, p)
		var whole Decoder
		want := whole.Feed(job)
		var bw Decoder
		if got := feedBytewise(&bw, job); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: bytewise differs", name)
		}
		r := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < 20; i++ {
			var d Decoder
			if got := feedSplit(&d, job, r); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: split %d differs", name, i)
			}
		}
	}
}

func FuzzDecoder(f *testing.F) {
	p, _ := escpos.LookupProfile("generic-80mm")
	f.Add(ticketJob(f, p), uint64(1))
	// Keep seeds small: the fuzzer minimises every new input, and a 10 KB
	// image job stalls it for tens of seconds.
	f.Add([]byte("\x1dv0\x00\x01\x00\x02\x00\x10\x04\x01\x00A\n\x1dVB\x00"), uint64(2))
	f.Add([]byte("\x1d(k\x05\x001P0ab\x10\x04\x01\x1d(k\x03\x001Q0"), uint64(3))
	f.Add([]byte("\x1dv0\x00\xff\xff\xff\xff\x10\x04\x01"), uint64(4))
	f.Add([]byte("\x1b*\x21\xff\xff\x1d8L\xff\xff\xff\xff"), uint64(5))
	f.Add([]byte("\x95\x32\x82\x36\xb0\x1b@\x1c."), uint64(6))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		var whole Decoder
		want := whole.Feed(data)
		var d Decoder
		got := feedSplit(&d, data, rand.New(rand.NewPCG(seed, seed)))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("split feed differs:\n got %+v\nwant %+v", got, want)
		}
		queries := 0
		for i := 0; i+2 < len(data); i++ {
			if bytes.HasPrefix(data[i:], []byte{0x10, 0x04}) && data[i+2] >= 1 && data[i+2] <= 4 {
				queries++
			}
		}
		n := 0
		for _, it := range want {
			if it.Kind == KindStatusQuery {
				n++
			}
		}
		if n != queries {
			t.Fatalf("%d status queries decoded, %d in the stream", n, queries)
		}
	})
}

// Every command prefix of up to three bytes, alone and followed by text,
// parses without panicking and the same way when split.
func TestDecoderShortCommands(t *testing.T) {
	for _, c0 := range []byte{0x10, 0x1B, 0x1C, 0x1D} {
		for c1 := 0; c1 < 256; c1++ {
			for c2 := 0; c2 < 256; c2++ {
				in := []byte{c0, byte(c1), byte(c2), 'A', '\n'}
				for n := 2; n <= len(in); n++ {
					var d, d2 Decoder
					if !reflect.DeepEqual(d.Feed(in[:n]), feedBytewise(&d2, in[:n])) {
						t.Fatalf("% X: split feed differs", in[:n])
					}
				}
			}
		}
	}
}
