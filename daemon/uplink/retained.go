package uplink

import (
	"regexp"
	"sync"
)

// Retained messages besides the device statuses: the phone relay's ticket
// views (docs/phone-relay.md) on hall/{hall}/{node}/{sub}. Like the device
// statuses, the latest payload per topic is kept and (re)published whenever
// a connection is open, so the broker ends with the latest one; an empty
// payload clears the topic's retained message and is forgotten once handed
// to a connection (the relay also ignores a view of another day).
type retainedSet struct {
	mu    sync.Mutex
	msgs  map[string][]byte
	dirty map[string]bool
}

// retainedSub: lowercase letters, digits, '-', '_' and '.', in up to four
// levels; no wildcards.
var retainedSub = regexp.MustCompile(`^[a-z0-9_.-]+(/[a-z0-9_.-]+){0,3}$`)

// PublishRetained publishes payload retained at QoS 1 on
// hall/{hall}/{node}/{sub}; an empty payload clears it. It never blocks.
func (u *Uplink) PublishRetained(sub string, payload []byte) {
	if !retainedSub.MatchString(sub) || sub == "events" || sub == "heartbeat" {
		u.log.Warn("retained message dropped: bad topic", "sub", sub)
		return
	}
	r := &u.ret
	r.mu.Lock()
	if r.msgs == nil {
		r.msgs, r.dirty = map[string][]byte{}, map[string]bool{}
	}
	r.msgs[sub] = append([]byte(nil), payload...)
	r.dirty[sub] = true
	r.mu.Unlock()
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// RetainedCount is how many retained messages are held for publishing (tests).
func (u *Uplink) RetainedCount() int {
	u.ret.mu.Lock()
	defer u.ret.mu.Unlock()
	return len(u.ret.msgs)
}

// publishRetained hands the changed retained messages to c (all of them
// when all is set: a new connection).
func (u *Uplink) publishRetained(c *conn, all bool) {
	r := &u.ret
	r.mu.Lock()
	if all {
		for sub := range r.msgs {
			r.dirty[sub] = true
		}
	}
	type pub struct {
		sub string
		b   []byte
	}
	pubs := make([]pub, 0, len(r.dirty))
	for sub := range r.dirty {
		pubs = append(pubs, pub{sub, r.msgs[sub]})
	}
	clear(r.dirty)
	r.mu.Unlock()
	for i, p := range pubs {
		if _, err := u.publish(c, u.root+"/"+p.sub, true, p.b); err != nil {
			r.mu.Lock()
			for _, q := range pubs[i:] {
				if _, ok := r.msgs[q.sub]; ok {
					r.dirty[q.sub] = true // sent again on the next connection
				}
			}
			r.mu.Unlock()
			return
		}
		if len(p.b) == 0 {
			r.mu.Lock()
			if m, ok := r.msgs[p.sub]; ok && len(m) == 0 && !r.dirty[p.sub] {
				delete(r.msgs, p.sub)
			}
			r.mu.Unlock()
		}
	}
}
