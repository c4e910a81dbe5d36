package web

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"sync"
)

// Projections: what a reader below levelFull sees of the snapshot and the
// stream. They are whitelists, so a field added to the hall later stays
// private until someone decides a screen needs it.

// shape says which fields of a JSON object to keep: a key mapped to nil keeps
// the whole value, a key mapped to a shape keeps that part of it (of each
// element, for an array).
type shape map[string]shape

func (s shape) with(extra shape) shape {
	out := shape{}
	for k, v := range s {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// project keeps what sh allows of raw (an object, or an array of objects).
func project(raw json.RawMessage, sh shape) (json.RawMessage, error) {
	if sh == nil {
		return raw, nil
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return raw, nil
	}
	switch raw[0] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		var b bytes.Buffer
		b.WriteByte('[')
		for i, it := range items {
			p, err := project(it, sh)
			if err != nil {
				return nil, err
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(p)
		}
		b.WriteByte(']')
		return b.Bytes(), nil
	case '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, err
		}
		return projectObject(obj, sh)
	}
	return raw, nil // null or a scalar where an object was expected
}

func projectObject(obj map[string]json.RawMessage, sh shape) (json.RawMessage, error) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		if _, ok := sh[k]; ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		v, err := project(obj[k], sh[k])
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

var (
	ticketPublic = shape{"number": nil, "service": nil, "service_name": nil, "day": nil, "priority": nil,
		"status": nil, "print_status": nil, "issued_at": nil, "ahead": nil, "window": nil, "called_at": nil,
		"started_at": nil, "finished_at": nil, "recalls": nil, "slot_start": nil, "estimate": nil, "outcome": nil, "silent": nil}
	// A window or kiosk works with ticket ids (call, reprint), visits and what printed.
	ticketDesk = ticketPublic.with(shape{"id": nil, "visit": nil, "pinned_window": nil, "printed_by": nil,
		"print_error": nil, "channel": nil, "kiosk": nil, "transfers": nil, "rating": nil})

	// Staff are named on the board (挂牌上岗); their ids are not shown.
	windowPublic = shape{"id": nil, "number": nil, "name": nil, "area": nil, "status": nil,
		"staff": shape{"name": nil, "title": nil},
		"current": shape{"number": nil, "service_name": nil, "status": nil, "priority": nil, "called_at": nil,
			"started_at": nil, "recalls": nil},
		"paused": nil, "backup": nil, "covering": nil, "services": nil, "waiting": nil, "awaiting_rating": nil}
	windowDesk = windowPublic.with(shape{"staff": nil, "current": nil})

	devicePublic = shape{"id": nil, "kind": nil, "area": nil, "area_name": nil, "state": nil}
	deviceDesk   = devicePublic.with(shape{"reason": nil, "since": nil})

	// Notices show on the hall's screens; who posted one stays private.
	noticePublic = shape{"id": nil, "text": nil, "until": nil, "where": nil, "posted_at": nil}

	callPublic = shape{"number": nil, "window": nil, "window_number": nil, "window_name": nil, "at": nil,
		"voice": nil, "recall": nil}

	snapshotShapes = map[level]shape{
		levelPublic: {"hall": nil, "services": nil, "notices": noticePublic, "windows": windowPublic,
			"tickets": ticketPublic, "recent_calls": callPublic, "devices": devicePublic},
		levelDesk: {"hall": nil, "services": nil, "notices": noticePublic, "windows": windowDesk,
			"tickets": ticketDesk, "recent_calls": callPublic.with(shape{"ticket_id": nil}), "devices": deviceDesk},
	}
)

// envelope is kept on every event a projection lets through.
var envelope = shape{"id": nil, "seq": nil, "ts": nil, "type": nil, "hall": nil}

// eventShapes: the event types each level sees, and their fields. A type not
// listed is replaced by a skip frame (the seq moves on, nothing is said).
var eventShapes = func() map[level]map[string]shape {
	pub := map[string]shape{
		"ticket.issued":       {"ticket": ticketPublic},
		"ticket.printed":      {"number": nil, "reprint": nil},
		"ticket.print_failed": {"number": nil, "code": nil, "message": nil},
		"ticket.called": {"number": nil, "service": nil, "service_name": nil, "window": nil, "window_number": nil,
			"window_name": nil, "priority": nil, "recall": nil, "recalls": nil, "voice": nil, "silent": nil},
		"ticket.no_show": {"number": nil, "window": nil},
		"ticket.held":    {"number": nil, "window": nil},
		"ticket.transferred": {"number": nil, "from_service": nil, "to_service": nil, "from_window": nil, "to_window": nil,
			"from_service_name": nil, "to_service_name": nil},
		"ticket.closed": {"number": nil, "service": nil, "service_name": nil, "day": nil, "status": nil, "outcome": nil,
			"window": nil, "reason": nil},
		"day.closed": {"day": nil, "tickets": nil, "served": nil, "no_show": nil, "expired": nil, "visits_finished": nil,
			"rated": nil, "unrated": nil},
		"service.started":      {"number": nil, "service": nil, "window": nil},
		"service.finished":     {"number": nil, "service": nil, "window": nil},
		"rating.submitted":     {"number": nil, "window": nil, "unprompted": nil, "late": nil},
		"rating.timeout":       {"number": nil, "window": nil, "reason": nil},
		"window.paused":        {"window": nil, "window_number": nil, "reason": nil, "until": nil, "voice": nil},
		"window.resumed":       {"window": nil, "since": nil, "minutes": nil},
		"window.pause_overdue": {"window": nil, "since": nil, "minutes": nil},
		"staff.signed_in":      {"window": nil, "staff_name": nil},
		"staff.signed_out":     {"window": nil, "staff_name": nil},
		"notice.posted":        {"id": nil, "text": nil, "until": nil, "where": nil},
		"notice.expired":       {"id": nil},
		"service.opened":       {"service": nil, "open": nil, "reason": nil},
		"service.closed":       {"service": nil, "open": nil, "reason": nil},
		"device.state":         {"device": nil, "kind": nil, "state": nil},
	}
	pub["ticket.recalled"] = pub["ticket.called"]
	pub["ticket.silent_call"] = shape{"number": nil, "silent": nil} // 无声叫号 (hall/silent.go)
	desk := map[string]shape{}
	for t, sh := range pub {
		desk[t] = sh.with(shape{"ticket_id": nil, "visit": nil, "staff": nil})
	}
	desk["ticket.issued"] = shape{"ticket": ticketDesk}
	desk["ticket.printed"] = desk["ticket.printed"].with(shape{"printer": nil})
	desk["ticket.print_failed"] = desk["ticket.print_failed"].with(shape{"tried": nil})
	desk["rating.submitted"] = desk["rating.submitted"].with(shape{"level": nil, "reasons": nil, "service": nil, "device": nil})
	desk["device.state"] = desk["device.state"].with(shape{"reason": nil, "detail": nil})
	desk["rating.timeout"] = desk["rating.timeout"].with(shape{"service": nil})
	out := map[level]map[string]shape{levelPublic: {}, levelDesk: {}}
	for t, sh := range pub {
		out[levelPublic][t] = envelope.with(sh)
	}
	for t, sh := range desk {
		out[levelDesk][t] = envelope.with(sh)
	}
	return out
}()

// projectEvent returns what lv may see of one journal event; nil means skip
// it (send only that the seq moved on).
func projectEvent(lv level, body []byte) ([]byte, error) {
	if lv == levelFull {
		return body, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, err
	}
	var typ string
	_ = json.Unmarshal(obj["type"], &typ)
	sh, ok := eventShapes[lv][typ]
	if !ok {
		return nil, nil
	}
	return projectObject(obj, sh)
}

// projectSnapshot returns what lv may see of the snapshot body.
func projectSnapshot(lv level, body []byte) ([]byte, error) {
	if lv == levelFull {
		return body, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, err
	}
	p, err := projectObject(obj, snapshotShapes[lv])
	if err != nil {
		return nil, err
	}
	// Pages read alerts as a list: say there are none to show.
	return append(p[:len(p)-1], []byte(`,"alerts":[]}`)...), nil
}

// publicCache keeps the last projected snapshot of each level: the boards
// fetch it after events, and the projection is not free at 20,000 tickets.
type publicCache struct {
	mu      sync.Mutex
	entries [levelFull]struct {
		seq  uint64
		body []byte
	}
}

// snapshotFor is the snapshot as lv may see it.
func (s *Server) snapshotFor(ctx context.Context, lv level) (uint64, []byte, error) {
	seq, body, err := s.d.Engine.Snapshot(ctx)
	if err != nil || lv == levelFull {
		return seq, body, err
	}
	c := &s.public
	c.mu.Lock()
	e := c.entries[lv]
	c.mu.Unlock()
	if e.body != nil && e.seq == seq {
		return seq, e.body, nil
	}
	p, err := projectSnapshot(lv, body)
	if err != nil {
		return 0, nil, err
	}
	c.mu.Lock()
	c.entries[lv].seq, c.entries[lv].body = seq, p
	c.mu.Unlock()
	return seq, p, nil
}
