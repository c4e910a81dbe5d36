package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"halld/daemon/config"
	"halld/daemon/engine"
	"halld/daemon/hall"
	"halld/daemon/kiosks"
	"halld/daemon/pads"
	"halld/daemon/printing"
	"halld/daemon/supervisor"
	"halld/drivers/device"
	"halld/drivers/escpos"
	"halld/drivers/escpos/printer"
	"halld/drivers/hpad/padbus"
	"halld/drivers/idcard"
	"halld/drivers/idcard/reader"
	"halld/drivers/linedev"
	"halld/drivers/linedev/lineport"
)

// deviceKind is how halld builds one kind of device: a new kind is its
// driver package plus one entry in deviceKinds.
type deviceKind struct {
	// check refuses, before anything starts, what config.Load cannot know
	// (a printer profile the driver lacks); nil: nothing to check.
	check func(d *config.Device) error
	// build makes the device's driver, not yet started; nil, or a nil
	// result, when the device is run by something else (a pad by its
	// line or the hall broker, a terminal by the hall broker, a kiosk by
	// hall-kiosk).
	build func(b *builder, d *config.Device) (*supervisor.Device, error)
	// personal: the device's bytes are names, ID numbers, photos, booking
	// codes, so a hex trace on disk would be a copy of personal data.
	personal bool
}

var deviceKinds = map[string]deviceKind{
	config.KindTicketPrinter: {check: checkPrinter, build: buildPrinter},
	config.KindBus:           {build: buildLine},
	config.KindEvalPad:       {build: buildSerialPad},
	config.KindScanner:       {build: buildLineDevice, personal: true},
	config.KindLine:          {build: buildLineDevice},
	config.KindIDReader:      {build: buildIDReader, personal: true},
	config.KindTerminal:      {}, // on the hall broker (daemon/hallbroker)
	config.KindKiosk:         {}, // hall-kiosk talks to the web API
}

// Check refuses what Run would refuse of a loaded configuration before
// starting anything (its devices' kind checks): `halld check` runs it, so
// "ok" there means Run takes the file.
func Check(cfg *config.Config) error { return checkDevices(cfg) }

// checkDevices runs every device's kind check.
func checkDevices(cfg *config.Config) error {
	for i := range cfg.Devices {
		d := &cfg.Devices[i]
		k, ok := deviceKinds[d.Kind]
		if !ok {
			return fmt.Errorf("device %s: halld cannot run kind %q", d.ID, d.Kind)
		}
		if k.check != nil {
			if err := k.check(d); err != nil {
				return err
			}
		}
	}
	return nil
}

// builder is what the device constructors share.
type builder struct {
	a        *App
	log      *slog.Logger
	dir      string
	eng      *engine.Engine
	sup      *supervisor.Supervisor
	pads     *pads.Service
	printers []printing.Printer
}

// buildDevices makes every device's driver (none started), in the order of
// the config: the supervisor starts them once what their events reach
// exists.
func (b *builder) buildDevices(cfg *config.Config) ([]supervisor.Device, error) {
	var starts []supervisor.Device
	for i := range cfg.Devices {
		d := &cfg.Devices[i]
		k := deviceKinds[d.Kind]
		if k.personal {
			b.a.Trace.Forbid(d.ID, "设备数据含个人信息（身份证、扫码内容），不允许 hex 跟踪")
		}
		if d.Serial != nil && d.Serial.Trace {
			if err := b.a.Trace.Set(d.ID, true); err != nil {
				b.log.Warn("trace refused", "device", d.ID, "err", err)
			}
		}
		if k.build == nil {
			continue
		}
		sd, err := k.build(b, d)
		if err != nil {
			return nil, err
		}
		if sd != nil {
			starts = append(starts, *sd)
		}
	}
	return starts, nil
}

func checkPrinter(d *config.Device) error {
	_, err := printerProfile(d)
	return err
}

func buildPrinter(b *builder, d *config.Device) (*supervisor.Device, error) {
	prof, err := printerProfile(d)
	if err != nil {
		return nil, err
	}
	spec, err := b.a.Sims.AttachPrinter(d, b.dir, prof)
	if err != nil {
		return nil, err
	}
	p := printer.New(d.ID, prof, printer.Options{PollInterval: d.Printer.PollIntervalDuration()})
	b.a.Printers[d.ID] = p
	b.printers = append(b.printers, p)
	return &supervisor.Device{ID: d.ID, Kind: d.Kind, Area: d.Area, Spec: spec, Driver: p, Simulated: d.Simulate}, nil
}

// buildSerialPad: a pad on its own serial link is a line of one; a pad on a
// bus is built by its line, a networked one by the hall broker.
func buildSerialPad(b *builder, d *config.Device) (*supervisor.Device, error) {
	if d.Serial == nil || d.Bus != "" {
		return nil, nil
	}
	return buildLine(b, d)
}

// buildLine builds an RS-485 line with its pads (or a point-to-point pad).
func buildLine(b *builder, d *config.Device) (*supervisor.Device, error) {
	linePads := b.pads.Pads(d.ID)
	spec, err := b.a.Sims.AttachLine(d, b.dir, linePads)
	if err != nil {
		return nil, err
	}
	if d.Kind == config.KindBus {
		for _, p := range linePads {
			pd, _ := b.a.Config.Device(p.ID)
			b.sup.Register(p.ID, pd.Kind, pd.Area, pads.Label(d.ID, int(p.Addr)), d.Simulate)
		}
	}
	sup := b.sup
	bus := padbus.New(d.ID, linePads, b.pads.Handle, func(id string, r device.Report) { sup.Report(id, r) }, padbus.Options{})
	b.pads.Attach(d.ID, bus)
	b.a.Lines[d.ID] = bus
	return &supervisor.Device{ID: d.ID, Kind: d.Kind, Area: d.Area, Spec: spec, Driver: bus, Simulated: d.Simulate}, nil
}

// buildLineDevice builds a scanner (its scans go to its kiosk, never the
// journal: they may carry personal data) or a line device (every line a
// durable event).
func buildLineDevice(b *builder, d *config.Device) (*supervisor.Device, error) {
	opts := lineOptions(d)
	spec, err := b.a.Sims.AttachLineDevice(d, b.dir, opts.Options)
	if err != nil {
		return nil, err
	}
	id, eng, a := d.ID, b.eng, b.a
	// Every line read together shares one group commit (SubmitAll).
	handle := func(lines []string) []error {
		cmds := make([]any, len(lines))
		for i, l := range lines {
			cmds[i] = hall.RecordLine{DeviceLine: hall.DeviceLine{Device: id, Text: l}}
		}
		return eng.SubmitAll(context.Background(), cmds)
	}
	if d.Kind == config.KindScanner {
		handle = func(lines []string) []error {
			for _, l := range lines {
				a.Kiosks.Scan(context.Background(), id, l)
			}
			return nil
		}
	}
	ld, err := lineport.NewBatch(id, opts, handle)
	if err != nil {
		return nil, fmt.Errorf("device %s: %w", id, err)
	}
	a.LineDevs[id] = ld
	return &supervisor.Device{ID: id, Kind: d.Kind, Area: d.Area, Spec: spec, Driver: ld, Simulated: d.Simulate}, nil
}

func buildIDReader(b *builder, d *config.Device) (*supervisor.Device, error) {
	spec, err := b.a.Sims.AttachIDReader(d, b.dir)
	if err != nil {
		return nil, err
	}
	id, a := d.ID, b.a
	// onCard runs on the reader's goroutine: derive what the kiosk may
	// know, wipe the card, and let the kiosk session do the rest.
	r := reader.New(id, reader.Options{}, func(c idcard.Card) {
		p := personOf(c)
		c.Wipe()
		go a.Kiosks.CardPlaced(context.Background(), id, p)
	}, func() { a.Kiosks.CardRemoved(id) })
	return &supervisor.Device{ID: id, Kind: d.Kind, Area: d.Area, Spec: spec, Driver: r, Simulated: d.Simulate}, nil
}

// personOf is what a kiosk may keep of a card for one interaction.
func personOf(c idcard.Card) kiosks.Person {
	greet := ""
	if r := []rune(c.Name); len(r) > 0 {
		greet = string(r[0]) + "*"
	} else if len(c.NameEn) > 0 {
		greet = c.NameEn[:1] + "*"
	}
	p := kiosks.Person{Kind: string(c.Kind), Greeting: greet, Number: c.Number, Birth: c.Birth}
	if !c.Permanent {
		p.ValidTo = c.ValidTo
	}
	return p
}

// lineOptions turns a device's framing block into driver options.
func lineOptions(d *config.Device) lineport.Options {
	var o lineport.Options
	if f := d.Framing; f != nil {
		o.Terminator, o.MaxLen, o.Charset = linedev.Terminator(f.Terminator), f.MaxLen, linedev.Charset(f.Charset)
		if t, err := time.ParseDuration(f.PartialTimeout); err == nil {
			o.PartialTimeout = t
		}
	}
	return o
}

// printerProfile is the device's profile with its overrides (config.Load
// always fills in the printer block of a ticket_printer).
func printerProfile(d *config.Device) (escpos.Profile, error) {
	p := d.Printer
	prof, ok := escpos.LookupProfile(p.Profile)
	if !ok {
		return prof, fmt.Errorf("device %s: unknown printer profile %q", d.ID, p.Profile)
	}
	if p.Charset != "" {
		prof.Charset = p.Charset
	}
	if p.Cutter != "" {
		prof.Cutter = escpos.Cutter(p.Cutter)
	}
	if p.MaxCharMag > 0 {
		prof.MaxCharMag = p.MaxCharMag
	}
	if p.PaperWidthMM == 58 && prof.PaperWidthMM != 58 {
		prof.PaperWidthMM, prof.Dots, prof.Columns = 58, 384, 32
	}
	return prof, prof.Validate()
}
