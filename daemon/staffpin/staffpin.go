// Package staffpin keeps the staff's sign-in PINs: a salted, slow hash
// (PBKDF2-HMAC-SHA256, 210,000 rounds, 16 random bytes of salt) per staff
// member, and the wrong attempts and lock-out, in <storage.dir>/pins.json
// (0600, written atomically with fsync). Neither the PIN nor its hash ever
// leaves this package: the journal records only that a PIN was set or
// changed, by whom, and the attempts' outcomes.
package staffpin

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Rounds of PBKDF2 (OWASP's 2023 figure for HMAC-SHA256).
const Rounds = 210_000

// MinLen and MaxLen bound a PIN's digits.
const (
	MinLen = 4
	MaxLen = 12
)

// FileName is the store's file under storage.dir.
const FileName = "pins.json"

// Errors.
var (
	ErrWrong   = errors.New("staffpin: wrong PIN")
	ErrLocked  = errors.New("staffpin: locked")
	ErrNoPIN   = errors.New("staffpin: no PIN set")
	ErrBadPIN  = errors.New("staffpin: a PIN is 4 to 12 digits")
	ErrTooMany = errors.New("staffpin: too many staff")
)

// MaxEntries bounds the store.
const MaxEntries = 2000

type entry struct {
	Salt        []byte    `json:"salt"`
	Hash        []byte    `json:"hash"`
	Rounds      int       `json:"rounds"`
	SetAt       time.Time `json:"set_at"`
	Failures    int       `json:"failures"`
	LockedUntil time.Time `json:"locked_until,omitzero"`
}

// Store is the PIN file.
type Store struct {
	mu          sync.Mutex
	path        string
	maxAttempts int
	lockout     time.Duration
	pins        map[string]*entry
}

// Status is what may be said about a staff member's PIN.
type Status struct {
	Set         bool       `json:"set"`
	Failures    int        `json:"failures"`
	Remaining   int        `json:"remaining"`
	LockedUntil *time.Time `json:"locked_until,omitempty"`
}

// Result of a check.
type Result struct {
	OK          bool
	Failures    int // wrong in a row, after this attempt
	Remaining   int // attempts left before the lock
	JustLocked  bool
	LockedUntil time.Time
	WasLocked   bool // the entry had been locked before and the lock ran out
}

// Open reads the store in dir (an absent file is an empty store).
func Open(dir string, maxAttempts int, lockout time.Duration) (*Store, error) {
	s := &Store{path: filepath.Join(dir, FileName), maxAttempts: maxAttempts, lockout: lockout, pins: map[string]*entry{}}
	if s.maxAttempts <= 0 {
		s.maxAttempts = 5
	}
	if s.lockout <= 0 {
		s.lockout = 15 * time.Minute
	}
	b, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, err
	}
	if fi, err := os.Stat(s.path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("staffpin: %s is readable by others (mode %v): chmod 600 it", s.path, fi.Mode().Perm())
	}
	if err := json.Unmarshal(b, &s.pins); err != nil {
		return nil, fmt.Errorf("staffpin: %s: %w", s.path, err)
	}
	if s.pins == nil {
		s.pins = map[string]*entry{}
	}
	return s, nil
}

// ValidPIN tells whether pin is 4 to 12 digits.
func ValidPIN(pin string) bool {
	if len(pin) < MinLen || len(pin) > MaxLen {
		return false
	}
	for _, r := range pin {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func hash(pin string, salt []byte, rounds int) []byte {
	k, _ := pbkdf2.Key(sha256.New, pin, salt, rounds, 32)
	return k
}

// Set stores a new PIN for staff (a supervisor's set or reset), clearing
// its failures and lock.
func (s *Store) Set(staff, pin string, now time.Time) error {
	if !ValidPIN(pin) {
		return ErrBadPIN
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	e := &entry{Salt: salt, Hash: hash(pin, salt, Rounds), Rounds: Rounds, SetAt: now.UTC()}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pins[staff]; !ok && len(s.pins) >= MaxEntries {
		return ErrTooMany
	}
	old := s.pins[staff]
	s.pins[staff] = e
	if err := s.save(); err != nil {
		if old == nil {
			delete(s.pins, staff)
		} else {
			s.pins[staff] = old
		}
		return err
	}
	return nil
}

// Remove deletes a staff member's PIN.
func (s *Store) Remove(staff string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.pins[staff]
	if !ok {
		return nil
	}
	delete(s.pins, staff)
	if err := s.save(); err != nil {
		s.pins[staff] = old
		return err
	}
	return nil
}

// Check tests a PIN: a wrong one counts, and the max-th in a row locks the
// staff member's sign-in for the lock-out. While locked, every attempt is
// ErrLocked and is not even compared. The counts are on disk before the
// answer.
func (s *Store) Check(staff, pin string, now time.Time) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.pins[staff]
	if !ok {
		return Result{}, ErrNoPIN
	}
	if now.Before(e.LockedUntil) {
		return Result{Failures: e.Failures, LockedUntil: e.LockedUntil}, ErrLocked
	}
	r := Result{WasLocked: !e.LockedUntil.IsZero()}
	old := *e
	if ValidPIN(pin) && subtle.ConstantTimeCompare(hash(pin, e.Salt, e.Rounds), e.Hash) == 1 {
		if e.Failures == 0 && e.LockedUntil.IsZero() {
			r.OK = true
			return r, nil
		}
		e.Failures, e.LockedUntil = 0, time.Time{}
		r.OK = true
	} else {
		if !e.LockedUntil.IsZero() { // a lock that ran out: a fresh count
			e.Failures, e.LockedUntil = 0, time.Time{}
		}
		e.Failures++
		r.Failures = e.Failures
		r.Remaining = max(s.maxAttempts-e.Failures, 0)
		if e.Failures >= s.maxAttempts {
			e.LockedUntil = now.Add(s.lockout).UTC()
			r.JustLocked, r.LockedUntil = true, e.LockedUntil
		}
	}
	if err := s.save(); err != nil {
		*e = old
		return Result{}, err
	}
	if !r.OK {
		if r.JustLocked {
			return r, ErrLocked
		}
		return r, ErrWrong
	}
	return r, nil
}

// Unlock ends a lock-out and clears the failures (a supervisor's act).
func (s *Store) Unlock(staff string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.pins[staff]
	if !ok || (e.Failures == 0 && e.LockedUntil.IsZero()) {
		return false, nil
	}
	old := *e
	e.Failures, e.LockedUntil = 0, time.Time{}
	if err := s.save(); err != nil {
		*e = old
		return false, err
	}
	return true, nil
}

// Status says whether staff has a PIN and how its attempts stand.
func (s *Store) Status(staff string, now time.Time) Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.pins[staff]
	if !ok {
		return Status{Remaining: s.maxAttempts}
	}
	st := Status{Set: true, Failures: e.Failures, Remaining: max(s.maxAttempts-e.Failures, 0)}
	if now.Before(e.LockedUntil) {
		u := e.LockedUntil
		st.LockedUntil = &u
		st.Remaining = 0
	} else if !e.LockedUntil.IsZero() {
		st.Failures, st.Remaining = 0, s.maxAttempts
	}
	return st
}

// Any tells whether any PIN is set.
func (s *Store) Any() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pins) > 0
}

// Locked counts staff locked out now (for metrics).
func (s *Store) Locked(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.pins {
		if now.Before(e.LockedUntil) {
			n++
		}
	}
	return n
}

// save writes the file atomically: a temporary file (0600) written and
// fsynced, renamed over the old one, and the directory fsynced.
func (s *Store) save() error {
	b, err := json.Marshal(s.pins)
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.path)
	f, err := os.CreateTemp(dir, ".pins-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
