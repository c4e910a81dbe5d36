package stats

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"math"
	"time"
)

// checkpointVersion names the shape of the encoded Aggregator. Bump it when
// the fold would count the same events differently: an older checkpoint is
// then dropped and the numbers rebuilt from what the journal still holds.
//
// 2: estimates (kEstimate, the tickets' estimates), ticket outcomes
// (kClosed), unprompted ratings, 未评价 by reason and replaced by late
// ratings (unrated).
const checkpointVersion = 2

// factSize is a fact packed little-endian: day, val, svc, win, staff, kind,
// hour, level, flags.
const factSize = 4 + 4 + 2 + 2 + 2 + 4

type ckTicket struct {
	WaitFrom             time.Time
	Svc                  uint16
	Est                  bool
	EstMin, EstLo, EstHi float32
}

type ckVisit struct {
	Svc, Win, Staff uint16
	Called, Started time.Time
}

type ckWindow struct {
	Staff      string
	Pause      int
	PauseStart time.Time
}

type ckSession struct {
	Win   uint16
	Start time.Time
}

type ckFollowUp struct {
	Fact  int
	Visit uint32
}

type ckAggregator struct {
	Version    int
	Facts      []byte
	Names      []string
	Label      map[uint16]string
	Seq        uint64
	Last       time.Time
	Day        string
	Tickets    map[string]ckTicket
	Visits     map[uint32]ckVisit
	Windows    map[string]ckWindow
	Sessions   map[uint16]ckSession
	FollowUps  map[string]ckFollowUp
	BadRatings map[uint32]int
	Unrated    map[uint32]int
}

// MarshalBinary encodes everything the fold has built, so statistics outlive
// the journal's retention: a pruned journal keeps last year's numbers here.
func (a *Aggregator) MarshalBinary() ([]byte, error) {
	c := ckAggregator{Version: checkpointVersion, Names: a.names, Label: a.label, Seq: a.seq, Last: a.last, Day: a.day,
		Tickets: make(map[string]ckTicket, len(a.tickets)), Visits: make(map[uint32]ckVisit, len(a.visits)),
		Windows: make(map[string]ckWindow, len(a.windows)), Sessions: make(map[uint16]ckSession, len(a.sessions)),
		FollowUps: make(map[string]ckFollowUp, len(a.followUps)), BadRatings: a.badRatings, Unrated: a.unrated}
	c.Facts = make([]byte, len(a.facts)*factSize)
	for i, f := range a.facts {
		b := c.Facts[i*factSize:]
		binary.LittleEndian.PutUint32(b[0:], uint32(f.day))
		binary.LittleEndian.PutUint32(b[4:], math.Float32bits(f.val))
		binary.LittleEndian.PutUint16(b[8:], f.svc)
		binary.LittleEndian.PutUint16(b[10:], f.win)
		binary.LittleEndian.PutUint16(b[12:], f.staff)
		b[14], b[15], b[16], b[17] = byte(f.kind), f.hour, f.level, f.flags
	}
	for k, v := range a.tickets {
		c.Tickets[k] = ckTicket{v.waitFrom, v.svc, v.est, v.estMin, v.estLo, v.estHi}
	}
	for k, v := range a.visits {
		c.Visits[k] = ckVisit{v.svc, v.win, v.staff, v.called, v.started}
	}
	for k, v := range a.windows {
		c.Windows[k] = ckWindow{v.staff, v.pause, v.pauseStart}
	}
	for k, v := range a.sessions {
		c.Sessions[k] = ckSession{v.win, v.start}
	}
	for k, v := range a.followUps {
		c.FollowUps[k] = ckFollowUp{v.fact, v.visit}
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&c); err != nil {
		return nil, fmt.Errorf("stats: encode checkpoint: %w", err)
	}
	return buf.Bytes(), nil
}

// UnmarshalBinary replaces a's folded state with a checkpoint's. a keeps its
// configuration (names from the config still win over recorded ones).
func (a *Aggregator) UnmarshalBinary(b []byte) error {
	var c ckAggregator
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&c); err != nil {
		return fmt.Errorf("stats: decode checkpoint: %w", err)
	}
	if c.Version != checkpointVersion {
		return fmt.Errorf("stats: checkpoint version %d, want %d", c.Version, checkpointVersion)
	}
	if len(c.Facts)%factSize != 0 || len(c.Names) == 0 || c.Names[0] != "" {
		return fmt.Errorf("stats: checkpoint is malformed")
	}
	fresh := New(a.cfg)
	*a = *fresh
	in := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return t.In(a.loc)
	}
	a.facts = make([]fact, len(c.Facts)/factSize)
	for i := range a.facts {
		p := c.Facts[i*factSize:]
		a.facts[i] = fact{day: int32(binary.LittleEndian.Uint32(p[0:])), val: math.Float32frombits(binary.LittleEndian.Uint32(p[4:])),
			svc: binary.LittleEndian.Uint16(p[8:]), win: binary.LittleEndian.Uint16(p[10:]), staff: binary.LittleEndian.Uint16(p[12:]),
			kind: kind(p[14]), hour: p[15], level: p[16], flags: p[17]}
	}
	a.names = c.Names
	a.ids = make(map[string]uint16, len(c.Names))
	for i, n := range c.Names {
		a.ids[n] = uint16(i)
	}
	if c.Label != nil {
		a.label = c.Label
	}
	a.seq, a.last, a.day = c.Seq, in(c.Last), c.Day
	for k, v := range c.Tickets {
		a.tickets[k] = &ticketState{waitFrom: in(v.WaitFrom), svc: v.Svc, est: v.Est, estMin: v.EstMin, estLo: v.EstLo, estHi: v.EstHi}
	}
	for k, v := range c.Visits {
		a.visits[k] = &visitState{svc: v.Svc, win: v.Win, staff: v.Staff, called: in(v.Called), started: in(v.Started)}
	}
	for k, v := range c.Windows {
		a.windows[k] = &windowState{staff: v.Staff, pause: v.Pause, pauseStart: in(v.PauseStart)}
	}
	for k, v := range c.Sessions {
		a.sessions[k] = &session{win: v.Win, start: in(v.Start)}
	}
	for k, v := range c.FollowUps {
		a.followUps[k] = fuRef{fact: v.Fact, visit: v.Visit}
	}
	if c.BadRatings != nil {
		a.badRatings = c.BadRatings
	}
	if c.Unrated != nil {
		a.unrated = c.Unrated
	}
	return nil
}
