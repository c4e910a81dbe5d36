package main

import (
	"fmt"
	"time"

	"halld/drivers/hpad"
)

// printFloors compares each path with its wire floor: the bytes that must
// cross the serial line at its baud (the simulators are slowed to it, so
// the measures include it), plus the wait a protocol imposes (a pad waits
// for its POLL, a card for the next find). What is above is halld.
func (s *hallSim) printFloors() {
	bt := byteTime(s.o.baud)
	poll := hpad.Overhead // a POLL has no payload
	f, _ := hpad.NewFrame(1, 0, hpad.PollReply{Events: []hpad.Event{{Type: hpad.EventKey, Value: 1}}})
	evReply := len(hpad.Encode(f))
	padMin := time.Duration(poll+evReply) * bt
	padMean := s.pb.cycleFloor(s.o.baud)/2 + padMin
	job := s.prn.wire(s.o.baud)
	// Find (20 01) and select (20 02) with their short replies, then read
	// (30 01) and its 1295-byte reply, at 115200; a card waits on average
	// half of the reader's 1 s find interval.
	cardWire := time.Duration(10+11+10+11+10+1295) * byteTime(115200)
	cardMean := cardWire + 500*time.Millisecond

	fmt.Printf("\nWhat costs what (p50 of the hall day against the floor of the wire):\n\n")
	fmt.Printf("| path | wire floor | measured p50 | above the floor |\n|---|---|---|---|\n")
	line := func(name, floor string, f, p50 time.Duration) {
		if p50 == 0 {
			return
		}
		fmt.Printf("| %s | %s | %v | %v (×%.1f) |\n", name, floor, round(p50), round(p50-f), float64(p50)/float64(f))
	}
	line("pad press → WebSocket", fmt.Sprintf("%v: half a poll cycle of %d pads (%v) + POLL %d B + event reply %d B at %d baud",
		round(padMean), s.pb.perBus, round(s.pb.cycleFloor(s.o.baud)), poll, evReply, s.o.baud), padMean, s.lat.p50("day", "press→ws"))
	line("pad press → central", fmt.Sprintf("%v: the same", round(padMean)), padMean, s.lat.p50("day", "press→central"))
	line("kiosk request → last ticket byte", fmt.Sprintf("%v: a %d-byte ticket at %d baud", round(job), s.prn.jobBytes.Load(), s.o.baud), job, s.lat.p50("day", "kiosk→last byte"))
	line("card placed → kiosk page", fmt.Sprintf("%v: half the 1 s find interval + find/select/read (1.3 KB) at 115200", round(cardMean)), cardMean, s.lat.p50("day", "card→kiosk"))
	fmt.Printf("\nA press just before its POLL has a floor of %v; the tightest single case.\n", round(padMin))
}
