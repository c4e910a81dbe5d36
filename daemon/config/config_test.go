package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// hallHead is a valid hall block, 5 lines; test inputs append to it so that line numbers stay readable.
const hallHead = `hall:
  id: h
  name: 测试大厅
  opening_hours:
    - {days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}
`

// kioskOf is a last device line: a kiosk listing the given id_readers and scanners (each must be routed
// to a kiosk), for tests about something else.
func kioskOf(readers, scanners string) string {
	return "  - {id: kiosk-of-test, kind: kiosk, kiosk: {readers: [" + readers + "], scanners: [" + scanners + "]}}\n"
}

func errLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error is %T, not *Errors: %v", err, err)
	}
	return strings.Split(errs.Error(), "\n")
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // every line of the error, exactly
	}{
		// YAML syntax: yaml.v3 gives no column; the line is the one with the mistake.
		{"syntax: tab indent", "hall:\n  id: h\n\tname: x\n",
			[]string{"t.yaml:3: found a tab character that violates indentation"}},
		{"syntax: mapping in value", hallHead + "http:\n  listen: a: b\n",
			[]string{"t.yaml:7: mapping values are not allowed in this context"}},
		{"syntax: first line", "hall: id: h\n",
			[]string{"t.yaml:1: mapping values are not allowed in this context"}},
		{"syntax: dedented key", hallHead + "storage:\n  dir: x\n retention: 1h\n",
			[]string{"t.yaml:8: did not find expected key"}},
		{"syntax: unclosed flow list", hallHead + "areas: [a, b\nservices: []\n",
			[]string{"t.yaml:6: did not find expected ',' or ']'"}},
		{"syntax: unknown anchor", hallHead + "areas: *nope\n",
			[]string{"t.yaml:6: unknown anchor 'nope' referenced"}},
		{"syntax: second document", hallHead + "---\nhall: {}\n",
			[]string{"t.yaml:7:1: a second YAML document (---); the file must hold exactly one"}},

		// Shape: unknown keys, with a suggestion when one is close.
		{"unknown key with suggestion", hallHead + "devices:\n  - id: p1\n    kind: ticket_printer\n    simulate: true\n    serail: {port: /dev/ttyUSB0}\n",
			[]string{`t.yaml:10:5: devices[0].serail: unknown field "serail"; did you mean "serial"?`}},
		{"unknown key camelCase", hallHead + "services:\n  - {id: s, prefix: A, name: S, maxNumber: 5}\n",
			[]string{`t.yaml:7:33: services[0].maxNumber: unknown field "maxNumber"; did you mean "max_number"?`}},
		{"unknown key no suggestion", hallHead + "weather: sunny\n",
			[]string{`t.yaml:6:1: weather: unknown field "weather"`}},
		{"unknown top-level x- key is allowed", hallHead + "x-printer: &p {kind: ticket_printer}\n", nil},
		{"duplicate key", hallHead + "http:\n  listen: 127.0.0.1:1\n  listen: 127.0.0.1:2\n",
			[]string{`t.yaml:8:3: http.listen: duplicate key "listen" (first at line 7)`}},

		// Shape: wrong types.
		{"wrong type: baud", hallHead + "devices:\n  - id: p1\n    kind: ticket_printer\n    serial:\n      port: /dev/ttyUSB0\n      baud: fast\n",
			[]string{`t.yaml:11:7: devices[0].serial.baud: must be a positive integer, got "fast"`}},
		{"wrong type: bool", hallHead + "devices:\n  - {id: p1, kind: ticket_printer, simulate: yes}\n",
			[]string{`t.yaml:7:36: devices[0].simulate: must be true or false, got "yes"`}},
		{"wrong type: number for string", hallHead + "devices:\n  - id: p1\n    kind: ticket_printer\n    serial: {usb: {vid: 0416, pid: \"5011\"}}\n",
			[]string{`t.yaml:9:20: devices[0].serial.usb.vid: must be a string: 4 hex digits such as "1a86", got 0416 (quote it: "0416")`}},
		{"wrong type: number for plain string", hallHead + "  hotline: 88995297\n",
			[]string{`t.yaml:6:3: hall.hotline: must be a string, got 88995297 (quote it: "88995297")`}},
		{"wrong type: list for mapping", hallHead + "storage: [a]\n",
			[]string{`t.yaml:6:1: storage: must be a mapping (key: value lines), got a list`}},
		{"wrong type: scalar for list", hallHead + "services:\n  - {id: s, prefix: A, name: S, materials: 身份证}\n",
			[]string{`t.yaml:7:33: services[0].materials: must be a list, got "身份证"`}},
		{"out of range", hallHead + "devices:\n  - {id: p1, kind: ticket_printer, simulate: true, printer: {max_char_mag: 9}}\n",
			[]string{`t.yaml:7:62: devices[0].printer.max_char_mag: must be an integer from 1 to 8, got 9`}},
		{"bad enum with suggestion", hallHead + "devices:\n  - {id: p1, kind: printer, simulate: true}\n",
			[]string{`t.yaml:7:14: devices[0].kind: must be one of ticket_printer, eval_pad, id_reader, terminal, kiosk, scanner, bus, line; got "printer"; did you mean "ticket_printer"?`}},
		{"bad hall id", "hall:\n  id: Hall_1\n  name: x\n  opening_hours: [{days: [mon], open: \"09:00\", close: \"10:00\"}]\n",
			[]string{`t.yaml:2:3: hall.id: must be lowercase letters, digits and '-' (^[a-z0-9-]+$), got "Hall_1"`}},
		{"missing required", hallHead + "devices:\n  - id: p1\n    simulate: true\n",
			[]string{`t.yaml:7:5: devices[0].kind: required field is missing`}},
		{"bad duration", hallHead + "storage: {retention: 90d}\n",
			[]string{`t.yaml:6:11: storage.retention: must be a positive duration such as "1500ms", "30s" or "2160h", got "90d"`}},
		{"bad listen", hallHead + "http: {listen: localhost}\n",
			[]string{`t.yaml:6:8: http.listen: must be host:port such as "127.0.0.1:8080", got "localhost"`}},
		{"bad time of day", "hall:\n  id: h\n  name: x\n  opening_hours:\n    - {days: [mon, funday], open: \"9:00\", close: \"17:00\"}\n",
			[]string{
				`t.yaml:5:20: hall.opening_hours[0].days[1]: must be one of mon, tue, wed, thu, fri, sat, sun; got "funday"`,
				`t.yaml:5:29: hall.opening_hours[0].open: must be a time of day HH:MM (00:00–23:59) such as "09:00", got "9:00"`,
			}},

		// Meaning.
		{"duplicate id across kinds", hallHead + "services:\n  - {id: desk, prefix: A, name: S}\ndevices:\n  - {id: p1, kind: ticket_printer, simulate: true}\n  - {id: desk, kind: kiosk}\n",
			[]string{`t.yaml:10:6: devices[1].id: duplicate id "desk"; already used by services[0] at line 7`}},
		{"duplicate device id", hallHead + "devices:\n  - id: p1\n    kind: ticket_printer\n    simulate: true\n  - id: p1\n    kind: ticket_printer\n    simulate: true\n",
			[]string{`t.yaml:10:5: devices[1].id: duplicate id "p1"; already used by devices[0] at line 7`}},
		{"duplicate prefix", hallHead + "services:\n  - {id: a, prefix: A, name: S}\n  - {id: b, prefix: A, name: T}\n",
			[]string{`t.yaml:8:13: services[1].prefix: duplicate prefix "A"; already used by services[0] at line 7`}},
		{"missing port", hallHead + "devices:\n  - id: p1\n    kind: ticket_printer\n",
			[]string{`t.yaml:7:5: devices[0].serial: a ticket_printer needs a link: add a serial block (port: or usb:) or simulate: true`}},
		{"serial without port or usb", hallHead + "devices:\n  - id: r1\n    kind: id_reader\n    serial:\n      baud: 115200\n" + kioskOf("r1", ""),
			[]string{`t.yaml:9:5: devices[0].serial: needs port (a path such as /dev/serial/by-id/…) or usb (vid and pid)`}},
		{"serial with port and usb", hallHead + "devices:\n  - id: r1\n    kind: scanner\n    serial:\n      port: /dev/ttyACM0\n      usb: {vid: \"1a86\", pid: \"7523\"}\n" + kioskOf("", "r1"),
			[]string{`t.yaml:9:5: devices[0].serial: give either port or usb, not both`}},
		{"relative port", hallHead + "devices:\n  - {id: r1, kind: scanner, serial: {port: ttyUSB0}}\n" + kioskOf("", "r1"),
			[]string{`t.yaml:7:38: devices[0].serial.port: must be an absolute path such as "/dev/serial/by-id/usb-…", got "ttyUSB0"`}},
		{"port used twice", hallHead + "devices:\n  - {id: a, kind: scanner, serial: {port: /dev/ttyUSB0}}\n  - {id: b, kind: id_reader, serial: {port: /dev/ttyUSB0}}\n" + kioskOf("b", "a"),
			[]string{`t.yaml:8:39: devices[1].serial.port: port "/dev/ttyUSB0" is already used by devices[0] at line 7`}},
		{"same usb adapter twice", hallHead + "devices:\n  - {id: a, kind: scanner, serial: {usb: {vid: \"1A86\", pid: \"7523\"}}}\n  - {id: b, kind: id_reader, serial: {usb: {vid: \"1a86\", pid: \"7523\", serial: X1}}}\n" + kioskOf("b", "a"),
			[]string{`t.yaml:8:39: devices[1].serial.usb: usb 1a86:7523 matches the same adapter as devices[0] at line 7; give each a distinct serial`}},
		{"unknown profile", hallHead + "devices:\n  - id: p1\n    kind: ticket_printer\n    simulate: true\n    printer:\n      profile: epson-tm-t88\n",
			[]string{`t.yaml:11:7: devices[0].printer.profile: unknown printer profile "epson-tm-t88" (known: birch-bp002, generic-58mm, generic-80mm, hprt-pptii-a, zj-5870)`}},
		{"profile suggestion", hallHead + "devices:\n  - {id: p1, kind: ticket_printer, simulate: true, printer: {profile: generic-80}}\n",
			[]string{`t.yaml:7:62: devices[0].printer.profile: unknown printer profile "generic-80"; did you mean "generic-80mm"?`}},
		{"printer block on a kiosk", hallHead + "devices:\n  - id: k\n    kind: kiosk\n    printer: {cutter: full}\n",
			[]string{`t.yaml:9:5: devices[0].printer: printer options are for ticket_printer devices, not kiosk`}},
		{"bad backup reference", hallHead + "services:\n  - {id: s, prefix: A, name: S}\nwindows:\n  - {id: w1, number: 1, services: [{service: s}], backup: w3}\n  - {id: w2, number: 2, services: [{service: s}], backup: w1}\n",
			[]string{`t.yaml:9:51: windows[0].backup: unknown window "w3"; did you mean "w1"?`}},
		{"backup is itself", hallHead + "services:\n  - {id: s, prefix: A, name: S}\nwindows:\n  - id: w1\n    number: 1\n    services: [{service: s}]\n    backup: w1\n",
			[]string{`t.yaml:12:5: windows[0].backup: a window cannot be its own backup`}},
		{"unknown service in window", hallHead + "services:\n  - {id: social, prefix: A, name: S}\nwindows:\n  - {id: w1, number: 1, services: [{service: socail}]}\n",
			[]string{`t.yaml:9:37: windows[0].services[0].service: unknown service "socail"; did you mean "social"?`}},
		{"duplicate window number", hallHead + "services:\n  - {id: s, prefix: A, name: S}\nwindows:\n  - {id: w1, number: 1, services: [{service: s}]}\n  - {id: w2, number: 1, services: [{service: s}]}\n",
			[]string{`t.yaml:10:14: windows[1].number: duplicate window number 1; already used by windows[0] at line 9`}},
		{"kiosk printer is not a printer", hallHead + "devices:\n  - {id: k, kind: kiosk, kiosk: {printers: [t1, nope]}}\n  - {id: t1, kind: terminal, simulate: true}\n",
			[]string{
				`t.yaml:7:45: devices[0].kiosk.printers[0]: device "t1" is a terminal, not a ticket_printer`,
				`t.yaml:7:49: devices[0].kiosk.printers[1]: unknown printer "nope" (none are defined)`,
			}},
		{"unknown area", hallHead + "areas: [{id: front}]\ndevices:\n  - {id: t1, kind: terminal, area: frnt, simulate: true}\n",
			[]string{`t.yaml:8:30: devices[0].area: unknown area "frnt"; did you mean "front"?`}},
		{"opening hours close before open", "hall:\n  id: h\n  name: x\n  opening_hours:\n    - days: [sat]\n      open: \"12:00\"\n      close: \"09:00\"\n",
			[]string{`t.yaml:7:7: hall.opening_hours[0].close: must be after open (12:00), got "09:00"`}},
		{"retention under a day", hallHead + "storage: {retention: 12h}\n",
			[]string{`t.yaml:6:11: storage.retention: must be at least 24h0m0s (a day's tickets, ratings and the pages' resume need the day's events), got "12h"`}},
		{"broker tls cert without key", hallHead + "mqtt:\n  broker: {tls: {cert_file: /etc/halld/broker.pem}}\n",
			[]string{`t.yaml:7:12: mqtt.broker.tls: cert_file and key_file go together: set both or neither`}},
		{"unknown time zone", hallHead + "  timezone: Asia/Beijing\n",
			[]string{`t.yaml:6:3: hall.timezone: unknown time zone "Asia/Beijing"; use an IANA name such as "Asia/Shanghai"`}},
		{"daily cap over max number", hallHead + "  numbering: {overflow: stop}\nservices:\n  - {id: s, prefix: A, name: S, daily_cap: 1500}\n",
			[]string{`t.yaml:8:33: services[0].daily_cap: must not exceed max_number (999), got 1500: ticket numbers would repeat within a day`}},
		{"eval pad rules", hallHead + "services: [{id: s, prefix: A, name: S}]\nwindows: [{id: w1, number: 1, services: [{service: s}]}]\ndevices:\n  - {id: bus1, kind: bus, simulate: true}\n  - {id: pad1, kind: eval_pad, window: w1, bus: bus1, address: 1}\n  - {id: pad2, kind: eval_pad, window: w1, bus: bus1, address: 1}\n  - {id: pad3, kind: eval_pad, bus: bus1}\n  - {id: pad4, kind: eval_pad, window: w1, bus: pad1, address: 4}\n",
			[]string{
				`t.yaml:11:55: devices[2].address: address 1 on bus1 is already used by devices[1] at line 10`,
				`t.yaml:12:5: devices[3].window: an eval_pad must name the window it rates`,
				`t.yaml:12:5: devices[3].address: a pad on a bus needs its address (1–247)`,
				`t.yaml:13:44: devices[4].bus: device "pad1" is a eval_pad, not a bus (RS-485 line)`,
			}},
		{"duplicate holiday and unique days", "hall:\n  id: h\n  name: x\n  opening_hours: [{days: [mon, mon], open: \"09:00\", close: \"10:00\"}]\nholidays:\n  - {date: \"2026-10-01\"}\n  - {date: \"2026-10-01\", workday: true}\n  - {date: \"2026-02-30\"}\n",
			[]string{
				`t.yaml:4:32: hall.opening_hours[0].days[1]: duplicate value "mon" (first at line 4)`,
				`t.yaml:7:6: holidays[1].date: date 2026-10-01 is listed twice (first at line 6)`,
				`t.yaml:8:6: holidays[2].date: must be a date YYYY-MM-DD such as "2026-10-01", got "2026-02-30"`,
			}},
		{"null required", "hall:\n  id:\n  name: x\n  opening_hours: [{days: [mon], open: \"09:00\", close: \"10:00\"}]\n",
			[]string{`t.yaml:2:3: hall.id: is required, got null`}},
		{"empty required string", "hall:\n  id: h\n  name: \"\"\n  opening_hours: [{days: [mon], open: \"09:00\", close: \"10:00\"}]\n",
			[]string{`t.yaml:3:3: hall.name: must not be empty`}},
		{"null optional is unset", hallHead + "mqtt:\nhttp:\n  allowed_origins:\n", nil},
		{"bad origin", hallHead + "http: {allowed_origins: [\"http://x:1/path\"]}\n",
			[]string{`t.yaml:6:26: http.allowed_origins[0]: must be an origin scheme://host[:port] without a path, such as "http://127.0.0.1:8080", got "http://x:1/path"`}},
		{"empty file", "", []string{`t.yaml:1:1: hall: required field is missing`}},
		{"not a mapping", "- a\n", []string{`t.yaml:1:1: must be a mapping (key: value lines), got a list`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("t.yaml", []byte(tc.in))
			got := errLines(t, err)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("input:\n%s\ngot:\n  %s\nwant:\n  %s", tc.in, strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if (err == nil) != (cfg != nil) {
				t.Errorf("cfg = %v with err = %v: want exactly one", cfg != nil, err)
			}
		})
	}
}

// TestAllErrorsTogether: one file with many problems reports them all, in file order.
func TestAllErrorsTogether(t *testing.T) {
	in := `hall:
  id: My Hall
  name: x
  opening_hours:
    - {days: [mon], open: "09:00", close: "08:00"}
http:
  listen: 8080
services:
  - {id: s, prefix: a, name: S}
windows:
  - {id: w1, number: 1, services: [{service: t}], backup: w9}
devices:
  - id: p1
    kind: ticket_printer
    serial: {baud: fast}
  - id: p1
    kind: ticket_printer
    colour: red
`
	want := []string{
		`devices.yaml:2:3: hall.id: must be lowercase letters, digits and '-' (^[a-z0-9-]+$), got "My Hall"`,
		`devices.yaml:5:36: hall.opening_hours[0].close: must be after open (09:00), got "08:00"`,
		`devices.yaml:7:3: http.listen: must be a string: host:port such as "127.0.0.1:8080", got 8080`,
		`devices.yaml:9:13: services[0].prefix: must be one or two capital letters (^[A-Z]{1,2}$), got "a"`,
		`devices.yaml:11:37: windows[0].services[0].service: unknown service "t"; did you mean "s"?`,
		`devices.yaml:11:51: windows[0].backup: unknown window "w9"; did you mean "w1"?`,
		`devices.yaml:15:5: devices[0].serial: needs port (a path such as /dev/serial/by-id/…) or usb (vid and pid)`,
		`devices.yaml:15:14: devices[0].serial.baud: must be a positive integer, got "fast"`,
		`devices.yaml:16:5: devices[1].id: duplicate id "p1"; already used by devices[0] at line 13`,
		`devices.yaml:16:5: devices[1].serial: a ticket_printer needs a link: add a serial block (port: or usb:) or simulate: true`,
		`devices.yaml:18:5: devices[1].colour: unknown field "colour"`,
	}
	_, err := Parse("devices.yaml", []byte(in))
	got := errLines(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	var errs *Errors
	if errors.As(err, &errs) {
		e := (*errs)[0]
		if e.File != "devices.yaml" || e.Line != 2 || e.Col != 3 || e.Path != "hall.id" {
			t.Errorf("first error fields = %+v", e)
		}
	}
}

func loadDemo(t *testing.T) *Config {
	t.Helper()
	cfg, err := Load(filepath.Join("..", "..", "devices.yaml"))
	if err != nil {
		t.Fatalf("demo devices.yaml does not load:\n%v", err)
	}
	return cfg
}

func TestDemoLoads(t *testing.T) {
	cfg := loadDemo(t)
	if cfg.Hall.ID != "hn-xjxq" || cfg.Hall.Hotline != "0731-88995297" {
		t.Errorf("hall = %+v", cfg.Hall)
	}
	if len(cfg.Services) < 5 || len(cfg.Windows) != 4 {
		t.Errorf("%d services, %d windows", len(cfg.Services), len(cfg.Windows))
	}
	for _, d := range cfg.Devices {
		simulated := d.Simulate || d.Kind == KindKiosk
		if line, ok := cfg.Device(d.Bus); ok && d.Bus != "" {
			simulated = line.Simulate // a pad is simulated by its line's simulator
		}
		if !simulated {
			t.Errorf("demo device %s is not simulated", d.ID)
		}
	}
	k, ok := cfg.Device("kiosk-1")
	if !ok || !reflect.DeepEqual(k.Kiosk.Printers, []string{"printer-1", "printer-2"}) {
		t.Errorf("kiosk-1 = %+v", k)
	}
	if got := len(cfg.DevicesOfKind(KindTicketPrinter)); got < 2 {
		t.Errorf("%d printers", got)
	}
	for _, s := range cfg.Services {
		if n := len(s.Materials); n < 3 || n > 6 {
			t.Errorf("service %s has %d materials", s.ID, n)
		}
	}
	if p, _ := cfg.Device("printer-1"); p.Line == 0 {
		t.Error("Device.Line not set")
	}
}

func TestDefaults(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hall.yaml")
	in := hallHead + `http:
  tokens: [{name: ops, file: secrets/ops.token, scopes: [it]}]
services:
  - {id: s, prefix: A, name: S}
windows:
  - {id: w1, number: 3, services: [{service: s}]}
devices:
  - {id: p1, kind: ticket_printer, area: front, serial: {port: /dev/ttyUSB0}}
  - {id: p2, kind: ticket_printer, area: back, simulate: true, printer: {cutter: partial}}
  - {id: p3, kind: ticket_printer, area: front, simulate: true}
  - {id: k1, kind: kiosk, area: front}
  - {id: k2, kind: kiosk, kiosk: {scanners: [sc]}}
  - {id: sc, kind: scanner, serial: {usb: {vid: "05f9", pid: "4204"}}}
areas: [{id: front}, {id: back}]
`
	if err := os.WriteFile(path, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	// Load reads the token file (it must exist, private, a token of 16 characters or more).
	os.Mkdir(filepath.Join(dir, "secrets"), 0o750)
	if err := os.WriteFile(filepath.Join(dir, "secrets", "ops.token"), []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	check("File", cfg.File, path)
	check("http.listen", cfg.HTTP.Listen, "127.0.0.1:8080")
	check("storage.dir", cfg.Storage.Dir, filepath.Join(dir, "data"))
	check("storage.retention", cfg.Storage.Retention, "2160h")
	check("retention duration", cfg.Storage.RetentionDuration(), 90*24*time.Hour)
	check("token file", cfg.HTTP.Tokens[0].File, filepath.Join(dir, "secrets", "ops.token"))
	check("hall.timezone", cfg.Hall.Timezone, "Asia/Shanghai")
	check("Location", cfg.Location.String(), "Asia/Shanghai")
	check("hall.ticket_footer", cfg.Hall.TicketFooter, "过号请重新取号 · 当日有效")
	check("max_number", cfg.Services[0].MaxNumber, 999)
	check("avg_service_minutes", cfg.Services[0].AvgServiceMinutes, 10)
	check("weight", cfg.Windows[0].Services[0].Weight, 1)
	check("window name", cfg.Windows[0].Name, "3号窗口")
	p1, _ := cfg.Device("p1")
	check("p1 baud", p1.Serial.Baud, 115200)
	check("p1 printer", *p1.Printer, Printer{Profile: "generic-80mm", PollInterval: "1500ms"})
	check("p1 poll", p1.Printer.PollIntervalDuration(), 1500*time.Millisecond)
	p2, _ := cfg.Device("p2")
	check("p2 printer", *p2.Printer, Printer{Profile: "generic-80mm", Cutter: "partial", PollInterval: "1500ms"})
	sc, _ := cfg.Device("sc")
	check("scanner baud", sc.Serial.Baud, 9600)
	k1, _ := cfg.Device("k1")
	check("k1 printers", k1.Kiosk.Printers, []string{"p1", "p3"})
	k2, _ := cfg.Device("k2")
	check("k2 printers", k2.Kiosk.Printers, []string{"p1", "p2", "p3"})
}

// TestDefaultTagsMatchConstants keeps the exported Default… constants and the default:"…" tags in step.
func TestDefaultTagsMatchConstants(t *testing.T) {
	tag := func(typ any, name string) string {
		f := fieldsOf(reflect.TypeOf(typ)).byName[name]
		if f == nil || !f.HasDef {
			t.Fatalf("%T.%s has no default tag", typ, name)
		}
		return f.Default
	}
	pairs := [][2]string{
		{tag(HTTP{}, "listen"), DefaultListen},
		{tag(Storage{}, "dir"), DefaultStorageDir},
		{tag(Storage{}, "retention"), DefaultRetention},
		{tag(Hall{}, "timezone"), DefaultTimezone},
		{tag(Hall{}, "ticket_footer"), DefaultTicketFooter},
		{tag(Service{}, "max_number"), "999"},
		{tag(Service{}, "avg_service_minutes"), "10"},
		{tag(WindowService{}, "weight"), "1"},
		{tag(Printer{}, "profile"), DefaultProfile},
		{tag(Printer{}, "poll_interval"), DefaultPollInterval},
	}
	for _, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("tag %q != constant %q", p[0], p[1])
		}
	}
	if DefaultMaxNumber != 999 || DefaultAvgMinutes != 10 || DefaultWeight != 1 {
		t.Error("integer default constants drifted from their tags")
	}
	if !reflect.DeepEqual(fieldsOf(reflect.TypeOf(Device{})).byName["kind"].Enum, Kinds()) {
		t.Error("Kinds() and the kind enum tag differ")
	}
}

func TestParseOptionsProfiles(t *testing.T) {
	in := hallHead + "devices:\n  - {id: p1, kind: ticket_printer, simulate: true, printer: {profile: my-printer}}\n"
	if _, err := Parse("t.yaml", []byte(in)); err == nil {
		t.Fatal("unknown profile accepted")
	}
	cfg, err := ParseWithOptions("t.yaml", []byte(in), ParseOptions{PrinterProfiles: []string{"my-printer"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Devices[0].Printer.Profile != "my-printer" {
		t.Errorf("profile = %q", cfg.Devices[0].Printer.Profile)
	}
	// The default profile must be known too when a printer names none.
	in = hallHead + "devices:\n  - {id: p1, kind: ticket_printer, simulate: true}\n"
	_, err = ParseWithOptions("t.yaml", []byte(in), ParseOptions{PrinterProfiles: []string{"my-printer"}})
	want := []string{`t.yaml:7:5: devices[0].printer: unknown printer profile "generic-80mm" (known: my-printer)`}
	if got := errLines(t, err); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
	if want := path + ": cannot read: no such file or directory"; err.Error() != want {
		t.Errorf("got %q, want %q", err.Error(), want)
	}
}

func TestAnchorsAndMerge(t *testing.T) {
	in := hallHead + `x-printer: &printer
  kind: ticket_printer
  simulate: true
  printer: {profile: generic-58mm, cutter: partial}
devices:
  - <<: *printer
    id: p1
  - <<: *printer
    id: p2
    printer: {profile: zj-5870}
  - <<: [*printer]
    id: p3
    colour: red
`
	_, err := Parse("t.yaml", []byte(in))
	want := []string{`t.yaml:18:5: devices[2].colour: unknown field "colour"`}
	if got := errLines(t, err); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q", got)
	}
	cfg, err := Parse("t.yaml", []byte(strings.Replace(in, "    colour: red\n", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Devices[0]; p.Kind != KindTicketPrinter || !p.Simulate || p.Printer.Cutter != "partial" {
		t.Errorf("p1 = %+v %+v", p, p.Printer)
	}
	if p := cfg.Devices[1]; p.Printer.Profile != "zj-5870" || p.Printer.Cutter != "" {
		t.Errorf("p2 printer = %+v (own keys win over merged ones, whole values)", p.Printer)
	}
	// A bad value inside the anchor is reported where it is written, for each use.
	bad := hallHead + "x-p: &p {kind: ticket_printer, simulate: maybe}\ndevices:\n  - {<<: *p, id: a}\n"
	want = []string{`t.yaml:6:32: devices[0].simulate: must be true or false, got "maybe"`}
	if got := errLines(t, func() error { _, err := Parse("t.yaml", []byte(bad)); return err }()); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
}

func TestAliasBomb(t *testing.T) {
	// 2000 windows × 2000 services each would be 4 million values from a 40 kB file.
	var b strings.Builder
	b.WriteString(hallHead)
	b.WriteString("services: [{id: s, prefix: A, name: S}]\n")
	b.WriteString("x-ws: &ws [")
	for i := 0; i < 2000; i++ {
		b.WriteString("{service: s},")
	}
	b.WriteString("{service: s}]\n")
	b.WriteString("x-w: &w {id: w, number: 1, services: *ws}\n")
	b.WriteString("windows: [")
	for i := 0; i < 2000; i++ {
		b.WriteString("*w,")
	}
	b.WriteString("*w]\n")
	start := time.Now()
	_, err := Parse("t.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "too many aliases") {
		t.Fatalf("err = %.500v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestManyErrorsCapped: a file with thousands of mistakes gives a readable list.
func TestManyErrorsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString(hallHead + "devices:\n")
	for i := 0; i < 1000; i++ {
		b.WriteString("  - {id: d, kind: nope}\n")
	}
	_, err := Parse("t.yaml", []byte(b.String()))
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatal(err)
	}
	if n := len(*errs); n != maxErrors+1 {
		t.Fatalf("%d errors", n)
	}
	if last := (*errs)[maxErrors]; !strings.Contains(last.Msg, "more errors not shown") {
		t.Errorf("last = %v", last)
	}
}

func TestIsOpenAndDay(t *testing.T) {
	cfg := loadDemo(t)
	if !cfg.Hall.AlwaysOpen || !cfg.IsOpen(time.Date(2026, 10, 1, 3, 0, 0, 0, time.UTC)) {
		t.Fatal("the demo hall is always_open, so it takes tickets at any hour")
	}
	cfg.Hall.AlwaysOpen = false // the hours below are the real hall's
	sh, _ := time.LoadLocation("Asia/Shanghai")
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, sh)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		when string
		open bool
	}{
		{"2026-03-02 08:59", false}, // Monday before opening
		{"2026-03-02 09:00", true},  // opening minute
		{"2026-03-02 16:59", true},
		{"2026-03-02 17:00", false}, // close is exclusive
		{"2026-03-07 11:30", true},  // Saturday morning (5+1)
		{"2026-03-07 12:00", false}, // Saturday afternoon
		{"2026-03-08 10:00", false}, // Sunday
		{"2026-10-01 10:00", false}, // 国庆节, a Thursday
		{"2026-10-10 15:00", true},  // 调休 Saturday: Monday's hours
		{"2026-01-04 10:00", true},  // 调休 Sunday
	}
	for _, tc := range tests {
		if got := cfg.IsOpen(at(tc.when)); got != tc.open {
			t.Errorf("IsOpen(%s) = %v, want %v", tc.when, got, tc.open)
		}
	}
	// 2026-03-01 17:30 UTC is already 2026-03-02 01:30 in Shanghai.
	if got := cfg.Day(time.Date(2026, 3, 1, 17, 30, 0, 0, time.UTC)); got != "2026-03-02" {
		t.Errorf("Day = %s", got)
	}
	// Tuesday 10:00 in Shanghai given as UTC.
	if !cfg.IsOpen(time.Date(2026, 3, 3, 2, 0, 0, 0, time.UTC)) {
		t.Error("IsOpen ignores the hall's time zone")
	}
	// A Config built by hand (no Location) still uses the hall's zone.
	hand := &Config{Hall: Hall{OpeningHours: []OpeningHours{{Days: []string{"tue"}, Open: "09:00", Close: "10:00"}}}}
	if !hand.IsOpen(time.Date(2026, 3, 3, 1, 30, 0, 0, time.UTC)) || hand.Day(time.Date(2026, 3, 2, 20, 0, 0, 0, time.UTC)) != "2026-03-03" {
		t.Error("hand-built Config does not default to Asia/Shanghai")
	}
}

func TestLookups(t *testing.T) {
	cfg := loadDemo(t)
	if s, ok := cfg.Service("real-estate"); !ok || s.Prefix != "B" {
		t.Errorf("Service = %+v, %v", s, ok)
	}
	if _, ok := cfg.Service("nope"); ok {
		t.Error("Service(nope) found")
	}
	if w, ok := cfg.Window("window-1"); !ok || w.Backup != "window-2" {
		t.Errorf("Window = %+v, %v", w, ok)
	}
	if d, ok := cfg.Device("printer-3"); !ok || d.Printer.PaperWidthMM != 58 {
		t.Errorf("Device = %+v, %v", d, ok)
	}
	if _, ok := cfg.Device("nope"); ok {
		t.Error("Device(nope) found")
	}
	// Pointers point into the Config.
	s, _ := cfg.Service("pickup")
	s.DailyCap = 7
	if cfg.Services[len(cfg.Services)-1].DailyCap != 7 {
		t.Error("Service returns a copy")
	}
	if got := cfg.DevicesOfKind(KindEvalPad); len(got) != 4 || got[0].ID != "pad-1" || got[3].Window != "window-4" {
		t.Errorf("DevicesOfKind(eval_pad) = %v", got)
	}
}

func TestErrorFormat(t *testing.T) {
	cases := []struct {
		e    Error
		want string
	}{
		{Error{File: "d.yaml", Line: 42, Col: 7, Path: "devices[3].serial.baud", Msg: "m"}, "d.yaml:42:7: devices[3].serial.baud: m"},
		{Error{File: "d.yaml", Line: 3, Msg: "m"}, "d.yaml:3: m"},
		{Error{File: "d.yaml", Msg: "m"}, "d.yaml: m"},
	}
	for _, c := range cases {
		if got := c.e.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
	errs := &Errors{cases[0].e, cases[1].e}
	if got := errs.Error(); got != cases[0].want+"\n"+cases[1].want {
		t.Errorf("Errors.Error() = %q", got)
	}
	var one Error
	if !errors.As(error(errs), &one) || one.Line != 42 {
		t.Error("errors.As does not find an Error in Errors")
	}
}
