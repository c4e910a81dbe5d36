package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"halld/daemon/hall"
	"halld/daemon/journal"
)

const retentionYAML = `
hall:
  id: keep-hall
  name: 测试大厅
  timezone: Asia/Shanghai
  opening_hours: [{days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}]
storage:
  dir: %s
  retention: 48h
mqtt:
  uplink: {url: "%s", node: edge-1}
areas:
  - {id: self, name: 24小时自助服务区, open_24h: true}
services:
  - {id: s1, prefix: A, name: 自助业务, area: self}
windows:
  - {id: w1, number: 1, name: 一号窗口, area: self, services: [{service: s1}]}
`

// Old events go, but only behind the central server's acknowledgement and
// the checkpoints; after pruning and a restart the hall state, statistics and
// follow-ups of the pruned days are all still there.
func TestRetentionPrunesOnlyWhatIsSafe(t *testing.T) {
	ctx := context.Background()
	url, stopCentral := startMosquittoStop(t)
	dir := t.TempDir()
	yaml := fmt.Sprintf(retentionYAML, filepath.Join(dir, "data"), url)
	var clock atomic.Pointer[time.Time]
	set := func(tm time.Time) { clock.Store(&tm) }
	loc, _ := time.LoadLocation("Asia/Shanghai")
	monday := time.Date(2026, 11, 23, 10, 0, 0, 0, loc)
	set(monday)
	now := func() time.Time { return *clock.Load() }
	h := startHallAt(t, dir, yaml, now, nil)
	a := h.a
	must := func(cmd any) {
		t.Helper()
		if _, err := a.Engine.Submit(ctx, cmd); err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
	}
	// Monday: tickets, a service and a 差评 whose follow-up stays open.
	must(hall.SignIn{Window: "w1", Staff: "s1"})
	for i := 0; i < 30; i++ {
		must(hall.IssueTicket{Service: "s1", Channel: "kiosk", RequestID: fmt.Sprint("mon-", i)})
	}
	must(hall.CallNext{Window: "w1"})
	must(hall.Finish{Window: "w1"})
	must(hall.Rate{Visit: 1, Level: "非常不满意", Reasons: []string{"等候时间长"}, Channel: "pad"})
	mondayHead := a.Journal.Head()
	waitFor(t, "central acknowledges Monday", 20*time.Second, func() bool {
		v, ok, _ := a.Journal.Meta("uplink_cursor")
		return ok && v == fmt.Sprint(mondayHead)
	})

	// Thursday: Monday is past the 48 h retention. The central server is
	// down now, so Thursday's events are not acknowledged.
	set(monday.Add(72 * time.Hour))
	stopCentral()
	for i := 0; i < 5; i++ {
		must(hall.IssueTicket{Service: "s1", Channel: "kiosk", RequestID: fmt.Sprint("thu-", i)})
	}
	waitFor(t, "state checkpoint after the clock moved", 10*time.Second, func() bool { return a.Engine.CheckpointSeq() >= mondayHead })
	if s := a.Stats.CheckpointNow(); s < mondayHead {
		t.Fatalf("statistics checkpoint at %d, Monday ends at %d", s, mondayHead)
	}
	r, err := a.Pruner.Once(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Due != mondayHead || r.UpTo != mondayHead || r.Pruned != int(mondayHead) {
		t.Fatalf("prune: %+v, Monday is 1..%d", r, mondayHead)
	}
	if a.Journal.Oldest() != mondayHead+1 {
		t.Fatalf("oldest %d", a.Journal.Oldest())
	}

	// Sunday: Thursday is old too, but the central server never acknowledged
	// it: kept, and said so.
	set(monday.Add(6 * 24 * time.Hour))
	must(hall.Tick{})
	r, err = a.Pruner.Once(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Pruned != 0 || r.HeldBy == "" || !strings.Contains(r.HeldBy, "central") || r.Due <= r.UpTo {
		t.Fatalf("unacknowledged events pruned or not reported: %+v", r)
	}
	metrics := get(t, "http://"+a.Addr+"/metrics")
	for _, want := range []string{"halld_journal_retention_held_events{held_by=\"central server (not yet acknowledged)\"}", "halld_journal_pruned_events_total " + fmt.Sprint(mondayHead),
		"halld_journal_oldest_seq " + fmt.Sprint(mondayHead+1)} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	h.stop()

	// Restart on the pruned journal: Monday's follow-up, numbers and the
	// day's ticket count are intact.
	h = startHallAt(t, dir, yaml, now, nil)
	a = h.a
	fus := get(t, "http://"+a.Addr+"/api/v1/followups")
	if !strings.Contains(fus, `"fu-1"`) {
		t.Fatalf("Monday's follow-up is gone after pruning: %s", fus)
	}
	var rep struct {
		Totals struct {
			Issued int `json:"issued"`
			Served int `json:"served"`
		} `json:"totals"`
	}
	if err := json.Unmarshal([]byte(get(t, "http://"+a.Addr+"/api/v1/reports?from=2026-11-23&to=2026-11-24")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Issued != 30 || rep.Totals.Served != 1 {
		t.Fatalf("Monday's statistics after pruning: %+v", rep.Totals)
	}
	// The ratings export says its record starts after the pruned Monday.
	if exp := get(t, "http://"+a.Addr+"/api/v1/ratings/export?from=2026-11-23&to=2026-11-29"); !strings.Contains(exp, `"journal_from":"2026-11-26T10:`) {
		t.Fatalf("ratings export does not say the journal starts on Thursday: %s", exp)
	}
	// Numbering did not restart on a pruned journal.
	res, err := a.Engine.Submit(ctx, hall.IssueTicket{Service: "s1", Channel: "kiosk", RequestID: "sun-1"})
	if err != nil || res.Events[0].Seq <= mondayHead+5 {
		t.Fatalf("issue after restart: %+v %v", res, err)
	}
	h.stop()
	j, err := journal.Open(filepath.Join(dir, "data", "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.Oldest() != mondayHead+1 {
		t.Fatalf("journal oldest %d after restart", j.Oldest())
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
