package hall

import (
	"sort"
	"time"

	"halld/daemon/config"
)

// The queue's order: which waiting ticket a window calls next.

// Candidate is a ticket a window may call, in calling order.
type Candidate struct {
	Ticket   *Ticket
	Class    int    // 0 appointment due, 1 green channel, 2 everyone else
	Covering string // the window whose queue it comes from, when not this one's
	Score    float64
}

// Queue lists the tickets window id may call now, in the order CallNext takes
// them: appointments due in their slot, then the green channel, then everyone
// else; within a class the longest wait weighted by the window's weight for
// the service, ties first come first served. A window also calls the queue of
// every window whose AB backup it is while that window is paused or closed.
func Queue(cfg *config.Config, st *State, id string, now time.Time) []Candidate {
	cfg = Effective(cfg, st)
	wc, ok := cfg.Window(id)
	if !ok {
		return nil
	}
	day := st.Today(cfg, now)
	type source struct {
		window  *config.Window
		covered string
	}
	sources := []source{{wc, ""}}
	for i := range cfg.Windows {
		other := &cfg.Windows[i]
		if other.Backup == id && st.window(other.ID).Status != WindowOpen {
			sources = append(sources, source{other, other.ID})
		}
	}
	var out []Candidate
	seen := map[string]bool{}
	for _, idx := range st.Order {
		t := st.Tickets[idx]
		if t.Day != day || t.Status != StatusWaiting || seen[t.ID] {
			continue
		}
		for _, src := range sources {
			weight := 0
			if t.PinnedWindow != "" {
				if t.PinnedWindow == src.window.ID {
					weight = 1
				}
			} else {
				for _, ws := range src.window.Services {
					if ws.Service == t.Service {
						weight = max(ws.Weight, 1)
					}
				}
			}
			if weight == 0 {
				continue
			}
			waited := now.Sub(time.Time(t.IssuedAt)).Seconds()
			out = append(out, Candidate{Ticket: t, Class: class(t, now), Covering: src.covered,
				Score: max(waited, 0) * float64(weight)})
			seen[t.ID] = true
			break
		}
	}
	pos := map[string]int{}
	for i, id := range st.Order {
		pos[id] = i
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Class != b.Class {
			return a.Class < b.Class
		}
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		return pos[a.Ticket.ID] < pos[b.Ticket.ID]
	})
	return out
}

// class ranks a ticket: an appointment counts as such only in its slot (or
// when it has none); before it, it waits with everyone else.
func class(t *Ticket, now time.Time) int {
	switch t.Priority {
	case PriorityAppointment:
		if t.SlotStart == nil || !now.Before(time.Time(*t.SlotStart)) {
			return 0
		}
	case PriorityGreen:
		return 1
	}
	return 2
}
