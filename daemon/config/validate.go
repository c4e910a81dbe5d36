package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

var serialKinds = map[string]bool{KindTicketPrinter: true, KindIDReader: true, KindScanner: true, KindBus: true, KindLine: true}

// What one box runs. Each bound is checked by Load, with the device past it named.
const (
	// MaxDevices bounds the devices of one box. The largest hall measured (BENCHMARKS.md, -mode hall:
	// 283 devices — 200 pads on 13 lines, 10 printers, 10 readers, 40 terminals, 10 kiosks) ran at 37% of
	// one core and 70 MiB; 1000 is three and a half times that, the most a small box is trusted with
	// unmeasured (every device is a row of the monitor page, metrics series and the state snapshot).
	MaxDevices = 1000
	// MaxSerialDevices bounds the devices that hold a serial port: ticket_printer, id_reader, scanner,
	// line, bus, and an eval_pad on its own link. Each holds up to four descriptors (the port,
	// go.bug.st/serial's wake-up pipe, our duplicate on the poller; a pty pair when simulated, the trace file when traced)
	// and a reader goroutine; 512 take at most ~2,600. halld.service sets LimitNOFILE=16384, which leaves
	// far more than the listeners' bounds (HTTP 512 LAN + 512 loopback, the broker 2 × max_clients) to the
	// rest. Ports do their I/O on Go's network poller (epoll), so their descriptor numbers have no ceiling of 1024.
	MaxSerialDevices = 512
	// MaxPadsPerBus is the HPAD-1 address space, 1–247: every pad on a bus needs its own address. At
	// 9600 baud a full line is polled in about 5 s (20 ms a pad, BENCHMARKS.md); use 115200 on big lines.
	MaxPadsPerBus = 247
	// MaxDailyTickets bounds a service's tickets in a day when hall.numbering.overflow is grow or wrap
	// (daily_cap, and the last number when growing: A99999).
	MaxDailyTickets = 99999
	// DefaultNumberDigits and DefaultNumberOverflow are hall.numbering's defaults.
	DefaultNumberDigits   = 3
	DefaultNumberOverflow = "grow"
)

// StandardBauds are the rates serial.baud accepts: what USB serial adapters, printers, readers and
// pads are set to. Any other number is a typo (9601) or a rate the line would silently garble.
var StandardBauds = []int{1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600}

func baudList() string {
	s := make([]string, len(StandardBauds))
	for i, b := range StandardBauds {
		s[i] = strconv.Itoa(b)
	}
	return strings.Join(s, ", ")
}

// durationBound is the range of one duration field; an empty min or max is not checked here.
type durationBound struct {
	min, max string
	why      string // said after the range, in parentheses; may be empty
}

// durationBounds gives every duration field of the config its range, keyed by field path without list
// indexes. TestEveryDurationBounded fails for a duration field that is missing here.
var durationBounds = map[string]durationBound{
	// 管理办法: a pause of more than 30 minutes is overdue; past a working day the alert says nothing.
	"hall.pause_limit": {"1m", "8h", ""},
	// A citizen rates within seconds or not at all; past 30 minutes the window waits for nothing.
	"hall.rating_timeout": {"10s", "30m", ""},
	// 管理办法 practice: nobody should wait past 30 minutes; under a minute every queue is a peak.
	"hall.peak_load.longest_wait": {"1m", "8h", ""},
	// A lock-out under a minute lets a guesser go on; past a day it locks staff out of their work.
	"hall.staff_pin.lockout": {"1m", "24h", ""},
	// The minimum (24h) is checked in validate, with its own reason.
	"storage.retention": {"", "87600h", "3650 days"},
	// Faster than 100 ms the status queries crowd the ticket bytes on the line; slower than a minute a
	// paper-out goes unseen while tickets fail.
	"devices.printer.poll_interval": {"100ms", "1m", ""},
	// Card data stays in memory at most this long: minutes, not hours.
	"devices.kiosk.session_timeout": {"1s", "10m", "card data must not stay in memory for long"},
	// A TLS handshake and CONNECT over the hall LAN (or a terminal's 4G modem) take a second or two.
	"mqtt.broker.connect_timeout": {"1s", "1m", ""},
	// The uplink's redial: under 10 ms it is a busy loop against a broker that refuses; past 10 s (floor) or
	// 5 minutes (cap) a hall stays dark long after the centre is back.
	"mqtt.uplink.reconnect_min": {"10ms", "10s", ""},
	"mqtt.uplink.reconnect_max": {"100ms", "5m", ""},
	// The centre's view of a hall's lag: more often than every 5 s is traffic for nothing on a city cluster;
	// past an hour a stuck outbox goes unseen.
	"mqtt.uplink.heartbeat": {"5s", "1h", ""},
	// Three missed heartbeats make a terminal offline; the watcher checks every heartbeat/4.
	"devices.heartbeat": {"1s", "1h", ""},
	// Under 20 ms a slow line's bytes (8 ms each at 1200 baud) would be cut into pieces.
	"devices.framing.partial_timeout": {"20ms", "10s", ""},
}

var indexRE = regexp.MustCompile(`\[[0-9]+\]`)

// durationOutOfRange returns what is wrong with duration s at path, or "" (also for a field without
// bounds, and for a value that does not parse: the format check reports those).
func durationOutOfRange(path, s string) string {
	b, ok := durationBounds[indexRE.ReplaceAllString(path, "")]
	if !ok {
		return ""
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return ""
	}
	lo, _ := time.ParseDuration(b.min)
	hi, _ := time.ParseDuration(b.max)
	why := ""
	if b.why != "" {
		why = " (" + b.why + ")"
	}
	switch {
	case b.min != "" && b.max != "" && (v < lo || v > hi):
		return fmt.Sprintf("must be a duration from %s to %s%s, got %q", b.min, b.max, why, s)
	case b.min != "" && v < lo:
		return fmt.Sprintf("must be a duration of at least %s%s, got %q", b.min, why, s)
	case b.max != "" && v > hi:
		return fmt.Sprintf("must be a duration of at most %s%s, got %q", b.max, why, s)
	}
	return ""
}

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

	if u := c.MQTT.Uplink; (u.CertFile == "") != (u.KeyFile == "") {
		d.semantic("mqtt.uplink", "cert_file and key_file go together: set both or neither")
	}
	if u := c.MQTT.Uplink; u.ReconnectMin != "" && u.ReconnectMax != "" {
		lo, err1 := time.ParseDuration(u.ReconnectMin)
		hi, err2 := time.ParseDuration(u.ReconnectMax)
		if err1 == nil && err2 == nil && hi < lo {
			d.semantic("mqtt.uplink.reconnect_max", "must be at least reconnect_min (%s), got %q", u.ReconnectMin, u.ReconnectMax)
		}
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
		switch {
		case c.Hall.Numbering.Overflow == "stop" && s.DailyCap > maxN:
			d.semantic(p+".daily_cap", "must not exceed max_number (%d), got %d: ticket numbers would repeat within a day", maxN, s.DailyCap)
		case s.DailyCap > MaxDailyTickets:
			d.semantic(p+".daily_cap", "must be at most %d tickets a day, got %d", MaxDailyTickets, s.DailyCap)
		}
	}

	if f := c.Hall.FollowUp; f.CallbackDays > 0 && c.Hall.FollowUpDays > 0 && f.CallbackDays > c.Hall.FollowUpDays {
		d.semantic("hall.followup.callback_days", "must not exceed hall.followup_days (%d), got %d: the 回访 would be due after the whole follow-up", c.Hall.FollowUpDays, f.CallbackDays)
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
	var printerIDs, lineIDs []string
	for i := range c.Devices {
		dev := &c.Devices[i]
		if dev.ID == "" || devices[dev.ID] != nil {
			continue
		}
		devices[dev.ID] = dev
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
	busPads := map[string]int{}
	// routed: the kiosk that lists each id_reader and scanner (their events go to that kiosk only).
	type route struct {
		owner
		kiosk string
	}
	routed := map[string]route{}
	serialCount := 0
	var mqttDevs []int // indexes of the devices that connect to the broker's device listener
	for i := range c.Devices {
		dev := &c.Devices[i]
		p := fmt.Sprintf("devices[%d]", i)
		claim(p, dev.ID)
		if i == MaxDevices {
			d.semantic(p, "one box runs at most %d devices; this is device %d (split the hall across boxes)", MaxDevices, i+1)
		}
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

		if serialKinds[kind] || kind == KindEvalPad && dev.Serial != nil && dev.Bus == "" {
			serialCount++
			if serialCount == MaxSerialDevices+1 {
				d.semantic(p, "one box drives at most %d serial devices (each holds up to four descriptors and a goroutine); this is serial device %d", MaxSerialDevices, serialCount)
			}
		}
		if !dev.Simulate && (kind == KindTerminal || kind == KindEvalPad && dev.Bus == "" && dev.Serial == nil) {
			mqttDevs = append(mqttDevs, i) // one connection to the broker's device listener each
		}

		// The link.
		if serialKinds[kind] && !dev.Simulate && dev.Serial == nil && !d.isBad(p+".simulate") {
			d.semantic(p+".serial", "a %s needs a link: add a serial block (port: or usb:) or simulate: true", kind)
		}
		if s := dev.Serial; s != nil && (serialKinds[kind] || kind == KindEvalPad) {
			sp := p + ".serial"
			if s.Baud != 0 && !containsInt(StandardBauds, s.Baud) {
				d.semantic(sp+".baud", "must be a standard rate (%s), got %d", baudList(), s.Baud)
			}
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
				if busPads[dev.Bus]++; busPads[dev.Bus] == MaxPadsPerBus+1 {
					d.semantic(p+".bus", "a bus holds at most %d pads (HPAD-1 addresses 1–247); this is pad %d on %s", MaxPadsPerBus, busPads[dev.Bus], dev.Bus)
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
					} else if first, dup := routed[id]; dup {
						d.semantic(kp, "%s %q is already listed by kiosk %q (%s at line %d): its events reach one kiosk only; list it under the kiosk it is built into", kind, id, first.kiosk, first.path, first.line)
					} else {
						routed[id] = route{owner{p, d.where(kp).Line}, dev.ID}
					}
				}
			}
		}
	}

	// A window's desk reader: an id_reader no kiosk (nor another window) lists.
	for i := range c.Windows {
		w := &c.Windows[i]
		if w.Reader == "" {
			continue
		}
		p := fmt.Sprintf("windows[%d].reader", i)
		if other := devices[w.Reader]; other == nil {
			d.semantic(p, "unknown device %q", w.Reader)
		} else if other.Kind != KindIDReader {
			d.semantic(p, "device %q is a %s, not a %s", w.Reader, other.Kind, KindIDReader)
		} else if first, dup := routed[w.Reader]; dup {
			d.semantic(p, "%s %q is already listed by %q (%s at line %d): its card reads reach one place only", KindIDReader, w.Reader, first.kiosk, first.path, first.line)
		} else {
			routed[w.Reader] = route{owner{p, d.where(p).Line}, w.ID}
		}
	}

	// Every id_reader and scanner reaches a kiosk or a window: the events of one nothing lists are dropped.
	for i := range c.Devices {
		dev := &c.Devices[i]
		if dev.Kind != KindIDReader && dev.Kind != KindScanner || dev.ID == "" || devices[dev.ID] != dev {
			continue
		}
		if _, ok := routed[dev.ID]; !ok {
			field, what := "readers", "card reads"
			if dev.Kind == KindScanner {
				field, what = "scanners", "scans"
			}
			d.semantic(fmt.Sprintf("devices[%d]", i), "no kiosk lists %s %q in kiosk.%s: its %s would be dropped; add it to the kiosk it is built into", dev.Kind, dev.ID, field, what)
		}
	}

	// The embedded broker (no mqtt.broker.url) must take every MQTT device at once: one past
	// max_clients is refused at connect and shows offline for ever. (halld's own clients and the
	// simulators use the loopback listener, which has a budget of its own.)
	if mqttCount := len(mqttDevs); c.MQTT.Broker.URL == "" && mqttCount > 0 {
		maxClients := c.MQTT.Broker.MaxClients
		if maxClients == 0 {
			maxClients, _ = strconv.Atoi(fieldsOf(reflect.TypeOf(MQTTBroker{})).byName["max_clients"].Default)
		}
		if mqttCount > maxClients {
			path := "mqtt.broker.max_clients"
			if _, set := d.pos[path]; !set {
				path = fmt.Sprintf("devices[%d]", mqttDevs[maxClients]) // the first that would be refused
			}
			d.semantic(path, "the embedded broker takes %d connections (mqtt.broker.max_clients) but the hall has %d terminals and networked eval_pads; raise max_clients to at least %d", maxClients, mqttCount, mqttCount)
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
	d.validateRanking(c) // ranking.go
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

// Files the config names, read by halld run: Load reads each one as run would, so that check refuses
// what run could not start with.
const (
	// MinTokenChars is the shortest API token accepted: 16 characters (openssl rand -hex 16 gives 32).
	MinTokenChars = 16
	// maxNamedFileBytes bounds a token, password or PEM file: each is a line or a few certificates.
	maxNamedFileBytes = 256 << 10
)

// fileKind says how a named file is checked.
type fileKind int

const (
	fileToken  fileKind = iota // a bearer token: secret, one word of at least MinTokenChars
	fileSecret                 // a password: secret, not empty
	fileUser                   // a user name: not empty
	fileCA                     // PEM certificates
	fileCert                   // a PEM certificate (checked with its key)
	fileKey                    // a PEM private key: secret (checked with its certificate)
)

// checkFiles reads every file the (defaulted, resolved) config names. Paths are absolute by now.
func (d *decoder) checkFiles(c *Config) {
	for i, t := range c.HTTP.Tokens {
		d.checkFile(fmt.Sprintf("http.tokens[%d].file", i), t.File, fileToken)
	}
	for i := range c.Devices {
		dev := &c.Devices[i]
		if dev.Secret != "" && !dev.Simulate { // a simulated device makes up its own password
			d.checkFile(fmt.Sprintf("devices[%d].password_file", i), dev.Secret, fileSecret)
		}
	}
	u := c.MQTT.Uplink
	d.checkFile("mqtt.uplink.username_file", u.UsernameFile, fileUser)
	d.checkFile("mqtt.uplink.password_file", u.PasswordFile, fileSecret)
	d.checkFile("mqtt.uplink.ca_file", u.CAFile, fileCA)
	d.checkKeyPair("mqtt.uplink", u.CertFile, u.KeyFile)
	bt := c.MQTT.Broker.TLS
	d.checkKeyPair("mqtt.broker.tls", bt.CertFile, bt.KeyFile)
	d.checkFile("mqtt.broker.tls.client_ca_file", bt.ClientCAFile, fileCA)
}

// checkKeyPair checks a certificate and its key, each as a file, then as a pair (as halld run loads them).
func (d *decoder) checkKeyPair(path, certFile, keyFile string) {
	if certFile == "" || keyFile == "" {
		return // validate reports one without the other
	}
	_, ok1 := d.checkFile(path+".cert_file", certFile, fileCert)
	_, ok2 := d.checkFile(path+".key_file", keyFile, fileKey)
	if !ok1 || !ok2 {
		return
	}
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		d.semantic(path+".key_file", "%q and cert_file %q are not a TLS certificate and its key: %v", keyFile, certFile, err)
	}
}

// checkFile reads the file at name (path is its field) and records what is wrong with it. It returns
// the content and whether it is fine. An empty name is fine: the field is not set.
func (d *decoder) checkFile(path, name string, kind fileKind) ([]byte, bool) {
	if name == "" || d.isBad(path) {
		return nil, name == ""
	}
	fail := func(format string, args ...any) ([]byte, bool) {
		d.semantic(path, format, args...)
		return nil, false
	}
	openErr := func(err error) ([]byte, bool) {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fail("file %q does not exist", name)
		case errors.Is(err, fs.ErrPermission):
			return fail("cannot read %q: permission denied (halld must be able to read it, e.g. owner root, group halld, mode 0640)", name)
		}
		return fail("cannot read %q: %v", name, unwrapPath(err))
	}
	// Stat before opening: opening a named pipe would wait for a writer.
	st, err := os.Stat(name)
	if err != nil {
		return openErr(err)
	}
	if !st.Mode().IsRegular() {
		what := "not a regular file"
		switch m := st.Mode(); {
		case m.IsDir():
			what = "a directory"
		case m&fs.ModeNamedPipe != 0:
			what = "a named pipe"
		case m&fs.ModeDevice != 0:
			what = "a device"
		case m&fs.ModeSocket != 0:
			what = "a socket"
		}
		return fail("%q is %s, not a file", name, what)
	}
	f, err := os.Open(name)
	if err != nil {
		return openErr(err)
	}
	defer f.Close()
	secret := kind == fileToken || kind == fileSecret || kind == fileKey
	if perm := st.Mode().Perm(); secret && perm&0o007 != 0 {
		// A secret every local account can read is no secret; group access (group halld) is the way.
		return fail("%q is open to every user of the box (mode %04o): it holds a secret; chmod o-rwx (e.g. 0640, group halld)", name, perm)
	}
	if st.Size() > maxNamedFileBytes {
		return fail("%q is %d bytes; a token, password or PEM file is far smaller (at most %d)", name, st.Size(), maxNamedFileBytes)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxNamedFileBytes+1))
	if err != nil {
		return fail("cannot read %q: %v", name, unwrapPath(err))
	}
	// halld run trims trailing line breaks and spaces from tokens, passwords and user names.
	text := strings.TrimRight(string(b), "\r\n ")
	switch kind {
	case fileToken:
		switch n := len([]rune(text)); {
		case n == 0:
			return fail("%q is empty: it must hold the token", name)
		case strings.IndexFunc(text, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
			return fail("the token in %q holds spaces, tabs or line breaks: a bearer token is one word", name)
		case n < MinTokenChars:
			return fail("the token in %q has %d characters; use at least %d (e.g. openssl rand -hex 16)", name, n, MinTokenChars)
		}
	case fileSecret, fileUser:
		if text == "" {
			return fail("%q is empty", name)
		}
	case fileCA:
		if !x509.NewCertPool().AppendCertsFromPEM(b) {
			return fail("%q holds no PEM certificate", name)
		}
	}
	return b, true
}

// unwrapPath drops the *fs.PathError wrapper (its path is in the message already).
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
