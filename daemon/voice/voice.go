// Package voice turns a board line ("请A002号到1号窗口办理") into what
// espeak-ng is to speak: Mandarin syllables in pinyin with tone numbers, read
// by espeak-ng's cmn-latn-pinyin voice.
//
// Why: espeak-ng 1.51 (Debian 12) stores most of its Mandarin dictionary as
// pinyin text and, in its "cmn" voice, reads Latin text as English, so every
// tone number is spoken in English ("ni three hay-oh three", espeak-ng issue
// 1028). Its "cmn-latn-pinyin" voice reads the same dictionary and Latin text
// as pinyin. This package goes further and writes the whole call line as
// pinyin itself, so what is spoken does not depend on espeak-ng's readings:
//
//   - ticket numbers digit by digit, the prefix letters as Chinese speakers
//     name them: A002 → ēi líng líng èr, A1000 → ēi yī líng líng líng;
//   - other numbers as cardinals: 1号窗口 → yī hào, 12号窗口 → shí'èr hào,
//     105 → yìbǎi líng wǔ. The digit 1 is always yī, never yāo;
//   - the words halld speaks (请 号 到 窗口 办理 暂停 服务 …) from a small
//     lexicon with their standard tones (espeak-ng's dictionary makes 服务
//     fúwu, neutral tone);
//   - any other common Han character is left to espeak-ng's dictionary;
//     punctuation becomes a pause; everything else (symbols, emoji, "[[",
//     rare characters espeak-ng would spell as hex) is dropped.
//
// Tones are written as spoken where Mandarin changes them by rule and
// espeak-ng does not (一 before 百/千: yì bǎi); the third-tone changes
// (你好 → ní hǎo, half-third before other tones) espeak-ng makes itself.
package voice

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Voice is the espeak-ng voice that reads Espeak's output.
const Voice = "cmn-latn-pinyin"

// Part is one piece of a spoken line: a syllable (Pinyin without tone and
// Tone 1–5, 5 neutral), a run of Han characters left to espeak-ng's
// dictionary (Han), or a pause.
type Part struct {
	Pinyin string
	Tone   int
	Han    string
	Pause  bool
}

// Syllable is the part as pinyin with its tone number ("hao4"), the Han
// characters, or "," for a pause.
func (p Part) String() string {
	switch {
	case p.Pause:
		return ","
	case p.Han != "":
		return p.Han
	}
	return p.Pinyin + strconv.Itoa(p.Tone)
}

// Espeak is text as espeak-ng's cmn-latn-pinyin voice (Voice) should read
// it: syllables with tone numbers, Han runs for its dictionary, "，" pauses.
// It never holds anything espeak-ng would read as a command ("[[", SSML).
func Espeak(text string) string {
	var b strings.Builder
	for i, p := range Parse(text) {
		if i > 0 {
			b.WriteByte(' ')
		}
		if p.Pause {
			b.WriteString("，")
		} else {
			b.WriteString(p.String())
		}
	}
	return b.String()
}

// Pinyin is the line as pinyin with tone numbers, for people and tests
// ("qing3 ei1 ling2 ling2 er4 hao4 …"); Han left to espeak-ng stays Han.
func Pinyin(text string) string {
	parts := Parse(text)
	s := make([]string, len(parts))
	for i, p := range parts {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}

// Parse splits text into the parts it is spoken as.
func Parse(text string) []Part {
	rs := []rune(fold(text))
	var out []Part
	syl := func(list ...string) {
		for _, s := range list {
			out = append(out, syllable(s))
		}
	}
	pause := func() {
		if len(out) > 0 && !out[len(out)-1].Pause {
			out = append(out, Part{Pause: true})
		}
	}
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case isDigit(r):
			j := i
			for j < len(rs) && isDigit(rs[j]) {
				j++
			}
			digits := string(rs[i:j])
			afterLetter := i > 0 && isLetter(rs[i-1])
			if afterLetter || len(digits) > 4 || (len(digits) > 1 && digits[0] == '0') {
				for _, d := range digits {
					syl(digitNames[d-'0'])
				}
			} else {
				n, _ := strconv.Atoi(digits)
				syl(cardinal(n)...)
			}
			i = j
		case isLetter(r):
			syl(letterNames[r-'A']...)
			i++
		case isHan(r):
			if w, n := lookup(rs[i:]); n > 0 {
				syl(strings.Fields(w)...)
				i += n
				continue
			}
			// A run of characters the lexicon does not know, kept together
			// so espeak-ng's dictionary can match its words.
			j := i
			for j < len(rs) && isHan(rs[j]) {
				if _, n := lookup(rs[j:]); n > 0 {
					break
				}
				j++
			}
			out = append(out, Part{Han: string(rs[i:j])})
			i = j
		case strings.ContainsRune(pauses, r):
			pause()
			i++
		default: // spaces, symbols, anything espeak-ng could misread
			i++
		}
	}
	if len(out) > 0 && out[len(out)-1].Pause {
		out = out[:len(out)-1]
	}
	return out
}

func syllable(s string) Part {
	tone := int(s[len(s)-1] - '0')
	return Part{Pinyin: s[:len(s)-1], Tone: tone}
}

// fold maps full-width ASCII (Ａ００２) to ASCII and lower case to upper.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0xFF01 && r <= 0xFF5E {
			r -= 0xFEE0
		}
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}, s)
}

func isDigit(r rune) bool  { return r >= '0' && r <= '9' }
func isLetter(r rune) bool { return r >= 'A' && r <= 'Z' }

// isHan is a character of the CJK Unified Ideographs block, which espeak-ng's
// Mandarin dictionary covers; rarer blocks it spells as hex codes.
func isHan(r rune) bool { return r >= 0x4E00 && r <= 0x9FFF }

const pauses = "，。、！？；：,.!?;:…—\n"

var digitNames = [10]string{"ling2", "yi1", "er4", "san1", "si4", "wu3", "liu4", "qi1", "ba1", "jiu3"}

// letterNames are the letters as Mandarin speakers name them, in pinyin
// syllables (A ēi, B bì, C xī, …). Ticket prefixes are one or two of them.
var letterNames = [26][]string{
	{"ei1"},                // A
	{"bi4"},                // B
	{"xi1"},                // C
	{"di4"},                // D
	{"yi4"},                // E
	{"ai4", "fu2"},         // F
	{"ji4"},                // G
	{"ai4", "qi1"},         // H
	{"ai4"},                // I
	{"jie1"},               // J
	{"kei1"},               // K
	{"ai4", "lou2"},        // L
	{"ai4", "mu3"},         // M
	{"en1"},                // N
	{"ou1"},                // O
	{"pi4"},                // P
	{"qiu1"},               // Q
	{"a1", "er3"},          // R
	{"ai4", "si1"},         // S
	{"ti4"},                // T
	{"you1"},               // U
	{"wei1"},               // V
	{"da2", "bu4", "liu1"}, // W
	{"ai4", "ke4", "si1"},  // X
	{"wai4"},               // Y
	{"zei2"},               // Z
}

// cardinal is n (0–9999) read as a number: 12 → 十二, 105 → 一百零五,
// 110 → 一百一十, 2000 → 两千. 一 before 百 and 千 is written as spoken (yì).
func cardinal(n int) []string {
	if n < 10 {
		return []string{digitNames[n]}
	}
	var out []string
	below100 := func(n int, lead bool) { // lead: nothing before it, so 十 not 一十
		if n >= 10 {
			if n/10 != 1 || !lead {
				out = append(out, digitNames[n/10])
			}
			out = append(out, "shi2")
		}
		if n%10 != 0 {
			out = append(out, digitNames[n%10])
		}
	}
	if n >= 1000 {
		switch d := n / 1000; d {
		case 1:
			out = append(out, "yi4")
		case 2:
			out = append(out, "liang3")
		default:
			out = append(out, digitNames[d])
		}
		out = append(out, "qian1")
		n %= 1000
		if n == 0 {
			return out
		}
		if n < 100 {
			out = append(out, "ling2")
			below100(n, false)
			return out
		}
	}
	if n >= 100 {
		if d := n / 100; d == 1 {
			out = append(out, "yi4")
		} else {
			out = append(out, digitNames[d])
		}
		out = append(out, "bai3")
		n %= 100
		if n == 0 {
			return out
		}
		if n < 10 {
			out = append(out, "ling2")
		}
		below100(n, false)
		return out
	}
	below100(n, len(out) == 0)
	return out
}

// lexicon holds the words halld speaks, with their standard tones: the call
// and pause lines (daemon/hall), the board's own lines, and the hall's common
// words. Longest match first.
var lexicon = map[string]string{
	"请":   "qing3",
	"請":   "qing3",
	"号":   "hao4",
	"號":   "hao4",
	"到":   "dao4",
	"窗口":  "chuang1 kou3",
	"窗":   "chuang1",
	"办理":  "ban4 li3",
	"辦理":  "ban4 li3",
	"暂停":  "zan4 ting2",
	"服务":  "fu2 wu4",
	"业务":  "ye4 wu4",
	"政务":  "zheng4 wu4",
	"语音":  "yu3 yin1",
	"播报":  "bo1 bao4",
	"已":   "yi3",
	"启用":  "qi3 yong4",
	"大厅":  "da4 ting1",
	"综合":  "zong1 he2",
	"受理":  "shou4 li3",
	"前往":  "qian2 wang3",
	"第":   "di4",
	"区":   "qu1",
	"楼":   "lou2",
	"层":   "ceng2",
	"银行":  "yin2 hang2",
	"不动产": "bu2 dong4 chan3",
	"登记":  "deng1 ji4",
	"重新":  "chong2 xin1",
	"过号":  "guo4 hao4",
}

var lexiconMax = func() int {
	m := 0
	for w := range lexicon {
		m = max(m, utf8.RuneCountInString(w))
	}
	return m
}()

// lookup finds the longest lexicon word at the start of rs.
func lookup(rs []rune) (pinyin string, n int) {
	for n = min(lexiconMax, len(rs)); n > 0; n-- {
		if p, ok := lexicon[string(rs[:n])]; ok {
			return p, n
		}
	}
	return "", 0
}
