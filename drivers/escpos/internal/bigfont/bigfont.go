// Package bigfont draws ticket numbers ([0-9A-Z-] and space) as raster
// images for printers whose GS ! cannot magnify enough, and reads them back
// for the simulator.
//
// A glyph is 5×7 font pixels in a 6×8 cell. At magnification m a font pixel
// is 2m dots wide and 3m dots high, so a cell is 12m × 24m dots: exactly the
// size of a Font A character magnified m times by GS !, so a layout does not
// change when the encoder falls back to an image.
package bigfont

import "bytes"

const (
	cellCols = 6
	cellRows = 8
)

var glyphs = map[rune][7]string{
	' ': {".....", ".....", ".....", ".....", ".....", ".....", "....."},
	'-': {".....", ".....", ".....", "#####", ".....", ".....", "....."},
	'0': {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."},
	'1': {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."},
	'2': {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"},
	'3': {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."},
	'4': {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."},
	'5': {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."},
	'6': {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."},
	'7': {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."},
	'8': {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."},
	'9': {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."},
	'A': {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
	'B': {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."},
	'C': {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."},
	'D': {"###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###.."},
	'E': {"#####", "#....", "#....", "####.", "#....", "#....", "#####"},
	'F': {"#####", "#....", "#....", "####.", "#....", "#....", "#...."},
	'G': {".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"},
	'H': {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
	'I': {".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."},
	'J': {"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."},
	'K': {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"},
	'L': {"#....", "#....", "#....", "#....", "#....", "#....", "#####"},
	'M': {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"},
	'N': {"#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"},
	'O': {".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
	'P': {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."},
	'Q': {".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"},
	'R': {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"},
	'S': {".####", "#....", "#....", ".###.", "....#", "....#", "####."},
	'T': {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."},
	'U': {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
	'V': {"#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."},
	'W': {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."},
	'X': {"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"},
	'Y': {"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."},
	'Z': {"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"},
}

// byShape maps a sampled 5×7 pattern back to its rune, for Read.
var byShape = func() map[[7]string]rune {
	m := make(map[[7]string]rune, len(glyphs))
	for r, g := range glyphs {
		m[g] = r
	}
	return m
}()

// Supported reports whether r has a glyph.
func Supported(r rune) bool {
	_, ok := glyphs[r]
	return ok
}

// Width is the width in dots of n characters at magnification mag.
func Width(n, mag int) int { return n * cellCols * 2 * mag }

// Height is the image height in dots at magnification mag.
func Height(mag int) int { return cellRows * 3 * mag }

// Render draws s (every rune Supported) into a GS v 0 raster that is dots
// wide (a multiple of 8), with the first cell's left edge at x0. Rows are
// dots/8 bytes, most significant bit leftmost. Dots past the right edge are
// dropped.
func Render(s string, mag, dots, x0 int) (data []byte, height int) {
	wb := dots / 8
	height = Height(mag)
	data = make([]byte, wb*height)
	px, py := 2*mag, 3*mag
	i := 0
	for _, r := range s {
		g := glyphs[r]
		cx := x0 + Width(i, mag)
		i++
		for row, line := range g {
			for col := 0; col < len(line); col++ {
				if line[col] != '#' {
					continue
				}
				for y := row * py; y < (row+1)*py; y++ {
					for x := cx + col*px; x < cx+(col+1)*px; x++ {
						if x >= 0 && x < wb*8 {
							data[y*wb+x/8] |= 0x80 >> (x % 8)
						}
					}
				}
			}
		}
	}
	return data, height
}

// Read recognises an image drawn by Render and returns its text without
// leading or trailing spaces. It succeeds only when re-rendering the text
// reproduces the image exactly, so it never guesses.
func Read(data []byte, widthBytes, height int) (string, bool) {
	if widthBytes <= 0 || height <= 0 || height%Height(1) != 0 || len(data) != widthBytes*height {
		return "", false
	}
	mag := height / Height(1)
	dots := widthBytes * 8
	ink := func(x, y int) bool {
		return x >= 0 && x < dots && data[y*widthBytes+x/8]&(0x80>>(x%8)) != 0
	}
	minX, maxX := dots, -1
	for y := 0; y < height; y++ {
		for x := 0; x < dots; x++ {
			if ink(x, y) {
				minX, maxX = min(minX, x), max(maxX, x)
			}
		}
	}
	if maxX < 0 {
		return "", false
	}
	px, py, cw := 2*mag, 3*mag, Width(1, mag)
	// The leftmost ink is some glyph column c0 of the first cell; try each.
	for c0 := 0; c0 < 5; c0++ {
		x0 := minX - c0*px
		var text []rune
		ok := true
		for cx := x0; ok && cx <= maxX; cx += cw {
			var shape [7]string
			for row := range shape {
				var b [5]byte
				for col := range b {
					b[col] = '.'
					if ink(cx+col*px+px/2, row*py+py/2) {
						b[col] = '#'
					}
				}
				shape[row] = string(b[:])
			}
			r, found := byShape[shape]
			text = append(text, r)
			ok = found
		}
		if !ok {
			continue
		}
		s := string(text)
		if again, _ := Render(s, mag, dots, x0); bytes.Equal(again, data) {
			return s, true
		}
	}
	return "", false
}
