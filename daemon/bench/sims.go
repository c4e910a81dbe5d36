package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"halld/drivers/escpos"
	"halld/drivers/escpos/escpossim"
	"halld/drivers/hpad/hpadsim"
	"halld/drivers/vport"
)

// printerSims are ESC/POS printer simulators on ptys, shared by every mode
// that prints: each completed ticket reports when its last byte was read,
// keyed by the ticket number printed on it.
type printerSims struct {
	mu       sync.Mutex
	lastByte map[string]time.Time
	jobBytes atomic.Int64 // size of a real printed ticket
	ports    []*vport.Port
	ids      []string
	yaml     strings.Builder // devices.yaml entries
}

// startPrinters makes n printers printer-1…n in area. With wire set, each
// line is slowed to baud (vport.Baud), so latencies include the wire time.
func startPrinters(h *harness, n, baud int, wire bool, area string) (*printerSims, error) {
	ps := &printerSims{lastByte: map[string]time.Time{}}
	prof, _ := escpos.LookupProfile("generic-80mm")
	for i := 1; i <= n; i++ {
		sim := escpossim.New(prof)
		sim.OnTicket(func(t escpossim.Ticket) {
			ps.jobBytes.Store(int64(t.Raw))
			for _, l := range t.Lines {
				if num, ok := ticketNumber(l); ok {
					ps.mu.Lock()
					ps.lastByte[num] = t.Finished
					ps.mu.Unlock()
				}
			}
		})
		serve := sim.Serve
		if wire {
			serve = vport.Baud(baud, serve)
		}
		id := fmt.Sprintf("printer-%d", i)
		vp, err := vport.New(h.path(id), serve)
		if err != nil {
			ps.close()
			return nil, err
		}
		ps.ports = append(ps.ports, vp)
		ps.ids = append(ps.ids, id)
		fmt.Fprintf(&ps.yaml, "  - {id: %s, kind: ticket_printer, area: %s, serial: {port: %s, baud: %d}}\n", id, area, vp.Path(), baud)
	}
	return ps, nil
}

// printedAt is when the last byte of ticket number reached a printer.
func (ps *printerSims) printedAt(number string) (time.Time, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	t, ok := ps.lastByte[number]
	return t, ok
}

// wire is the time a ticket job takes on a serial line at baud (8N1).
func (ps *printerSims) wire(baud int) time.Duration {
	return time.Duration(ps.jobBytes.Load()) * byteTime(baud)
}

func (ps *printerSims) close() {
	for _, p := range ps.ports {
		p.Close()
	}
}

// ticketNumber recognises a printed ticket number (A0001: one capital letter
// and four digits, services with max_number 9999).
func ticketNumber(l string) (string, bool) {
	l = strings.TrimSpace(l)
	if len(l) != 5 || l[0] < 'A' || l[0] > 'Z' {
		return "", false
	}
	for _, c := range l[1:] {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return l, true
}

// postTicket asks halld for a ticket (POST url with body) and returns its
// number and whether it was printed; ok is false unless created (201) or
// returned again (200).
func postTicket(client *http.Client, url, body string) (number string, printed, ok bool) {
	resp, err := client.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return "", false, false
	}
	defer resp.Body.Close()
	var b struct {
		Ticket struct {
			Number      string `json:"number"`
			PrintStatus string `json:"print_status"`
		} `json:"ticket"`
	}
	if json.NewDecoder(resp.Body).Decode(&b) != nil || resp.StatusCode/100 != 2 {
		return "", false, false
	}
	return b.Ticket.Number, b.Ticket.PrintStatus == "printed", true
}

// byteTime is the wire time of one byte at baud, 8N1.
func byteTime(baud int) time.Duration { return 10 * time.Second / time.Duration(baud) }

// simPad is one HPAD-1 pad simulator on its line; pad-N belongs to window wN.
type simPad struct {
	id  string
	n   int // N of pad-N and wN
	bus int // index into padBuses.ports
	pad *hpadsim.Pad
}

// padBuses are RS-485 lines (bus-1…) with their pads, each line slowed to
// baud on the device side as a real line would be.
type padBuses struct {
	pads   []simPad
	ports  []*vport.Port
	ids    []string
	perBus int
	yaml   strings.Builder // devices.yaml entries: the lines and their pads
}

func startPadBuses(h *harness, nPads, nBuses, baud int, area string) (*padBuses, error) {
	pb := &padBuses{perBus: (nPads + nBuses - 1) / nBuses}
	for b := 1; b <= nBuses; b++ {
		sim := hpadsim.NewBus()
		id := fmt.Sprintf("line-%d", b)
		vp, err := vport.New(h.path(id), vport.Baud(baud, sim.Serve))
		if err != nil {
			pb.close()
			return nil, err
		}
		pb.ports = append(pb.ports, vp)
		pb.ids = append(pb.ids, id)
		fmt.Fprintf(&pb.yaml, "  - {id: %s, kind: bus, area: %s, serial: {port: %s, baud: %d}}\n", id, area, vp.Path(), baud)
		for a := 1; a <= pb.perBus && len(pb.pads) < nPads; a++ {
			n := len(pb.pads) + 1
			pid := fmt.Sprintf("pad-%d", n)
			pb.pads = append(pb.pads, simPad{pid, n, b - 1, sim.AddPad(byte(a), hpadsim.PadInfo{Model: "B", FW: "1", Serial: pid})})
			fmt.Fprintf(&pb.yaml, "  - {id: %s, kind: eval_pad, area: %s, window: w%d, bus: %s, address: %d}\n", pid, area, n, id, a)
		}
	}
	return pb, nil
}

// cycleFloor is the least one poll cycle of a full line costs on the wire:
// POLL (9 bytes) and an empty reply (10 bytes) per pad.
func (pb *padBuses) cycleFloor(baud int) time.Duration {
	return time.Duration(pb.perBus*19) * byteTime(baud)
}

func (pb *padBuses) close() {
	for _, p := range pb.ports {
		p.Close()
	}
}
