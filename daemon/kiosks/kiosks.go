// Package kiosks holds each kiosk's interaction with one citizen: the ID card
// they placed (in memory only, for this interaction, wiped at its end or
// after a time limit) and the codes they scanned. Card and scan events go to
// the page of the kiosk the reader or scanner belongs to, and to no other;
// the journal keeps only a masked record.
package kiosks

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"halld/daemon/config"
	"halld/daemon/engine"
	"halld/daemon/hall"
	"halld/daemon/issuer"
	"halld/daemon/pii"
)

// Person is what a kiosk may know of the citizen at it, derived from the
// card at once (the card itself is wiped by the caller).
type Person struct {
	Kind     string    // resident, hkmo_tw, foreigner_2017, foreigner_2023
	Greeting string    // the name's first character + "*", e.g. 张*
	Number   string    // the ID number: kept only to hash it, then cleared
	Birth    time.Time // for age rules (green channel)
	ValidTo  time.Time // zero = 长期
}

// Msg is one message to a kiosk page.
type Msg struct {
	Type    string          `json:"type"` // card, card_removed, card_error, scan, checked_in, session_end
	Person  *PublicPerson   `json:"person,omitempty"`
	Ticket  *hall.Ticket    `json:"ticket,omitempty"`
	Error   *hall.ErrorInfo `json:"error,omitempty"`
	Text    string          `json:"text,omitempty"`
	Reader  string          `json:"reader,omitempty"`
	Expires *time.Time      `json:"expires,omitempty"`
}

// PublicPerson is what the kiosk page shows.
type PublicPerson struct {
	Greeting string `json:"greeting"`
	Last4    string `json:"id_last4"`
	Age      int    `json:"age"`
	Expired  bool   `json:"expired"`
	Kind     string `json:"kind"`
}

type session struct {
	public  PublicPerson
	idHash  string
	birth   time.Time
	expires time.Time
	timer   *time.Timer
}

// Manager runs every kiosk's sessions.
type Manager struct {
	cfg  *config.Config
	eng  *engine.Engine
	iss  *issuer.Issuer
	key  *pii.Key
	log  *slog.Logger
	now  func() time.Time
	mu   sync.Mutex
	sess map[string]*session
	subs map[string]map[chan Msg]struct{}
}

// New makes the manager.
func New(cfg *config.Config, eng *engine.Engine, iss *issuer.Issuer, key *pii.Key, log *slog.Logger) *Manager {
	return &Manager{cfg: cfg, eng: eng, iss: iss, key: key, log: log, now: eng.Now,
		sess: map[string]*session{}, subs: map[string]map[chan Msg]struct{}{}}
}

func (m *Manager) timeout(kiosk string) time.Duration {
	if k, ok := m.cfg.Device(kiosk); ok && k.Kiosk != nil {
		if d, err := time.ParseDuration(k.Kiosk.SessionTimeout); err == nil && d > 0 {
			return d
		}
	}
	return 2 * time.Minute
}

// Subscribe returns the messages for one kiosk's page; cancel ends it.
func (m *Manager) Subscribe(kiosk string) (<-chan Msg, func()) {
	ch := make(chan Msg, 16)
	m.mu.Lock()
	if m.subs[kiosk] == nil {
		m.subs[kiosk] = map[chan Msg]struct{}{}
	}
	m.subs[kiosk][ch] = struct{}{}
	m.mu.Unlock()
	return ch, func() {
		m.mu.Lock()
		if _, ok := m.subs[kiosk][ch]; ok {
			delete(m.subs[kiosk], ch)
			close(ch)
		}
		m.mu.Unlock()
	}
}

func (m *Manager) send(kiosk string, msg Msg) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for ch := range m.subs[kiosk] {
		select {
		case ch <- msg:
		default: // a page that does not read loses messages, never blocks a reader
		}
	}
}

// CardPlaced handles a card read by reader: a masked journal record, a
// same-day appointment checked in at once, otherwise a greeting, with the
// data kept in memory until the interaction ends.
func (m *Manager) CardPlaced(ctx context.Context, reader string, p Person) {
	if w, ok := m.cfg.WindowOfReader(reader); ok {
		m.staffCard(ctx, w.ID, reader, p) // staffcard.go: a window's desk reader
		return
	}
	k, ok := m.cfg.KioskOf(reader)
	if !ok {
		m.log.Warn("card read at a reader no kiosk lists; ignored", "reader", reader)
		return
	}
	// A new card is a new citizen: nothing of the one before may carry over
	// to their ticket, whatever happens next.
	m.End(k.ID)
	now := m.now()
	hash, last4 := m.key.Hash(p.Number), pii.Last4(p.Number)
	p.Number = ""
	expired := !p.ValidTo.IsZero() && now.After(p.ValidTo.AddDate(0, 0, 1))
	pub := PublicPerson{Greeting: p.Greeting, Last4: last4, Age: age(p.Birth, now), Expired: expired, Kind: p.Kind}
	if _, err := m.eng.Submit(ctx, hall.RecordCardRead{IDCardRead: hall.IDCardRead{Reader: reader, Kiosk: k.ID,
		Kind: p.Kind, Last4: last4, IDHash: hash, Expired: expired}}); err != nil {
		m.log.Warn("card read not recorded", "reader", reader, "err", err)
	}
	if expired {
		m.send(k.ID, Msg{Type: "card_error", Reader: reader, Person: &pub,
			Error: &hall.ErrorInfo{Code: "card_expired", Message: "您的证件已过有效期，请到咨询台人工办理"}})
		return
	}
	m.start(k.ID, &session{public: pub, idHash: hash, birth: p.Birth})
	t, _, err := m.iss.Issue(ctx, hall.CheckIn{IDHash: hash, Kiosk: k.ID}, k.ID)
	var re *hall.RuleError
	switch {
	case err == nil:
		m.send(k.ID, Msg{Type: "checked_in", Reader: reader, Person: &pub, Ticket: t})
		m.End(k.ID)
	case errors.As(err, &re) && re.Code == "no_appointment":
		exp := m.expiry(k.ID)
		m.send(k.ID, Msg{Type: "card", Reader: reader, Person: &pub, Expires: &exp})
	case errors.As(err, &re):
		m.send(k.ID, Msg{Type: "card", Reader: reader, Person: &pub, Error: &re.ErrorInfo})
	default:
		m.send(k.ID, Msg{Type: "card_error", Reader: reader, Error: &hall.ErrorInfo{Code: "unavailable", Message: "系统暂时不可用，请稍后再试"}})
	}
}

// CardRemoved tells the kiosk the card was taken off (the session stays
// until the ticket is taken or the time limit passes).
func (m *Manager) CardRemoved(reader string) {
	if k, ok := m.cfg.KioskOf(reader); ok {
		m.send(k.ID, Msg{Type: "card_removed", Reader: reader})
	}
}

// CardError tells the kiosk a card could not be read, in Chinese.
func (m *Manager) CardError(reader string, e hall.ErrorInfo) {
	if k, ok := m.cfg.KioskOf(reader); ok {
		m.send(k.ID, Msg{Type: "card_error", Reader: reader, Error: &e})
	}
}

// Scan handles a scanned code: a booking code checks its appointment in;
// anything else is offered to the kiosk page as input.
func (m *Manager) Scan(ctx context.Context, scanner, text string) {
	k, ok := m.cfg.KioskOf(scanner)
	if !ok {
		return
	}
	t, _, err := m.iss.Issue(ctx, hall.CheckIn{Code: text, Kiosk: k.ID}, k.ID)
	var re *hall.RuleError
	switch {
	case err == nil:
		m.send(k.ID, Msg{Type: "checked_in", Reader: scanner, Ticket: t})
	case errors.As(err, &re) && re.Code == "no_appointment":
		m.send(k.ID, Msg{Type: "scan", Reader: scanner, Text: text})
	case errors.As(err, &re):
		m.send(k.ID, Msg{Type: "scan", Reader: scanner, Text: text, Error: &re.ErrorInfo})
	default:
		m.send(k.ID, Msg{Type: "card_error", Reader: scanner, Error: &hall.ErrorInfo{Code: "unavailable", Message: "系统暂时不可用，请稍后再试"}})
	}
}

// IsKiosk tells whether id names a kiosk.
func (m *Manager) IsKiosk(id string) bool {
	k, ok := m.cfg.Device(id)
	return ok && k.Kind == config.KindKiosk
}

// Take issues a ticket for a service at a kiosk, for the citizen whose card
// is on record there: the green channel when a rule says so, and the masked
// ID on the ticket. The session ends with it.
func (m *Manager) Take(ctx context.Context, kiosk, service, requestID string) (*hall.Ticket, bool, error) {
	cmd := hall.IssueTicket{Service: service, Channel: "kiosk", Kiosk: kiosk, Priority: hall.PriorityNormal, RequestID: requestID}
	m.mu.Lock()
	s := m.sess[kiosk]
	if s != nil {
		cmd.MaskedID = s.public.Last4
		if svc, ok := m.cfg.Service(service); ok && svc.GreenChannel.MinAge > 0 && s.public.Age >= svc.GreenChannel.MinAge {
			cmd.Priority = hall.PriorityGreen
		}
	}
	m.mu.Unlock()
	t, created, err := m.iss.Issue(ctx, cmd, kiosk)
	if err == nil && s != nil {
		m.endSession(kiosk, s) // only this citizen's: a card placed meanwhile stays
	}
	return t, created, err
}

func (m *Manager) start(kiosk string, s *session) {
	d := m.timeout(kiosk)
	s.expires = time.Now().Add(d)
	m.mu.Lock()
	if old := m.sess[kiosk]; old != nil {
		old.timer.Stop() // a callback already running finds it is not current
	}
	m.sess[kiosk] = s
	s.timer = time.AfterFunc(d, func() { m.endSession(kiosk, s) })
	m.mu.Unlock()
}

func (m *Manager) expiry(kiosk string) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.sess[kiosk]; s != nil {
		return s.expires
	}
	return time.Time{}
}

// End wipes a kiosk's session (ticket taken, page idle, time limit).
func (m *Manager) End(kiosk string) {
	m.mu.Lock()
	s := m.sess[kiosk]
	m.mu.Unlock()
	if s != nil {
		m.endSession(kiosk, s)
	}
}

// endSession wipes s if it is still the kiosk's session: a late timer or a
// slow print must not end the next citizen's.
func (m *Manager) endSession(kiosk string, s *session) {
	m.mu.Lock()
	if m.sess[kiosk] != s {
		m.mu.Unlock()
		return
	}
	delete(m.sess, kiosk)
	s.timer.Stop()
	*s = session{timer: s.timer} // nothing of the citizen outlives the interaction
	m.mu.Unlock()
	m.send(kiosk, Msg{Type: "session_end"})
}

// Active tells whether a kiosk holds a citizen's data now (tests).
func (m *Manager) Active(kiosk string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sess[kiosk] != nil
}

func age(birth, now time.Time) int {
	if birth.IsZero() {
		return 0
	}
	a := now.Year() - birth.Year()
	if now.Month() < birth.Month() || (now.Month() == birth.Month() && now.Day() < birth.Day()) {
		a-- // birthday not yet reached this year
	}
	return a
}
