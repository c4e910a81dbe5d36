package config

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
)

// applyDefaults fills in what the file left out, once it is known to be valid:
//   - every field with a default:"…" tag (http.listen, storage.dir, storage.retention, hall.timezone,
//     hall.ticket_footer, services' max_number and avg_service_minutes, windows' service weight,
//     printer profile and poll_interval);
//   - a ticket_printer without a printer block gets one (with the defaults above);
//   - serial.baud by kind (DefaultBaud);
//   - a window without a name is called "N号窗口";
//   - a kiosk without printers gets every ticket_printer of its area (of the hall when it has none);
//   - relative paths (storage.dir, token files, MQTT files) are resolved against the config file's
//     directory and made absolute.
func applyDefaults(c *Config) {
	for i := range c.Devices {
		if dev := &c.Devices[i]; dev.Kind == KindTicketPrinter && dev.Printer == nil {
			dev.Printer = &Printer{}
		}
	}
	fillTags(reflect.ValueOf(c).Elem())
	for i := range c.Windows {
		if w := &c.Windows[i]; w.Name == "" {
			w.Name = fmt.Sprintf(defaultWindowNameFmt, w.Number)
		}
	}
	for i := range c.Devices {
		dev := &c.Devices[i]
		if dev.Serial != nil && dev.Serial.Baud == 0 {
			dev.Serial.Baud = DefaultBaud(dev.Kind)
		}
		if dev.Kind != KindKiosk {
			continue
		}
		if dev.Kiosk == nil {
			dev.Kiosk = &Kiosk{}
		}
		if len(dev.Kiosk.Printers) == 0 {
			for _, p := range c.DevicesOfKind(KindTicketPrinter) {
				if dev.Area == "" || p.Area == dev.Area {
					dev.Kiosk.Printers = append(dev.Kiosk.Printers, p.ID)
				}
			}
		}
	}
	base := filepath.Dir(c.File)
	resolve := func(p *string) {
		if *p == "" {
			return
		}
		if !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
		if abs, err := filepath.Abs(*p); err == nil {
			*p = abs
		}
	}
	resolve(&c.Storage.Dir)
	for i := range c.HTTP.Tokens {
		resolve(&c.HTTP.Tokens[i].File)
	}
	u := &c.MQTT.Uplink
	for _, p := range []*string{&u.UsernameFile, &u.PasswordFile, &u.CAFile, &u.CertFile, &u.KeyFile} {
		resolve(p)
	}
	for i := range c.Devices {
		resolve(&c.Devices[i].Secret)
	}
}

// fillTags sets every zero field that has a default:"…" tag, through structs, non-nil pointers and lists.
func fillTags(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			fillTags(v.Elem())
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			fillTags(v.Index(i))
		}
	case reflect.Struct:
		for _, f := range fieldsOf(v.Type()).fields {
			fv := v.Field(f.Index)
			if f.HasDef && fv.IsZero() {
				switch fv.Kind() {
				case reflect.String:
					fv.SetString(f.Default)
				case reflect.Int:
					n, err := strconv.Atoi(f.Default)
					if err != nil {
						panic("config: bad default tag on " + f.Name)
					}
					fv.SetInt(int64(n))
				case reflect.Pointer:
					if fv.Type().Elem().Kind() != reflect.Bool {
						panic("config: default tag on unsupported field " + f.Name)
					}
					b, err := strconv.ParseBool(f.Default)
					if err != nil {
						panic("config: bad default tag on " + f.Name)
					}
					fv.Set(reflect.ValueOf(&b))
				default:
					panic("config: default tag on unsupported field " + f.Name)
				}
			}
			fillTags(fv)
		}
	}
}
