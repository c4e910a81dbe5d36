package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, returns exactly one of a config or an *Errors, and every error has a
// file name, a place inside the input and a message.
func FuzzParse(f *testing.F) {
	if demo, err := os.ReadFile(filepath.Join("..", "..", "devices.yaml")); err == nil {
		f.Add(demo)
	}
	seeds := []string{
		"",
		hallHead,
		hallHead + "devices:\n  - {id: p, kind: ticket_printer, serial: {usb: {vid: \"1a86\", pid: \"7523\"}}}\n",
		hallHead + "x-p: &p {kind: ticket_printer, simulate: true}\ndevices:\n  - {<<: [*p, *p], id: p1}\n",
		hallHead + "windows: [{id: w, number: 1, services: [{service: s}], backup: w}]\n",
		"hall:\n  id: h\n\tname: x\n",
		"a: &x [*x]\nhall: *x\n",
		"hall: {<<: *nope}\n",
		"--- \n...\n---\n",
		"? [a]\n: b\n",
		"hall: !!binary aGVsbG8=\n",
		"hall: {id: !custom h}\n",
		"x-a: &a [s, s, s, s]\nx-b: &b [*a, *a, *a, *a]\nx-c: &c [*b, *b, *b, *b]\nhall: {name: *c}\n",
		"x-l: &l [a, *l]\n",
		hallHead + "devices:\n  - {id: r, kind: id_reader, simulate: true}\n  - {id: k, kind: kiosk, kiosk: {readers: [r, r]}}\n",
		hallHead + "  numbering: {digits: 4, overflow: wrap}\n  pause_limit: 1ms\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("cfg = %v, err = %v", cfg, err)
		}
		if err == nil {
			return
		}
		var errs *Errors
		if !errors.As(err, &errs) || len(*errs) == 0 {
			t.Fatalf("error %T %v is not a non-empty *Errors", err, err)
		}
		lines := 1 // YAML line breaks: \n, \r, and (YAML 1.1) NEL, LS, PS; \r\n counts twice here, which is fine for a bound
		for _, sep := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
			lines += strings.Count(string(data), sep)
		}
		for _, e := range *errs {
			if e.File != "f.yaml" || e.Msg == "" || e.Line < 0 || e.Line > lines || e.Col < 0 {
				t.Fatalf("bad error %+v (input has %d lines)", e, lines)
			}
		}
	})
}
