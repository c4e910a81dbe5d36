// Package phonetoken makes the opaque link of a ticket's phone page (the
// citizen's phone, README "The citizen's phone").
//
// A ticket's token is HMAC-SHA256(key, "halld/phone/v1" ‖ day ‖ ticket id),
// cut to 24 bytes and written as 32 characters of unpadded base64url. The key
// is 32 random bytes in <storage.dir>/phone.key (0600), made on first start
// and never leaving the box, so a token cannot be derived from the number,
// the ticket id or the time it was taken, and one ticket's token says nothing
// of another's. The day is part of the MAC: a token is valid for its ticket's
// day only.
//
// The first 8 bytes of a token are its selector, used to find the ticket in
// an Index; the other 16 bytes (128 bits) are the verifier, compared in
// constant time. A lookup's timing can say at most whether a selector exists,
// which grants nothing without the verifier.
package phonetoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"sync"

	"halld/daemon/config"
	"halld/daemon/hall"
	"halld/daemon/keyfile"
)

const (
	tokenBytes    = 24
	selectorBytes = 8
	// Len is a token's length in characters.
	Len = 32
)

var enc = base64.RawURLEncoding.Strict()

// Key is the token key.
type Key struct{ k []byte }

// New makes a key from raw bytes (tests); at least 16 bytes.
func New(raw []byte) (*Key, error) {
	if len(raw) < 16 {
		return nil, errors.New("phone key: at least 16 bytes")
	}
	return &Key{k: append([]byte(nil), raw...)}, nil
}

// LoadOrCreate reads the key at path, creating a new random one (mode 0600)
// on first start. A key readable by others is refused: it would let them
// make any ticket's link.
func LoadOrCreate(path string) (*Key, error) {
	k, err := keyfile.LoadOrCreate(path, "phone key")
	if err != nil {
		return nil, err
	}
	return &Key{k: k}, nil
}

func (k *Key) mac(day, ticketID string) []byte {
	m := hmac.New(sha256.New, k.k)
	m.Write([]byte("halld/phone/v1\x00"))
	m.Write([]byte(day))
	m.Write([]byte{0})
	m.Write([]byte(ticketID))
	return m.Sum(nil)[:tokenBytes]
}

// Token is the link token of a ticket of day (YYYY-MM-DD).
func (k *Key) Token(day, ticketID string) string { return enc.EncodeToString(k.mac(day, ticketID)) }

// split decodes a token into its selector and verifier; false for anything
// that is not a well-formed token.
func split(token string) (string, []byte, bool) {
	if len(token) != Len {
		return "", nil, false
	}
	b, err := enc.DecodeString(token)
	if err != nil || len(b) != tokenBytes {
		return "", nil, false
	}
	return string(b[:selectorBytes]), b[selectorBytes:], true
}

// Index finds the ticket of a token among one day's tickets. Tickets are
// added as they are issued (Add); a new day starts it afresh.
type Index struct {
	key *Key
	mu  sync.RWMutex
	day string
	n   int // tickets added for day
	sel map[string]entry
}

type entry struct {
	ticket   string
	verifier []byte
}

// NewIndex makes an empty index over key.
func NewIndex(key *Key) *Index { return &Index{key: key, sel: map[string]entry{}} }

// Known is the day the index holds and how many of its tickets it has, so
// the caller adds only the tickets after them.
func (ix *Index) Known() (string, int) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.day, ix.n
}

// Add records tickets of day, which are the day's tickets from position from
// on (Known's count). Another day replaces what the index held; a from that
// does not follow on (from == 0 after a restart, say) rebuilds it.
func (ix *Index) Add(day string, from int, ids []string) {
	// The MACs are made outside the lock.
	es := make([]entry, len(ids))
	sels := make([]string, len(ids))
	for i, id := range ids {
		m := ix.key.mac(day, id)
		sels[i], es[i] = string(m[:selectorBytes]), entry{ticket: id, verifier: m[selectorBytes:]}
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if day != ix.day || from != ix.n {
		if from != 0 {
			return // out of step: the caller asks again from Known
		}
		ix.day, ix.n, ix.sel = day, 0, map[string]entry{}
	}
	for i := range es {
		ix.sel[sels[i]] = es[i]
	}
	ix.n += len(ids)
}

// Lookup returns the ticket id of token among the day's tickets.
func (ix *Index) Lookup(token string) (string, bool) {
	sel, ver, ok := split(token)
	if !ok {
		return "", false
	}
	ix.mu.RLock()
	e, found := ix.sel[sel]
	ix.mu.RUnlock()
	if !found {
		return "", false
	}
	if subtle.ConstantTimeCompare(ver, e.verifier) != 1 {
		return "", false
	}
	return e.ticket, true
}

// QR is what a printed ticket's QR code holds: hall.phone_url followed by the
// ticket's token when the phone page is configured and the hall's key k is
// given (daemon/app passes it to the printers and the web server: there is no
// global registry of keys); else, as before, hall.eval_url followed by the
// ticket id; "" for no QR code.
func QR(cfg *config.Config, k *Key, t *hall.Ticket) string {
	if cfg.Hall.PhoneURL != "" && k != nil {
		return cfg.Hall.PhoneURL + k.Token(t.Day, t.ID)
	}
	if cfg.Hall.EvalURL != "" {
		return cfg.Hall.EvalURL + t.ID
	}
	return ""
}
