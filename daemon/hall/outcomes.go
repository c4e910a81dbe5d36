package hall

import (
	"math"
	"strconv"
	"time"

	"halld/daemon/config"
)

// StatusExpired is a ticket the hall day ended on before it was served
// (ticket.closed with OutcomeExpired).
const StatusExpired = "expired"

// EstimateSamples is how many of the day's finished visits of a service the
// estimate needs before it trusts their mean service time over the
// configured avg_service_minutes (and narrows its band).
const EstimateSamples = 10

// Outcomes
//
// Every ticket ends its hall day with exactly one outcome (Ticket.Outcome):
// served (service.finished), or, when the day ends first, no_show (it was a
// no-show then) or expired (waiting, held, called or serving then), both
// recorded by ticket.closed. Every finished visit has exactly one 好差评
// outcome: rating.submitted (prompted, or unprompted: 主动评价), or
// rating.timeout (未评价) with the reason its chance ended — the rating
// timeout, the pad giving up, the window calling the next ticket, pausing,
// its staff signing out, or the day's end. A rating given later the same day
// (a QR code) replaces a 未评价 (rating.submitted with late): still one.
//
// The day ends at the first Tick or ticket of the next hall day, which
// records the outcomes and then day.closed; after it, the day's visits take
// no rating.

// closeAwaiting ends the 请评价 of the visit window id awaits, if any, with
// the reason: a rating.timeout.
func closeAwaiting(st *State, id, reason string) []Emit {
	w, ok := st.Windows[id]
	if !ok || w.Awaiting == 0 {
		return nil
	}
	return unrated(st, w.Awaiting, reason)
}

// unrated is the rating.timeout of a finished visit with no outcome yet.
func unrated(st *State, visit uint32, reason string) []Emit {
	t, ok := st.Tickets[st.Visits[visit]]
	if !ok || st.Rated[visit] || st.TimedOut[visit] || !st.Finished[visit] {
		return nil
	}
	v := st.VisitInfo[visit]
	svc := v.Service
	if svc == "" {
		svc = t.Service
	}
	return []Emit{{TypeRatingTimeout, &RatingTimeout{TicketID: t.ID, Number: t.Number, Visit: visit, Window: v.Window,
		Staff: v.Staff, Service: svc, Reason: reason}}}
}

// dayToClose tells whether the state's day is over at now and not yet closed.
func dayToClose(cfg *config.Config, st *State, now time.Time) bool {
	return st.Day != "" && st.ClosedDay != st.Day && cfg.Day(now) > st.Day
}

// closeDay records the outcomes of the day that ended: a rating.timeout
// (day_end) for every finished visit with none, a ticket.closed for every
// ticket not served, then day.closed.
func closeDay(st *State) []Emit {
	var out []Emit
	sum := DayClosed{Day: st.Day}
	visits := make([]uint32, 0, len(st.Finished))
	for v := range st.Finished {
		visits = append(visits, v)
	}
	sortVisits(visits)
	for _, v := range visits {
		sum.Visits++
		if st.Rated[v] {
			sum.Rated++
			continue
		}
		sum.Unrated++
		out = append(out, unrated(st, v, RatingEndDayEnd)...)
	}
	for _, id := range st.Order {
		t := st.Tickets[id]
		if t.Day != st.Day {
			continue
		}
		sum.Tickets++
		if t.Status == StatusDone {
			sum.Served++
			continue
		}
		outcome := OutcomeExpired
		if t.Status == StatusNoShow {
			outcome = OutcomeNoShow
			sum.NoShow++
		} else {
			sum.Expired++
		}
		e := &TicketClosed{TicketID: t.ID, Number: t.Number, Service: t.Service, ServiceName: t.ServiceName, Day: t.Day,
			Status: t.Status, Outcome: outcome, Reason: RatingEndDayEnd}
		if t.Status == StatusCalled || t.Status == StatusServing {
			e.Window = t.Window
		}
		out = append(out, Emit{TypeTicketClosed, e})
	}
	return append(out, Emit{TypeDayClosed, &sum})
}

func sortVisits(v []uint32) {
	for i := 1; i < len(v); i++ { // insertion sort: a day's visits, once
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

// applyTicketClosed folds ticket.closed: the ticket's outcome without a
// service (expired, or a no-show's).
func applyTicketClosed(st *State, e *TicketClosed) {
	t, ok := st.ticketW(e.TicketID)
	if !ok {
		return
	}
	if t.Status != StatusNoShow {
		t.Status = StatusExpired
	}
	t.Outcome = e.Outcome
	for _, w := range st.Windows {
		if w.Current == t.ID {
			w.Current = ""
		}
	}
}

// staffedServers counts the staffed windows (signed in: open or paused) that
// can call a ticket of service now: those serving it, and the AB backup of
// one serving it that is not open.
func staffedServers(cfg *config.Config, st *State, service string) int {
	n := 0
	for i := range cfg.Windows {
		wc := &cfg.Windows[i]
		if st.window(wc.ID).Staff == "" {
			continue
		}
		if serves(wc, service) {
			n++
			continue
		}
		for j := range cfg.Windows {
			o := &cfg.Windows[j]
			if o.Backup == wc.ID && serves(o, service) && st.window(o.ID).Status != WindowOpen {
				n++
				break
			}
		}
	}
	return n
}

func serves(wc *config.Window, service string) bool {
	for _, ws := range wc.Services {
		if ws.Service == service {
			return true
		}
	}
	return false
}

// todayServiceMinutes is the mean service time of the day's finished visits
// of service (called → finished when the start was implicit) and how many
// there were.
func todayServiceMinutes(st *State, service string) (float64, int) {
	sum, n := 0.0, 0
	for _, id := range st.Order {
		t := st.Tickets[id]
		if t.Service != service || t.FinishedAt == nil || t.Outcome != OutcomeServed {
			continue
		}
		from := t.StartedAt
		if from == nil || !time.Time(*from).Before(time.Time(*t.FinishedAt)) {
			from = t.CalledAt
		}
		if from == nil {
			continue
		}
		sum += time.Time(*t.FinishedAt).Sub(time.Time(*from)).Minutes()
		n++
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// EstimateFor is the wait of a ticket of service with ahead tickets before
// it, as the rules see it at now (see Estimate).
func EstimateFor(cfg *config.Config, st *State, service string, ahead int, now time.Time) *Estimate {
	cfg = Effective(cfg, st)
	n := staffedServers(cfg, st, service)
	if n == 0 {
		return &Estimate{Servable: false, Reason: "no_window", Text: "当前暂无窗口办理，请留意叫号"}
	}
	per, basis, spread := 10.0, "config", 0.5
	if svc, ok := cfg.Service(service); ok && svc.AvgServiceMinutes > 0 {
		per = float64(svc.AvgServiceMinutes)
	}
	if st.Day == cfg.Day(now) {
		if m, k := todayServiceMinutes(st, service); k >= EstimateSamples {
			per, basis, spread = m, "today", 0.25
		}
	}
	point := math.Ceil(float64(ahead) * per / float64(n))
	half := max(point*spread, 2)
	mins, lo, hi := int(point), int(max(math.Floor(point-half), 0)), int(math.Ceil(point+half))
	e := &Estimate{Servable: true, Minutes: &mins, Low: &lo, High: &hi, Basis: basis, Windows: n}
	if ahead == 0 {
		e.Text = "即将叫号"
	} else {
		e.Text = "约 " + strconv.Itoa(lo) + "–" + strconv.Itoa(hi) + " 分钟"
	}
	return e
}
