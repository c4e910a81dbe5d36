package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"halld/daemon/rankpdf"
)

// TestCheckWarnsWithoutARankingFont: halld check passes a hall whose ranking.font is missing or a
// .ttc, but warns, naming the key and what to do; with a usable font it says nothing.
func TestCheckWarnsWithoutARankingFont(t *testing.T) {
	dir := t.TempDir()
	const hallYAML = "hall: {id: h, name: 测试大厅, opening_hours: [{days: [mon], open: \"09:00\", close: \"17:00\"}]}\n"
	ttc := filepath.Join(dir, "x.ttc")
	os.WriteFile(ttc, append([]byte("ttcf"), make([]byte, 64)...), 0o644)
	for _, c := range []struct{ font, want string }{
		{"missing.ttf", "missing.ttf"},
		{ttc, "(.ttc)"},
	} {
		file := filepath.Join(dir, "devices.yaml")
		os.WriteFile(file, []byte(hallYAML+"ranking: {font: "+c.font+"}\n"), 0o644)
		var out, errs bytes.Buffer
		if rc := run([]string{"check", file}, &out, &errs); rc != 0 {
			t.Fatalf("%s: rc %d: %s", c.font, rc, errs.String())
		}
		if e := errs.String(); !strings.Contains(e, "warning: ranking.font") || !strings.Contains(e, c.want) || !strings.Contains(e, "fonts-droid-fallback") {
			t.Errorf("%s: stderr %q", c.font, e)
		}
	}
	if _, err := rankpdf.FindFont(""); err != nil {
		t.Skip("no CJK TrueType font installed:", err)
	}
	file := filepath.Join(dir, "ok.yaml")
	os.WriteFile(file, []byte(hallYAML), 0o644)
	var out, errs bytes.Buffer
	if rc := run([]string{"check", file}, &out, &errs); rc != 0 || errs.Len() != 0 {
		t.Errorf("rc %d, stderr %q", rc, errs.String())
	}
}
