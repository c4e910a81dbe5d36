// Package pads connects the hall's evaluation pads (好差评评价器) to the hall:
// a pad's keys become window actions and its ratings become ratings bound to
// the visit it showed, each recorded once per (pad, event seq); and every
// pad's screen follows its window (staff, ticket, 请评价, 暂停服务).
package pads

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"halld/daemon/config"
	"halld/daemon/engine"
	"halld/daemon/hall"
	"halld/daemon/journal"
	"halld/drivers/hpad"
	"halld/drivers/hpad/padbus"
)

// Service is the hall side of every pad line.
type Service struct {
	cfg    *config.Config
	eng    *engine.Engine
	j      *journal.Journal
	log    *slog.Logger
	window map[string]string       // pad id → window id
	sink   map[string]screenSink   // pad id → what carries its screen (its line's master, or MQTT)
	lines  map[string][]padbus.Pad // line id → its pads
	mqtt   []string                // pads on the network (MQTT)

	truncated atomic.Uint64 // screens cut to fit HPAD-1 (Truncations)
	cutMu     sync.Mutex
	cut       map[string]*cutState // pad id → its last cut screen
	now       func() time.Time
}

// cutState remembers a pad's last screen that had to be cut, so one long
// text is counted once (screens are recomputed after every commit) and
// logged at most once per TruncationLogEvery.
type cutState struct {
	screen     padbus.Display // as the hall wanted it, before the cut
	logged     time.Time
	suppressed int
}

// TruncationLogEvery is the shortest time between two log lines about one
// pad's screens being cut.
const TruncationLogEvery = 10 * time.Minute

// screenSink takes a pad's wanted screen.
type screenSink interface {
	SetDisplay(pad string, d padbus.Display)
}

// New prepares the pads declared in cfg (eval_pad devices with a bus).
func New(cfg *config.Config, eng *engine.Engine, j *journal.Journal, log *slog.Logger) *Service {
	s := &Service{cfg: cfg, eng: eng, j: j, log: log, window: map[string]string{}, sink: map[string]screenSink{},
		lines: map[string][]padbus.Pad{}, cut: map[string]*cutState{}, now: time.Now}
	for _, d := range cfg.DevicesOfKind(config.KindEvalPad) {
		switch {
		case d.Bus != "":
			s.window[d.ID] = d.Window
			s.lines[d.Bus] = append(s.lines[d.Bus], padbus.Pad{ID: d.ID, Addr: byte(d.Address)})
		case d.Serial == nil:
			s.window[d.ID] = d.Window
			s.mqtt = append(s.mqtt, d.ID)
		default:
			// Its own serial link: a line of one pad, named after the pad.
			addr := byte(d.Address)
			if addr == 0 {
				addr = 1 // HPAD-1's FE "whoever is attached" answers with the pad's real address, which we may not know
			}
			s.window[d.ID] = d.Window
			s.lines[d.ID] = []padbus.Pad{{ID: d.ID, Addr: addr}}
		}
	}
	return s
}

// Pads lists the pads on a line.
func (s *Service) Pads(line string) []padbus.Pad { return s.lines[line] }

// Attach records a line's master, so screens can be pushed to its pads.
func (s *Service) Attach(line string, b *padbus.Bus) {
	for _, p := range s.lines[line] {
		s.sink[p.ID] = b
	}
}

// MQTTPads lists the pads that speak JSON over the hall broker.
func (s *Service) MQTTPads() []string { return s.mqtt }

// AttachMQTT records the transport of the networked pads.
func (s *Service) AttachMQTT(t screenSink) {
	for _, p := range s.mqtt {
		s.sink[p] = t
	}
}

// HandleID takes a networked pad's event, deduplicated on its id.
func (s *Service) HandleID(padID, eventID string, ev hpad.Event) error {
	return s.handle(padID, eventID, ev)
}

// Handle takes one pad event; nil means durable (or permanently refused), so
// the master may acknowledge it.
func (s *Service) Handle(padID string, ev hpad.Event) error {
	return s.handle(padID, "", ev)
}

func (s *Service) handle(padID, eventID string, ev hpad.Event) error {
	win := s.window[padID]
	de := hall.DeviceEvent{Device: padID, EvtSeq: ev.EvtSeq, EventID: eventID, Value: int(ev.Value), Visit: ev.Visit}
	var cmd any
	switch ev.Type {
	case hpad.EventKey:
		de.Kind = "key"
		cmd = keyCommand(win, padID, ev.Value)
	case hpad.EventRating:
		de.Kind = "rating"
		level, ok := hall.LevelFromPad(int(ev.Value))
		if ok {
			cmd = hall.Rate{Visit: ev.Visit, Level: level, Reasons: s.reasons(ev.Reasons), Channel: "pad", Device: padID}
		}
	case hpad.EventTimeout:
		de.Kind = "timeout"
		cmd = hall.RateTimeout{Visit: ev.Visit}
	case hpad.EventFault:
		de.Kind = "fault"
		// One alert per pad and fault code, counted when it recurs.
		code := strconv.Itoa(int(ev.Value))
		cmd = hall.RaiseAlert{Alert: hall.Alert{Kind: "pad_fault", Severity: "warning", Window: win, Device: padID, Cause: code,
			Message: padID + " 评价器故障（代码 " + code + "）"}}
	default:
		de.Kind = "unknown"
	}
	_, err := s.eng.Submit(context.Background(), hall.FromDevice{Event: de, Cmd: cmd})
	var re *hall.RuleError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re) && re.Code != "storage_failed":
		return nil // refused for good; recorded or not, asking again changes nothing
	default:
		s.log.Warn("pad event not stored; it stays on the pad", "pad", padID, "evt_seq", ev.EvtSeq, "err", err)
		return err
	}
}

// keyCommand is what a pad's key asks of its window; the events name the
// pad (by: "pad/<id>"), as the window page's name who clicked.
func keyCommand(win, padID string, key byte) any {
	by := "pad/" + padID
	switch key {
	case hpad.KeyCallNext:
		return hall.CallNext{Window: win, By: by}
	case hpad.KeyRecall:
		return hall.Recall{Window: win, By: by}
	case hpad.KeyPause:
		return hall.Pause{Window: win, Reason: "临时外出", By: by} // a pad key cannot type a reason
	case hpad.KeyResume:
		return hall.Resume{Window: win, By: by}
	case hpad.KeyFinish:
		return hall.Finish{Window: win, By: by}
	case hpad.KeyNoShow:
		return hall.NoShow{Window: win, By: by}
	case hpad.KeySignInOut:
		return hall.ToggleSign{Window: win, By: by}
	}
	return nil // TRANSFER needs a target (window page); vendor keys are recorded only
}

func (s *Service) reasons(bits byte) []string {
	var out []string
	for i, r := range s.cfg.Reasons() {
		if i < 8 && bits&(1<<i) != 0 {
			out = append(out, r)
		}
	}
	return out
}

// Run keeps every pad's screen in step with its window, following the journal.
func (s *Service) Run(ctx context.Context) {
	if len(s.sink) == 0 {
		return
	}
	for {
		changed := s.j.Changed()
		s.push(ctx)
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

func (s *Service) push(ctx context.Context) {
	v, err := s.eng.Query(ctx, func(st *hall.State) any {
		out := map[string]padbus.Display{}
		for pad, win := range s.window {
			if _, ok := s.cfg.Window(win); ok {
				out[pad] = Screen(s.cfg, st, win)
			}
		}
		return out
	})
	if err != nil {
		return
	}
	for pad, d := range v.(map[string]padbus.Display) {
		if b, ok := s.sink[pad]; ok {
			b.SetDisplay(pad, s.Fit(pad, d))
		}
	}
}

// Truncations counts the pad screens whose text had to be cut to fit HPAD-1
// (a string is at most 255 bytes: about 85 Chinese characters): each
// distinct screen once per pad, not once per push.
func (s *Service) Truncations() uint64 { return s.truncated.Load() }

// Fit returns d as a pad can show it: any text longer than HPAD-1 carries is
// cut on a character boundary (hpad.FitPayload), so the screen always
// encodes and the pad keeps being polled. A new cut is counted and logged,
// at most once per TruncationLogEvery for a pad.
func (s *Service) Fit(pad string, d padbus.Display) padbus.Display {
	var cut []string
	var c []string
	orig := d
	if d.Staff, c = hpad.FitPayload(d.Staff); c != nil {
		cut = append(cut, c...)
	}
	if d.Ticket, c = hpad.FitPayload(d.Ticket); c != nil {
		cut = append(cut, c...)
	}
	if d.Prompt, c = hpad.FitPayload(d.Prompt); c != nil {
		cut = append(cut, c...)
	}
	if len(cut) == 0 {
		return d
	}
	s.cutMu.Lock()
	defer s.cutMu.Unlock()
	cs, ok := s.cut[pad]
	if ok && cs.screen == orig {
		return d // counted already
	}
	if !ok {
		cs = &cutState{}
		s.cut[pad] = cs
	}
	cs.screen = orig
	s.truncated.Add(1)
	now := s.now()
	if !cs.logged.IsZero() && now.Sub(cs.logged) < TruncationLogEvery {
		cs.suppressed++
		return d
	}
	if s.log != nil {
		s.log.Warn("pad screen text too long for HPAD-1; cut to fit", "pad", pad, "window", s.window[pad],
			"fields", strings.Join(cut, ","), "prompt", d.Prompt.Text, "more_since_last_log", cs.suppressed)
	}
	cs.logged, cs.suppressed = now, 0
	return d
}

// Screen is what the pad of window win should show now. It runs for every
// pad after every commit, on the engine's goroutine, so it must cost no more
// than the window itself: no queue (a bench with 200 pads spent 65% of
// halld's CPU building 200 queues of the day's tickets per commit).
func Screen(cfg *config.Config, st *hall.State, win string) padbus.Display {
	wv := hall.WindowHead(cfg, st, win)
	var d padbus.Display
	if wv.Staff != nil {
		d.Staff = hpad.SetStaff{StaffID: wv.Staff.ID, Name: wv.Staff.Name, Title: wv.Staff.Title, Window: wv.Name}
	}
	switch {
	case wv.Status == hall.WindowClosed:
		d.State = hpad.SetState{State: hpad.StateOff}
	case wv.Status == hall.WindowPaused:
		d.State = hpad.SetState{State: hpad.StatePaused}
		text := "暂停服务 · " + wv.Paused.Reason
		if wv.Paused.Until != nil {
			text += " · 预计 " + time.Time(*wv.Paused.Until).Format("15:04") + " 回来"
		}
		d.Prompt = hpad.Prompt{Text: text}
	case wv.Current != nil:
		d.Ticket = hpad.SetTicket{TicketNo: wv.Current.Number, Business: wv.Current.ServiceName, Visit: wv.Current.Visit}
		d.State = hpad.SetState{State: hpad.StateServing}
	case wv.Awaiting != 0:
		if t, ok := st.Tickets[st.Visits[wv.Awaiting]]; ok {
			d.Ticket = hpad.SetTicket{TicketNo: t.Number, Business: t.ServiceName, Visit: wv.Awaiting}
			d.State = hpad.SetState{State: hpad.StateRate, TimeoutS: byte(min(cfg.RatingTimeoutDuration()/time.Second, 255))}
			break
		}
		d.State = hpad.SetState{State: hpad.StateIdle}
	default:
		d.State = hpad.SetState{State: hpad.StateIdle}
	}
	return d
}

// Label is a pad's place on its line, for the monitor ("line-1#3").
func Label(line string, addr int) string { return line + "#" + strconv.Itoa(addr) }
