package hall

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"halld/daemon/config"
)

// KindPeakLoad is the peak-load alert of a service: more waiting per
// serving window, or a longer wait, than the hall's thresholds
// (hall.peak_load; a service's max_wait_minutes for its longest wait). It
// names the windows that could take the load. It replaces the earlier
// wait_over_limit alert (the longest wait alone), whose open alerts the
// next Tick clears.
const KindPeakLoad = "peak_load"

// PeakAlertID is the id of a service's peak-load alert.
func PeakAlertID(service string) string { return "peak-" + service }

// peak is a service's load now.
type peak struct {
	svc       *config.Service
	waiting   int
	windows   int           // open windows that can call it (serving it, or covering as AB backup)
	longest   time.Duration // the longest wait of a waiting ticket
	perWindow int           // threshold
	limit     time.Duration // threshold
	clearPct  int
	// helpers are the windows that could take the load: those serving the
	// service that are paused or not open, and the AB posts of those serving
	// it (not whether an open one is idle this second: the text would change
	// at every call).
	helpers []string
}

// over: the load passes a threshold (raise).
func (p peak) over() bool {
	return p.waiting > p.perWindow*max(p.windows, 1) || p.longest > p.limit
}

// cleared: the load is at or below ClearPercent of both thresholds.
func (p peak) cleared() bool {
	return p.waiting*100 <= p.perWindow*max(p.windows, 1)*p.clearPct &&
		p.longest*100 <= p.limit*time.Duration(p.clearPct)
}

func (p peak) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s 等候 %d 人", p.svc.Name, p.waiting)
	if p.windows > 0 {
		fmt.Fprintf(&b, "，%d 个窗口在办（每窗 %.1f 人）", p.windows, float64(p.waiting)/float64(p.windows))
	} else {
		b.WriteString("，没有窗口在办")
	}
	fmt.Fprintf(&b, "，最长已等 %d 分钟", int(p.longest.Minutes()))
	return b.String()
}

func (p peak) message() string {
	msg := p.text() + "（阈值：每窗 " + fmt.Sprint(p.perWindow) + " 人、等候 " + fmt.Sprint(int(p.limit.Minutes())) + " 分钟）"
	if len(p.helpers) > 0 {
		msg += "。可调配：" + strings.Join(p.helpers, "、")
	} else {
		msg += "。没有可调配的窗口，请安排跨窗通办或增派人员"
	}
	return clip(msg, MaxAlertMessage)
}

// waitedSince is when a waiting ticket began to wait: an appointment from
// its slot, everyone else from the issue.
func waitedSince(t *Ticket) time.Time {
	at := time.Time(t.IssuedAt)
	if t.SlotStart != nil && time.Time(*t.SlotStart).After(at) {
		at = time.Time(*t.SlotStart)
	}
	return at
}

func peakOf(cfg *config.Config, st *State, svc *config.Service, now time.Time) peak {
	p := peak{svc: svc}
	p.perWindow, p.limit, p.clearPct = cfg.PeakThresholds(svc)
	if st.Day == st.Today(cfg, now) {
		for _, id := range st.Order {
			t := st.Tickets[id]
			if t.Service != svc.ID || t.Status != StatusWaiting {
				continue
			}
			p.waiting++
			if w := now.Sub(waitedSince(t)); w > p.longest {
				p.longest = w
			}
		}
	}
	var helpers []string
	for i := range cfg.Windows {
		wc := &cfg.Windows[i]
		w := st.window(wc.ID)
		backupOf, covering := "", false // a window serving the service whose AB post this is; whether it is not open
		for j := range cfg.Windows {
			if o := &cfg.Windows[j]; o.Backup == wc.ID && serves(o, svc.ID) {
				backupOf = o.Name
				if st.window(o.ID).Status != WindowOpen {
					covering = true
				}
			}
		}
		switch {
		case w.Status == WindowOpen && (serves(wc, svc.ID) || covering):
			// Serving it, or calling its queue as the AB post of a window not open.
			p.windows++
		case serves(wc, svc.ID) && w.Status == WindowPaused:
			helpers = append(helpers, wc.Name+"（暂停中）")
		case serves(wc, svc.ID):
			helpers = append(helpers, wc.Name+"（未开）")
		case backupOf != "" && w.Status == WindowOpen:
			// The AB post calls its A window's queue only while A is not open.
			helpers = append(helpers, wc.Name+"（"+backupOf+"的 AB 岗）")
		}
	}
	p.helpers = helpers
	return p
}

// peakAlerts keeps one peak-load alert per service in step with its load:
// raised when it passes a threshold, its text renewed when the windows
// that could help change, cleared once it falls to the clear level.
func peakAlerts(cfg *config.Config, st *State, now time.Time) []Emit {
	var out []Emit
	for i := range cfg.Services {
		svc := &cfg.Services[i]
		if old := "wait-" + svc.ID; st.Alerts[old] != nil && st.Alerts[old].Kind == "wait_over_limit" {
			out = append(out, Emit{TypeAlertCleared, &AlertCleared{AlertID: old, Reason: "replaced"}})
		}
		id := PeakAlertID(svc.ID)
		open, isOpen := st.Alerts[id]
		p := peakOf(cfg, st, svc, now)
		switch {
		case !isOpen && p.over():
			sev := "warning"
			if p.waiting > 2*p.perWindow*max(p.windows, 1) || p.longest > 2*p.limit {
				sev = "critical"
			}
			out = append(out, Emit{TypeAlertRaised, &Alert{AlertID: id, Kind: KindPeakLoad, Severity: sev,
				Service: svc.ID, Message: p.message()}})
		case isOpen && p.cleared():
			out = append(out, Emit{TypeAlertCleared, &AlertCleared{AlertID: id, Reason: "load_fell"}})
		case isOpen && peakKey(open.Message) != peakKey(p.message()):
			out = append(out, Emit{TypeAlertUpdated, &AlertUpdated{AlertID: id, Message: p.message()}})
		}
	}
	return out
}

// peakKey is the part of a peak-load message that renews it: how many
// windows serve the queue and which could help (not the counts, which
// change at every ticket).
func peakKey(msg string) string {
	key := ""
	if m := windowsRE.FindString(msg); m != "" {
		key = m
	}
	if i := strings.LastIndex(msg, "。"); i >= 0 {
		key += msg[i:]
	}
	return key
}

var windowsRE = regexp.MustCompile(`[0-9]+ 个窗口在办|没有窗口在办`)
