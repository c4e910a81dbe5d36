package hall_test

import (
	"reflect"
	"testing"

	"halld/daemon/config"
	"halld/daemon/hall"
)

// A ticket names the windows that serve its service today: after a 潮汐窗口
// change, w1 takes tax too, and the ticket says so (devices.yaml says only w2).
func TestTicketNamesTodaysWindows(t *testing.T) {
	cfg, err := config.Parse("r.yaml", []byte(rosterHall))
	if err != nil {
		t.Fatal(err)
	}
	st, j := hall.NewState(), &journalT{}
	now := at("2026-11-25 09:30")
	before := issue(t, cfg, st, "tax", "", now)
	if !reflect.DeepEqual(before.Windows, []string{"2号窗口"}) {
		t.Fatalf("before the change: windows %v", before.Windows)
	}
	if err := runJ(t, j, cfg, st, hall.SetWindowServices{Window: "w1",
		Services: []config.WindowService{{Service: "biz"}, {Service: "tax"}}, By: "sup"}, now); err != nil {
		t.Fatal(err)
	}
	tk := issue(t, cfg, st, "tax", "", now)
	if !reflect.DeepEqual(tk.Windows, []string{"1号窗口", "2号窗口"}) {
		t.Fatalf("after w1 took tax for today: windows %v, want 1号窗口、2号窗口", tk.Windows)
	}
	if got := hall.WindowsFor(hall.Effective(cfg, st), "tax"); !reflect.DeepEqual(got, tk.Windows) {
		t.Fatalf("WindowsFor(Effective) = %v", got)
	}
}
