package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"halld/daemon/hall"
	"halld/internal/syncbuf"
)

type syncBuf = syncbuf.Buffer

// A runtime roster change survives a restart; once devices.yaml is edited for
// that person the file wins, and the conflict is logged and alerted at start.
func TestRosterChangeSurvivesRestartAndConflictIsReported(t *testing.T) {
	dir := t.TempDir()
	yaml := fmt.Sprintf(hallYAML, dir)
	h := startHallYAML(t, dir, yaml, nil)
	if code, out := postJSON(t, h.base+"/api/v1/staff", `{"id":"s1","name":"张敏","title":"首席受理员","windows":["w1"]}`); code != 200 {
		t.Fatalf("edit s1: %d %v", code, out)
	}
	if code, out := postJSON(t, h.base+"/api/v1/staff", `{"id":"s9","name":"赵雷","windows":["w1"]}`); code != 200 {
		t.Fatalf("add s9: %d %v", code, out)
	}
	h.stop()

	// The same file: both changes still hold, nothing to report.
	log := &syncBuf{}
	h = startHallYAML(t, dir, yaml, log)
	v, _ := h.a.Engine.Query(t.Context(), func(st *hall.State) any {
		cfg := hall.Effective(h.a.Config, st)
		s1, _ := cfg.StaffMember("s1")
		_, s9 := cfg.StaffMember("s9")
		return s1.Title == "首席受理员" && s9
	})
	if !v.(bool) {
		t.Fatal("the runtime roster did not survive the restart")
	}
	if strings.Contains(log.String(), "overtaken") {
		t.Fatalf("a conflict reported without an edit:\n%s", log)
	}
	h.stop()

	// devices.yaml edited for s1: the file's entry applies, and it is said.
	edited := strings.Replace(yaml, "{id: s1, name: 张敏, windows: [w1]}", "{id: s1, name: 张敏, title: 窗口负责人, windows: [w1]}", 1)
	log = &syncBuf{}
	h = startHallYAML(t, dir, edited, log)
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, _ := h.a.Engine.Query(t.Context(), func(st *hall.State) any {
			s1, _ := hall.Effective(h.a.Config, st).StaffMember("s1")
			_, alert := st.Alerts["roster-conflict"]
			return s1.Title == "窗口负责人" && alert
		})
		if v.(bool) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no conflict alert, or the file did not win:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(log.String(), "overtaken by devices.yaml") || !strings.Contains(log.String(), "staff=s1") {
		t.Fatalf("no log line:\n%s", log)
	}
}
