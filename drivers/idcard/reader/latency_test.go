package reader_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"halld/drivers/device"
	"halld/drivers/idcard"
	"halld/drivers/idcard/idcardsim"
	"halld/drivers/idcard/reader"
	"halld/drivers/serialport"
	"halld/drivers/vport"
	"halld/internal/ptytest"
)

// BenchmarkCardPlaced measures card placed → card event with the reader's
// line emulated at 115200 baud 8N1 (vport.Baud), beside the wire time of the
// 1295-byte read reply, for BENCHMARKS.md:
//
//	go test -run '^$' -bench CardPlaced -benchtime 20x ./drivers/idcard/reader
func BenchmarkCardPlaced(b *testing.B) {
	sim := idcardsim.New()
	vp := ptytest.Device(b, "idr", vport.Baud(115200, sim.Serve))
	cards := make(chan time.Time, 1)
	gone := make(chan struct{}, 1)
	r := reader.New("idr", reader.Options{}, func(idcard.Card) { cards <- time.Now() }, func() { gone <- struct{}{} })
	port, err := serialport.Open(context.Background(), "idr", serialport.Spec{Path: vp.Path(), Baud: 115200}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx, port, func(device.Report) {})
	card := idcardsim.Samples()[0]
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		time.Sleep(time.Duration(137*i%1000) * time.Millisecond) // place at any phase of the 1 s find poll
		t0 := time.Now()
		sim.Place(card)
		select {
		case at := <-cards:
			lat = append(lat, at.Sub(t0))
		case <-time.After(15 * time.Second):
			b.Fatal("no card event")
		}
		sim.Remove()
		<-gone
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	wire := time.Duration(1295*10) * time.Second / 115200
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	b.Logf("card placed → card event at 115200 baud (n=%d): p50 %v · p99 %v · max %v; wire time of the 1295-byte reply %v; find polls every 1 s",
		len(lat), lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), wire.Round(time.Millisecond))
}
