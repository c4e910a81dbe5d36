package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// wantErrs parses in and compares every line of the error with want (nil: in must be valid).
func wantErrs(t *testing.T, in string, want ...string) *Config {
	t.Helper()
	cfg, err := Parse("t.yaml", []byte(in))
	got := errLines(t, err)
	if len(want) == 0 {
		want = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("input:\n%.2000s\ngot:\n  %s\nwant:\n  %s", in, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	return cfg
}

// TestAliasExpansionBomb: a 60 KB string anchored once and aliased 20,000 times is a 180 KB file that
// expands to 1.2 GB. The decoder's node count let it through (20,000 values); halld run then ran out of
// memory at its first snapshot. The bytes an alias expands to are counted now, before decoding.
func TestAliasExpansionBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString(hallHead)                                               // lines 1–5
	b.WriteString("x-big: &big \"" + strings.Repeat("x", 60000) + "\"\n") // line 6
	b.WriteString("services:\n")                                          // line 7
	b.WriteString("  - id: s\n    prefix: A\n    name: S\n")              // lines 8–10
	b.WriteString("    materials:\n")                                     // line 11
	for i := 0; i < 20000; i++ {
		b.WriteString("      - *big\n") // line 12 + i
	}
	if b.Len() > MaxFileBytes {
		t.Fatalf("the bomb is %d bytes: it must pass the file size check", b.Len())
	}
	start := time.Now()
	// The anchor and 68 aliases stay under 4 MiB (69 × 60,000 = 4,140,000 plus the keys); the 69th
	// alias, materials[68] on line 12+68, passes it.
	wantErrs(t, b.String(), `t.yaml:80:9: services[0].materials[68]: too many aliases expanded: with *big here the file holds more than 4194304 bytes (4 MiB) of values; a hall's file holds a few thousand values, a few tens of KiB`)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}

	// Nested aliases multiply: 10 × 10 × … of a small list. The memo keeps the count linear.
	var n strings.Builder
	n.WriteString(hallHead + "x-0: &a0 [s, s, s, s, s, s, s, s, s, s]\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&n, "x-%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	// lines 6–14; x-4 alone is 111,111 values: its eighth alias (line 10) passes the count.
	start = time.Now()
	wantErrs(t, n.String(), `t.yaml:10:46: x-4[7]: too many aliases expanded: with *a3 here the file holds more than 100000 values; a hall's file holds a few thousand values, a few tens of KiB`)
	if d := time.Since(start); d > time.Second {
		t.Errorf("nested: took %v", d)
	}
}

// TestAliasesReusedAreFine: small anchors used many times (the way a hall writes 200 pads) load.
func TestAliasesReusedAreFine(t *testing.T) {
	var b strings.Builder
	b.WriteString(hallHead)
	b.WriteString("x-materials: &m [居民身份证原件, 申请表, 相关证明材料, 营业执照副本, 授权委托书]\n")
	b.WriteString("x-pad: &pad {kind: eval_pad, area: front, bus: bus-1}\n")
	b.WriteString("areas: [{id: front}]\nservices:\n")
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&b, "  - {id: s%d, prefix: %c, name: 服务%d, area: front, materials: *m}\n", i, 'A'+i, i)
	}
	b.WriteString("windows:\n")
	for i := 1; i <= 200; i++ {
		fmt.Fprintf(&b, "  - {id: w%d, number: %d, services: [{service: s%d}]}\n", i, i, i%20)
	}
	b.WriteString("devices:\n  - {id: bus-1, kind: bus, area: front, simulate: true}\n")
	for i := 1; i <= 200; i++ {
		fmt.Fprintf(&b, "  - {<<: *pad, id: pad-%d, window: w%d, address: %d}\n", i, i, i)
	}
	cfg := wantErrs(t, b.String())
	if cfg == nil {
		return
	}
	if got := len(cfg.Services[19].Materials); got != 5 {
		t.Errorf("materials = %d", got)
	}
	if p, _ := cfg.Device("pad-200"); p.Bus != "bus-1" || p.Address != 200 {
		t.Errorf("pad-200 = %+v", p)
	}
}

func TestRecursiveAlias(t *testing.T) {
	wantErrs(t, hallHead+"x-loop: &x [a, *x]\n", `t.yaml:6:16: x-loop[1]: alias *x names a value that contains it: an endless value`)
}

func TestFileTooLarge(t *testing.T) {
	big := hallHead + "x-pad: \"" + strings.Repeat("x", MaxFileBytes) + "\"\n"
	wantErrs(t, big, fmt.Sprintf("t.yaml: file too large: %d bytes, at most 1048576 (1 MiB); a hall's devices.yaml is a few tens of KiB", len(big)))

	path := filepath.Join(t.TempDir(), "devices.yaml")
	if err := os.WriteFile(path, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if want := fmt.Sprintf("%s: file too large: %d bytes, at most 1048576 (1 MiB); a hall's devices.yaml is a few tens of KiB", path, len(big)); err == nil || err.Error() != want {
		t.Errorf("Load: got %v\nwant %s", err, want)
	}
	// Exactly at the limit is not refused for its size.
	exact := hallHead + "x-pad: \"" + strings.Repeat("x", MaxFileBytes-len(hallHead)-len("x-pad: \"\"\n")) + "\"\n"
	if len(exact) != MaxFileBytes {
		t.Fatalf("exact is %d bytes", len(exact))
	}
	if _, err := Parse("t.yaml", []byte(exact)); err != nil {
		t.Errorf("a file of exactly 1 MiB: %v", err)
	}
}

// TestKioskRouting: an id_reader or scanner reaches exactly one kiosk. One no kiosk lists drops its
// events; one listed by two kiosks reaches only the first (Config.KioskOf). Printers may be shared: a
// kiosk fails over to the other printers of its area anyway (printing.Candidates).
func TestKioskRouting(t *testing.T) {
	head := hallHead + "devices:\n" // devices from line 7
	wantErrs(t, head+
		"  - {id: k1, kind: kiosk, kiosk: {printers: [p1], readers: [r1], scanners: [s1]}}\n"+
		"  - {id: k2, kind: kiosk, kiosk: {printers: [p1], readers: [r1], scanners: [s1]}}\n"+
		"  - {id: p1, kind: ticket_printer, simulate: true}\n"+
		"  - {id: r1, kind: id_reader, simulate: true}\n"+
		"  - {id: r2, kind: id_reader, simulate: true}\n"+
		"  - {id: s1, kind: scanner, simulate: true}\n"+
		"  - {id: s2, kind: scanner, simulate: true}\n",
		`t.yaml:8:61: devices[1].kiosk.readers[0]: id_reader "r1" is already listed by kiosk "k1" (devices[0] at line 7): its events reach one kiosk only; list it under the kiosk it is built into`,
		`t.yaml:8:77: devices[1].kiosk.scanners[0]: scanner "s1" is already listed by kiosk "k1" (devices[0] at line 7): its events reach one kiosk only; list it under the kiosk it is built into`,
		`t.yaml:11:5: devices[4]: no kiosk lists id_reader "r2" in kiosk.readers: its card reads would be dropped; add it to the kiosk it is built into`,
		`t.yaml:13:5: devices[6]: no kiosk lists scanner "s2" in kiosk.scanners: its scans would be dropped; add it to the kiosk it is built into`,
	)
	// Each at one kiosk, a printer shared by both: fine.
	wantErrs(t, head+
		"  - {id: k1, kind: kiosk, kiosk: {printers: [p1], readers: [r1], scanners: [s1]}}\n"+
		"  - {id: k2, kind: kiosk, kiosk: {printers: [p1], readers: [r2], scanners: [s2]}}\n"+
		"  - {id: p1, kind: ticket_printer, simulate: true}\n"+
		"  - {id: r1, kind: id_reader, simulate: true}\n"+
		"  - {id: r2, kind: id_reader, simulate: true}\n"+
		"  - {id: s1, kind: scanner, simulate: true}\n"+
		"  - {id: s2, kind: scanner, simulate: true}\n")
}

func TestBaudRates(t *testing.T) {
	rates := "1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600"
	wantErrs(t, hallHead+"devices:\n"+
		"  - {id: b1, kind: bus, serial: {port: /dev/ttyUSB1, baud: 1}}\n"+
		"  - {id: b2, kind: bus, serial: {port: /dev/ttyUSB2, baud: 9601}}\n"+
		"  - {id: b3, kind: bus, serial: {port: /dev/ttyUSB3, baud: 12345678}}\n"+
		"  - {id: b4, kind: bus, serial: {port: /dev/ttyUSB4, baud: 0}}\n",
		`t.yaml:7:54: devices[0].serial.baud: must be a standard rate (`+rates+`), got 1`,
		`t.yaml:8:54: devices[1].serial.baud: must be a standard rate (`+rates+`), got 9601`,
		`t.yaml:9:54: devices[2].serial.baud: must be a standard rate (`+rates+`), got 12345678`,
		`t.yaml:10:54: devices[3].serial.baud: must be a positive integer, got 0`,
	)
	var b strings.Builder
	b.WriteString(hallHead + "devices:\n")
	for i, r := range StandardBauds {
		fmt.Fprintf(&b, "  - {id: b%d, kind: bus, serial: {port: /dev/ttyUSB%d, baud: %d}}\n", i, i, r)
	}
	wantErrs(t, b.String())
}

// TestDurationBounds: every duration has a range; one value past each end of each.
func TestDurationBounds(t *testing.T) {
	kiosk := "  - {id: k, kind: kiosk, kiosk: {session_timeout: %s}}\n"
	term := "  - {id: t, kind: terminal, simulate: true, heartbeat: %s}\n"
	printer := "  - {id: p, kind: ticket_printer, simulate: true, printer: {poll_interval: %s}}\n"
	line := "  - {id: l, kind: line, simulate: true, framing: {partial_timeout: %s}}\n"
	tests := []struct {
		in, want string
	}{
		{"  pause_limit: 30s\n", `t.yaml:6:3: hall.pause_limit: must be a duration from 1m to 8h, got "30s"`},
		{"  pause_limit: 9h\n", `t.yaml:6:3: hall.pause_limit: must be a duration from 1m to 8h, got "9h"`},
		{"  rating_timeout: 5s\n", `t.yaml:6:3: hall.rating_timeout: must be a duration from 10s to 30m, got "5s"`},
		{"  rating_timeout: 31m\n", `t.yaml:6:3: hall.rating_timeout: must be a duration from 10s to 30m, got "31m"`},
		{"storage: {retention: 87601h}\n", `t.yaml:6:11: storage.retention: must be a duration of at most 87600h (3650 days), got "87601h"`},
		{"devices:\n" + fmt.Sprintf(kiosk, "500ms"), `t.yaml:7:34: devices[0].kiosk.session_timeout: must be a duration from 1s to 10m (card data must not stay in memory for long), got "500ms"`},
		{"devices:\n" + fmt.Sprintf(kiosk, "1h"), `t.yaml:7:34: devices[0].kiosk.session_timeout: must be a duration from 1s to 10m (card data must not stay in memory for long), got "1h"`},
		{"devices:\n" + fmt.Sprintf(term, "100ms"), `t.yaml:7:45: devices[0].heartbeat: must be a duration from 1s to 1h, got "100ms"`},
		{"devices:\n" + fmt.Sprintf(term, "2h"), `t.yaml:7:45: devices[0].heartbeat: must be a duration from 1s to 1h, got "2h"`},
		{"devices:\n" + fmt.Sprintf(printer, "1ms"), `t.yaml:7:61: devices[0].printer.poll_interval: must be a duration from 100ms to 1m, got "1ms"`},
		{"devices:\n" + fmt.Sprintf(printer, "2m"), `t.yaml:7:61: devices[0].printer.poll_interval: must be a duration from 100ms to 1m, got "2m"`},
		{"devices:\n" + fmt.Sprintf(line, "1ms"), `t.yaml:7:51: devices[0].framing.partial_timeout: must be a duration from 20ms to 10s, got "1ms"`},
		{"devices:\n" + fmt.Sprintf(line, "11s"), `t.yaml:7:51: devices[0].framing.partial_timeout: must be a duration from 20ms to 10s, got "11s"`},
	}
	for _, tc := range tests {
		wantErrs(t, hallHead+tc.in, tc.want)
	}
	// Both ends are inside.
	wantErrs(t, hallHead+"  pause_limit: 1m\n  rating_timeout: 30m\nstorage: {retention: 87600h}\ndevices:\n"+
		fmt.Sprintf(kiosk, "10m")+fmt.Sprintf(term, "1s")+fmt.Sprintf(printer, "100ms")+fmt.Sprintf(line, "10s"))
}

// TestEveryDurationBounded: a duration field added later must get its range in durationBounds, and
// every integer field its min and max tags (serial.baud takes the standard rates; daily_cap is bounded
// by max_number or MaxDailyTickets in validate).
func TestEveryDurationBounded(t *testing.T) {
	intExempt := map[string]bool{"devices.serial.baud": true, "services.daily_cap": true}
	var walk func(typ reflect.Type, path string)
	seen := map[string]bool{}
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct {
			return
		}
		for _, f := range fieldsOf(typ).fields {
			p := join(path, f.Name)
			if seen[p] {
				continue
			}
			seen[p] = true
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch {
			case f.Format == formats["duration"]:
				if b, ok := durationBounds[p]; !ok || b.max == "" || (b.min == "" && p != "storage.retention") {
					t.Errorf("duration field %s has no range in durationBounds (validate.go)", p)
				}
			case ft.Kind() == reflect.Int && !intExempt[p]:
				if f.Min == nil || f.Max == nil {
					t.Errorf("integer field %s needs min and max tags", p)
				}
			}
			walk(f.Type, p)
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	for p, b := range durationBounds {
		if !seen[p] {
			t.Errorf("durationBounds names %s, which is no field", p)
		}
		for _, s := range []string{b.min, b.max} {
			if _, err := time.ParseDuration(s); s != "" && err != nil {
				t.Errorf("durationBounds[%s]: %v", p, err)
			}
		}
	}
	// The defaults lie inside their ranges.
	cfg, err := Parse("t.yaml", []byte(hallHead+"devices:\n  - {id: k, kind: kiosk}\n  - {id: p, kind: ticket_printer, simulate: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for path, s := range map[string]string{
		"hall.pause_limit": cfg.Hall.PauseLimit, "hall.rating_timeout": cfg.Hall.RatingTimeout,
		"storage.retention": cfg.Storage.Retention, "devices.printer.poll_interval": cfg.Devices[1].Printer.PollInterval,
		"devices.kiosk.session_timeout":   cfg.Devices[0].Kiosk.SessionTimeout,
		"devices.framing.partial_timeout": "300ms", "devices.heartbeat": "60s",
	} {
		if msg := durationOutOfRange(path, s); msg != "" {
			t.Errorf("default %s = %s: %s", path, s, msg)
		}
	}
}

// TestDeviceCounts: what one box runs (MaxDevices, MaxSerialDevices, the broker's max_clients).
func TestDeviceCounts(t *testing.T) {
	var b strings.Builder
	b.WriteString(hallHead + "devices:\n") // device i on line 7+i
	for i := 0; i < MaxDevices+1; i++ {
		fmt.Fprintf(&b, "  - {id: k%d, kind: kiosk}\n", i)
	}
	wantErrs(t, b.String(), `t.yaml:1007:5: devices[1000]: one box runs at most 1000 devices; this is device 1001 (split the hall across boxes)`)

	b.Reset()
	b.WriteString(hallHead + "devices:\n")
	for i := 0; i < MaxSerialDevices+1; i++ {
		fmt.Fprintf(&b, "  - {id: p%d, kind: ticket_printer, simulate: true}\n", i)
	}
	wantErrs(t, b.String(), `t.yaml:519:5: devices[512]: one box drives at most 512 serial devices (each holds up to four descriptors and a goroutine); this is serial device 513`)

	// Pads on a bus are not serial devices of their own: 247 pads on one line are fine.
	b.Reset()
	b.WriteString(hallHead + "services: [{id: s, prefix: A, name: S}]\nwindows: [{id: w, number: 1, services: [{service: s}]}]\ndevices:\n  - {id: bus, kind: bus, simulate: true}\n")
	for i := 1; i <= MaxPadsPerBus; i++ {
		fmt.Fprintf(&b, "  - {id: pad%d, kind: eval_pad, window: w, bus: bus, address: %d}\n", i, i)
	}
	wantErrs(t, b.String())

	// 257 terminals do not fit the broker's default 256 connections (simulated ones use the loopback
	// listener and do not count).
	terms := func(n int, broker string) string {
		var b strings.Builder
		b.WriteString(hallHead + broker + "devices:\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "  - {id: t%d, kind: terminal, password_file: /etc/halld/t%d.pass}\n", i, i)
		}
		b.WriteString("  - {id: sim, kind: terminal, simulate: true}\n  - {id: pad, kind: eval_pad, window: w, password_file: /etc/halld/pad.pass}\n")
		return strings.Replace(b.String(), "devices:", "services: [{id: s, prefix: A, name: S}]\nwindows: [{id: w, number: 1, services: [{service: s}]}]\ndevices:", 1)
	}
	wantErrs(t, terms(255, ""))
	wantErrs(t, terms(256, ""), `t.yaml:266:5: devices[257]: the embedded broker takes 256 connections (mqtt.broker.max_clients) but the hall has 257 terminals and networked eval_pads; raise max_clients to at least 257`)
	wantErrs(t, terms(256, "mqtt: {broker: {max_clients: 100}}\n"), `t.yaml:6:17: mqtt.broker.max_clients: the embedded broker takes 100 connections (mqtt.broker.max_clients) but the hall has 257 terminals and networked eval_pads; raise max_clients to at least 257`)
	wantErrs(t, terms(256, "mqtt: {broker: {max_clients: 257}}\n"))
	wantErrs(t, terms(256, "mqtt: {broker: {url: \"tcp://10.0.0.2:1883\"}}\n")) // an external broker has its own limits
}

// TestNumbering: hall.numbering, its defaults and what it allows of daily_cap.
func TestNumbering(t *testing.T) {
	svc := "services:\n  - {id: s, prefix: A, name: S, daily_cap: %d}\n"
	cfg := wantErrs(t, hallHead+fmt.Sprintf(svc, 1500))
	if cfg != nil && (cfg.Hall.Numbering != Numbering{Digits: DefaultNumberDigits, Overflow: DefaultNumberOverflow}) {
		t.Errorf("numbering = %+v, want the defaults", cfg.Hall.Numbering)
	}
	if DefaultNumberDigits != 3 || DefaultNumberOverflow != "grow" {
		t.Error("numbering defaults changed")
	}
	if f := fieldsOf(reflect.TypeOf(Numbering{})); f.byName["digits"].Default != "3" || f.byName["overflow"].Default != DefaultNumberOverflow {
		t.Error("numbering default tags and constants differ")
	}
	cfg = wantErrs(t, hallHead+"  numbering: {digits: 4, overflow: wrap}\n"+fmt.Sprintf(svc, 5000))
	if cfg != nil && (cfg.Hall.Numbering != Numbering{Digits: 4, Overflow: "wrap"}) {
		t.Errorf("numbering = %+v", cfg.Hall.Numbering)
	}
	wantErrs(t, hallHead+"  numbering: {digits: 2, overflow: loop}\n",
		`t.yaml:6:15: hall.numbering.digits: must be an integer from 3 to 5, got 2`,
		`t.yaml:6:26: hall.numbering.overflow: must be one of grow, wrap, stop; got "loop"; did you mean "stop"?`)
	wantErrs(t, hallHead+fmt.Sprintf(svc, 100000), `t.yaml:7:33: services[0].daily_cap: must be at most 99999 tickets a day, got 100000`)
	wantErrs(t, hallHead+"  numbering: {overflow: stop}\n"+fmt.Sprintf(svc, 1000),
		`t.yaml:8:33: services[0].daily_cap: must not exceed max_number (999), got 1000: ticket numbers would repeat within a day`)
}
