package hall_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"halld/daemon/config"
	"halld/daemon/hall"
)

const rosterHall = `
hall:
  id: test-hall
  name: 测试大厅
  timezone: Asia/Shanghai
  opening_hours:
    - {days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}
services:
  - {id: biz, prefix: A, name: 企业开办}
  - {id: tax, prefix: B, name: 税务}
windows:
  - {id: w1, number: 1, services: [{service: biz}]}
  - {id: w2, number: 2, services: [{service: tax}]}
staff:
  - {id: s1, name: 张三, windows: [w1]}
`

// replayed folds recorded events again from their JSON, as a restart does.
type journalT struct {
	typs   []string
	bodies [][]byte
	ts     []time.Time
}

func runJ(t *testing.T, j *journalT, cfg *config.Config, st *hall.State, cmd any, now time.Time) error {
	t.Helper()
	emits, err := hall.Decide(cfg, st, cmd, now)
	for _, e := range emits {
		hall.Apply(st, st.Seq+1, e.Type, now, e.Data)
		b, jerr := json.Marshal(e.Data)
		if jerr != nil {
			t.Fatal(jerr)
		}
		j.typs, j.bodies, j.ts = append(j.typs, e.Type), append(j.bodies, b), append(j.ts, now)
	}
	return err
}

func code(err error) string {
	var re *hall.RuleError
	if errors.As(err, &re) {
		return re.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestRosterChangesWithoutRestart(t *testing.T) {
	cfg, err := config.Parse("r.yaml", []byte(rosterHall))
	if err != nil {
		t.Fatal(err)
	}
	st, j := hall.NewState(), &journalT{}
	now := at("2026-11-25 09:30")
	must := func(cmd any) {
		t.Helper()
		if err := runJ(t, j, cfg, st, cmd, now); err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
	}
	refused := func(want string, cmd any) {
		t.Helper()
		if got := code(runJ(t, j, cfg, st, cmd, now)); got != want {
			t.Fatalf("%T: got %q, want %q", cmd, got, want)
		}
	}
	// A new member, unknown to devices.yaml, signs in at once.
	refused("unknown_staff", hall.SignIn{Window: "w2", Staff: "s2"})
	refused("unknown_window", hall.SetStaff{ID: "s2", Name: "李四", Windows: []string{"w9"}, By: "sup"})
	refused("bad_staff", hall.SetStaff{ID: "s 2", Name: "李四", By: "sup"})
	refused("staff_name_required", hall.SetStaff{ID: "s2", By: "sup"})
	must(hall.SetStaff{ID: "s2", Name: "李四", Windows: []string{"w2"}, By: "sup"})
	if _, ok := hall.Effective(cfg, st).StaffMember("s2"); !ok {
		t.Fatal("s2 not on the effective roster")
	}
	if _, ok := cfg.StaffMember("s2"); ok {
		t.Fatal("the loaded config was changed")
	}
	must(hall.SignIn{Window: "w2", Staff: "s2", By: "window-2"})
	if v := hall.WindowHead(cfg, st, "w2"); v.Staff == nil || v.Staff.Name != "李四" {
		t.Fatalf("w2 staff = %+v", v.Staff)
	}
	// Asking first: s2 is at w2, so signing in at w1 is refused until confirmed.
	refused("signed_in_elsewhere", hall.SignIn{Window: "w1", Staff: "s2", Ask: true})
	// Removing someone signed in is refused; after sign-out it is not.
	refused("staff_signed_in", hall.RemoveStaff{ID: "s2", By: "sup"})
	must(hall.SignOut{Window: "w2"})
	must(hall.RemoveStaff{ID: "s2", By: "sup"})
	refused("unknown_staff", hall.SignIn{Window: "w2", Staff: "s2"})
	// Editing a devices.yaml member: their windows.
	must(hall.SetStaff{ID: "s1", Name: "张三", Windows: []string{"w2", "w1"}, By: "sup"})
	if s, _ := hall.Effective(cfg, st).StaffMember("s1"); !reflect.DeepEqual(s.Windows, []string{"w2", "w1"}) {
		t.Fatalf("s1 windows = %v", s.Windows)
	}

	// 潮汐窗口: w1 takes tax today; never no service.
	refused("no_service", hall.SetWindowServices{Window: "w1", By: "sup"})
	refused("unknown_service", hall.SetWindowServices{Window: "w1", Services: []config.WindowService{{Service: "nope"}}})
	// …nor leave a service with no window at all (biz is w1's only).
	refused("service_unserved", hall.SetWindowServices{Window: "w1", Services: []config.WindowService{{Service: "tax"}}})
	must(hall.SetWindowServices{Window: "w1", Services: []config.WindowService{{Service: "biz"}, {Service: "tax"}}, By: "sup"})
	if v := hall.WindowHead(cfg, st, "w1"); !reflect.DeepEqual(v.Services, []string{"biz", "tax"}) {
		t.Fatalf("w1 services = %v", v.Services)
	}
	must(hall.SignIn{Window: "w1", Staff: "s1"})
	tk := issue(t, cfg, st, "tax", "", now)
	if q := hall.Queue(cfg, st, "w1", now); len(q) != 1 || q[0].Ticket.ID != tk.ID {
		t.Fatalf("w1 queue = %v, want the tax ticket", q)
	}
	// A service closed for today.
	must(hall.SetServiceOpen{Service: "biz", Open: false, ForToday: true, Reason: "系统维护", By: "sup"})
	refused("service_closed", hall.IssueTicket{Service: "biz"})
	// A notice, expired early.
	until := hall.Stamp(now.Add(2 * time.Hour))
	refused("bad_notice", hall.PostNotice{Notice: hall.Notice{ID: "n1", Text: "x", Where: []string{"wall"}}})
	must(hall.PostNotice{Notice: hall.Notice{ID: "n1", Text: "下午暂停办理税务", Until: &until, Where: []string{"board", "kiosk"}, By: "sup"}})
	if v := hall.MakeView(cfg, st, now); len(v.Notices) != 1 || !v.Notices[0].ShownOn("kiosk") || v.Notices[0].ShownOn("phone") {
		t.Fatalf("notices = %+v", v.Notices)
	}
	must(hall.ExpireNotice{ID: "n1", By: "sup"})
	refused("unknown_notice", hall.ExpireNotice{ID: "n1"})

	// PINs: once one is set, sign-in needs a checked PIN (pads' toggle too).
	must(hall.SignOut{Window: "w1"})
	must(hall.RecordPIN{PINEvent: hall.PINEvent{Staff: "s1", Action: "set", By: "sup"}})
	refused("pin_required", hall.SignIn{Window: "w1", Staff: "s1"})
	refused("pin_required", hall.ToggleSign{Window: "w1"})
	must(hall.RecordPIN{PINEvent: hall.PINEvent{Staff: "s1", Action: "locked", Attempts: 5, Window: "w1"}})
	if _, open := st.Alerts["pin-locked-s1"]; !open {
		t.Fatal("no alert for the lock-out")
	}
	must(hall.RecordPIN{PINEvent: hall.PINEvent{Staff: "s1", Action: "unlocked", By: "sup"}})
	if _, open := st.Alerts["pin-locked-s1"]; open {
		t.Fatal("the lock-out alert stays after unlock")
	}
	must(hall.SignIn{Window: "w1", Staff: "s1", PINChecked: true})

	// The journal replayed gives the same state.
	again := hall.NewState()
	for i, typ := range j.typs {
		data, err := hall.Decode(typ, j.bodies[i])
		if err != nil || data == nil {
			t.Fatalf("decode %s: %v %v", typ, data, err)
		}
		hall.Apply(again, again.Seq+1, typ, j.ts[i], data)
	}
	// (issue() bypassed the journal: fold the ticket in the same place.)
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	if js(again.Roster) != js(st.Roster) || js(again.Notices) != js(st.Notices) ||
		js(again.ClosedServices) != js(st.ClosedServices) {
		t.Fatalf("replay differs:\n%s\n%s", js(again.Roster), js(st.Roster))
	}
	// A checkpoint round trip keeps it.
	b, _ := hall.EncodeState(st)
	back, err := hall.DecodeState(b)
	if err != nil || js(back.Roster) != js(st.Roster) {
		t.Fatalf("checkpoint: %v", err)
	}

	// The next hall day: today's changes end, the roster's stay.
	tomorrow := at("2026-11-26 09:05")
	if err := runJ(t, j, cfg, st, hall.Tick{}, tomorrow); err != nil {
		t.Fatal(err)
	}
	if v := hall.WindowHead(cfg, st, "w1"); !reflect.DeepEqual(v.Services, []string{"biz"}) {
		t.Fatalf("w1 services the next day = %v", v.Services)
	}
	if _, closed := st.ClosedServices["biz"]; closed {
		t.Fatal("biz still closed the next day")
	}
	if s, _ := hall.Effective(cfg, st).StaffMember("s1"); !reflect.DeepEqual(s.Windows, []string{"w2", "w1"}) {
		t.Fatalf("the roster change did not last: %v", s.Windows)
	}
	if c := hall.RosterConflicts(cfg, st); len(c) != 0 {
		t.Fatalf("conflicts = %v", c)
	}
	// devices.yaml edited for s1 since: the file wins, and it is reported.
	edited, err := config.Parse("r.yaml", []byte(rosterHall[:len(rosterHall)-len("  - {id: s1, name: 张三, windows: [w1]}\n")]+"  - {id: s1, name: 张三丰, windows: [w1]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := hall.Effective(edited, st).StaffMember("s1"); s.Name != "张三丰" || !reflect.DeepEqual(s.Windows, []string{"w1"}) {
		t.Fatalf("after the edit s1 = %+v", s)
	}
	if c := hall.RosterConflicts(edited, st); len(c) != 1 || c[0].Staff != "s1" {
		t.Fatalf("conflicts = %v", c)
	}
}
