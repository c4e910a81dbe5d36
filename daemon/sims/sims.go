// Package sims holds the demo's built-in simulators of devices declared
// `simulate: true`: each sits behind a real pty, so the driver talks to it
// through go.bug.st/serial exactly as it would to hardware. The monitor
// page's demo actions and the tests drive them through a Set.
package sims

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"halld/daemon/config"
	"halld/drivers/escpos"
	"halld/drivers/escpos/escpossim"
	"halld/drivers/hpad"
	"halld/drivers/hpad/hpadsim"
	"halld/drivers/hpad/padbus"
	"halld/drivers/idcard"
	"halld/drivers/idcard/idcardsim"
	"halld/drivers/linedev"
	"halld/drivers/linedev/linesim"
	"halld/drivers/serialport"
	"halld/drivers/terminal/termsim"
	"halld/drivers/vport"
)

// Terminals finds the simulated self-service terminals (they live with the
// hall broker, which starts them).
type Terminals interface {
	Sim(id string) (*termsim.Terminal, bool)
}

// Set holds the simulators of one hall. The zero value is ready to use.
type Set struct {
	mu       sync.Mutex
	ports    map[string]*vport.Port
	printers map[string]*escpossim.Simulator
	lines    map[string]*hpadsim.Bus
	pads     map[string]*hpadsim.Pad
	liners   map[string]*linesim.Device
	readers  map[string]*idcardsim.Reader
	terms    Terminals // simulated terminals live with the hall broker
}

// spec returns the port spec of a serial device.
func spec(d *config.Device) serialport.Spec {
	sp := serialport.Spec{Baud: config.DefaultBaud(d.Kind)}
	if d.Serial != nil {
		sp.Path = d.Serial.Port
		if d.Serial.Baud > 0 {
			sp.Baud = d.Serial.Baud
		}
		if u := d.Serial.USB; u != nil {
			sp.USB = &serialport.USB{VID: u.VID, PID: u.PID, Serial: u.Serial}
		}
	}
	return sp
}

// attach starts serve behind a pty for a simulated device and returns the
// spec that reaches it; for a real device it returns the configured spec.
func (s *Set) attach(d *config.Device, dir string, serve vport.ServeFunc) (serialport.Spec, error) {
	sp := spec(d)
	if !d.Simulate {
		return sp, nil
	}
	simDir := filepath.Join(dir, "sim")
	if err := os.MkdirAll(simDir, 0o750); err != nil {
		return sp, fmt.Errorf("simulator dir: %w", err)
	}
	vp, err := vport.New(filepath.Join(simDir, d.ID), serve)
	if err != nil {
		return sp, fmt.Errorf("device %s: simulator: %w", d.ID, err)
	}
	s.mu.Lock()
	if s.ports == nil {
		s.ports, s.printers, s.lines, s.pads = map[string]*vport.Port{}, map[string]*escpossim.Simulator{}, map[string]*hpadsim.Bus{}, map[string]*hpadsim.Pad{}
		s.liners, s.readers = map[string]*linesim.Device{}, map[string]*idcardsim.Reader{}
	}
	s.ports[d.ID] = vp
	s.mu.Unlock()
	sp.Path, sp.USB = vp.Path(), nil
	return sp, nil
}

// AttachPrinter attaches a simulated ESC/POS printer.
func (s *Set) AttachPrinter(d *config.Device, dir string, prof escpos.Profile) (serialport.Spec, error) {
	if !d.Simulate {
		return spec(d), nil
	}
	sim := escpossim.New(prof)
	sp, err := s.attach(d, dir, sim.Serve)
	if err == nil {
		s.mu.Lock()
		s.printers[d.ID] = sim
		s.mu.Unlock()
	}
	return sp, err
}

// AttachLine attaches a simulated RS-485 line with its pads.
func (s *Set) AttachLine(d *config.Device, dir string, pads []padbus.Pad) (serialport.Spec, error) {
	if !d.Simulate {
		return spec(d), nil
	}
	bus := hpadsim.NewBus()
	sp, err := s.attach(d, dir, bus.Serve)
	if err != nil {
		return sp, err
	}
	s.mu.Lock()
	s.lines[d.ID] = bus
	for _, p := range pads {
		s.pads[p.ID] = bus.AddPad(p.Addr, hpadsim.PadInfo{Model: "HPAD-SIM", FW: "1.0", Serial: p.ID})
	}
	s.mu.Unlock()
	return sp, nil
}

// AttachLineDevice attaches a simulated scanner or line device.
func (s *Set) AttachLineDevice(d *config.Device, dir string, o linedev.Options) (serialport.Spec, error) {
	if !d.Simulate {
		return spec(d), nil
	}
	sim, err := linesim.New(o)
	if err != nil {
		return spec(d), err
	}
	sp, err := s.attach(d, dir, sim.Serve)
	if err == nil {
		s.mu.Lock()
		s.liners[d.ID] = sim
		s.mu.Unlock()
	}
	return sp, err
}

// AttachIDReader attaches a simulated ID card reader.
func (s *Set) AttachIDReader(d *config.Device, dir string) (serialport.Spec, error) {
	if !d.Simulate {
		return spec(d), nil
	}
	sim := idcardsim.New()
	sp, err := s.attach(d, dir, sim.Serve)
	if err == nil {
		s.mu.Lock()
		s.readers[d.ID] = sim
		s.mu.Unlock()
	}
	return sp, err
}

// Reader returns a simulated ID card reader (tests place cards on it).
func (s *Set) Reader(id string) (*idcardsim.Reader, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.readers[id]
	return r, ok
}

// DemoCard is a made-up card for the demo and tests: "resident" (aged 36),
// "elder" (aged 76, green channel), "expired", "foreigner" (2023 card).
func DemoCard(which string) (idcard.Card, bool) {
	samples := idcardsim.Samples()
	switch which {
	case "resident":
		return samples[0], true
	case "foreigner":
		return samples[3], true
	case "elder", "expired":
		c := samples[0]
		c.Name, c.Birth = "李桂兰", idcard.Date(1950, 1, 1)
		c.Sex = idcard.SexFemale
		first17 := "43010219500101122" // 17th digit even: female
		chk, _ := idcard.CheckChar(first17)
		c.Number = first17 + string(chk)
		if which == "expired" {
			c.ValidFrom, c.ValidTo = idcard.Date(2000, 1, 1), idcard.Date(2020, 1, 1)
		}
		return c, true
	}
	return idcard.Card{}, false
}

// Liner returns a simulated scanner or line device (tests scan with it).
func (s *Set) Liner(id string) (*linesim.Device, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.liners[id]
	return l, ok
}

// Pad returns a simulated pad (tests press it).
func (s *Set) Pad(id string) (*hpadsim.Pad, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pads[id]
	return p, ok
}

// Printer returns a simulated printer (tests read what it printed).
func (s *Set) Printer(id string) (*escpossim.Simulator, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.printers[id]
	return p, ok
}

// Port returns a simulated device's port (tests unplug it).
func (s *Set) Port(id string) (*vport.Port, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.ports[id]
	return p, ok
}

// Simulate applies a demo action from the monitor page.
func (s *Set) Simulate(id, action, text string) error {
	s.mu.Lock()
	port, ok := s.ports[id]
	pr := s.printers[id]
	pad := s.pads[id]
	liner := s.liners[id]
	reader := s.readers[id]
	terms := s.terms
	s.mu.Unlock()
	if pad != nil {
		return simulatePad(pad, action)
	}
	if terms != nil {
		if t, ok := terms.Sim(id); ok {
			return simulateTerminal(t, action)
		}
	}
	if reader != nil && action != "unplug" && action != "replug" {
		return simulateReader(reader, action)
	}
	if liner != nil && action == "send" {
		if text == "" {
			return fmt.Errorf("请给出要扫描或发送的内容（text）")
		}
		return liner.Send(text)
	}
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

// SetTerminals tells the set where the simulated terminals are.
func (s *Set) SetTerminals(t Terminals) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.terms = t
}

// Close unplugs every simulator.
func (s *Set) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.ports {
		p.Close()
	}
}

// Pad actions for the demo: a citizen's press, a staff key.
var padKeys = map[string]byte{"key_call_next": hpad.KeyCallNext, "key_recall": hpad.KeyRecall, "key_pause": hpad.KeyPause,
	"key_resume": hpad.KeyResume, "key_finish": hpad.KeyFinish, "key_no_show": hpad.KeyNoShow, "key_sign": hpad.KeySignInOut}

func simulatePad(p *hpadsim.Pad, action string) error {
	if k, ok := padKeys[action]; ok {
		p.Key(k)
		return nil
	}
	if v, ok := strings.CutPrefix(action, "rate_"); ok && len(v) == 1 && v[0] >= '1' && v[0] <= '5' {
		value := v[0] - '0'
		var reasons byte
		if value <= 2 {
			reasons = 1 // 等候时间长: a 差评 needs a reason
		}
		if err := p.Press(value, reasons); err != nil {
			return fmt.Errorf("评价器现在不在“请评价”状态：%v", err)
		}
		return nil
	}
	if action == "power_cycle" {
		p.PowerCycle()
		return nil
	}
	return fmt.Errorf("未知的评价器操作 %q（可用：rate_1…rate_5, key_call_next, key_recall, key_pause, key_resume, key_finish, key_no_show, key_sign, power_cycle）", action)
}

func simulateReader(r *idcardsim.Reader, action string) error {
	if action == "remove" {
		r.Remove()
		return nil
	}
	if which, ok := strings.CutPrefix(action, "place_"); ok {
		if c, ok := DemoCard(which); ok {
			return r.Place(c)
		}
	}
	return fmt.Errorf("未知的读卡器操作 %q（可用：place_resident, place_elder, place_expired, place_foreigner, remove）", action)
}

// simulateTerminal applies a demo action to a simulated terminal.
func simulateTerminal(s *termsim.Terminal, action string) error {
	switch action {
	case "door_open", "door_close":
		s.SetDoor(action == "door_open")
	case "printer_fault", "printer_paper_low", "printer_ok":
		s.SetPeripheral("printer", map[string]string{"printer_fault": "fault", "printer_paper_low": "paper_low", "printer_ok": "ok"}[action])
	case "card_reader_fault", "card_reader_ok":
		s.SetPeripheral("card_reader", map[string]string{"card_reader_fault": "fault", "card_reader_ok": "ok"}[action])
	case "fault":
		_, err := s.Fault("E101", "出纸口卡纸")
		return err
	case "silence", "speak":
		s.Silence(action == "silence")
	default:
		return fmt.Errorf("未知的终端操作 %q（可用：door_open, door_close, printer_fault, printer_paper_low, printer_ok, card_reader_fault, card_reader_ok, fault, silence, speak）", action)
	}
	return nil
}
