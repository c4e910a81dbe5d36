package hall

import (
	"strconv"
	"time"

	"halld/daemon/config"
)

// View is the whole hall as pages and the snapshot API see it.
type View struct {
	Hall     HallView      `json:"hall"`
	Services []ServiceView `json:"services"`
	Tickets  []*Ticket     `json:"tickets"`
	Devices  []DeviceView  `json:"devices"`
}

// HallView is the hall's identity and whether it is open now.
type HallView struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Hotline          string `json:"hotline"`
	SupervisionPhone string `json:"supervision_phone,omitempty"`
	Open             bool   `json:"open"`
	Day              string `json:"day"`
	Now              Stamp  `json:"now"`
}

// ServiceView is a service with its guide (一次性告知) and live queue.
type ServiceView struct {
	ID                string   `json:"id"`
	Prefix            string   `json:"prefix"`
	Name              string   `json:"name"`
	NameEn            string   `json:"name_en,omitempty"`
	Area              string   `json:"area"`
	AreaName          string   `json:"area_name,omitempty"`
	Materials         []string `json:"materials"`
	Conditions        string   `json:"conditions,omitempty"`
	PromisedTime      string   `json:"promised_time,omitempty"`
	Tolerance         string   `json:"tolerance,omitempty"`
	AvgServiceMinutes int      `json:"avg_service_minutes"`
	Windows           []string `json:"windows"`
	Waiting           int      `json:"waiting"`
	Open              bool     `json:"open"`
	CapLeft           *int     `json:"cap_left"`
}

// DeviceView is a device's recorded state.
type DeviceView struct {
	ID       string         `json:"id"`
	Kind     string         `json:"kind"`
	Area     string         `json:"area"`
	AreaName string         `json:"area_name,omitempty"`
	State    string         `json:"state"`
	Detail   map[string]any `json:"detail,omitempty"`
	Reason   string         `json:"reason,omitempty"`
	Since    *Stamp         `json:"since"`
}

// MakeView renders the state for people at time now.
func MakeView(cfg *config.Config, st *State, now time.Time) View {
	day := cfg.Day(now)
	v := View{
		Hall: HallView{ID: cfg.Hall.ID, Name: cfg.Hall.Name, Hotline: cfg.Hall.Hotline,
			SupervisionPhone: cfg.Hall.SupervisionPhone, Open: cfg.IsOpen(now), Day: day, Now: Stamp(now.In(cfg.Location))},
		Tickets: st.TicketsOf(day),
	}
	if v.Tickets == nil {
		v.Tickets = []*Ticket{}
	}
	waiting := map[string]int{}
	if st.Day == day {
		waiting = st.Waiting()
	}
	for i := range cfg.Services {
		s := &cfg.Services[i]
		sv := ServiceView{ID: s.ID, Prefix: s.Prefix, Name: s.Name, NameEn: s.NameEn, Area: s.Area, AreaName: AreaName(cfg, s.Area),
			Materials: s.Materials, Conditions: s.Conditions, PromisedTime: s.PromisedTime, Tolerance: s.Tolerance,
			AvgServiceMinutes: s.AvgServiceMinutes, Windows: WindowsFor(cfg, s.ID), Waiting: waiting[s.ID],
			Open: ServiceOpen(cfg, s, now)}
		if sv.Materials == nil {
			sv.Materials = []string{}
		}
		if s.DailyCap > 0 {
			left := s.DailyCap
			if st.Day == day {
				left -= st.Counters[s.ID]
			}
			left = max(left, 0)
			sv.CapLeft = &left
		}
		v.Services = append(v.Services, sv)
	}
	for _, d := range cfg.Devices {
		dv := DeviceView{ID: d.ID, Kind: d.Kind, Area: d.Area, AreaName: AreaName(cfg, d.Area), State: "unknown"}
		if rec, ok := st.Devices[d.ID]; ok {
			since := Stamp(rec.Since.In(cfg.Location))
			dv.State, dv.Detail, dv.Reason, dv.Since = rec.State, rec.Detail, rec.Reason, &since
		}
		v.Devices = append(v.Devices, dv)
	}
	return v
}

// AreaName is the area's name for people ("" when unknown).
func AreaName(cfg *config.Config, id string) string {
	for _, a := range cfg.Areas {
		if a.ID == id {
			return a.Name
		}
	}
	return ""
}

// WindowsFor names the windows that serve a service ("3号窗口").
func WindowsFor(cfg *config.Config, service string) []string {
	out := []string{}
	for _, w := range cfg.Windows {
		for _, ws := range w.Services {
			if ws.Service == service {
				out = append(out, windowLabel(w))
				break
			}
		}
	}
	return out
}

func windowLabel(w config.Window) string {
	if w.Number > 0 {
		return strconv.Itoa(w.Number) + "号窗口"
	}
	return w.Name
}

// EstimatedWait is a plain estimate: people ahead × average service time,
// shared among the windows serving the service.
func EstimatedWait(cfg *config.Config, service string, ahead int) int {
	svc, ok := cfg.Service(service)
	if !ok {
		return 0
	}
	windows := max(len(WindowsFor(cfg, service)), 1)
	return (ahead*svc.AvgServiceMinutes + windows - 1) / windows
}
