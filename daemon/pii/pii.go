// Package pii handles citizens' personal data the way the hall's 保密规定
// asks: ID numbers are never stored or sent in clear. Where halld must match
// a person (an appointment booked with an ID number, a card placed at the
// kiosk), it keeps a keyed hash (HMAC-SHA256) with a key that lives only on
// this box, in a file only halld can read; for people it shows the last four
// characters.
package pii

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"halld/daemon/keyfile"
)

// Key is the hashing key.
type Key struct{ k []byte }

// LoadOrCreate reads the key at path, creating a new random one (mode 0600)
// on first start. A key readable by others is refused: it would let them
// test ID numbers against the journal.
func LoadOrCreate(path string) (*Key, error) {
	k, err := keyfile.LoadOrCreate(path, "pii key")
	if err != nil {
		return nil, err
	}
	return &Key{k: k}, nil
}

// Hash is the keyed hash of an ID number (normalised: trimmed, upper-case X).
func (k *Key) Hash(id string) string {
	m := hmac.New(sha256.New, k.k)
	m.Write([]byte(Normalize(id)))
	return hex.EncodeToString(m.Sum(nil))
}

// Normalize trims an ID number and upper-cases its check character.
func Normalize(id string) string { return strings.ToUpper(strings.TrimSpace(id)) }

// Mask keeps the last four characters: "**************123X". Shorter values
// are masked whole.
func Mask(s string) string {
	n := utf8.RuneCountInString(s)
	if n <= 4 {
		return strings.Repeat("*", n)
	}
	r := []rune(s)
	return strings.Repeat("*", n-4) + string(r[n-4:])
}

// Last4 is what a ticket prints: "尾号123X".
func Last4(s string) string {
	r := []rune(Normalize(s))
	if len(r) < 4 {
		return ""
	}
	return string(r[len(r)-4:])
}
