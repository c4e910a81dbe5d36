package config

import (
	"strings"
	"testing"
	"time"
)

// hall.peak_load: hall-practice defaults, a service's max_wait_minutes for
// its longest wait, and values halld check refuses naming the field.
func TestPeakLoad(t *testing.T) {
	cfg := wantErrs(t, hallHead+"services:\n  - {id: a, prefix: A, name: A}\n  - {id: b, prefix: B, name: B, max_wait_minutes: 20}\n")
	if n, d, c := cfg.PeakThresholds(&cfg.Services[0]); n != 10 || d != 30*time.Minute || c != 80 {
		t.Errorf("defaults: %d %v %d", n, d, c)
	}
	if _, d, _ := cfg.PeakThresholds(&cfg.Services[1]); d != 20*time.Minute {
		t.Errorf("max_wait_minutes: %v", d)
	}
	for _, c := range []struct{ yaml, want string }{
		{"  peak_load: {longest_wait: 10s}\n", "hall.peak_load.longest_wait"},
		{"  peak_load: {longest_wait: 30}\n", "hall.peak_load.longest_wait"},
		{"  peak_load: {waiting_per_window: 0}\n", "hall.peak_load.waiting_per_window"},
		{"  peak_load: {clear_percent: 120}\n", "hall.peak_load.clear_percent"},
		{"  peak_load: {waiting_per_windows: 5}\n", "waiting_per_windows"},
	} {
		_, err := Parse("t.yaml", []byte(hallHead+c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s", strings.TrimSpace(c.yaml), err, c.want)
		}
	}
}
