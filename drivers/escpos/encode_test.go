package escpos

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"halld/drivers/escpos/internal/bigfont"
)

func mustProfile(t testing.TB, name string) Profile {
	t.Helper()
	p, ok := LookupProfile(name)
	if !ok {
		t.Fatalf("no profile %q", name)
	}
	return p
}

// unhex reads "1B 40 1C 26" style golden bytes.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Golden bytes from the tables in docs/protocols.md §1.1–1.3.
func TestCommandBytes(t *testing.T) {
	tests := []struct {
		name, profile string
		build         func(*Builder)
		want          string
	}{
		{"init then Chinese mode", "generic-80mm", func(b *Builder) { b.Init() }, "1B 40 1C 26"},
		{"align left", "generic-80mm", func(b *Builder) { b.Align(AlignLeft) }, "1B 61 00"},
		{"align center", "generic-80mm", func(b *Builder) { b.Align(AlignCenter) }, "1B 61 01"},
		{"align right", "generic-80mm", func(b *Builder) { b.Align(AlignRight) }, "1B 61 02"},
		{"bold on", "generic-80mm", func(b *Builder) { b.Bold(true) }, "1B 45 01"},
		{"bold off", "generic-80mm", func(b *Builder) { b.Bold(false) }, "1B 45 00"},
		{"size 1x1", "generic-80mm", func(b *Builder) { b.Size(1, 1) }, "1D 21 00"},
		{"size 2x2", "generic-80mm", func(b *Builder) { b.Size(2, 2) }, "1D 21 11"},
		{"size 4x4", "generic-80mm", func(b *Builder) { b.Size(4, 4) }, "1D 21 33"},
		{"size 8x8", "generic-80mm", func(b *Builder) { b.Size(8, 8) }, "1D 21 77"},
		{"size w2 h1", "generic-80mm", func(b *Builder) { b.Size(2, 1) }, "1D 21 10"},
		{"size clamped high", "generic-80mm", func(b *Builder) { b.Size(12, 9) }, "1D 21 77"},
		{"size clamped low", "generic-80mm", func(b *Builder) { b.Size(0, -3) }, "1D 21 00"},
		{"size clamped to BP-002's 2x2", "birch-bp002", func(b *Builder) { b.Size(8, 8) }, "1D 21 11"},
		{"feed", "generic-80mm", func(b *Builder) { b.Feed(3) }, "1B 64 03"},
		{"feed clamped", "generic-80mm", func(b *Builder) { b.Feed(300) }, "1B 64 FF"},
		{"GB18030 text", "generic-80mm", func(b *Builder) { b.Text("温度23.5℃") }, "CE C2 B6 C8 32 33 2E 35 A1 E6"},
		{"line", "generic-80mm", func(b *Builder) { b.Line("A") }, "41 0A"},
		{"newline inside text", "generic-80mm", func(b *Builder) { b.Text("a\nb") }, "61 0A 62"},
		{"full cut", "generic-80mm", func(b *Builder) { b.Cut() }, "1D 56 41 00"},
		{"partial cut", "generic-58mm", func(b *Builder) { b.Cut() }, "1D 56 42 00"},
		{"no cutter: feed to tear", "zj-5870", func(b *Builder) { b.Cut() }, "1B 64 04"},
		{"cut starts a line", "generic-80mm", func(b *Builder) { b.Text("x").Cut() }, "78 0A 1D 56 41 00"},
		{"big text via GS !", "generic-80mm", func(b *Builder) { b.BigText("A001", 4) }, "1D 21 33 41 30 30 31 0A 1D 21 00"},
		{"big text restores size", "generic-80mm", func(b *Builder) { b.Size(2, 1).BigText("A1", 3) }, "1D 21 10 1D 21 22 41 31 0A 1D 21 10"},
		{"big text of Chinese past max: GS ! at max", "birch-bp002", func(b *Builder) { b.BigText("绿A1", 4) }, "1D 21 11 C2 CC 41 31 0A 1D 21 00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder(mustProfile(t, tt.profile))
			tt.build(b)
			if err := b.Err(); err != nil {
				t.Fatal(err)
			}
			if got, want := b.Bytes(), unhex(t, tt.want); !bytes.Equal(got, want) {
				t.Errorf("got  % X\nwant % X", got, want)
			}
		})
	}
}

func TestStatusQuery(t *testing.T) {
	for n := 1; n <= 4; n++ {
		if got, want := StatusQuery(n), []byte{0x10, 0x04, byte(n)}; !bytes.Equal(got, want) {
			t.Errorf("StatusQuery(%d) = % X, want % X", n, got, want)
		}
	}
}

func TestQRBytes(t *testing.T) {
	tests := []struct {
		name, profile string
		data          string
		module        int
		ecc           byte
		want          string // fn 165, 167, 169, then fn 180 header; data and fn 181 are appended
	}{
		{"model 2, module 6, M", "generic-80mm", "https://a.cn/t?x=1", 6, 'M',
			"1D 28 6B 04 00 31 41 32 00  1D 28 6B 03 00 31 43 06  1D 28 6B 03 00 31 45 31  1D 28 6B 15 00 31 50 30"},
		{"ECC L as '0'", "generic-80mm", "A", 3, '0',
			"1D 28 6B 04 00 31 41 32 00  1D 28 6B 03 00 31 43 03  1D 28 6B 03 00 31 45 30  1D 28 6B 04 00 31 50 30"},
		{"ECC H, module 16", "generic-80mm", "A", 16, 'H',
			"1D 28 6B 04 00 31 41 32 00  1D 28 6B 03 00 31 43 10  1D 28 6B 03 00 31 45 33  1D 28 6B 04 00 31 50 30"},
		{"ECC Q, module clamped to 1", "generic-80mm", "A", 0, 'q',
			"1D 28 6B 04 00 31 41 32 00  1D 28 6B 03 00 31 43 01  1D 28 6B 03 00 31 45 32  1D 28 6B 04 00 31 50 30"},
		{"HPRT module clamped to 8", "hprt-pptii-a", "A", 12, 'M',
			"1D 28 6B 04 00 31 41 32 00  1D 28 6B 03 00 31 43 08  1D 28 6B 03 00 31 45 31  1D 28 6B 04 00 31 50 30"},
		{"300 bytes: pL pH = 2F 01", "generic-80mm", strings.Repeat("9", 300), 4, 'L',
			"1D 28 6B 04 00 31 41 32 00  1D 28 6B 03 00 31 43 04  1D 28 6B 03 00 31 45 30  1D 28 6B 2F 01 31 50 30"},
		{"HPRT's largest: 1017+3 = 1020 = FC 03", "hprt-pptii-a", strings.Repeat("9", 1017), 4, 'L',
			"1D 28 6B 04 00 31 41 32 00  1D 28 6B 03 00 31 43 04  1D 28 6B 03 00 31 45 30  1D 28 6B FC 03 31 50 30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder(mustProfile(t, tt.profile)).QR(tt.data, tt.module, tt.ecc)
			if err := b.Err(); err != nil {
				t.Fatal(err)
			}
			want := append(unhex(t, tt.want), tt.data...)
			want = append(want, unhex(t, "1D 28 6B 03 00 31 51 30")...)
			if got := b.Bytes(); !bytes.Equal(got, want) {
				t.Errorf("got  % X\nwant % X", got, want)
			}
		})
	}
}

func TestQRErrors(t *testing.T) {
	tests := []struct {
		name, profile, data string
		ecc                 byte
	}{
		{"over HPRT's limit", "hprt-pptii-a", strings.Repeat("9", 1018), 'L'},
		{"over QR capacity", "generic-80mm", strings.Repeat("9", 7090), 'L'},
		{"empty", "generic-80mm", "", 'L'},
		{"bad ECC", "generic-80mm", "x", 'X'},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder(mustProfile(t, tt.profile)).QR(tt.data, 4, tt.ecc)
			if b.Err() == nil {
				t.Fatal("no error")
			}
			// The first error sticks; later calls add nothing.
			n := len(b.Bytes())
			if b.Line("more").Cut(); len(b.Bytes()) != n {
				t.Error("builder kept writing after an error")
			}
		})
	}
}

func TestAlignRejectsUnknown(t *testing.T) {
	if NewBuilder(mustProfile(t, "generic-80mm")).Align(3).Err() == nil {
		t.Fatal("Align(3) accepted")
	}
}

func TestNewBuilderRejectsBadProfile(t *testing.T) {
	if NewBuilder(Profile{Name: "x"}).Init().Err() == nil {
		t.Fatal("invalid profile accepted")
	}
}

func TestTextSubstitution(t *testing.T) {
	tests := []struct {
		profile, in, want string
		subs              int
	}{
		{"generic-80mm", "温度23.5℃", "CE C2 B6 C8 32 33 2E 35 A1 E6", 0},
		// U+20000 (a 生僻字 from CJK Ext. B) is 4 bytes in GB18030.
		{"generic-80mm", "\U00020000", "95 32 82 36", 0},
		{"generic-58mm", "\U00020000", "3F", 1},
		// 㐀 (U+3400) is 4-byte; 堃 is GBK (0x88 lead) but not GB2312.
		{"generic-58mm", "㐀", "3F", 1},
		{"generic-58mm", "堃", "88 D2", 0},
		{"gb2312", "堃", "3F", 1},
		{"gb2312", "中", "D6 D0", 0},
		// Controls would be read as commands; invalid UTF-8 and private use print nothing useful.
		{"generic-80mm", "a\x1b@b", "61 3F 40 62", 1},
		{"generic-80mm", "\r\t\x10\x04\x01", "3F 3F 3F 3F 3F", 5},
		{"generic-80mm", "\xff", "3F", 1},
		{"generic-80mm", "\ue000", "3F", 1},
		{"generic-80mm", "\u0085", "3F", 1},
		// € is 0x80 in GBK but A2 E3 in GB18030, which we always send.
		{"generic-80mm", "€", "A2 E3", 0},
	}
	for _, tt := range tests {
		t.Run(tt.profile+"/"+tt.in, func(t *testing.T) {
			p := mustProfile(t, "generic-58mm")
			if tt.profile == "gb2312" {
				p.Charset = CharsetGB2312
			} else {
				p = mustProfile(t, tt.profile)
			}
			b := NewBuilder(p).Text(tt.in)
			if got, want := b.Bytes(), unhex(t, tt.want); !bytes.Equal(got, want) {
				t.Errorf("got % X, want % X", got, want)
			}
			if b.Substituted() != tt.subs {
				t.Errorf("Substituted() = %d, want %d", b.Substituted(), tt.subs)
			}
		})
	}
}

// rasterOf splits a job that is a single GS v 0 into its parts.
func rasterOf(t *testing.T, job []byte) (data []byte, widthBytes, height int) {
	t.Helper()
	if len(job) < 8 || !bytes.Equal(job[:4], []byte{0x1D, 'v', '0', 0}) {
		t.Fatalf("not a GS v 0 image: % X", job[:min(len(job), 8)])
	}
	widthBytes, height = int(job[4])|int(job[5])<<8, int(job[6])|int(job[7])<<8
	if len(job)-8 != widthBytes*height {
		t.Fatalf("image data %d bytes, header says %d×%d", len(job)-8, widthBytes, height)
	}
	return job[8:], widthBytes, height
}

func TestBigTextRaster(t *testing.T) {
	tests := []struct {
		profile, in string
		mag         int
		align       Align
		wantText    string
		wantMag     int
	}{
		{"birch-bp002", "A001", 4, AlignCenter, "A001", 4},
		{"birch-bp002", "b12", 3, AlignLeft, "B12", 3},
		{"birch-bp002", "Z-9", 8, AlignRight, "Z-9", 8},
		// 8 characters at 8× need 768 dots; 576 fit 6×.
		{"birch-bp002", "A0001234", 8, AlignCenter, "A0001234", 6},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p := mustProfile(t, tt.profile)
			b := NewBuilder(p)
			b.Align(tt.align)
			n := len(b.Bytes())
			b.BigText(tt.in, tt.mag)
			if err := b.Err(); err != nil {
				t.Fatal(err)
			}
			data, wb, h := rasterOf(t, b.Bytes()[n:])
			if wb != p.Dots/8 || h != 24*tt.wantMag {
				t.Errorf("image %d×%d bytes, want %d×%d", wb, h, p.Dots/8, 24*tt.wantMag)
			}
			got, ok := bigfont.Read(data, wb, h)
			if !ok || got != tt.wantText {
				t.Errorf("image reads %q (%v), want %q", got, ok, tt.wantText)
			}
			// Placement follows the justification.
			width := bigfont.Width(len(tt.wantText), tt.wantMag)
			x0 := map[Align]int{AlignLeft: 0, AlignCenter: (p.Dots - width) / 2, AlignRight: p.Dots - width}[tt.align]
			want, _ := bigfont.Render(tt.wantText, tt.wantMag, p.Dots, x0)
			if !bytes.Equal(data, want) {
				t.Error("image is not placed per alignment")
			}
		})
	}
}

func TestBigTextShrinksToGSWhenTooWide(t *testing.T) {
	p := mustProfile(t, "birch-bp002")
	// 30 characters fit 576 dots only at 1×, which GS ! can do.
	s := strings.Repeat("8", 30)
	b := NewBuilder(p).BigText(s, 4)
	want := append(unhex(t, "1D 21 00"), s...)
	want = append(want, unhex(t, "0A 1D 21 00")...)
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("got % X", b.Bytes())
	}
}

// hasStatusQuery finds 10 04 n, which a printer executes even inside image data.
func hasStatusQuery(b []byte) bool {
	for i := 0; i+2 < len(b); i++ {
		if b[i] == 0x10 && b[i+1] == 0x04 && b[i+2] >= 1 && b[i+2] <= 4 {
			return true
		}
	}
	return false
}

func TestImagesNeverContainStatusQueries(t *testing.T) {
	p := mustProfile(t, "birch-bp002")
	chars := "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ- "
	for mag := 3; mag <= 8; mag++ {
		for _, a := range []Align{AlignLeft, AlignCenter, AlignRight} {
			for i := 0; i < len(chars); i += 4 {
				s := chars[i:min(i+4, len(chars))]
				b := NewBuilder(p).Align(a).BigText(s, mag)
				if hasStatusQuery(b.Bytes()) {
					t.Fatalf("BigText(%q, %d) align %d contains 10 04 n", s, mag, a)
				}
			}
		}
	}
	z := mustProfile(t, "zj-5870")
	for _, data := range []string{"https://hall.example.cn/r?t=A001", strings.Repeat("x", 200), "1"} {
		for _, a := range []Align{AlignLeft, AlignCenter, AlignRight} {
			b := NewBuilder(z).Align(a).QR(data, 1, 'M')
			if b.Err() != nil {
				t.Fatal(b.Err())
			}
			if hasStatusQuery(b.Bytes()) {
				t.Fatalf("QR image of %q contains 10 04 n", data)
			}
		}
	}
}

func TestQRImageWithoutGSk(t *testing.T) {
	p := mustProfile(t, "zj-5870")
	b := NewBuilder(p).Text("x").QR("https://hall.example.cn/r?t=A001", 6, 'M')
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	job := b.Bytes()
	if !bytes.Equal(job[:2], []byte{'x', 0x0A}) {
		t.Fatalf("QR image does not start a line: % X", job[:2])
	}
	data, wb, h := rasterOf(t, job[2:])
	if wb != p.Dots/8 || h%6 != 0 {
		t.Fatalf("image %d×%d: want %d bytes wide, height a multiple of the module", wb, h, p.Dots/8)
	}
	// Version 3 (29 modules) + 4-module quiet zones = 37 modules of 6 dots.
	if h != 37*6 {
		t.Errorf("height %d, want %d", h, 37*6)
	}
	if bytes.Count(data, []byte{0}) == len(data) {
		t.Error("image is blank")
	}
	// Too big for the paper even at 2 dots a module.
	if NewBuilder(p).QR(strings.Repeat("x", 2000), 2, 'H').Err() == nil {
		t.Error("oversized QR image accepted")
	}
}
