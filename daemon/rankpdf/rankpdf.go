// Package rankpdf prints the window ranking (stats.WindowRanking) as a one-page A4 PDF in Chinese,
// for the hall's notice board: the hall's name, the period, the table with each part's points, the
// marks, the formula in one line and when it was made. However many windows there are it stays on
// one page: the rows shrink, then the table goes to two, three or four columns, and past that the
// last rows are left to the CSV (the page says so).
//
// The font must be TrueType (.ttf) with Chinese glyphs: fpdf cannot read collections (.ttc) or CFF
// outlines (most .otf). FindFont picks one.
package rankpdf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"halld/daemon/stats"
)

// SearchList is where FindFont looks when no font is configured, in order: Debian's
// fonts-droid-fallback first (what scripts/demo.sh and test.sh install), then other TrueType CJK
// fonts of Debian, Fedora and the like.
var SearchList = []string{
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
	"/usr/share/fonts/truetype/droid/DroidSansFallback.ttf",
	"/usr/share/fonts/google-droid-sans-fonts/DroidSansFallbackFull.ttf",
	"/usr/share/fonts/google-droid/DroidSansFallbackFull.ttf",
	"/usr/share/fonts/droid/DroidSansFallbackFull.ttf",
	"/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf",
	"/usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf",
	"/usr/share/fonts/truetype/wqy/wqy-zenhei.ttf",
	"/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttf",
	"/usr/share/fonts/truetype/noto/NotoSansSC-Regular.ttf",
	"/usr/local/share/fonts/NotoSansSC-Regular.ttf",
}

// ErrNoFont says no usable font was found; the message names what was tried.
var ErrNoFont = errors.New("rankpdf: no usable TrueType CJK font")

// maxFontBytes bounds what is read as a font (DroidSansFallbackFull is 4 MB).
const maxFontBytes = 64 << 20

// FindFont returns the font to use: configured (a path) when set — that one only — else the first
// usable of SearchList. The error wraps ErrNoFont and says why each candidate was refused.
func FindFont(configured string) (string, error) {
	list := SearchList
	if configured != "" {
		list = []string{configured}
	}
	var why []string
	for _, p := range list {
		if _, err := load(p); err != nil {
			if configured != "" || !errors.Is(err, os.ErrNotExist) {
				why = append(why, err.Error())
			}
			continue
		}
		return p, nil
	}
	if configured == "" {
		why = append(why, "none of "+strings.Join(SearchList, ", ")+" exists")
	}
	return "", fmt.Errorf("%w: %s", ErrNoFont, strings.Join(why, "; "))
}

type cached struct {
	size  int64
	mtime time.Time
	data  []byte
}

var (
	cacheMu sync.Mutex
	cache   = map[string]cached{}
)

// load reads and checks the font at p (cached while the file is unchanged).
func load(p string) ([]byte, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	cacheMu.Lock()
	c, ok := cache[p]
	cacheMu.Unlock()
	if ok && c.size == fi.Size() && c.mtime.Equal(fi.ModTime()) {
		return c.data, nil
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxFontBytes || fi.Size() < 12 {
		return nil, fmt.Errorf("%s: not a font file of a sensible size", p)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if err := check(p, data); err != nil {
		return nil, err
	}
	cacheMu.Lock()
	cache[p] = cached{fi.Size(), fi.ModTime(), data}
	cacheMu.Unlock()
	return data, nil
}

// check refuses what fpdf cannot embed, or a font without Chinese glyphs.
func check(p string, data []byte) error {
	switch string(data[:4]) {
	case "ttcf":
		return fmt.Errorf("%s: a TrueType collection (.ttc), which the PDF writer cannot embed; use a .ttf", p)
	case "OTTO":
		return fmt.Errorf("%s: CFF (PostScript) outlines, which the PDF writer cannot embed; use a TrueType .ttf", p)
	case "\x00\x01\x00\x00", "true":
	default:
		return fmt.Errorf("%s: not a TrueType font", p)
	}
	for _, r := range "政务服务大厅窗口排名满意度" {
		ok, err := hasGlyph(data, r)
		if err != nil {
			return fmt.Errorf("%s: %v", p, err)
		}
		if !ok {
			return fmt.Errorf("%s: has no Chinese glyphs (no %q): choose a CJK font", p, r)
		}
	}
	pdf := fpdf.New("P", "pt", "A4", "")
	pdf.AddUTF8FontFromBytes("cjk", "", data)
	pdf.SetFont("cjk", "", 10)
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("%s: %v", p, err)
	}
	return nil
}

// hasGlyph looks r up in the font's Unicode cmap (format 4, platform 3 encoding 1 or platform 0).
func hasGlyph(data []byte, r rune) (bool, error) {
	u16 := func(o int) int {
		if o < 0 || o+2 > len(data) {
			return -1
		}
		return int(data[o])<<8 | int(data[o+1])
	}
	u32 := func(o int) int {
		if o < 0 || o+4 > len(data) {
			return -1
		}
		return u16(o)<<16 | u16(o+2)
	}
	n := u16(4)
	cmap := -1
	for i := 0; i < n && i < 512; i++ {
		rec := 12 + 16*i
		if rec+16 > len(data) {
			break
		}
		if string(data[rec:rec+4]) == "cmap" {
			cmap = u32(rec + 8)
		}
	}
	if cmap < 0 {
		return false, errors.New("no cmap table")
	}
	subs := u16(cmap + 2)
	for i := 0; i < subs && i < 64; i++ {
		rec := cmap + 4 + 8*i
		plat, enc, off := u16(rec), u16(rec+2), u32(rec+4)
		if !(plat == 3 && enc == 1) && plat != 0 {
			continue
		}
		t := cmap + off
		if u16(t) != 4 {
			continue
		}
		segs := u16(t+6) / 2
		ends, starts := t+14, t+16+2*segs
		deltas, offsets := starts+2*segs, starts+4*segs
		for s := 0; s < segs; s++ {
			end, start := u16(ends+2*s), u16(starts+2*s)
			if end < 0 || start < 0 {
				return false, errors.New("truncated cmap")
			}
			if int(r) > end || int(r) < start {
				continue
			}
			ro := u16(offsets + 2*s)
			if ro == 0 {
				return (int(r)+u16(deltas+2*s))&0xFFFF != 0, nil
			}
			g := u16(offsets + 2*s + ro + 2*(int(r)-start))
			return g > 0, nil
		}
		return false, nil
	}
	return false, errors.New("no Unicode (format 4) cmap")
}

// Page geometry (points): A4 portrait with 36 pt margins.
const (
	pageW, pageH = 595.28, 841.89
	margin       = 36.0
	contentW     = pageW - 2*margin
)

// Render writes rk as a one-page A4 PDF: hall is the hall's name, font a path FindFont accepted,
// now when it was made (hall time).
func Render(w io.Writer, rk stats.WindowRanking, hall, font string, now time.Time) error {
	data, err := load(font)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoFont, err)
	}
	pdf := fpdf.New("P", "pt", "A4", "")
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetCreationDate(now)
	pdf.SetModificationDate(now)
	title := fmt.Sprintf("%s窗口服务质量排名（%s）", hall, rk.Name)
	pdf.SetTitle(title, true)
	pdf.SetCreator("halld", true)
	pdf.SetProducer("halld", true)
	pdf.AddUTF8FontFromBytes("cjk", "", data)
	pdf.AddPage()
	p := &page{pdf: pdf, tr: pdf.UnicodeTranslatorFromDescriptor("")}

	// Head.
	pdf.SetTextColor(0, 0, 0)
	p.text(margin, margin, contentW, 20, 17, hall, "C")
	sub := "窗口服务质量排名 · " + rk.Name
	if rk.Partial {
		sub += "（截至制表时的临时结果）"
	}
	p.text(margin, margin+24, contentW, 16, 13, sub, "C")
	insufficient := len(rk.Windows) - rk.Ranked
	meta := fmt.Sprintf("统计期间 %s 至 %s　参与排名 %d 个窗口", rk.From, lastDay(rk.To), rk.Ranked)
	if insufficient > 0 {
		meta += fmt.Sprintf("，数据不足不参与排名 %d 个", insufficient)
	}
	if rk.AsOf != "" {
		if t, err := time.Parse(time.RFC3339, rk.AsOf); err == nil {
			meta += "　数据截至 " + t.In(now.Location()).Format("2006-01-02 15:04")
		}
	}
	p.fitText(margin, margin+44, contentW, 12, 9, meta, "C")
	top := margin + 62.0

	// Foot, from the bottom up: made, tie rule, mark rule, formula.
	formula, note, _ := strings.Cut(rk.FormulaText, "（")
	footLines := []string{"计分：" + formula}
	if note != "" {
		footLines = append(footLines, "　　　（"+note)
	}
	footLines = append(footLines,
		"同分："+rk.TieRule+"。",
		"【连续两月排名末位】"+rk.MarkRule+"。")
	for _, n := range rk.Notes {
		footLines = append(footLines, "注："+n+"。")
	}
	if len(footLines) > 8 {
		footLines = footLines[:8]
	}
	footH := float64(len(footLines))*11 + 16
	bottom := pageH - margin - footH
	y := bottom + 6
	pdf.SetDrawColor(150, 150, 150)
	pdf.SetLineWidth(0.5)
	pdf.Line(margin, bottom+2, pageW-margin, bottom+2)
	for _, l := range footLines {
		p.fitText(margin, y, contentW, 11, 8.5, l, "L")
		y += 11
	}
	p.text(margin, y+2, contentW, 10, 7.5, "制表时间 "+now.Format("2006-01-02 15:04")+"　halld", "R")

	p.table(rk, top, bottom-8)
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// lastDay is the day before an exclusive end date.
func lastDay(to string) string {
	t, err := time.Parse(time.DateOnly, to)
	if err != nil {
		return to
	}
	return t.AddDate(0, 0, -1).Format(time.DateOnly)
}

// page draws mixed text: CJK fonts such as DroidSansFallback have no Latin glyphs, so ASCII and
// the Latin-1 / cp1252 punctuation (· × — …) go in Helvetica (a standard PDF font every viewer has)
// and the rest in the embedded CJK font.
type page struct {
	pdf *fpdf.Fpdf
	tr  func(string) string // UTF-8 → cp1252 for the core font
}

type run struct {
	core bool
	text string
}

// cp1252 are the non-ASCII runes Helvetica prints (cp1252's upper half).
const cp1252 = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ¡¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿×÷"

func runs(s string) []run {
	var out []run
	for _, r := range s {
		core := r < 0x80 || strings.ContainsRune(cp1252, r)
		if n := len(out); n > 0 && out[n-1].core == core {
			out[n-1].text += string(r)
		} else {
			out = append(out, run{core, string(r)})
		}
	}
	return out
}

func (p *page) font(core bool, size float64) {
	if core {
		p.pdf.SetFont("helvetica", "", size)
	} else {
		p.pdf.SetFont("cjk", "", size)
	}
}

// width is s's width at size.
func (p *page) width(s string, size float64) float64 {
	w := 0.0
	for _, r := range runs(s) {
		p.font(r.core, size)
		if r.core {
			w += p.pdf.GetStringWidth(p.tr(r.text))
		} else {
			w += p.pdf.GetStringWidth(r.text)
		}
	}
	return w
}

// text writes s on one line in the box (x, y, w, h), aligned L, C or R, 2 pt in from the sides.
func (p *page) text(x, y, w, h, size float64, s, align string) {
	tw := p.width(s, size)
	cx := x + 2
	switch align {
	case "C":
		cx = x + (w-tw)/2
	case "R":
		cx = x + w - 2 - tw
	}
	for _, r := range runs(s) {
		p.font(r.core, size)
		t := r.text
		if r.core {
			t = p.tr(t)
		}
		rw := p.pdf.GetStringWidth(t)
		p.pdf.SetXY(cx, y)
		p.pdf.CellFormat(rw, h, t, "", 0, "L", false, 0, "")
		cx += rw
	}
}

// fitText writes one line, shrinking the font (to 5 pt at least) then cutting it to fit w.
func (p *page) fitText(x, y, w, h, size float64, s, align string) {
	for size > 5 && p.width(s, size) > w-4 {
		size -= 0.25
	}
	fit := size
	for fit > size*0.75 && p.width(s, fit) > w-4 {
		fit -= 0.25
	}
	p.text(x, y, w, h, fit, p.clip(s, w, fit), align)
}

// clip cuts s to fit w at size, with an ellipsis.
func (p *page) clip(s string, w, size float64) string {
	if p.width(s, size) <= w-4 {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && p.width(string(r)+"…", size) > w-4 {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// cell draws a table cell: its border and fill, then s clipped to it.
func (p *page) cell(x, y, w, h, size float64, s, align string, fill bool) {
	p.pdf.SetXY(x, y)
	p.pdf.CellFormat(w, h, "", "1", 0, "L", fill, 0, "")
	fit := size
	for fit > size*0.75 && p.width(s, fit) > w-4 {
		fit -= 0.25
	}
	p.text(x, y, w, h, fit, p.clip(s, w, fit), align)
}

type column struct {
	head  string
	w     float64 // share of the table's width
	align string
	cell  func(ws stats.WindowScore) string
}

func points(ws stats.WindowScore, key string) string {
	for _, c := range ws.Components {
		if c.Key == key {
			return fmt.Sprintf("%.2f", c.Points)
		}
	}
	return ""
}

func deductions(ws stats.WindowScore) (float64, string) {
	total := 0.0
	var parts []string
	for _, d := range ws.Deductions {
		total += d.Points
		if d.Count > 0 {
			parts = append(parts, fmt.Sprintf("%s%d", d.Name, d.Count))
		}
	}
	return total, strings.Join(parts, " ")
}

func rank(ws stats.WindowScore) string {
	if !ws.Ranked {
		return "—"
	}
	return fmt.Sprint(ws.Rank)
}

func marks(ws stats.WindowScore, short bool) string {
	var out []string
	for _, m := range ws.Marks {
		if short {
			out = append(out, "【末位】")
		} else {
			out = append(out, "【"+m.Name+"】")
		}
	}
	if !ws.Ranked {
		if short {
			out = append(out, "数据不足")
		} else {
			out = append(out, "数据不足")
		}
	}
	if ws.Tie != "" && !short {
		out = append(out, "同分")
	}
	return strings.Join(out, " ")
}

func weightHead(name string, w float64) string { return fmt.Sprintf("%s/%g", name, w) }

// table lays the windows out between top and bottom, in as many columns as it takes.
func (p *page) table(rk stats.WindowRanking, top, bottom float64) {
	f := rk.Formula
	full := []column{
		{"名次", 0.05, "C", rank},
		{"窗口", 0.14, "L", func(ws stats.WindowScore) string { return ws.Name }},
		{"总分", 0.07, "R", func(ws stats.WindowScore) string { return fmt.Sprintf("%.2f", ws.Score) }},
		{weightHead("满意度", f.Satisfaction), 0.085, "R", func(ws stats.WindowScore) string { return points(ws, "satisfaction") }},
		{weightHead("参评率", f.Participation), 0.085, "R", func(ws stats.WindowScore) string { return points(ws, "participation") }},
		{weightHead("办理时效", f.Timeliness), 0.09, "R", func(ws stats.WindowScore) string { return points(ws, "timeliness") }},
		{weightHead("在岗率", f.Attendance), 0.085, "R", func(ws stats.WindowScore) string { return points(ws, "attendance") }},
		{"扣分", 0.13, "L", func(ws stats.WindowScore) string {
			t, why := deductions(ws)
			if t == 0 {
				return "0"
			}
			return fmt.Sprintf("%.0f（%s）", t, why)
		}},
		{"办结/评价", 0.08, "C", func(ws stats.WindowScore) string { return fmt.Sprintf("%d/%d", ws.Served, ws.Rated) }},
		{"标记", 0.185, "L", func(ws stats.WindowScore) string { return marks(ws, false) }},
	}
	compact := []column{
		{"名次", 0.14, "C", rank},
		{"窗口", 0.40, "L", func(ws stats.WindowScore) string { return ws.Name }},
		{"总分", 0.20, "R", func(ws stats.WindowScore) string { return fmt.Sprintf("%.2f", ws.Score) }},
		{"标记", 0.26, "L", func(ws stats.WindowScore) string { return marks(ws, true) }},
	}
	n := len(rk.Windows)
	avail := bottom - top
	cols, rows, rowH := 1, n, 0.0
	shown := n
	for cols = 1; cols <= 4; cols++ {
		rows = (n + cols - 1) / cols
		rowH = math.Min(20, avail/float64(rows+1))
		if (cols == 1 && rowH >= 11) || (cols > 1 && rowH >= 6) {
			break
		}
	}
	if cols > 4 { // more than even four columns of 6 pt rows hold: the rest is in the CSV
		cols = 4
		rowH = 6
		rows = int(avail/rowH) - 2
		shown = rows * cols
	}
	list := rk.Windows
	if shown < n { // keep the marked windows on the board whatever is left out
		var marked []stats.WindowScore
		for _, ws := range rk.Windows {
			if len(ws.Marks) > 0 {
				marked = append(marked, ws)
			}
		}
		marked = marked[:min(len(marked), shown)]
		list = nil
		for _, ws := range rk.Windows {
			if len(list) >= shown-len(marked) {
				break
			}
			if len(ws.Marks) == 0 {
				list = append(list, ws)
			}
		}
		list = append(list, marked...)
	}
	set := full
	if cols > 1 {
		set = compact
	}
	gap := 8.0
	colW := (contentW - gap*float64(cols-1)) / float64(cols)
	size := math.Min(9.5, rowH*0.62)
	for c := 0; c < cols; c++ {
		x0 := margin + float64(c)*(colW+gap)
		y := top
		// Head row.
		p.pdf.SetFillColor(226, 232, 240)
		p.pdf.SetDrawColor(180, 180, 180)
		p.pdf.SetLineWidth(0.3)
		x := x0
		for _, col := range set {
			cw := col.w * colW
			p.cell(x, y, cw, rowH, size, col.head, "C", true)
			x += cw
		}
		y += rowH
		for r := 0; r < rows; r++ {
			i := c*rows + r
			if i >= len(list) {
				break
			}
			ws := list[i]
			fill := r%2 == 1
			p.pdf.SetFillColor(246, 248, 250)
			switch {
			case len(ws.Marks) > 0:
				p.pdf.SetTextColor(180, 20, 20)
			case !ws.Ranked:
				p.pdf.SetTextColor(110, 110, 110)
			default:
				p.pdf.SetTextColor(0, 0, 0)
			}
			x = x0
			for _, col := range set {
				cw := col.w * colW
				p.cell(x, y, cw, rowH, size, col.cell(ws), col.align, fill)
				x += cw
			}
			y += rowH
		}
		p.pdf.SetTextColor(0, 0, 0)
	}
	if shown < n {
		p.fitText(margin, bottom-rowH, contentW, rowH, 7, fmt.Sprintf("另有 %d 个窗口未列出，见 CSV 导出。", n-shown), "R")
	}
	if n == 0 {
		p.text(margin, top+30, contentW, 20, 12, "本期没有窗口数据。", "C")
	}
}
