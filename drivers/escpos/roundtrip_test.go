package escpos_test

import (
	"strings"
	"testing"

	"halld/drivers/escpos"
	"halld/drivers/escpos/escpossim"
)

// FuzzBuilderText checks that Text never panics and that what the printer
// decodes is the text sent, with '?' exactly where runes were substituted.
func FuzzBuilderText(f *testing.F) {
	for _, s := range []string{"温度23.5℃", "A001", "某某市政务服务中心\n请到 3 号窗口", "\U00020000㐀堃", "\x1b@\xff", "€\ue000", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, name := range escpos.ProfileNames() {
			p, _ := escpos.LookupProfile(name)
			b := escpos.NewBuilder(p).Init().Line(s)
			if b.Err() != nil {
				t.Fatal(b.Err())
			}
			var d escpossim.Decoder
			items := d.Feed(b.Bytes())
			if len(items) == 0 || items[0].Kind != escpossim.KindInit {
				t.Fatalf("%s: first item %+v", name, items)
			}
			var lines []string
			for _, it := range items[1:] {
				if it.Kind != escpossim.KindText {
					t.Fatalf("%s: %q decoded to a %s item %+v", name, s, it.Kind, it)
				}
				lines = append(lines, it.Text)
			}
			got, want := []rune(strings.Join(lines, "\n")), []rune(s)
			if b.Substituted() == 0 {
				if string(got) != s {
					t.Fatalf("%s: sent %q, printed %q", name, s, string(got))
				}
				continue
			}
			if len(got) != len(want) {
				t.Fatalf("%s: sent %q (%d runes), printed %q (%d)", name, s, len(want), string(got), len(got))
			}
			changed, marks := 0, 0
			for i := range got {
				if got[i] == '?' {
					marks++
				}
				if got[i] != want[i] {
					if got[i] != '?' {
						t.Fatalf("%s: rune %d %q printed as %q", name, i, want[i], got[i])
					}
					changed++
				}
			}
			if n := b.Substituted(); n < changed || n > marks {
				t.Fatalf("%s: Substituted() = %d, %d runes changed, %d '?' printed", name, n, changed, marks)
			}
		}
	})
}
