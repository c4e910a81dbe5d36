package config

import "time"

// PeakLoad is hall.peak_load: when a service's queue is a peak the supervisors must act on (open a
// window, call in the AB post). A service is at a peak when more than WaitingPerWindow wait for each
// window serving it, or someone has waited longer than LongestWait (the service's max_wait_minutes,
// when set, instead). The alert clears once both have fallen to ClearPercent of their thresholds, so
// a queue hovering at the threshold does not raise and clear it every few seconds.
type PeakLoad struct {
	WaitingPerWindow int    `yaml:"waiting_per_window" min:"1" max:"1000" default:"10" doc:"Peak-load alert when more than this many wait for each staffed window that serves the service (default 10)."`
	LongestWait      string `yaml:"longest_wait" format:"duration" default:"30m" doc:"Peak-load alert when someone has waited longer than this (default 30m); a service's max_wait_minutes overrides it."`
	ClearPercent     int    `yaml:"clear_percent" min:"10" max:"100" default:"80" doc:"The alert clears once the waiting per window and the longest wait are both at or below this percentage of their thresholds (default 80)."`
}

// PeakThresholds returns the peak-load thresholds of a service: waiting per window, longest wait, and
// the percentage both must fall to before the alert clears. Unset values (a Config built in code) take
// the defaults.
func (c *Config) PeakThresholds(svc *Service) (perWindow int, longest time.Duration, clearPct int) {
	p := c.Hall.PeakLoad
	perWindow, clearPct = p.WaitingPerWindow, p.ClearPercent
	if perWindow <= 0 {
		perWindow = 10
	}
	if clearPct <= 0 || clearPct > 100 {
		clearPct = 80
	}
	longest = 30 * time.Minute
	if d, err := time.ParseDuration(p.LongestWait); err == nil && d > 0 {
		longest = d
	}
	if svc != nil && svc.MaxWaitMinutes > 0 {
		longest = time.Duration(svc.MaxWaitMinutes) * time.Minute
	}
	return
}
