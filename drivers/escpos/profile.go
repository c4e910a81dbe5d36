// Package escpos encodes print jobs for ESC/POS queue-ticket printers and
// decodes their status bytes. It is a pure codec: no ports, no clocks.
// The wire details are in docs/protocols.md §1.
package escpos

import (
	"errors"
	"fmt"
	"sort"
)

// Cutter says what a printer's cutter can do.
type Cutter string

const (
	CutterFull    Cutter = "full"
	CutterPartial Cutter = "partial" // some 58 mm units cannot full-cut (ZJ-58 p58)
	CutterNone    Cutter = "none"
)

// Profile describes what one printer model accepts. escpos-printer-db has no
// CJK, magnification or status fields, so we keep our own (docs/protocols.md §1.5).
type Profile struct {
	Name         string
	PaperWidthMM int
	Dots         int    // printable dots per line: 576 for 80 mm, 384 for 58 mm
	Columns      int    // ASCII columns in font A (12×24): 48 or 32; a Chinese glyph takes two
	Charset      string // "gb2312" | "gbk" | "gb18030": which GB codes the firmware prints
	Cutter       Cutter
	MaxCharMag   int  // largest GS ! magnification accepted, 1..8
	QRMaxModule  int  // largest QR module size in dots: 8 or 16
	QRMaxData    int  // largest QR payload in bytes; 0 = no GS ( k, QR is printed as an image
	Status       bool // answers DLE EOT
}

// Charset names.
const (
	CharsetGB2312  = "gb2312"
	CharsetGBK     = "gbk"
	CharsetGB18030 = "gb18030"
)

// qrMaxData is the QR model 2 capacity (version 40-L, numeric); fn 180 caps k at 7089.
const qrMaxData = 7089

// Built-in profiles. Values marked "assumed" are not from a manual we read;
// verify them on the real unit (docs/protocols.md §5).
var profiles = map[string]Profile{
	"generic-80mm": {
		Name: "generic-80mm", PaperWidthMM: 80, Dots: 576, Columns: 48, Charset: CharsetGB18030,
		Cutter: CutterFull, MaxCharMag: 8, QRMaxModule: 16, QRMaxData: qrMaxData, Status: true,
	},
	"generic-58mm": {
		Name: "generic-58mm", PaperWidthMM: 58, Dots: 384, Columns: 32, Charset: CharsetGBK,
		Cutter: CutterPartial, MaxCharMag: 8, QRMaxModule: 16, QRMaxData: qrMaxData, Status: true,
	},
	// DB ZJ-5870.yml: 384 dots, 32 columns, no full or partial cut, qrCode false
	// (so QR goes out as an image). GS ! range and DLE EOT support: assumed.
	"zj-5870": {
		Name: "zj-5870", PaperWidthMM: 58, Dots: 384, Columns: 32, Charset: CharsetGBK,
		Cutter: CutterNone, MaxCharMag: 8, QRMaxModule: 8, QRMaxData: 0, Status: true,
	},
	// BP-002 p49: GS ! accepts only n = 0, 1, 16, 17, i.e. at most 2×2.
	// Paper width, charset and cutter: assumed.
	"birch-bp002": {
		Name: "birch-bp002", PaperWidthMM: 80, Dots: 576, Columns: 48, Charset: CharsetGBK,
		Cutter: CutterFull, MaxCharMag: 2, QRMaxModule: 16, QRMaxData: qrMaxData, Status: true,
	},
	// HPRT PPTII-A p43: module 1–8; fn 180 needs pL+pH*256 = k+3 < 1021, so k ≤ 1017.
	// 58 mm panel printer; charset and cutter: assumed.
	"hprt-pptii-a": {
		Name: "hprt-pptii-a", PaperWidthMM: 58, Dots: 384, Columns: 32, Charset: CharsetGB18030,
		Cutter: CutterFull, MaxCharMag: 8, QRMaxModule: 8, QRMaxData: 1017, Status: true,
	},
}

// LookupProfile returns the built-in profile with that name.
func LookupProfile(name string) (Profile, bool) {
	p, ok := profiles[name]
	return p, ok
}

// ProfileNames lists the built-in profiles, sorted.
func ProfileNames() []string {
	names := make([]string, 0, len(profiles))
	for n := range profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Validate reports every problem with p at once, so a config file can be
// fixed in one pass.
func (p Profile) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if p.Name == "" {
		bad("name is empty")
	}
	if p.PaperWidthMM <= 0 {
		bad("paper width %d mm: must be > 0", p.PaperWidthMM)
	}
	// Raster images are sent in whole bytes per row.
	if p.Dots <= 0 || p.Dots%8 != 0 {
		bad("dots %d: must be a positive multiple of 8", p.Dots)
	}
	if p.Columns <= 0 || (p.Dots > 0 && p.Columns*12 > p.Dots) {
		bad("columns %d: must be > 0 and fit %d dots at 12 dots each", p.Columns, p.Dots)
	}
	switch p.Charset {
	case CharsetGB2312, CharsetGBK, CharsetGB18030:
	default:
		bad("charset %q: must be gb2312, gbk or gb18030", p.Charset)
	}
	switch p.Cutter {
	case CutterFull, CutterPartial, CutterNone:
	default:
		bad("cutter %q: must be full, partial or none", p.Cutter)
	}
	if p.MaxCharMag < 1 || p.MaxCharMag > 8 {
		bad("max char magnification %d: must be 1..8", p.MaxCharMag)
	}
	if p.QRMaxModule < 1 || p.QRMaxModule > 16 {
		bad("QR max module %d: must be 1..16", p.QRMaxModule)
	}
	if p.QRMaxData < 0 || p.QRMaxData > qrMaxData {
		bad("QR max data %d: must be 0..%d", p.QRMaxData, qrMaxData)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("escpos: profile %q: %w", p.Name, errors.Join(errs...))
}
