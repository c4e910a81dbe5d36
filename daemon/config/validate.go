package config

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

var serialKinds = map[string]bool{KindTicketPrinter: true, KindIDReader: true, KindScanner: true, KindBus: true, KindLine: true}

// owner remembers where an id was first declared.
type owner struct {
	path string
	line int
}

// refList words the known ids for a message about an unknown reference.
func refList(s string, known []string) string {
	if m := didYouMean(s, known); m != "" {
		return m
	}
	if len(known) == 0 {
		return " (none are defined)"
	}
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	if len(sorted) > 12 {
		sorted = append(sorted[:12], "…")
	}
	return " (known: " + strings.Join(sorted, ", ") + ")"
}

// validate checks what the shape cannot: references, uniqueness, per-kind rules. It reads effective
// values (defaults where a value is absent) but changes nothing except cfg.Location.
func (d *decoder) validate(c *Config, profiles []string) {
	// Hall.
	tz := c.Hall.Timezone
	if tz == "" {
		tz = DefaultTimezone
	}
	if tz == "Local" {
		d.semantic("hall.timezone", "must name the hall's zone (such as \"Asia/Shanghai\"), not the machine's (Local)")
	} else if loc, err := time.LoadLocation(tz); err != nil {
		d.semantic("hall.timezone", "unknown time zone %q; use an IANA name such as \"Asia/Shanghai\"", tz)
	} else {
		c.Location = loc
	}
	for i, oh := range c.Hall.OpeningHours {
		p := fmt.Sprintf("hall.opening_hours[%d]", i)
		o, ok1 := minutes(oh.Open)
		cl, ok2 := minutes(oh.Close)
		if ok1 && ok2 && cl <= o {
			d.semantic(p+".close", "must be after open (%s), got %q", oh.Open, oh.Close)
		}
	}

	if r, err := time.ParseDuration(c.Storage.Retention); err == nil && r > 0 && r < MinRetention {
		d.semantic("storage.retention", "must be at least %s (a day's tickets, ratings and the pages' resume need the day's events), got %q", MinRetention, c.Storage.Retention)
	}

	if bt := c.MQTT.Broker.TLS; (bt.CertFile == "") != (bt.KeyFile == "") {
		d.semantic("mqtt.broker.tls", "cert_file and key_file go together: set both or neither")
	} else if bt.ClientCAFile != "" && bt.CertFile == "" {
		d.semantic("mqtt.broker.tls.client_ca_file", "needs cert_file and key_file: client certificates are checked only over TLS")
	}

	if len(c.Hall.RatingReasons) > 8 {
		d.semantic("hall.rating_reasons", "at most 8 reasons (the pad's reasons bitmap has 8 bits), got %d", len(c.Hall.RatingReasons))
	}

	// Areas: their own namespace.
	areas := map[string]owner{}
	var areaIDs []string
	for i, a := range c.Areas {
		p := fmt.Sprintf("areas[%d]", i)
		if a.ID == "" {
			continue
		}
		if first, dup := areas[a.ID]; dup {
			d.semantic(p+".id", "duplicate area id %q; already used by %s at line %d", a.ID, first.path, first.line)
			continue
		}
		areas[a.ID] = owner{p, d.where(p).Line}
		areaIDs = append(areaIDs, a.ID)
	}
	checkArea := func(path, id string) {
		if id == "" {
			return
		}
		if _, ok := areas[id]; !ok {
			d.semantic(path, "unknown area %q%s", id, refList(id, areaIDs))
		}
	}

	// Services, windows and devices share one id namespace, so that an id names one thing in
	// logs, events and URLs.
	ids := map[string]owner{}
	claim := func(p, id string) {
		if id == "" {
			return
		}
		if first, dup := ids[id]; dup {
			d.semantic(p+".id", "duplicate id %q; already used by %s at line %d", id, first.path, first.line)
			return
		}
		ids[id] = owner{p, d.where(p).Line}
	}

	// Services.
	services := map[string]bool{}
	var serviceIDs []string
	prefixes := map[string]owner{}
	for i, s := range c.Services {
		p := fmt.Sprintf("services[%d]", i)
		claim(p, s.ID)
		if s.ID != "" && !services[s.ID] {
			services[s.ID] = true
			serviceIDs = append(serviceIDs, s.ID)
		}
		if s.Prefix != "" {
			if first, dup := prefixes[s.Prefix]; dup {
				d.semantic(p+".prefix", "duplicate prefix %q; already used by %s at line %d", s.Prefix, first.path, first.line)
			} else {
				prefixes[s.Prefix] = owner{p, d.where(p + ".prefix").Line}
			}
		}
		checkArea(p+".area", s.Area)
		maxN := s.MaxNumber
		if maxN == 0 {
			maxN = DefaultMaxNumber
		}
		if s.DailyCap > maxN {
			d.semantic(p+".daily_cap", "must not exceed max_number (%d), got %d: ticket numbers would repeat within a day", maxN, s.DailyCap)
		}
	}

	// Windows.
	windows := map[string]bool{}
	var windowIDs []string
	for _, w := range c.Windows {
		if w.ID != "" && !windows[w.ID] {
			windows[w.ID] = true
			windowIDs = append(windowIDs, w.ID)
		}
	}
	numbers := map[int]owner{}
	for i, w := range c.Windows {
		p := fmt.Sprintf("windows[%d]", i)
		claim(p, w.ID)
		if w.Number > 0 {
			if first, dup := numbers[w.Number]; dup {
				d.semantic(p+".number", "duplicate window number %d; already used by %s at line %d", w.Number, first.path, first.line)
			} else {
				numbers[w.Number] = owner{p, d.where(p).Line}
			}
		}
		checkArea(p+".area", w.Area)
		served := map[string]int{}
		for j, ws := range w.Services {
			sp := fmt.Sprintf("%s.services[%d].service", p, j)
			if ws.Service == "" {
				continue
			}
			if !services[ws.Service] {
				d.semantic(sp, "unknown service %q%s", ws.Service, refList(ws.Service, serviceIDs))
			} else if line, dup := served[ws.Service]; dup {
				d.semantic(sp, "service %q is listed twice (first at line %d)", ws.Service, line)
			} else {
				served[ws.Service] = d.where(sp).Line
			}
		}
		switch {
		case w.Backup == "":
		case w.Backup == w.ID:
			d.semantic(p+".backup", "a window cannot be its own backup")
		case !windows[w.Backup]:
			d.semantic(p+".backup", "unknown window %q%s", w.Backup, refList(w.Backup, windowIDs))
		}
	}

	// Staff: their own namespace (staff numbers).
	staff := map[string]owner{}
	for i, st := range c.Staff {
		p := fmt.Sprintf("staff[%d]", i)
		if st.ID != "" {
			if first, dup := staff[st.ID]; dup {
				d.semantic(p+".id", "duplicate staff id %q; already used by %s at line %d", st.ID, first.path, first.line)
			} else {
				staff[st.ID] = owner{p, d.where(p).Line}
			}
		}
		for j, w := range st.Windows {
			if w != "" && !windows[w] {
				d.semantic(fmt.Sprintf("%s.windows[%d]", p, j), "unknown window %q%s", w, refList(w, windowIDs))
			}
		}
	}

	// Devices.
	devices := map[string]*Device{}
	var deviceIDs, printerIDs, lineIDs []string
	for i := range c.Devices {
		dev := &c.Devices[i]
		if dev.ID == "" || devices[dev.ID] != nil {
			continue
		}
		devices[dev.ID] = dev
		deviceIDs = append(deviceIDs, dev.ID)
		switch dev.Kind {
		case KindTicketPrinter:
			printerIDs = append(printerIDs, dev.ID)
		case KindBus:
			lineIDs = append(lineIDs, dev.ID)
		}
	}
	ports := map[string]owner{}
	type usbUse struct {
		owner
		serial string
	}
	usbs := map[string][]usbUse{}
	busAddrs := map[string]owner{}
	for i := range c.Devices {
		dev := &c.Devices[i]
		p := fmt.Sprintf("devices[%d]", i)
		claim(p, dev.ID)
		checkArea(p+".area", dev.Area)
		if dev.Window != "" && !windows[dev.Window] {
			d.semantic(p+".window", "unknown window %q%s", dev.Window, refList(dev.Window, windowIDs))
		}
		kind := dev.Kind
		if !contains(Kinds(), kind) {
			continue // reported by the shape check
		}

		// Which blocks the kind takes.
		if dev.Serial != nil && !serialKinds[kind] && kind != KindEvalPad {
			d.semantic(p+".serial", "a %s has no serial link; remove this block", kind)
		}
		if dev.Printer != nil && kind != KindTicketPrinter {
			d.semantic(p+".printer", "printer options are for ticket_printer devices, not %s", kind)
		}
		if dev.Secret != "" && kind != KindTerminal && kind != KindEvalPad {
			d.semantic(p+".password_file", "password_file is for terminal and networked eval_pad devices, not %s", kind)
		}
		if kind == KindEvalPad && dev.Bus == "" && dev.Serial == nil && dev.Secret == "" && !dev.Simulate {
			d.semantic(p, "a networked eval_pad (no bus, no serial) needs password_file (its MQTT password) or simulate: true")
		}
		if kind == KindTerminal && dev.Secret == "" && !dev.Simulate {
			d.semantic(p, "a terminal needs password_file (its MQTT password) or simulate: true")
		}
		if dev.Heartbeat != "" && kind != KindTerminal {
			d.semantic(p+".heartbeat", "heartbeat is for terminal devices, not %s", kind)
		}
		if dev.Framing != nil && kind != KindScanner && kind != KindLine {
			d.semantic(p+".framing", "framing is for scanner and line devices, not %s", kind)
		}
		if dev.Kiosk != nil && kind != KindKiosk {
			d.semantic(p+".kiosk", "kiosk options are for kiosk devices, not %s", kind)
		}
		if kind != KindEvalPad {
			if dev.Bus != "" {
				d.semantic(p+".bus", "only eval_pad devices hang on a bus, not %s", kind)
			}
			if dev.Address != 0 {
				d.semantic(p+".address", "only eval_pad devices have a bus address, not %s", kind)
			}
		}

		// The link.
		if serialKinds[kind] && !dev.Simulate && dev.Serial == nil && !d.isBad(p+".simulate") {
			d.semantic(p+".serial", "a %s needs a link: add a serial block (port: or usb:) or simulate: true", kind)
		}
		if s := dev.Serial; s != nil && (serialKinds[kind] || kind == KindEvalPad) {
			sp := p + ".serial"
			switch {
			case s.Port != "" && s.USB != nil:
				d.semantic(sp, "give either port or usb, not both")
			case s.Port == "" && s.USB == nil:
				d.semantic(sp, "needs port (a path such as /dev/serial/by-id/…) or usb (vid and pid)")
			case dev.Simulate:
				// ignored while simulated; do not claim the port
			case s.Port != "":
				if first, dup := ports[s.Port]; dup {
					d.semantic(sp+".port", "port %q is already used by %s at line %d", s.Port, first.path, first.line)
				} else {
					ports[s.Port] = owner{p, dev.Line}
				}
			case s.USB.VID != "" && s.USB.PID != "":
				key := strings.ToLower(s.USB.VID + ":" + s.USB.PID)
				for _, u := range usbs[key] {
					if u.serial == "" || s.USB.Serial == "" || u.serial == s.USB.Serial {
						d.semantic(sp+".usb", "usb %s matches the same adapter as %s at line %d; give each a distinct serial", key, u.path, u.line)
						break
					}
				}
				usbs[key] = append(usbs[key], usbUse{owner{p, dev.Line}, s.USB.Serial})
			}
		}

		switch kind {
		case KindEvalPad:
			if dev.Window == "" {
				d.semantic(p+".window", "an eval_pad must name the window it rates")
			}
			if dev.Bus != "" && dev.Serial != nil {
				d.semantic(p+".bus", "give either bus (an RS-485 line) or serial (point to point), not both")
			}
			if dev.Bus != "" {
				if line := devices[dev.Bus]; line == nil {
					d.semantic(p+".bus", "unknown line %q%s", dev.Bus, refList(dev.Bus, lineIDs))
				} else if line.Kind != KindBus {
					d.semantic(p+".bus", "device %q is a %s, not a bus (RS-485 line)", dev.Bus, line.Kind)
				}
				if dev.Address == 0 {
					d.semantic(p+".address", "a pad on a bus needs its address (1–247)")
				} else {
					key := fmt.Sprintf("%s#%d", dev.Bus, dev.Address)
					if first, dup := busAddrs[key]; dup {
						d.semantic(p+".address", "address %d on %s is already used by %s at line %d", dev.Address, dev.Bus, first.path, first.line)
					} else {
						busAddrs[key] = owner{p, dev.Line}
					}
				}
			} else if dev.Address != 0 {
				d.semantic(p+".address", "an address needs a bus (the id of a bus device)")
			}
		case KindTicketPrinter:
			profile := DefaultProfile
			pp := p + ".printer"
			if dev.Printer != nil && dev.Printer.Profile != "" {
				profile, pp = dev.Printer.Profile, pp+".profile"
			}
			if !contains(profiles, profile) {
				d.semantic(pp, "unknown printer profile %q%s", profile, refList(profile, profiles))
			}
		case KindKiosk:
			if dev.Kiosk == nil {
				break
			}
			for j, id := range dev.Kiosk.Printers {
				kp := fmt.Sprintf("%s.kiosk.printers[%d]", p, j)
				if pr := devices[id]; pr == nil {
					d.semantic(kp, "unknown printer %q%s", id, refList(id, printerIDs))
				} else if pr.Kind != KindTicketPrinter {
					d.semantic(kp, "device %q is a %s, not a ticket_printer", id, pr.Kind)
				}
			}
			for field, kind := range map[string]string{"readers": KindIDReader, "scanners": KindScanner} {
				list := dev.Kiosk.Readers
				if field == "scanners" {
					list = dev.Kiosk.Scanners
				}
				for j, id := range list {
					kp := fmt.Sprintf("%s.kiosk.%s[%d]", p, field, j)
					if other := devices[id]; other == nil {
						d.semantic(kp, "unknown device %q", id)
					} else if other.Kind != kind {
						d.semantic(kp, "device %q is a %s, not a %s", id, other.Kind, kind)
					}
				}
			}
		}
	}

	// Holidays.
	dates := map[string]owner{}
	for i, h := range c.Holidays {
		p := fmt.Sprintf("holidays[%d]", i)
		if h.Date == "" {
			continue
		}
		if first, dup := dates[h.Date]; dup {
			d.semantic(p+".date", "date %s is listed twice (first at line %d)", h.Date, first.line)
		} else {
			dates[h.Date] = owner{p, d.where(p).Line}
		}
	}

	// Tokens.
	tokens := map[string]owner{}
	for i, t := range c.HTTP.Tokens {
		p := fmt.Sprintf("http.tokens[%d]", i)
		if t.Name == "" {
			continue
		}
		if first, dup := tokens[t.Name]; dup {
			d.semantic(p+".name", "duplicate token name %q (first at line %d)", t.Name, first.line)
		} else {
			tokens[t.Name] = owner{p, d.where(p).Line}
		}
	}
}
