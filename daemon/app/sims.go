package app

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"halld/daemon/config"
	"halld/drivers/escpos"
	"halld/drivers/escpos/escpossim"
	"halld/drivers/serialport"
	"halld/drivers/vport"
)

// Sims holds the built-in simulators of devices declared `simulate: true`.
// Each sits behind a real pty, so the driver talks to it through
// go.bug.st/serial exactly as it would to hardware.
type Sims struct {
	mu       sync.Mutex
	ports    map[string]*vport.Port
	printers map[string]*escpossim.Simulator
}

// specFor returns the port spec for a device, starting its simulator first
// when it is simulated.
func (s *Sims) specFor(d *config.Device, dir string, prof escpos.Profile) (serialport.Spec, error) {
	spec := serialport.Spec{Baud: 115200}
	if d.Serial != nil {
		spec.Path = d.Serial.Port
		if d.Serial.Baud > 0 {
			spec.Baud = d.Serial.Baud
		}
		if u := d.Serial.USB; u != nil {
			spec.USB = &serialport.USB{VID: u.VID, PID: u.PID, Serial: u.Serial}
		}
	}
	if !d.Simulate {
		return spec, nil
	}
	simDir := filepath.Join(dir, "sim")
	if err := os.MkdirAll(simDir, 0o750); err != nil {
		return spec, fmt.Errorf("simulator dir: %w", err)
	}
	sim := escpossim.New(prof)
	vp, err := vport.New(filepath.Join(simDir, d.ID), sim.Serve)
	if err != nil {
		return spec, fmt.Errorf("device %s: simulator: %w", d.ID, err)
	}
	s.mu.Lock()
	if s.ports == nil {
		s.ports, s.printers = map[string]*vport.Port{}, map[string]*escpossim.Simulator{}
	}
	s.ports[d.ID], s.printers[d.ID] = vp, sim
	s.mu.Unlock()
	spec.Path, spec.USB = vp.Path(), nil
	return spec, nil
}

// Printer returns a simulated printer (tests read what it printed).
func (s *Sims) Printer(id string) (*escpossim.Simulator, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.printers[id]
	return p, ok
}

// Port returns a simulated device's port (tests unplug it).
func (s *Sims) Port(id string) (*vport.Port, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.ports[id]
	return p, ok
}

// Simulate applies a demo action from the monitor page.
func (s *Sims) Simulate(id, action string) error {
	s.mu.Lock()
	port, ok := s.ports[id]
	pr := s.printers[id]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("设备 %s 不是模拟设备", id)
	}
	switch action {
	case "unplug":
		port.Unplug()
		return nil
	case "replug":
		return port.Replug()
	}
	if pr == nil {
		return fmt.Errorf("设备 %s 不支持操作 %q", id, action)
	}
	switch action {
	case "paper_near_end":
		pr.SetPaper(escpos.PaperNearEnd)
	case "paper_end":
		pr.SetPaper(escpos.PaperEnd)
	case "paper_ok":
		pr.SetPaper(escpos.PaperOK)
	case "cover_open":
		pr.SetCoverOpen(true)
	case "cover_close":
		pr.SetCoverOpen(false)
	default:
		return fmt.Errorf("未知的模拟操作 %q（可用：paper_near_end, paper_end, paper_ok, cover_open, cover_close, unplug, replug）", action)
	}
	return nil
}

// Close unplugs every simulator.
func (s *Sims) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.ports {
		p.Close()
	}
}
