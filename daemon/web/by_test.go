package web

import (
	"context"
	"encoding/json"
	"testing"

	"halld/daemon/hall"
	"halld/daemon/journal"
)

// Every window action names who did it: the window token's name is in the
// journal's call, recall, start, finish, pause, resume and sign-out events.
func TestWindowActionsNameTheToken(t *testing.T) {
	s, eng := accessServer(t)
	post := func(action, body string) {
		t.Helper()
		if w := s.do(t, req{method: "POST", path: "/api/v1/windows/w1/" + action, body: body, remote: lan, token: windowTok}); w.Code != 200 {
			t.Fatalf("%s: %d %s", action, w.Code, w.Body)
		}
	}
	post("sign-in", `{"staff":"s1"}`)
	for range 2 {
		if _, err := eng.Submit(t.Context(), hall.IssueTicket{Service: "tax", Channel: "kiosk"}); err != nil {
			t.Fatal(err)
		}
	}
	post("call-next", "")
	post("recall", "")
	post("start", "")
	post("finish", "")
	post("call-next", "")
	post("no-show", "")
	post("pause", `{"reason":"会议","minutes":10}`)
	post("resume", "")
	post("sign-out", "")

	want := []string{hall.TypeStaffSignedIn, hall.TypeTicketCalled, hall.TypeTicketRecalled, hall.TypeServiceStarted,
		hall.TypeServiceFinished, hall.TypeTicketNoShow, hall.TypeWindowPaused, hall.TypeWindowResumed, hall.TypeStaffSignedOut}
	by := map[string][]string{}
	err := s.d.Journal.Scan(context.Background(), 0, func(rec journal.Record) error {
		var env struct {
			By string `json:"by"` // the payload's fields sit in the envelope
		}
		if err := json.Unmarshal(rec.Body, &env); err != nil {
			return err
		}
		by[rec.Type] = append(by[rec.Type], env.By)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range want {
		if len(by[typ]) == 0 {
			t.Errorf("no %s in the journal", typ)
		}
		for _, b := range by[typ] {
			if b != "desk-1" {
				t.Errorf("%s names %q, want the token desk-1", typ, b)
			}
		}
	}
}
