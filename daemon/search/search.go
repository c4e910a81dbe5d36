// Package search gives a service the keys citizens find it by on the
// kiosk: the pinyin of its name (full and initials, every reading of a
// character with more than one, from github.com/mozillazg/go-pinyin, which
// carries the pinyin-data dictionary), its English name, everyday words
// (configured keywords, and the common ones of words.go) and its materials.
// The kiosk matches what is typed against these (kiosk.js: matchSpell).
package search

import (
	"strings"
	"unicode"

	"github.com/mozillazg/go-pinyin"
)

// Term kinds: a match on a name or word is a strong one; a material is only
// looked at when nothing matches strongly.
const (
	KindName     = "name"
	KindWord     = "word"
	KindMaterial = "material"
)

// Keys are a service's search keys, as the snapshot carries them.
type Keys struct {
	// Initials are the first letters of the name's pinyin (default
	// readings): 不动产登记 → "bdcdj".
	Initials string `json:"initials"`
	// Pinyin is the name's full pinyin (default readings), without tones or
	// spaces: "budongchandengji".
	Pinyin string `json:"pinyin"`
	// Words are the everyday words the service is found by: its configured
	// keywords, then the common words for what its name says (words.go).
	Words []string `json:"words"`
	// Terms are every text matched, each spelled: the name, the English
	// name, the words, then the materials.
	Terms []Term `json:"terms"`
}

// Term is one searchable text and its spelling.
type Term struct {
	Kind string `json:"kind"`
	Text string `json:"text"`
	// Spell has one entry per Chinese character or Latin word of Text (other
	// characters are left out): the character or word itself, then its
	// readings in lower case without tones (a character with several
	// readings has the usual one first and the next; ü is both v and u).
	Spell [][]string `json:"spell"`
}

// Service is what the keys are made from.
type Service struct {
	Name      string
	NameEn    string
	Keywords  []string
	Materials []string
}

// For makes a service's keys.
func For(s Service) Keys {
	k := Keys{Initials: Initials(s.Name), Pinyin: Pinyin(s.Name), Words: []string{}, Terms: []Term{}}
	seen := map[string]bool{}
	add := func(kind, text string) bool {
		text = strings.TrimSpace(text)
		key := strings.ToLower(text)
		if text == "" || seen[key] {
			return false
		}
		spell := Spell(text)
		if len(spell) == 0 {
			return false
		}
		seen[key] = true
		k.Terms = append(k.Terms, Term{Kind: kind, Text: text, Spell: spell})
		return true
	}
	add(KindName, s.Name)
	add(KindName, s.NameEn)
	for _, w := range append(append([]string{}, s.Keywords...), Everyday(s.Name)...) {
		if add(KindWord, w) {
			k.Words = append(k.Words, strings.TrimSpace(w))
		}
	}
	for _, m := range s.Materials {
		add(KindMaterial, m)
	}
	return k
}

// maxReadings is how many readings of a character are kept.
const maxReadings = 2

// Spell spells a text for matching (see Term.Spell).
func Spell(text string) [][]string {
	args := pinyin.NewArgs()
	args.Heteronym = true
	var out [][]string
	rs := []rune(text)
	for i := 0; i < len(rs); {
		r := rs[i]
		if latin(r) {
			j := i
			for j < len(rs) && latin(rs[j]) {
				j++
			}
			w := string(rs[i:j])
			out = append(out, []string{w, strings.ToLower(w)})
			i = j
			continue
		}
		i++
		if !unicode.Is(unicode.Han, r) {
			continue
		}
		readings := pinyin.SinglePinyin(r, args)
		if len(readings) == 0 {
			out = append(out, []string{string(r)}) // a character without a reading: matched as itself
			continue
		}
		e := []string{string(r)}
		// The usual reading and the next: 行 xing/hang, 长 zhang/chang, 重
		// zhong/chong. Rarer ones (土 cha, 押 jia) would only find wrong things.
		for _, p := range readings[:min(len(readings), maxReadings)] {
			e = appendNew(e, p)
			if strings.Contains(p, "v") {
				e = appendNew(e, strings.ReplaceAll(p, "v", "u")) // lv 绿 also typed lu
			}
		}
		out = append(out, e)
	}
	return out
}

// Pinyin is a text's full pinyin with each character's usual reading, Latin
// words kept, in lower case: 不动产登记 → "budongchandengji".
func Pinyin(text string) string {
	var b strings.Builder
	for _, e := range usual(text) {
		b.WriteString(e)
	}
	return b.String()
}

// Initials are the first letters of a text's pinyin (usual readings) and of
// its Latin words: 不动产登记 → "bdcdj".
func Initials(text string) string {
	var b strings.Builder
	for _, e := range usual(text) {
		b.WriteByte(e[0])
	}
	return b.String()
}

func usual(text string) []string {
	var out []string
	for _, e := range Spell(text) {
		if len(e) > 1 {
			out = append(out, e[1])
		}
	}
	return out
}

func latin(r rune) bool {
	return r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

func appendNew(list []string, s string) []string {
	for _, x := range list[1:] {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
