package config

import "testing"

// A window's desk reader is an id_reader that reaches that window only: not
// a kiosk's too, not a printer. Listed there, it needs no kiosk.
func TestWindowReader(t *testing.T) {
	head := hallHead + "services: [{id: a, prefix: A, name: 综合}]\n" // services at line 6
	wantErrs(t, head+
		"windows:\n"+
		"  - {id: w1, number: 1, reader: r1, services: [{service: a}]}\n"+
		"  - {id: w2, number: 2, reader: p1, services: [{service: a}]}\n"+
		"  - {id: w3, number: 3, reader: r9, services: [{service: a}]}\n"+
		"  - {id: w4, number: 4, reader: r2, services: [{service: a}]}\n"+
		"devices:\n"+
		"  - {id: k1, kind: kiosk, kiosk: {printers: [p1], readers: [r2]}}\n"+
		"  - {id: p1, kind: ticket_printer, simulate: true}\n"+
		"  - {id: r1, kind: id_reader, simulate: true}\n"+
		"  - {id: r2, kind: id_reader, simulate: true}\n",
		`t.yaml:9:25: windows[1].reader: device "p1" is a ticket_printer, not a id_reader`,
		`t.yaml:10:25: windows[2].reader: unknown device "r9"`,
		`t.yaml:11:25: windows[3].reader: id_reader "r2" is already listed by "k1" (devices[0] at line 13): its card reads reach one place only`,
	)
	c, err := Parse("t.yaml", []byte(head+
		"windows:\n"+
		"  - {id: w1, number: 1, reader: r1, services: [{service: a}]}\n"+
		"devices:\n"+
		"  - {id: r1, kind: id_reader, simulate: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w, ok := c.WindowOfReader("r1"); !ok || w.ID != "w1" {
		t.Fatalf("WindowOfReader(r1) = %v, %v", w, ok)
	}
	if _, ok := c.KioskOf("r1"); ok {
		t.Fatal("a window's reader is routed to a kiosk")
	}
}
