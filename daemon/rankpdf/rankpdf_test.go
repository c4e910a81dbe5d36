package rankpdf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"halld/daemon/stats"
)

// font is the test machine's CJK font (scripts/test.sh installs fonts-droid-fallback).
func font(t *testing.T) string {
	t.Helper()
	p, err := FindFont("")
	if err != nil {
		if os.Getenv("HALLD_REQUIRE_FONT") != "" || os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return p
}

// ranking makes n windows, the last two marked and every seventh short of data.
func ranking(n int) stats.WindowRanking {
	f := stats.DefaultWindowFormula()
	rk := stats.WindowRanking{Period: "2026-11", Kind: "month", Name: "2026年11月", From: "2026-11-01", To: "2026-12-01",
		Formula: f, FormulaText: f.Text(), TieRule: "同分时依次比较满意度……", MarkRule: "连续两个月均处于最后2名",
		AsOf: "2026-11-30T17:30:00+08:00", Notes: []string{"示例说明"}}
	for i := 1; i <= n; i++ {
		ws := stats.WindowScore{Window: fmt.Sprintf("w%d", i), Name: fmt.Sprintf("%d号综合窗口", i), Number: i,
			Score: 100 - float64(i)*0.05, Ranked: i%7 != 0, Served: 100 + i, Rated: 90,
			Components: []stats.Component{{Key: "satisfaction", Points: 44.1, Weight: 45}, {Key: "participation", Points: 9, Weight: 10},
				{Key: "timeliness", Points: 18.2, Weight: 20}, {Key: "attendance", Points: 24, Weight: 25}},
			Deductions: []stats.Penalty{{Key: "bad_ratings", Name: "差评", Count: 1, Each: 2, Points: -2}}}
		if ws.Ranked {
			rk.Ranked++
			ws.Rank = rk.Ranked
		} else {
			ws.Insufficient = "数据不足：办结 3 件（需 20）"
		}
		if i > n-2 {
			ws.Marks = []stats.Mark{{Key: stats.MarkBottomTwoMonths, Name: "连续两月排名末位"}}
		}
		rk.Windows = append(rk.Windows, ws)
	}
	return rk
}

var (
	reMediaBox = regexp.MustCompile(`/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\]`)
	rePages    = regexp.MustCompile(`/Type /Page\b`)
)

// CheckPDF checks what the notice board needs of the file: one A4 page, the font embedded, and (with
// pdftotext) the text. It returns the text, "" without pdftotext.
func CheckPDF(t *testing.T, pdf []byte, want ...string) string {
	t.Helper()
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %.40q", pdf)
	}
	if n := len(rePages.FindAll(pdf, -1)); n != 1 {
		t.Errorf("%d pages, want 1", n)
	}
	m := reMediaBox.FindSubmatch(pdf)
	if m == nil || fmt.Sprintf("%.0f×%.0f", atof(m[1]), atof(m[2])) != "595×842" {
		t.Errorf("MediaBox %q, want A4 595×842", m)
	}
	if !bytes.Contains(pdf, []byte("/FontFile2")) || !bytes.Contains(pdf, []byte("/ToUnicode")) {
		t.Error("no embedded TrueType font with a ToUnicode map")
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Log("pdftotext not installed (poppler-utils): the text is not checked")
		return ""
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "r.pdf")
	os.WriteFile(in, pdf, 0o600)
	out, err := exec.Command("pdftotext", "-layout", in, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v %s", err, out)
	}
	text := string(out)
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("the PDF's text lacks %q:\n%s", w, text)
		}
	}
	if info, err := exec.Command("pdfinfo", in).CombinedOutput(); err == nil {
		if !regexp.MustCompile(`Pages:\s+1\n`).Match(info) || !strings.Contains(string(info), "(A4)") {
			t.Errorf("pdfinfo:\n%s", info)
		}
	}
	return text
}

func atof(b []byte) float64 {
	var f float64
	fmt.Sscan(string(b), &f)
	return f
}

// TestRenderOnePageWhateverTheWindows: 1 to 1,500 windows, always one A4 page; the rows that fit
// are all there (the last shown window's name is in the text), the rest named as left to the CSV.
func TestRenderOnePageWhateverTheWindows(t *testing.T) {
	fp := font(t)
	now := time.Date(2026, 12, 3, 16, 45, 0, 0, time.FixedZone("CST", 8*3600))
	for _, n := range []int{0, 1, 12, 45, 60, 140, 300, 1500} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, ranking(n), "湖南湘江新区政务服务大厅", fp, now); err != nil {
				t.Fatal(err)
			}
			want := []string{"湖南湘江新区政务服务大厅", "2026年11月", "制表时间 2026-12-03 16:45", "计分"}
			if n > 0 && n <= 300 {
				want = append(want, fmt.Sprintf("%d号综合窗口", n))
			}
			if n == 1500 { // the marked ones stay on the page, the rest is left to the CSV
				want = append(want, "未列出", "1499号综合窗口", "1500号综合窗口")
			}
			text := CheckPDF(t, buf.Bytes(), want...)
			if n == 12 && text != "" && !strings.Contains(text, "连续两月排名末位") {
				t.Errorf("no mark in:\n%s", text)
			}
			if os.Getenv("RANKPDF_KEEP") != "" {
				os.WriteFile(filepath.Join(os.Getenv("RANKPDF_KEEP"), fmt.Sprintf("rank-%d.pdf", n)), buf.Bytes(), 0o644)
			}
		})
	}
}

func TestFindFontRefusesWhatCannotBeEmbedded(t *testing.T) {
	dir := t.TempDir()
	for name, head := range map[string]string{"c.ttc": "ttcf\x00\x01\x00\x00", "o.otf": "OTTO\x00\x0a\x00\x80", "x.ttf": "GIF89a-------"} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(head+strings.Repeat("\x00", 64)), 0o644)
		_, err := FindFont(p)
		if !errors.Is(err, ErrNoFont) {
			t.Errorf("%s: %v", name, err)
		}
		if name == "c.ttc" && !strings.Contains(err.Error(), ".ttc") {
			t.Errorf("%s: %v does not say why", name, err)
		}
	}
	if _, err := FindFont(filepath.Join(dir, "missing.ttf")); !errors.Is(err, ErrNoFont) || !strings.Contains(err.Error(), "missing.ttf") {
		t.Errorf("missing: %v", err)
	}
	var buf bytes.Buffer
	if err := Render(&buf, ranking(1), "大厅", filepath.Join(dir, "c.ttc"), time.Now()); !errors.Is(err, ErrNoFont) {
		t.Errorf("render with a .ttc: %v", err)
	}
}
