package bigfont

import (
	"strings"
	"testing"
)

// art draws an image as '#' and '.' for golden comparison.
func art(data []byte, wb, h int) string {
	var sb strings.Builder
	for y := 0; y < h; y++ {
		for x := 0; x < wb*8; x++ {
			if data[y*wb+x/8]&(0x80>>(x%8)) != 0 {
				sb.WriteByte('#')
			} else {
				sb.WriteByte('.')
			}
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

func TestRenderGolden(t *testing.T) {
	// Magnification 1: font pixels are 2 dots wide and 3 high; every third
	// row repeats, so only the first row of each is written here.
	data, h := Render("A0-", 1, 40, 1)
	if h != 24 {
		t.Fatalf("height %d", h)
	}
	rows := strings.Split(art(data, 5, h), "\n")
	var got []string
	for y := 0; y < h; y += 3 {
		got = append(got, rows[y])
	}
	want := []string{
		"...######......######...................",
		".##......##..##......##.................",
		".##......##..##....####.................",
		".##########..##..##..##..##########.....",
		".##......##..####....##.................",
		".##......##..##......##.................",
		".##......##....######...................",
		"........................................",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestGlyphsDistinctAndWellFormed(t *testing.T) {
	for r, g := range glyphs {
		for _, row := range g {
			if len(row) != 5 || strings.Trim(row, ".#") != "" {
				t.Errorf("%q: bad row %q", r, row)
			}
		}
	}
	if len(byShape) != len(glyphs) {
		t.Error("two glyphs share a shape")
	}
	for _, r := range "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ- " {
		if !Supported(r) {
			t.Errorf("%q not supported", r)
		}
	}
}

func TestReadRoundTrip(t *testing.T) {
	all := "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-"
	for mag := 1; mag <= 8; mag++ {
		for i := 0; i < len(all); i += 3 {
			s := all[i:min(i+3, len(all))]
			for _, x0 := range []int{0, 7, 100} {
				data, h := Render(s, mag, 576, x0)
				got, ok := Read(data, 72, h)
				if !ok || got != s {
					t.Fatalf("Read(Render(%q, %d, x0=%d)) = %q, %v", s, mag, x0, got, ok)
				}
			}
		}
	}
	// Inner spaces survive; outer ones are not recoverable and are dropped.
	data, h := Render(" A 1 ", 2, 384, 0)
	if got, ok := Read(data, 48, h); !ok || got != "A 1" {
		t.Errorf("got %q, %v", got, ok)
	}
}

func TestReadRejects(t *testing.T) {
	blank := make([]byte, 48*24)
	if _, ok := Read(blank, 48, 24); ok {
		t.Error("blank image read as text")
	}
	data, h := Render("A1", 2, 384, 10)
	data[len(data)/2] ^= 0x10 // one stray dot
	if _, ok := Read(data, 48, h); ok {
		t.Error("damaged image read as text")
	}
	if _, ok := Read(data[:10], 48, h); ok {
		t.Error("short data accepted")
	}
	if _, ok := Read(make([]byte, 48*25), 48, 25); ok {
		t.Error("height not a multiple of 24 accepted")
	}
}
