package engine

import (
	"fmt"
	"testing"
	"time"

	"halld/daemon/hall"
)

// BenchmarkCloneBusyDay: the scratch copy every committing batch makes, with
// 20,000 tickets in the day (a soak at several busy halls' load).
func BenchmarkCloneBusyDay(b *testing.B) {
	st := hall.NewState()
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 20000; i++ {
		id := fmt.Sprintf("T20261125-A%04d", i)
		t := hall.Ticket{ID: id, Number: fmt.Sprintf("A%04d", i%10000), Service: "s1", ServiceName: "服务", Day: "2026-11-25",
			IssuedAt: hall.Stamp(now), Status: hall.StatusDone, PrintStatus: hall.PrintPrinted}
		hall.Apply(st, uint64(i+1), hall.TypeTicketIssued, now, &hall.TicketIssued{Ticket: t, RequestID: "r" + id})
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = cloneState(st)
	}
}
