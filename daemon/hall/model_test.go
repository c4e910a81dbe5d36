package hall_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"halld/daemon/config"
	"halld/daemon/hall"
)

// go test ./daemon/hall -run Model -hall.steps=200000 -hall.seed=7 runs longer.
var (
	modelSteps = flag.Int("hall.steps", 3000, "commands the model-based test of the hall rules runs")
	modelSeed  = flag.Uint64("hall.seed", 0, "seed of the model-based test (0: a few fixed seeds)")
)

const modelHall = `
hall:
  id: m-hall
  name: 模型大厅
  timezone: Asia/Shanghai
  opening_hours: [{days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}]
  always_open: true
  pause_limit: 10m
  rating_timeout: 2m
areas: [{id: front, name: 前台}]
services:
  - {id: biz, prefix: A, name: 企业开办, area: front, avg_service_minutes: 6}
  - {id: tax, prefix: B, name: 税务, area: front, max_number: 40}
  - {id: est, prefix: C, name: 不动产登记, area: front}
  - {id: soc, prefix: D, name: 社保医保, area: front, daily_cap: 30}
windows:
  - {id: w1, number: 1, services: [{service: biz}, {service: tax}], backup: w2}
  - {id: w2, number: 2, services: [{service: tax, weight: 2}], backup: w1}
  - {id: w3, number: 3, services: [{service: est}], backup: w4}
  - {id: w4, number: 4, services: [{service: soc}]}
staff:
  - {id: s1, name: 张敏, windows: [w1]}
  - {id: s2, name: 李强, windows: [w2]}
  - {id: s3, name: 王芳, windows: [w3]}
  - {id: s4, name: 赵磊, windows: [w4, w3]}
  - {id: s5, name: 陈静, windows: [w1, w2]}
devices:
  - {id: k1, kind: kiosk, area: front}
`

// recorded is one event as the journal holds it.
type recorded struct {
	seq  uint64
	typ  string
	ts   time.Time
	body []byte
}

// model runs random commands through Decide and Apply and checks the hall's
// invariants after every step.
type model struct {
	t        *testing.T
	cfg      *config.Config
	rng      *rand.Rand
	st       *hall.State
	replica  *hall.State // the journal's events decoded and applied, as a restart does
	now      time.Time
	log      []recorded
	trail    []string // the last commands, for a failure's report
	services []string
	windows  []string
	staff    []string

	// What the events say, kept apart from the rules' state.
	ids        map[string]bool           // every ticket id ever issued
	serials    map[string]int            // day/service → last serial
	service    map[string]string         // ticket → its service by the events (issue, transfers)
	outcomes   map[string]int            // ticket → outcome events (service.finished, ticket.closed)
	finished   map[uint32]string         // visit → ticket, finished
	visitDay   map[uint32]string         // visit → its day
	ratings    map[uint32]int            // visit → rating.submitted
	unrated    map[uint32]int            // visit → rating.timeout
	dayTickets map[string][]string       // day → its tickets
	closed     map[string]bool           // days closed
	justClosed map[string]bool           // days closed by this step
	changed    bool                      // this step recorded events
	counts     map[string]map[string]int // event types seen, by command type
}

func newModel(t *testing.T, seed uint64) *model {
	cfg, err := config.Parse("m.yaml", []byte(modelHall))
	if err != nil {
		t.Fatal(err)
	}
	m := &model{t: t, cfg: cfg, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), st: hall.NewState(), replica: hall.NewState(),
		now: at("2026-11-25 08:30"), ids: map[string]bool{}, serials: map[string]int{}, service: map[string]string{},
		outcomes: map[string]int{}, finished: map[uint32]string{}, visitDay: map[uint32]string{}, ratings: map[uint32]int{},
		unrated: map[uint32]int{}, dayTickets: map[string][]string{}, closed: map[string]bool{}, justClosed: map[string]bool{}, counts: map[string]map[string]int{}}
	for _, s := range cfg.Services {
		m.services = append(m.services, s.ID)
	}
	for _, w := range cfg.Windows {
		m.windows = append(m.windows, w.ID)
	}
	for _, s := range cfg.Staff {
		m.staff = append(m.staff, s.ID)
	}
	return m
}

func (m *model) pick(xs []string) string { return xs[m.rng.IntN(len(xs))] }

func (m *model) anyTicket() string {
	if len(m.st.Order) == 0 || m.rng.IntN(20) == 0 {
		return "T20000101-A001"
	}
	return m.st.Order[m.rng.IntN(len(m.st.Order))]
}

func (m *model) anyVisit() uint32 {
	if m.st.NextVisit == 0 || m.rng.IntN(20) == 0 {
		return uint32(m.rng.IntN(3))
	}
	// Mostly recent visits: the ones that can still be rated.
	lo := max(int(m.st.NextVisit)-8, 1)
	return uint32(lo + m.rng.IntN(int(m.st.NextVisit)-lo+1))
}

// command draws the next command, weighted toward a busy, moving hall.
func (m *model) command() any {
	w := m.pick(m.windows)
	if m.rng.IntN(4) > 0 { // mostly a window with someone at it
		var on []string
		for _, id := range m.windows {
			if x := m.st.Windows[id]; x != nil && x.Staff != "" {
				on = append(on, id)
			}
		}
		if len(on) > 0 {
			w = m.pick(on)
		}
	}
	if m.rng.IntN(25) == 0 {
		return m.alertCommand()
	}
	switch n := m.rng.IntN(100); {
	case n < 16:
		prio := []string{"", "", "", hall.PriorityGreen, hall.PriorityAppointment}[m.rng.IntN(5)]
		return hall.IssueTicket{Service: m.pick(m.services), Priority: prio, Channel: "kiosk", Kiosk: "k1"}
	case n < 30:
		return hall.CallNext{Window: w}
	case n < 33:
		return hall.CallTicket{Window: w, Ticket: m.anyTicket()}
	case n < 36:
		return hall.Recall{Window: w}
	case n < 40:
		return hall.NoShow{Window: w}
	case n < 45:
		return hall.Start{Window: w}
	case n < 58:
		return hall.Finish{Window: w}
	case n < 61:
		return hall.Hold{Window: w}
	case n < 65:
		c := hall.Transfer{Window: w}
		if m.rng.IntN(3) > 0 {
			c.Service = m.pick(m.services)
		}
		if m.rng.IntN(3) == 0 {
			c.ToWindow = m.pick(m.windows)
		}
		return c
	case n < 68:
		return hall.Pause{Window: w, Reason: "临时外出", Minutes: m.rng.IntN(20)}
	case n < 71:
		return hall.Resume{Window: w}
	case n < 76:
		return hall.SignIn{Window: w, Staff: m.pick(m.staff), PINChecked: m.rng.IntN(4) > 0, Ask: m.rng.IntN(3) == 0}
	case n < 78:
		return hall.SignOut{Window: w}
	case n < 79:
		return hall.ToggleSign{Window: w}
	case n < 80:
		return m.rosterCommand(w)
	case n < 90:
		lvl := hall.RatingLevels[m.rng.IntN(len(hall.RatingLevels))]
		c := hall.Rate{Visit: m.anyVisit(), Level: lvl, Channel: hall.RatingChannels[m.rng.IntN(len(hall.RatingChannels))]}
		if m.rng.IntN(4) > 0 {
			c.Reasons = []string{"等候时间长"}
		}
		// Mostly the visit the window's pad asks about.
		if aw := m.st.Windows[w]; aw != nil && aw.Awaiting != 0 && m.rng.IntN(2) == 0 {
			c.Visit, c.Channel = aw.Awaiting, "pad"
		}
		return c
	case n < 92:
		return hall.RateTimeout{Visit: m.anyVisit()}
	case n < 96:
		return hall.Tick{}
	case n < 97:
		return hall.SetSilentCall{Ticket: m.anyTicket(), Silent: m.rng.IntN(2) == 0, By: "phone"}
	case n < 99:
		return m.followUpStep()
	default:
		return hall.ResolveInterrupted{}
	}
}

// alertCommand acknowledges, assigns or closes an alert: mostly an open
// one, sometimes one already closed or none at all.
func (m *model) alertCommand() any {
	var ids []string
	for id := range m.st.Alerts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	id := "no-such-alert"
	switch {
	case len(ids) > 0 && m.rng.IntN(5) > 0:
		id = m.pick(ids)
	case len(m.st.ClosedAlerts) > 0:
		id = m.st.ClosedAlerts[m.rng.IntN(len(m.st.ClosedAlerts))].AlertID
	}
	by := m.pick([]string{"sup-1", "it-1", "central"})
	switch m.rng.IntN(3) {
	case 0:
		return hall.AckAlert{AlertID: id, By: by, Note: "已知悉"}
	case 1:
		return hall.AssignAlert{AlertID: id, By: by, To: m.pick(m.staff)}
	}
	return hall.CloseAlert{AlertID: id, By: by, Note: "已处理"}
}

// followUpStep draws a step of a 差评 follow-up, mostly one that is due.
func (m *model) followUpStep() any {
	var ids []string
	for id, f := range m.st.FollowUps {
		if !f.Closed || m.rng.IntN(10) == 0 {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	c := hall.FollowUpStep{ID: "fu-0", Note: "已处理", By: "admin"}
	if len(ids) > 0 {
		c.ID = m.pick(ids)
	}
	f := m.st.FollowUps[c.ID]
	stages := []string{hall.StageCallback, hall.StageRectify, hall.StageFeedback, hall.StageRating,
		hall.StageAppealed, hall.StageUpheld, hall.StageRejected, "bogus"}
	c.Stage = m.pick(stages)
	if f != nil && f.Due != "" && m.rng.IntN(3) > 0 {
		c.Stage = f.Due
		if f.Due == hall.DueReview {
			c.Stage = []string{hall.StageUpheld, hall.StageRejected, hall.StageRejected}[m.rng.IntN(3)]
		}
	}
	if m.rng.IntN(4) == 0 {
		no := false
		c.Reached = &no
	}
	c.Level = []string{"满意", "基本满意", "不满意", "不满意", "x"}[m.rng.IntN(5)]
	if m.rng.IntN(10) == 0 {
		c.Note = ""
	}
	return c
}

// advance moves the clock: mostly seconds, sometimes minutes, now and then
// to the next morning (the day changes).
func (m *model) advance() {
	switch n := m.rng.IntN(1000); {
	case n < 2:
		y, mo, d := m.now.Date()
		m.now = time.Date(y, mo, d+1, 8, 30+m.rng.IntN(60), m.rng.IntN(60), 0, m.cfg.Location)
	case n < 100:
		m.now = m.now.Add(time.Duration(60+m.rng.IntN(300)) * time.Second)
	default:
		m.now = m.now.Add(time.Duration(m.rng.IntN(40)) * time.Second)
	}
}

func (m *model) fail(format string, args ...any) {
	m.t.Helper()
	m.t.Fatalf("%s\nafter these commands (newest last):\n  %s", fmt.Sprintf(format, args...), strings.Join(m.trail, "\n  "))
}

func (m *model) step() {
	m.t.Helper()
	m.advance()
	cmd := m.command()
	emits, err := hall.Decide(m.cfg, m.st, cmd, m.now)
	var re *hall.RuleError
	var dup *hall.Duplicate
	switch {
	case err == nil, errors.As(err, &dup):
	case errors.As(err, &re):
		if re.Message == "" || re.Status < 400 {
			m.fail("%T refused without a message: %v", cmd, err)
		}
		if len(emits) != 0 {
			m.fail("%T refused with events %v", cmd, typesOf(emits))
		}
	default:
		m.fail("%T: %v", cmd, err)
	}
	m.trail = append(m.trail, fmt.Sprintf("%s %T%+v → %v %v", m.now.Format("01-02 15:04:05"), cmd, cmd, typesOf(emits), err))
	if len(m.trail) > 25 {
		m.trail = m.trail[1:]
	}
	name := fmt.Sprintf("%T", cmd)
	if m.counts[name] == nil {
		m.counts[name] = map[string]int{}
	}
	if err != nil {
		m.counts[name]["refused"]++
	}
	// As the engine does, the batch is applied to a Clone, and the state it
	// was decided from (the committed state readers hold) must not change:
	// what Clone shares, Apply replaces and never writes into (clone.go).
	committed, before := m.st, []byte(nil)
	if len(emits) > 0 {
		if len(m.log)%4 == 0 {
			before = encode(m.t, committed)
		}
		m.st = committed.Clone()
	}
	for _, e := range emits {
		m.counts[name][e.Type]++
		seq := m.st.Seq + 1
		env := hall.Envelope{ID: fmt.Sprint(seq), Seq: seq, TS: hall.Stamp(m.now), Type: e.Type, Hall: m.cfg.Hall.ID}
		body, err := hall.Encode(env, e.Data)
		if err != nil {
			m.fail("encode %s: %v", e.Type, err)
		}
		m.observe(e)
		hall.Apply(m.st, seq, e.Type, m.now, e.Data)
		m.log = append(m.log, recorded{seq, e.Type, m.now, body})
		m.applyRecorded(m.replica, m.log[len(m.log)-1])
	}
	if before != nil {
		if after := encode(m.t, committed); !bytes.Equal(before, after) {
			m.fail("applying %v to a Clone changed the state it was cloned from:\n%s", typesOf(emits), diff(before, after))
		}
	}
	m.changed = len(emits) > 0
	m.check()
}

// applyRecorded decodes a journal record and applies it, as a restart does.
func (m *model) applyRecorded(st *hall.State, r recorded) {
	m.t.Helper()
	data, err := hall.Decode(r.typ, r.body)
	if err != nil || data == nil {
		m.fail("decode %s: %v %v", r.typ, data, err)
	}
	hall.Apply(st, r.seq, r.typ, r.ts.In(m.cfg.Location), data)
}

// observe keeps the model's own account of what the events say, before
// they are applied (so the state they were decided against is at hand).
func (m *model) observe(e hall.Emit) {
	switch d := e.Data.(type) {
	case *hall.TicketIssued:
		t := d.Ticket
		if m.ids[t.ID] {
			m.fail("ticket id %s issued twice", t.ID)
		}
		m.ids[t.ID] = true
		k := t.Day + "/" + t.Service
		if d.Serial != m.serials[k]+1 {
			m.fail("%s: serial %d after %d (numbers must be gap-free)", k, d.Serial, m.serials[k])
		}
		m.serials[k] = d.Serial
		if t.Day != m.st.Day && m.st.Day != "" && !m.closed[m.st.Day] {
			m.fail("day %s began before %s was closed", t.Day, m.st.Day)
		}
		m.service[t.ID] = t.Service
		m.dayTickets[t.Day] = append(m.dayTickets[t.Day], t.ID)
		if t.Estimate == nil || t.Estimate.Text == "" || t.Estimate.Servable != (t.Estimate.Minutes != nil) {
			m.fail("ticket %s estimate %+v", t.Number, t.Estimate)
		}
		if t.Estimate.Servable && (*t.Estimate.Low > *t.Estimate.Minutes || *t.Estimate.High < *t.Estimate.Minutes) {
			m.fail("ticket %s: estimate outside its band %+v", t.Number, t.Estimate)
		}
		if !t.Estimate.Servable && m.callable(t.Service) {
			m.fail("ticket %s of %s said unservable but a staffed window can call it", t.Number, t.Service)
		}
	case *hall.TicketTransferred:
		m.service[d.TicketID] = d.ToService
	case *hall.ServiceFinished:
		m.outcomes[d.TicketID]++
		m.finished[d.Visit] = d.TicketID
	case *hall.TicketCalled:
		if !d.Recall {
			m.visitDay[d.Visit] = m.st.Tickets[d.TicketID].Day
		}
	case *hall.TicketClosed:
		m.outcomes[d.TicketID]++
	case *hall.RatingSubmitted:
		m.ratings[d.Visit]++
		if d.Late != (m.unrated[d.Visit] > 0) {
			m.fail("rating of visit %d: late=%v but %d 未评价 before", d.Visit, d.Late, m.unrated[d.Visit])
		}
	case *hall.RatingTimeout:
		m.unrated[d.Visit]++
		if d.Reason == "" {
			m.fail("未评价 of visit %d without a reason", d.Visit)
		}
		if _, ok := m.finished[d.Visit]; !ok {
			m.fail("未评价 of visit %d, which did not finish", d.Visit)
		}
	case *hall.DayClosed:
		m.closed[d.Day] = true
		m.justClosed[d.Day] = true
	}
}

// callable tells whether a staffed window could call a new ticket of service
// now, by the queue itself: a window serving it, or covering one that does.
// rosterCommand is a runtime change (roster.go): staff added, edited,
// removed; a window's services today; a service closed today; a notice; a PIN.
func (m *model) rosterCommand(w string) any {
	staff := append([]string{"s8", "s9"}, m.staff...)
	switch m.rng.IntN(7) {
	case 0:
		return hall.SetStaff{ID: m.pick(staff), Name: "新人", Windows: []string{w}, By: "model"}
	case 1:
		return hall.RemoveStaff{ID: m.pick(staff), By: "model"}
	case 2:
		svcs := []config.WindowService{{Service: m.pick(m.services)}}
		if m.rng.IntN(2) == 0 {
			svcs = append(svcs, config.WindowService{Service: m.pick(m.services), Weight: 2})
		}
		return hall.SetWindowServices{Window: w, Services: svcs, Reset: m.rng.IntN(4) == 0, By: "model"}
	case 3:
		return hall.SetServiceOpen{Service: m.pick(m.services), Open: m.rng.IntN(2) == 0, ForToday: true, By: "model"}
	case 4:
		id := m.pick([]string{"n1", "n2"})
		if m.rng.IntN(2) == 0 {
			return hall.ExpireNotice{ID: id, By: "model"}
		}
		u := hall.Stamp(m.now.Add(time.Hour))
		return hall.PostNotice{Notice: hall.Notice{ID: id, Text: "公告", Until: &u, Where: []string{"board"}, By: "model"}}
	default:
		a := m.pick([]string{"set", "removed", "locked", "unlocked", "wrong"})
		return hall.RecordPIN{PINEvent: hall.PINEvent{Staff: m.pick(m.staff), Action: a, Attempts: 5, By: "model"}}
	}
}

func (m *model) callable(service string) bool {
	cfg := hall.Effective(m.cfg, m.st) // 潮汐窗口 and the roster as changed at run time
	for _, w := range cfg.Windows {
		if m.st.Windows[w.ID] == nil || m.st.Windows[w.ID].Staff == "" {
			continue
		}
		for _, ws := range w.Services {
			if ws.Service == service {
				return true
			}
		}
		for _, o := range cfg.Windows {
			if o.Backup != w.ID {
				continue
			}
			for _, ws := range o.Services {
				if ws.Service == service && (m.st.Windows[o.ID] == nil || m.st.Windows[o.ID].Status != hall.WindowOpen) {
					return true
				}
			}
		}
	}
	return false
}

func (m *model) check() {
	m.t.Helper()
	st := m.st
	// Replaying the journal gives the same state (a step that recorded
	// nothing changed neither).
	if m.st.Seq != m.replica.Seq {
		m.fail("replayed to seq %d, live at %d", m.replica.Seq, m.st.Seq)
	}
	if !m.changed {
	} else if a, b := encode(m.t, st), encode(m.t, m.replica); !bytes.Equal(a, b) {
		m.fail("the replayed state differs:\n%s", diff(a, b))
	}
	// Alerts: open ones have a history that begins with the raise and has
	// not ended; ended ones are bounded and say how they ended.
	for id, a := range st.Alerts {
		if len(a.History) == 0 || a.History[0].Action != hall.StepRaised || a.Ended() != nil || len(a.History) > hall.MaxAlertHistory {
			m.fail("open alert %s: history %+v", id, a.History)
		}
	}
	if len(st.ClosedAlerts) > hall.MaxClosedAlerts {
		m.fail("%d closed alerts kept", len(st.ClosedAlerts))
	}
	for _, a := range st.ClosedAlerts {
		if a.Ended() == nil {
			m.fail("closed alert %s did not end: %+v", a.AlertID, a.History)
		}
	}
	// Tickets: their service is their last transfer's; one outcome at most,
	// and the status agrees with it.
	waiting := map[string]int{}
	for _, id := range st.Order {
		t := st.Tickets[id]
		if t.Service != m.service[id] {
			m.fail("%s: service %s, its events say %s", t.Number, t.Service, m.service[id])
		}
		if svc, _ := m.cfg.Service(t.Service); t.ServiceName != svc.Name {
			m.fail("%s of %s is named %s", t.Number, t.Service, t.ServiceName)
		}
		if n := m.outcomes[id]; n > 1 {
			m.fail("%s has %d outcomes", t.Number, n)
		}
		want := map[string]string{hall.StatusDone: hall.OutcomeServed, hall.StatusExpired: hall.OutcomeExpired}[t.Status]
		if t.Status == hall.StatusNoShow && t.Outcome != "" {
			want = hall.OutcomeNoShow
		}
		if t.Outcome != want || (t.Outcome != "") != (m.outcomes[id] == 1) {
			m.fail("%s: status %s, outcome %q (%d outcome events)", t.Number, t.Status, t.Outcome, m.outcomes[id])
		}
		if t.Status == hall.StatusWaiting && t.Day == st.Day {
			waiting[t.Service]++
		}
		if t.Status == hall.StatusCalled || t.Status == hall.StatusServing {
			if w := st.Windows[t.Window]; w == nil || w.Current != id {
				m.fail("%s is %s at %s, which does not have it", t.Number, t.Status, t.Window)
			}
		}
	}
	// Waiting counts equal the queue: what the windows can call, together.
	if got := st.Waiting(); fmt.Sprint(got) != fmt.Sprint(waiting) {
		m.fail("Waiting() %v, tickets say %v", got, waiting)
	}
	if st.Day == m.cfg.Day(m.now) {
		inQueue := map[string]bool{}
		for _, w := range m.windows {
			q := hall.Queue(m.cfg, st, w, m.now)
			if v := hall.MakeWindowView(m.cfg, st, w, m.now); v.Waiting != len(q) {
				m.fail("%s shows %d waiting, its queue has %d", w, v.Waiting, len(q))
			}
			for _, c := range q {
				inQueue[c.Ticket.ID] = true
			}
		}
		n := 0
		for _, k := range waiting {
			n += k
		}
		if len(inQueue) != n {
			m.fail("%d tickets waiting, %d in the windows' queues", n, len(inQueue))
		}
		view := hall.MakeView(m.cfg, st, m.now)
		for _, s := range view.Services {
			if s.Waiting != waiting[s.ID] {
				m.fail("service %s shows %d waiting, %d are", s.ID, s.Waiting, waiting[s.ID])
			}
		}
	}
	// Windows: a current ticket is called or served there; an awaited
	// visit is finished there with no outcome yet.
	for id, w := range st.Windows {
		if w.Current != "" {
			t := st.Tickets[w.Current]
			if t == nil || t.Window != id || (t.Status != hall.StatusCalled && t.Status != hall.StatusServing) {
				m.fail("window %s holds %s (%+v)", id, w.Current, t)
			}
		}
		if v := w.Awaiting; v != 0 {
			if !st.Finished[v] || st.Rated[v] || st.TimedOut[v] || st.VisitInfo[v].Window != id {
				m.fail("window %s awaits visit %d: finished %v rated %v unrated %v at %s", id, v, st.Finished[v], st.Rated[v], st.TimedOut[v], st.VisitInfo[v].Window)
			}
		}
	}
	// 好差评: one rating per visit; a 未评价 only once and only replaced by a
	// late rating; the state says the same.
	for v := range st.Finished {
		if st.Rated[v] && st.TimedOut[v] {
			m.fail("visit %d is both rated and 未评价", v)
		}
		// No visit in limbo: one with no outcome yet is the one its
		// window's pad asks about (请评价), and a pad asks only when its
		// window has no ticket at it and is open.
		if !st.Rated[v] && !st.TimedOut[v] && st.ClosedDay != st.Day {
			w := st.Windows[st.VisitInfo[v].Window]
			if w == nil || w.Awaiting != v {
				m.fail("finished visit %d has no outcome and its window does not ask for one", v)
			}
			if w.Current != "" || w.Status != hall.WindowOpen {
				m.fail("window %s awaits visit %d's rating while its pad shows something else (current %q, %s)", w.ID, v, w.Current, w.Status)
			}
		}
	}
	for v, n := range m.ratings {
		if n > 1 || m.unrated[v] > 1 {
			m.fail("visit %d: %d ratings, %d 未评价", v, n, m.unrated[v])
		}
	}
	// A closed day: every ticket has its one outcome, every finished visit
	// its one 好差评 outcome.
	for day := range m.justClosed {
		for _, id := range m.dayTickets[day] {
			if m.outcomes[id] != 1 {
				m.fail("day %s closed, ticket %s has %d outcomes", day, id, m.outcomes[id])
			}
		}
		for v, id := range m.finished {
			if m.visitDay[v] == day && m.ratings[v]+m.unrated[v]-min(m.ratings[v], m.unrated[v]) != 1 {
				m.fail("day %s closed, visit %d (%s) has %d ratings and %d 未评价", day, v, id, m.ratings[v], m.unrated[v])
			}
		}
	}
	clear(m.justClosed)
	// 差评 follow-ups: a closed one awaits nothing and its 差评's alert is
	// gone; an open one awaits one step, with a deadline, its overdue alert
	// open exactly while that step is marked overdue; calls and rounds stay
	// within their bounds.
	rules := m.cfg.FollowUpSteps()
	for id, f := range st.FollowUps {
		open := func(a string) bool { _, ok := st.Alerts[a]; return ok }
		if f.Closed {
			if f.Due != "" || f.DueBy != nil || open(fmt.Sprintf("bad-rating-%d", f.Visit)) {
				m.fail("closed follow-up %s: due %q by %v, bad-rating alert open %v", id, f.Due, f.DueBy, open(fmt.Sprintf("bad-rating-%d", f.Visit)))
			}
			if f.Satisfaction == "" && !f.Excluded {
				m.fail("follow-up %s closed with neither the citizen's rating nor an upheld appeal", id)
			}
			continue
		}
		if f.Due == "" || f.DueBy == nil || f.DueSince == nil || time.Time(*f.DueBy).Before(time.Time(*f.DueSince)) {
			m.fail("open follow-up %s awaits %q by %v since %v", id, f.Due, f.DueBy, f.DueSince)
		}
		if f.Attempts >= rules.CallAttempts || f.Rounds > rules.RectifyRounds || f.Appeals > 1 {
			m.fail("follow-up %s: %d unanswered calls, %d rounds, %d appeals", id, f.Attempts, f.Rounds, f.Appeals)
		}
		for a, r := range st.Alerts {
			if strings.HasPrefix(a, "followup-overdue-"+id+"-") && r.Kind == "followup_overdue" && !f.DueOverdue {
				m.fail("follow-up %s has overdue alert %s open, its step %s is not overdue", id, a, f.Due)
			}
		}
		if f.DueOverdue && !f.Overdue {
			m.fail("follow-up %s: step overdue, record not marked", id)
		}
	}
}

func encode(t *testing.T, st *hall.State) []byte {
	b, err := hall.EncodeState(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// diff shows where two JSON states part.
func diff(a, b []byte) string {
	var x, y map[string]any
	json.Unmarshal(a, &x)
	json.Unmarshal(b, &y)
	xs, ys := x["state"].(map[string]any), y["state"].(map[string]any)
	var out []string
	for k := range xs {
		p, _ := json.Marshal(xs[k])
		q, _ := json.Marshal(ys[k])
		if !bytes.Equal(p, q) {
			out = append(out, fmt.Sprintf("%s:\n  live   %.600s\n  replay %.600s", k, p, q))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// TestModelHallRules runs random sequences of every command through the
// rules and checks the invariants after every step; at the end (and at
// every day's end) a replay of the whole journal from nothing, and a
// checkpoint's round trip, give the same state.
func TestModelHallRules(t *testing.T) {
	seeds := []uint64{1, 2}
	if *modelSeed != 0 {
		seeds = []uint64{*modelSeed}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			m := newModel(t, seed)
			for i := 0; i < *modelSteps; i++ {
				m.step()
				if i%500 == 499 {
					// A checkpoint and a restart from it, then on as before.
					st, err := hall.DecodeState(encode(t, m.replica))
					if err != nil {
						t.Fatal(err)
					}
					m.replica = st
				}
			}
			full := hall.NewState()
			for _, r := range m.log {
				m.applyRecorded(full, r)
			}
			if a, b := encode(t, m.st), encode(t, full); !bytes.Equal(a, b) {
				m.fail("a replay of the whole journal differs:\n%s", diff(a, b))
			}
			// The run must have reached what it checks.
			for _, need := range []struct{ cmd, typ string }{
				{"hall.CallNext", hall.TypeTicketCalled}, {"hall.CallNext", hall.TypeRatingTimeout},
				{"hall.Finish", hall.TypeServiceFinished}, {"hall.Transfer", hall.TypeTicketTransferred},
				{"hall.Rate", hall.TypeRatingSubmitted}, {"hall.Tick", hall.TypeRatingTimeout},
				{"hall.IssueTicket", hall.TypeDayClosed}, {"hall.Pause", hall.TypeRatingTimeout},
				{"hall.SignOut", hall.TypeRatingTimeout}, {"hall.NoShow", hall.TypeTicketNoShow},
				{"hall.Hold", hall.TypeTicketHeld}, {"hall.Recall", hall.TypeTicketRecalled},
				{"hall.FollowUpStep", hall.TypeFollowUpUpdated}, {"hall.Tick", hall.TypeFollowUpOverdue},
				{"hall.FollowUpStep", hall.TypeAlertCleared},
			} {
				if m.counts[need.cmd][need.typ] == 0 && *modelSteps >= 3000 {
					t.Errorf("%d steps never made %s by %s (%v)", *modelSteps, need.typ, need.cmd, m.counts[need.cmd])
				}
			}
			if testing.Verbose() {
				for c, n := range m.counts {
					t.Logf("%s: %v", c, n)
				}
			}
			t.Logf("%d steps, %d events, %d days closed, %d visits finished", *modelSteps, len(m.log), len(m.closed), len(m.finished))
		})
	}
}
