package linedev

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// ErrBadLine is a line Encode refuses: one the other side, framing with the
// same options, would drop or cut in two.
var ErrBadLine = errors.New("linedev: line cannot be sent")

// Encode makes the bytes of one outbound line: charset-encoded, then the
// terminator ("any" sends CRLF, which every line device reads). It refuses
// an empty line, invalid UTF-8, control characters other than TAB (a CR or
// LF would end the line early), a line over MaxLen and, in GB18030, a
// character the encoder cannot map faithfully, so that whatever it
// returns a Framer with the same options reads back as exactly that line.
// Its errors never quote the line.
func Encode(line string, o Options) ([]byte, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	switch {
	case line == "":
		return nil, fmt.Errorf("%w: empty", ErrBadLine)
	case !utf8.ValidString(line):
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrBadLine)
	case hasControl(line):
		return nil, fmt.Errorf("%w: control character", ErrBadLine)
	case len(line) > o.MaxLen:
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrBadLine, len(line), o.MaxLen)
	}
	b := []byte(line)
	if o.Charset == GB18030 {
		// x/text's GB18030 encoder turns 2,048 private-use characters
		// (U+E000–U+E864) into 4-byte codes of other characters
		// (golang/go#62063, #81126): send only what decodes back as sent.
		if b, err = simplifiedchinese.GB18030.NewEncoder().Bytes(b); err != nil {
			return nil, fmt.Errorf("%w: not representable in GB18030", ErrBadLine)
		}
		if back, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b); err != nil || string(back) != line {
			return nil, fmt.Errorf("%w: not representable in GB18030", ErrBadLine)
		}
		if len(b) > o.MaxLen {
			return nil, fmt.Errorf("%w: %d bytes in GB18030, more than %d", ErrBadLine, len(b), o.MaxLen)
		}
	}
	switch o.Terminator {
	case CR:
		return append(b, '\r'), nil
	case LF:
		return append(b, '\n'), nil
	default:
		return append(b, '\r', '\n'), nil
	}
}

// Mask is what a log may show of a line: its length in characters and its
// last 4, the rest as '*' ("********1234"). Lines of fewer than 8
// characters are masked whole, so no more than half of a line is ever
// shown. Lines carry booking codes and ID numbers: never log one unmasked.
func Mask(line string) string {
	r := []rune(line)
	show := 0
	if len(r) >= 8 {
		show = 4
	}
	var sb strings.Builder
	sb.WriteString(strings.Repeat("*", len(r)-show))
	for _, c := range r[len(r)-show:] {
		if !unicode.IsGraphic(c) {
			c = '*' // no escape sequences into a terminal or journal
		}
		sb.WriteRune(c)
	}
	return sb.String()
}
