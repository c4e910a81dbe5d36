package stats

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"halld/daemon/config"
	"halld/daemon/hall"
	"halld/daemon/journal"
)

// gen writes journal records directly, without the rules: the shapes the
// rules emit, in time order, for cases too big or too specific to script.
type gen struct {
	cfg     *config.Config
	recs    []journal.Record
	pending []pendingEvent
	visit   uint32
	tickets map[string]int // day+service → last number
}

type pendingEvent struct {
	at   time.Time
	n    int // insertion order, to keep equal times stable
	typ  string
	data any
}

func newGen(cfg *config.Config) *gen { return &gen{cfg: cfg, tickets: map[string]int{}} }

func (g *gen) emit(at time.Time, typ string, data any) {
	g.pending = append(g.pending, pendingEvent{at: at, n: len(g.pending), typ: typ, data: data})
}

// flush encodes what is pending in time order.
func (g *gen) flush() {
	sort.Slice(g.pending, func(i, j int) bool {
		a, b := g.pending[i], g.pending[j]
		if !a.at.Equal(b.at) {
			return a.at.Before(b.at)
		}
		return a.n < b.n
	})
	for _, p := range g.pending {
		seq := uint64(len(g.recs) + 1)
		env := hall.Envelope{ID: "g-" + strconv.FormatUint(seq, 10), Seq: seq, TS: hall.Stamp(p.at), Type: p.typ, Hall: g.cfg.Hall.ID}
		body, err := hall.Encode(env, p.data)
		if err != nil {
			panic(err)
		}
		g.recs = append(g.recs, journal.Record{Seq: seq, ID: env.ID, Type: p.typ, TS: p.at.UTC().Truncate(time.Millisecond), Body: body})
	}
	g.pending = g.pending[:0]
}

func (g *gen) signIn(at time.Time, win, staff string) {
	g.emit(at, hall.TypeStaffSignedIn, &hall.StaffSignedIn{Window: win, Staff: staff})
}

func (g *gen) signOut(at time.Time, win, staff string) {
	g.emit(at, hall.TypeStaffSignedOut, &hall.StaffSignedOut{Window: win, Staff: staff})
}

// pause emits a pause of d at win, overdue when d reaches 30 minutes.
func (g *gen) pause(at time.Time, win, staff string, d time.Duration) {
	g.emit(at, hall.TypeWindowPaused, &hall.WindowPause{Window: win, Reason: "临时外出", Staff: staff})
	if d >= 30*time.Minute {
		since := hall.Stamp(at)
		g.emit(at.Add(30*time.Minute), hall.TypeWindowOverdue, &hall.WindowOverdue{Window: win, Since: &since, Minutes: 30})
	}
	g.emit(at.Add(d), hall.TypeWindowResumed, &hall.WindowResumed{Window: win})
}

// ticket is one citizen's ticket through a window: issued at, called after
// wait, started 20 s later, finished after service, then rated 15 s later
// (level "": the rating times out after two minutes; noShow: called, never came).
type ticket struct {
	at                 time.Time
	svc, win, staff    string
	wait, service      time.Duration
	level              string
	noShow, openFollow bool
}

// serve emits the ticket's events and returns when the window is free again.
func (g *gen) serve(t ticket) time.Time {
	day := g.cfg.Day(t.at)
	svc, _ := g.cfg.Service(t.svc)
	g.tickets[day+t.svc]++
	number := fmt.Sprintf("%s%03d", svc.Prefix, g.tickets[day+t.svc])
	id := "T" + day + "-" + number
	g.emit(t.at, hall.TypeTicketIssued, &hall.TicketIssued{Ticket: hall.Ticket{ID: id, Number: number, Service: t.svc,
		ServiceName: svc.Name, Day: day, Priority: hall.PriorityNormal, Channel: "kiosk", IssuedAt: hall.Stamp(t.at),
		Status: hall.StatusWaiting, PrintStatus: hall.PrintPending}})
	g.visit++
	v := g.visit
	called := t.at.Add(t.wait)
	g.emit(called, hall.TypeTicketCalled, &hall.TicketCalled{TicketID: id, Number: number, Service: t.svc, Window: t.win,
		Visit: v, Priority: hall.PriorityNormal, Staff: t.staff})
	if t.noShow {
		g.emit(called.Add(time.Minute), hall.TypeTicketNoShow, &hall.TicketNoShow{TicketID: id, Number: number, Window: t.win, Visit: v})
		return called.Add(time.Minute)
	}
	started := called.Add(20 * time.Second)
	finished := started.Add(t.service)
	se := hall.ServiceEvent{TicketID: id, Number: number, Service: t.svc, Window: t.win, Staff: t.staff, Visit: v}
	g.emit(started, hall.TypeServiceStarted, (*hall.ServiceStarted)(&se))
	g.emit(finished, hall.TypeServiceFinished, (*hall.ServiceFinished)(&se))
	if t.level == "" {
		g.emit(finished.Add(2*time.Minute), hall.TypeRatingTimeout, &hall.RatingTimeout{TicketID: id, Number: number, Visit: v,
			Window: t.win, Staff: t.staff})
		return finished
	}
	ratedAt := finished.Add(15 * time.Second)
	g.emit(ratedAt, hall.TypeRatingSubmitted, &hall.RatingSubmitted{TicketID: id, Number: number, Visit: v, Window: t.win,
		Staff: t.staff, Service: t.svc, Level: t.level, Channel: "pad", Bad: hall.IsBad(t.level)})
	if hall.IsBad(t.level) && t.openFollow {
		g.emit(ratedAt, hall.TypeFollowUpOpened, &hall.FollowUp{ID: "fu-" + strconv.FormatUint(uint64(v), 10), Visit: v,
			TicketID: id, Number: number, Window: t.win, Staff: t.staff, Service: t.svc, Level: t.level,
			Deadline: hall.Stamp(g.cfg.AddWorkdays(ratedAt, 5)), Stage: hall.StageOpen})
	}
	return finished
}
