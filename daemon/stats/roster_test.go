package stats

import (
	"testing"

	"halld/daemon/hall"
)

// Staff added at run time (no devices.yaml entry) are named in the reports
// by their name, and by the latest one after a supervisor renames them.
func TestReportsNameStaffAddedAtRunTime(t *testing.T) {
	s := newScript(t, dayHall).at("2026-11-25 09:00")
	s.do(hall.SetStaff{ID: "s9", Name: "王芳", Windows: []string{"w2"}, By: "sup"})
	s.do(hall.SignIn{Window: "w2", Staff: "s9", By: "desk"})
	s.issue("tax")
	s.at("2026-11-25 09:05").call("w2", "B001")
	s.at("2026-11-25 09:15").do(hall.Finish{Window: "w2"})
	s.at("2026-11-25 09:16").do(hall.Rate{Visit: 1, Level: "满意", Channel: "pad"})
	s.at("2026-11-25 09:20").do(hall.SetStaff{ID: "s9", Name: "王芳芳", Windows: []string{"w2"}, By: "sup"})
	s.at("2026-11-25 12:00").do(hall.SignOut{Window: "w2"})
	// A member added and never signed in is named too (the attendance of
	// nobody, but a filter by them must not show an id).
	s.do(hall.SetStaff{ID: "s8", Name: "赵六", Windows: []string{"w1"}, By: "sup"})

	a := fold(t, s.cfg, s.recs)
	rep := a.Report(Query{By: ByStaff})
	if r := rowOf(t, rep, "s9"); r.Name != "王芳芳" {
		t.Fatalf("s9 named %q in the staff report, want 王芳芳", r.Name)
	}
	if len(rep.Attendance) == 0 || rep.Attendance[0].Name != "王芳芳" {
		t.Fatalf("attendance %+v", rep.Attendance)
	}
	// The same after a checkpoint round trip.
	body, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b := New(s.cfg)
	if err := b.UnmarshalBinary(body); err != nil {
		t.Fatal(err)
	}
	if r := rowOf(t, b.Report(Query{By: ByStaff}), "s9"); r.Name != "王芳芳" {
		t.Fatalf("after the checkpoint: s9 named %q", r.Name)
	}
}
