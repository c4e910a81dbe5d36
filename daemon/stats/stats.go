// Package stats is the hall's 效能监督 (efficiency supervision, 管理办法 附件1
// 第七条, 第十九条): it folds the journal into handling times, pauses, ratings,
// follow-ups and attendance, answers report queries by service, window,
// staff, day and hour, and ranks the quarterly 政务服务之星 (附件1 第九、十条).
//
// It is pure: an Aggregator is a fold over journal records in seq order, so
// replaying the same journal (a restart) gives the same numbers. Only Build
// does I/O (it scans a journal).
//
// # What is counted, and when
//
// Every number is attributed to the hall day and hour (cfg.Location) of the
// event that makes it, and to the service, window and staff that event names:
//
//   - issued: ticket.issued, at its issue time, to its service (no window, no staff yet).
//   - called: every ticket.called (one per visit); recalls: ticket.recalled (not a new visit).
//   - waiting time: issued → first call; after a transfer, transfer → next call.
//     A held or no-show ticket called again adds no waiting sample (it was
//     not waiting in line). The sample belongs to the call: its time, the
//     service the ticket is called for, the calling window and staff.
//   - served: service.finished, at its time. Service time is started →
//     finished; when the start was implicit (a pad has no start key, the
//     finish started it) it is called → finished, the best we know.
//   - transferred_out: ticket.transferred, to the service and window it left.
//     Each visit is its own service: a visit transferred after its service
//     started adds its started → transferred time as a service-time sample
//     of the window it left (前台综合受理 then 后台/出件) but is not "served".
//   - no_shows, held: per event (a ticket can be a no-show twice).
//   - pauses: window.paused to window.resumed (or the window's staff signing
//     out or another signing in, which ends a pause in the rules), counted at
//     the pause's start; overdue: the pause got a window.pause_overdue. A
//     pause still open at the end of the journal lasts until the last record.
//   - ratings: rating.submitted by level at its time; satisfaction rate =
//     (非常满意+满意+基本满意) / rated; 差评 = 不满意+非常不满意; a rating whose
//     follow-up appeal was upheld (申诉成立) is excluded from all of these and
//     counted as excluded only. rating.timeout counts as a timeout.
//   - 好差评 outcomes, one per finished visit (see Definitions for the rates):
//     a rating is prompted, or unprompted (主动评价, rating.submitted with
//     unprompted); a rating.timeout is 未评价, counted by its reason at its
//     time (day_end ones on the day that ended, at 23:00); a late rating of
//     the same day replaces the 未评价, which then no longer counts.
//   - ticket outcomes: served (service.finished), and at the day's end
//     (ticket.closed, counted on the day that ended, at 23:00, to the
//     ticket's service and the window it was at) no_show or expired.
//   - estimates: a ticket's estimate (ticket.issued) against its wait to
//     its first call, when no transfer came between, at the call (its
//     service, window and staff); a ticket issued with no window to serve it
//     counts as unservable, at its issue.
//   - follow-ups (差评整改): opened at their opening time; open / closed (反馈 or
//     upheld appeal) / overdue (followup.overdue seen: any step late) / excluded, as of the
//     last record.
//   - attendance: signed-in time from staff.signed_in to staff.signed_out,
//     split at hour and day boundaries (a shift across midnight counts on both
//     days); sign-ins, staff-days with a sign-in, first sign-in and last
//     sign-out. A session open at the end of the journal lasts until the last
//     record. A forgotten sign-out keeps counting minutes, but a day counts as
//     attended only with a sign-in on it.
//
// Pauses and attendance belong to no service: a service filter leaves them
// out, and grouped by service they form the row with the empty key. Likewise
// issued tickets have no window or staff.
package stats

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"halld/daemon/config"
	"halld/daemon/hall"
	"halld/daemon/journal"
)

type kind uint8

const (
	kIssued   kind = iota + 1
	kCall          // val: waiting seconds when fDur
	kRecall        //
	kServed        // val: service seconds when fDur
	kNoShow        //
	kHeld          //
	kTransfer      // transferred out; val: service seconds when fDur (started before the transfer)
	kRating        // level: index in hall.RatingLevels; fExcluded when an appeal was upheld
	kTimeout       // rating.timeout
	kPause         // val: seconds; fOverdue; fOpen while not ended
	kFollowUp      // fClosed, fOverdue, fExcluded
	kPresence      // val: signed-in seconds within (day, hour)
	kSignIn        // val: seconds after the hall's midnight
	kSignOut       // val: seconds after the hall's midnight
	kClosed        // ticket.closed; level: 0 no-show, 1 expired
	kEstimate      // val: |actual − estimated| wait, minutes; fWithin when in the band
)

const (
	fDur uint8 = 1 << iota
	fExcluded
	fOverdue
	fOpen
	fClosed
	fWithin     // kEstimate: the wait fell within the estimate's band
	fUnprompted // kRating: 主动评价
	fUnservable // kIssued: no staffed window could serve it at issue
)

// fact is one counted thing, 20 bytes: a busy hall's year (~2M facts) fits
// in ~40 MB and a report is a scan.
type fact struct {
	day   int32 // hall-zone civil day, days since 1970-01-01
	val   float32
	svc   uint16 // interned ids; 0 = none
	win   uint16
	staff uint16
	kind  kind
	hour  uint8 // hall-zone hour of day
	level uint8
	flags uint8
}

type ticketState struct {
	waitFrom time.Time // zero: not waiting for a (first, or post-transfer) call
	svc      uint16
	// The estimate made at issue, while it still stands (no call, no
	// transfer yet): its point and band in minutes.
	est                  bool
	estMin, estLo, estHi float32
}

type visitState struct {
	svc, win, staff uint16
	called, started time.Time
}

type windowState struct {
	staff      string
	pause      int // fact index of the open pause; -1 none
	pauseStart time.Time
}

type session struct {
	win   uint16
	start time.Time
}

type fuRef struct {
	fact  int
	visit uint32
}

// Aggregator folds journal records into facts. Add must not run at the same
// time as anything else; Report and Stars only read it and may run together.
type Aggregator struct {
	cfg *config.Config
	loc *time.Location

	facts []fact
	ids   map[string]uint16
	names []string          // id strings by interned index; [0] = ""
	label map[uint16]string // display names seen in events (cfg names win, but for staff)

	seq  uint64
	last time.Time // the latest record time folded, hall zone

	// Mirrors of the rules' state needed to pair events.
	day        string // the hall day tickets belong to (as hall.State.Day)
	tickets    map[string]*ticketState
	visits     map[uint32]*visitState
	windows    map[string]*windowState
	sessions   map[uint16]*session // by staff
	followUps  map[string]fuRef
	badRatings map[uint32]int // visit → rating fact, for upheld appeals
	unrated    map[uint32]int // visit → its 未评价 fact (the day's), for a late rating
}

// New returns an empty Aggregator for the hall cfg describes.
func New(cfg *config.Config) *Aggregator {
	loc := cfg.Location
	if loc == nil {
		loc, _ = time.LoadLocation(config.DefaultTimezone)
		if loc == nil {
			loc = time.FixedZone("CST", 8*3600)
		}
	}
	return &Aggregator{
		cfg: cfg, loc: loc,
		ids: map[string]uint16{"": 0}, names: []string{""}, label: map[uint16]string{},
		tickets: map[string]*ticketState{}, visits: map[uint32]*visitState{},
		windows: map[string]*windowState{}, sessions: map[uint16]*session{},
		followUps: map[string]fuRef{}, badRatings: map[uint32]int{}, unrated: map[uint32]int{},
	}
}

// Build scans the whole journal into a new Aggregator. To keep it current,
// fold what follows: j.Scan(ctx, a.Seq(), a.Add).
func Build(ctx context.Context, j *journal.Journal, cfg *config.Config) (*Aggregator, error) {
	a := New(cfg)
	if err := j.Scan(ctx, 0, a.Add); err != nil {
		return nil, err
	}
	return a, nil
}

// Seq is the last seq folded.
func (a *Aggregator) Seq() uint64 { return a.seq }

// ErrOrder is returned by Add for a record that does not come after the last one.
var ErrOrder = errors.New("stats: record out of seq order")

// Add folds one record. Records must come in increasing seq order (gaps are
// fine: a pruned journal starts late); types that are not counted (prints,
// devices, alerts, appointments, unknown ones) only advance Seq.
func (a *Aggregator) Add(rec journal.Record) error {
	if a.seq != 0 && rec.Seq <= a.seq {
		return fmt.Errorf("%w: seq %d after %d", ErrOrder, rec.Seq, a.seq)
	}
	var data any
	if folded[rec.Type] { // decoding is most of the cost: only what is counted
		var err error
		if data, err = hall.Decode(rec.Type, rec.Body); err != nil {
			return fmt.Errorf("stats: seq %d: %w", rec.Seq, err)
		}
	}
	a.seq = rec.Seq
	ts := rec.TS.In(a.loc)
	if ts.After(a.last) {
		a.last = ts
	}
	if data == nil {
		return nil
	}
	return a.fold(rec.Type, ts, data)
}

// folded are the event types fold reads; others are not even decoded.
var folded = map[string]bool{
	hall.TypeTicketIssued: true, hall.TypeTicketCalled: true, hall.TypeTicketRecalled: true,
	hall.TypeTicketNoShow: true, hall.TypeTicketHeld: true, hall.TypeTicketTransferred: true,
	hall.TypeServiceStarted: true, hall.TypeServiceFinished: true,
	hall.TypeRatingSubmitted: true, hall.TypeRatingTimeout: true,
	hall.TypeWindowPaused: true, hall.TypeWindowResumed: true, hall.TypeWindowOverdue: true,
	hall.TypeStaffSignedIn: true, hall.TypeStaffSignedOut: true,
	hall.TypeFollowUpOpened: true, hall.TypeFollowUpUpdated: true, hall.TypeFollowUpOverdue: true,
	hall.TypeTicketClosed: true,
	hall.TypeStaffAdded:   true, hall.TypeStaffUpdated: true, // names of staff added or renamed at run time
}

func (a *Aggregator) fold(typ string, ts time.Time, data any) error {
	switch typ {
	case hall.TypeTicketIssued:
		e := data.(*hall.TicketIssued)
		t := e.Ticket
		if t.Day != a.day { // a new hall day: yesterday's queue is gone (as hall.Apply)
			a.day = t.Day
			a.tickets = map[string]*ticketState{}
			a.visits = map[uint32]*visitState{}
			a.unrated = map[uint32]int{}
		}
		svc, err := a.intern(t.Service, t.ServiceName)
		if err != nil {
			return err
		}
		tk := &ticketState{waitFrom: ts, svc: svc}
		f := fact{kind: kIssued, svc: svc}
		if est := t.Estimate; est != nil {
			if est.Servable && est.Minutes != nil && est.Low != nil && est.High != nil {
				tk.est, tk.estMin, tk.estLo, tk.estHi = true, float32(*est.Minutes), float32(*est.Low), float32(*est.High)
			} else if !est.Servable {
				f.flags |= fUnservable
			}
		}
		a.tickets[t.ID] = tk
		a.add(ts, f)

	case hall.TypeTicketCalled, hall.TypeTicketRecalled:
		e, ok := data.(*hall.TicketCalled)
		if !ok {
			e = (*hall.TicketCalled)(data.(*hall.TicketRecalled))
		}
		svc, err1 := a.intern(e.Service, e.ServiceName)
		win, err2 := a.intern(e.Window, e.WindowName)
		staff, err3 := a.intern(e.Staff, "")
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		f := fact{kind: kCall, svc: svc, win: win, staff: staff}
		if e.Recall || typ == hall.TypeTicketRecalled {
			f.kind = kRecall
			a.add(ts, f)
			return nil
		}
		a.visits[e.Visit] = &visitState{svc: svc, win: win, staff: staff, called: ts}
		if tk := a.tickets[e.TicketID]; tk != nil {
			tk.svc = svc
			if tk.est && !tk.waitFrom.IsZero() {
				waited := float32(ts.Sub(tk.waitFrom).Minutes())
				ef := fact{kind: kEstimate, svc: svc, win: win, staff: staff, val: abs32(waited - tk.estMin)}
				if waited >= tk.estLo && waited <= tk.estHi {
					ef.flags |= fWithin
				}
				a.add(ts, ef)
			}
			tk.est = false
			if !tk.waitFrom.IsZero() {
				f.val, f.flags = seconds(ts.Sub(tk.waitFrom)), fDur
				tk.waitFrom = time.Time{}
			}
		}
		a.add(ts, f)

	case hall.TypeTicketNoShow, hall.TypeTicketHeld:
		e, f := (*hall.TicketAtWindow)(nil), fact{kind: kNoShow}
		switch d := data.(type) {
		case *hall.TicketNoShow:
			e = (*hall.TicketAtWindow)(d)
		case *hall.TicketHeld:
			e, f.kind = (*hall.TicketAtWindow)(d), kHeld
		}
		v := a.visits[e.Visit]
		if v != nil {
			f.svc, f.win, f.staff = v.svc, v.win, v.staff
		} else {
			win, err := a.intern(e.Window, "")
			if err != nil {
				return err
			}
			f.win = win
			if tk := a.tickets[e.TicketID]; tk != nil {
				f.svc = tk.svc
			}
		}
		delete(a.visits, e.Visit)
		a.add(ts, f)

	case hall.TypeTicketTransferred:
		e := data.(*hall.TicketTransferred)
		from, err1 := a.intern(e.FromService, "")
		win, err2 := a.intern(e.FromWindow, "")
		to, err3 := a.intern(e.ToService, "")
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		f := fact{kind: kTransfer, svc: from, win: win}
		if v := a.visits[e.Visit]; v != nil {
			f.staff = v.staff
			if !v.started.IsZero() {
				f.val, f.flags = seconds(ts.Sub(v.started)), fDur
			}
		}
		delete(a.visits, e.Visit)
		if tk := a.tickets[e.TicketID]; tk != nil {
			tk.waitFrom, tk.svc, tk.est = ts, to, false // waits again, in the new line; the estimate no longer holds
		}
		a.add(ts, f)

	case hall.TypeServiceStarted:
		e := (*hall.ServiceEvent)(data.(*hall.ServiceStarted))
		v, err := a.visit(e, ts)
		if err != nil {
			return err
		}
		v.started = ts
		if e.Implicit {
			v.started = v.called // started by the finish: the service ran from the call
		}

	case hall.TypeServiceFinished:
		e := (*hall.ServiceEvent)(data.(*hall.ServiceFinished))
		v, err := a.visit(e, ts)
		if err != nil {
			return err
		}
		f := fact{kind: kServed, svc: v.svc, win: v.win, staff: v.staff}
		if !v.started.IsZero() {
			f.val, f.flags = seconds(ts.Sub(v.started)), fDur
		}
		a.add(ts, f) // the visit stays until its rating or timeout

	case hall.TypeRatingSubmitted:
		e := data.(*hall.RatingSubmitted)
		svc, err1 := a.intern(e.Service, "")
		win, err2 := a.intern(e.Window, "")
		staff, err3 := a.intern(e.Staff, "")
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		lvl := levelIndex(e.Level)
		if lvl < 0 {
			return nil // not a level the rules accept: nothing to count
		}
		rf := fact{kind: kRating, svc: svc, win: win, staff: staff, level: uint8(lvl)}
		if e.Unprompted {
			rf.flags |= fUnprompted
		}
		idx := a.add(ts, rf)
		if e.Bad || hall.IsBad(e.Level) {
			a.badRatings[e.Visit] = idx
		}
		if u, ok := a.unrated[e.Visit]; ok { // a late rating: the 未评价 no longer counts
			a.facts[u].flags |= fExcluded
			delete(a.unrated, e.Visit)
		}
		delete(a.visits, e.Visit)

	case hall.TypeRatingTimeout:
		e := data.(*hall.RatingTimeout)
		win, err1 := a.intern(e.Window, "")
		staff, err2 := a.intern(e.Staff, "")
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		f := fact{kind: kTimeout, win: win, staff: staff, level: uint8(reasonIndex(e.Reason))}
		if v := a.visits[e.Visit]; v != nil {
			f.svc = v.svc
		} else if e.Service != "" {
			svc, err := a.intern(e.Service, "")
			if err != nil {
				return err
			}
			f.svc = svc
		}
		delete(a.visits, e.Visit)
		if e.Reason == hall.RatingEndDayEnd {
			a.unrated[e.Visit] = a.addAtDayEnd(ts, f)
		} else {
			a.unrated[e.Visit] = a.add(ts, f)
		}

	case hall.TypeTicketClosed:
		e := data.(*hall.TicketClosed)
		svc, err1 := a.intern(e.Service, e.ServiceName)
		win, err2 := a.intern(e.Window, "")
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		f := fact{kind: kClosed, svc: svc, win: win}
		if e.Outcome != hall.OutcomeNoShow {
			f.level = 1
		}
		delete(a.tickets, e.TicketID)
		a.addAtDayEnd(ts, f)

	case hall.TypeWindowPaused:
		e := data.(*hall.WindowPause)
		win, err1 := a.intern(e.Window, "")
		staff, err2 := a.intern(e.Staff, "")
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		w := a.window(e.Window)
		a.endPause(w, ts)
		w.pause = a.add(ts, fact{kind: kPause, win: win, staff: staff, flags: fOpen})
		w.pauseStart = ts

	case hall.TypeWindowResumed:
		a.endPause(a.window(data.(*hall.WindowResumed).Window), ts)

	case hall.TypeWindowOverdue:
		if w := a.window(data.(*hall.WindowOverdue).Window); w.pause >= 0 {
			a.facts[w.pause].flags |= fOverdue
		}

	case hall.TypeStaffAdded, hall.TypeStaffUpdated:
		// The roster as changed at run time names its people: a member
		// devices.yaml does not list is named, not shown by id.
		var e *hall.StaffChange
		switch d := data.(type) {
		case *hall.StaffAdded:
			e = (*hall.StaffChange)(d)
		case *hall.StaffUpdated:
			e = (*hall.StaffChange)(d)
		}
		if _, err := a.intern(e.ID, e.Name); err != nil {
			return err
		}

	case hall.TypeStaffSignedIn:
		e := data.(*hall.StaffSignedIn)
		win, err1 := a.intern(e.Window, "")
		staff, err2 := a.intern(e.Staff, e.StaffName)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		w := a.window(e.Window)
		a.endPause(w, ts) // the window opens
		w.staff = e.Staff
		if s := a.sessions[staff]; s != nil {
			a.presence(staff, s.win, s.start, ts)
		}
		a.sessions[staff] = &session{win: win, start: ts}
		a.add(ts, fact{kind: kSignIn, win: win, staff: staff, val: secondOfDay(ts)})

	case hall.TypeStaffSignedOut:
		e := data.(*hall.StaffSignedOut)
		win, err1 := a.intern(e.Window, "")
		staff, err2 := a.intern(e.Staff, e.StaffName)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if w := a.window(e.Window); w.staff == e.Staff {
			a.endPause(w, ts) // the window closes
			w.staff = ""
		}
		if s := a.sessions[staff]; s != nil {
			a.presence(staff, s.win, s.start, ts)
			delete(a.sessions, staff)
		}
		a.add(ts, fact{kind: kSignOut, win: win, staff: staff, val: secondOfDay(ts)})

	case hall.TypeFollowUpOpened:
		e := data.(*hall.FollowUp)
		svc, err1 := a.intern(e.Service, "")
		win, err2 := a.intern(e.Window, "")
		staff, err3 := a.intern(e.Staff, "")
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		idx := a.add(ts, fact{kind: kFollowUp, svc: svc, win: win, staff: staff, level: uint8(max(levelIndex(e.Level), 0))})
		a.followUps[e.ID] = fuRef{fact: idx, visit: e.Visit}

	case hall.TypeFollowUpUpdated:
		e := (*hall.FollowUpUpdate)(data.(*hall.FollowUpUpdated))
		ref, ok := a.followUps[e.ID]
		if !ok {
			return nil
		}
		switch {
		// Closed: by the citizen's rating of the rectification (or 未接通);
		// recorded before steps had deadlines (no due_by), by the 反馈.
		case e.Closed && e.Stage != hall.StageUpheld, e.Stage == hall.StageFeedback && e.DueBy == nil && !e.Closed:
			a.facts[ref.fact].flags |= fClosed
		case e.Stage == hall.StageUpheld: // 申诉成立: the rating no longer counts
			a.facts[ref.fact].flags |= fClosed | fExcluded
			if r, ok := a.badRatings[ref.visit]; ok {
				a.facts[r].flags |= fExcluded
			}
		}

	case hall.TypeFollowUpOverdue:
		if ref, ok := a.followUps[data.(*hall.FollowUpOverdue).ID]; ok {
			a.facts[ref.fact].flags |= fOverdue
		}
	}
	return nil
}

// visit finds the visit a service event belongs to, or starts one from the
// event (a journal pruned mid-visit).
func (a *Aggregator) visit(e *hall.ServiceEvent, ts time.Time) (*visitState, error) {
	if v := a.visits[e.Visit]; v != nil {
		return v, nil
	}
	svc, err1 := a.intern(e.Service, "")
	win, err2 := a.intern(e.Window, "")
	staff, err3 := a.intern(e.Staff, "")
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	v := &visitState{svc: svc, win: win, staff: staff, called: ts}
	a.visits[e.Visit] = v
	return v, nil
}

func (a *Aggregator) window(id string) *windowState {
	w := a.windows[id]
	if w == nil {
		w = &windowState{pause: -1}
		a.windows[id] = w
	}
	return w
}

func (a *Aggregator) endPause(w *windowState, ts time.Time) {
	if w.pause < 0 {
		return
	}
	f := &a.facts[w.pause]
	f.val = seconds(ts.Sub(w.pauseStart))
	f.flags &^= fOpen
	w.pause = -1
}

// presence adds signed-in time from start to end, one fact per hall hour.
func (a *Aggregator) presence(staff, win uint16, start, end time.Time) {
	a.facts = appendPresence(a.facts, a.loc, staff, win, start, end)
}

func appendPresence(out []fact, loc *time.Location, staff, win uint16, start, end time.Time) []fact {
	for cur := start.In(loc); cur.Before(end); {
		next := time.Date(cur.Year(), cur.Month(), cur.Day(), cur.Hour()+1, 0, 0, 0, loc)
		if next.After(end) {
			next = end
		}
		day, hour := dayHour(cur)
		out = append(out, fact{kind: kPresence, day: day, hour: hour, staff: staff, win: win, val: seconds(next.Sub(cur))})
		cur = next
	}
	return out
}

// addAtDayEnd appends a fact of the day's end: on the hall day it ended
// (recorded at the next day's start), at 23:00.
func (a *Aggregator) addAtDayEnd(ts time.Time, f fact) int {
	if d, err := time.ParseInLocation(time.DateOnly, a.day, a.loc); err == nil && d.Before(ts) {
		ts = time.Date(d.Year(), d.Month(), d.Day(), 23, 0, 0, 0, a.loc)
	}
	return a.add(ts, f)
}

// reasonIndex is a 未评价 reason's place in hall.RatingEndReasons, plus one
// (0: none recorded, journals from before: a timeout).
func reasonIndex(r string) int {
	for i, x := range hall.RatingEndReasons {
		if x == r {
			return i + 1
		}
	}
	return 0
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// add appends a fact at ts's hall day and hour and returns its index.
func (a *Aggregator) add(ts time.Time, f fact) int {
	f.day, f.hour = dayHour(ts)
	a.facts = append(a.facts, f)
	return len(a.facts) - 1
}

// maxIDs keeps 0xFFFF free as a "matches nothing" filter.
const maxIDs = 0xFFFF

func (a *Aggregator) intern(id, label string) (uint16, error) {
	if id == "" {
		return 0, nil
	}
	n, ok := a.ids[id]
	if !ok {
		if len(a.names) >= maxIDs {
			return 0, fmt.Errorf("stats: more than %d distinct service, window and staff ids", maxIDs-1)
		}
		n = uint16(len(a.names))
		a.ids[id] = n
		a.names = append(a.names, id)
	}
	if label != "" && a.label[n] != label {
		a.label[n] = label
	}
	return n, nil
}

func levelIndex(level string) int {
	for i, l := range hall.RatingLevels {
		if l == level {
			return i
		}
	}
	return -1
}

func seconds(d time.Duration) float32 {
	if d < 0 {
		d = 0 // a clock stepped back: no negative durations
	}
	return float32(d.Seconds())
}

func secondOfDay(t time.Time) float32 {
	return float32(t.Hour()*3600+t.Minute()*60+t.Second()) + float32(t.Nanosecond()/int(time.Millisecond))/1000
}

// dayHour is t's civil day number and hour in t's zone (already the hall's).
func dayHour(t time.Time) (int32, uint8) {
	y, m, d := t.Date()
	return civil(y, m, d), uint8(t.Hour())
}

// civil counts days since 1970-01-01 (Howard Hinnant's days_from_civil).
func civil(y int, m time.Month, d int) int32 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (int(m) + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int32(era*146097 + doe - 719468)
}

// dayString renders a civil day number as 2006-01-02.
func dayString(day int32) string {
	return time.Unix(int64(day)*86400, 0).UTC().Format("2006-01-02")
}

// dayTime is noon of a civil day in the hall's zone (for calendar questions).
func (a *Aggregator) dayTime(day int32) time.Time {
	u := time.Unix(int64(day)*86400, 0).UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), 12, 0, 0, 0, a.loc)
}

// dayOf is t's civil day in the hall's zone.
func (a *Aggregator) dayOf(t time.Time) int32 {
	d, _ := dayHour(t.In(a.loc))
	return d
}

// name is the display name of an interned id: the config's, else the last
// one seen in events.
func (a *Aggregator) name(id uint16, k string) string {
	s := a.names[id]
	if s == "" {
		return ""
	}
	switch k {
	case "service":
		if c, ok := a.cfg.Service(s); ok && c.Name != "" {
			return c.Name
		}
	case "window":
		if c, ok := a.cfg.Window(s); ok && c.Name != "" {
			return c.Name
		}
	case "staff":
		// A person's name as the events last gave it (sign-in, the roster
		// changed at run time) is newer than devices.yaml's.
		if l := a.label[id]; l != "" {
			return l
		}
		if c, ok := a.cfg.StaffMember(s); ok && c.Name != "" {
			return c.Name
		}
	}
	return a.label[id]
}

// openFacts returns what is still open at the last record as facts: the
// presence of open sessions, and open pauses' durations by fact index.
func (a *Aggregator) openFacts() ([]fact, map[int]float32) {
	var extra []fact
	staff := make([]int, 0, len(a.sessions))
	for s := range a.sessions {
		staff = append(staff, int(s))
	}
	sort.Ints(staff) // a fixed order: float sums come out the same every time
	for _, s := range staff {
		ses := a.sessions[uint16(s)]
		extra = appendPresence(extra, a.loc, uint16(s), ses.win, ses.start, a.last)
	}
	var pauses map[int]float32
	for _, w := range a.windows {
		if w.pause >= 0 {
			if pauses == nil {
				pauses = map[int]float32{}
			}
			pauses[w.pause] = seconds(a.last.Sub(w.pauseStart))
		}
	}
	return extra, pauses
}
