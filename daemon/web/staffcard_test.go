package web

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"halld/daemon/hall"
	"halld/daemon/internal/testhall"
	"halld/daemon/journal"
	"halld/daemon/pii"
)

// A supervisor registers a staff card: only its keyed hash is recorded, the
// event names the supervisor's token, a window token may not, and the card
// then signs its holder in (hall.CardSignIn, as the desk reader does).
func TestSupervisorRegistersAStaffCard(t *testing.T) {
	h := testhall.New(t, fmt.Sprintf(accessYAML, t.TempDir()))
	key, err := pii.LoadOrCreate(filepath.Join(t.TempDir(), "pii.key"))
	if err != nil {
		t.Fatal(err)
	}
	s := New(Deps{Config: h.Config, Engine: h.Engine, Journal: h.Journal, Log: h.Log, Registry: prometheus.NewRegistry(),
		Ready: func() []string { return nil }, PII: key,
		Tokens: []Token{
			{Name: "desk-1", Value: windowTok, Scopes: []Scope{ScopeWindow}},
			{Name: "office", Value: superTok, Scopes: []Scope{ScopeSupervisor}},
		}})
	t.Cleanup(s.Close)
	number := "430102198801011234"
	body := `{"id_number":"` + number + `"}`
	if w := s.do(t, req{method: "POST", path: "/api/v1/staff/s1/card", body: body, remote: lan, token: windowTok}); w.Code != http.StatusForbidden {
		t.Fatalf("a window token registered a card: %d", w.Code)
	}
	if w := s.do(t, req{method: "POST", path: "/api/v1/staff/s1/card", body: `{"id_number":"12"}`, remote: lan, token: superTok}); errCode(t, w) != "bad_id_number" {
		t.Fatalf("a short number: %s", w.Body)
	}
	if w := s.do(t, req{method: "POST", path: "/api/v1/staff/s9/card", body: body, remote: lan, token: superTok}); errCode(t, w) != "unknown_staff" {
		t.Fatalf("an unknown staff member: %s", w.Body)
	}
	if w := s.do(t, req{method: "POST", path: "/api/v1/staff/s1/card", body: body, remote: lan, token: superTok}); w.Code != 200 {
		t.Fatalf("register: %d %s", w.Code, w.Body)
	}
	var rec string
	h.Journal.Scan(context.Background(), 0, func(r journal.Record) error {
		if strings.Contains(string(r.Body), number) || strings.Contains(string(r.Body), "1234\"") {
			t.Errorf("the journal holds the number: %s", r.Body)
		}
		if r.Type == hall.TypeStaffCard {
			rec = string(r.Body)
		}
		return nil
	})
	if !strings.Contains(rec, `"by":"office"`) || !strings.Contains(rec, key.Hash(number)) {
		t.Fatalf("staff.card: %s", rec)
	}
	if _, err := h.Engine.Submit(t.Context(), hall.CardSignIn{Window: "w1", Reader: "r1", IDHash: key.Hash(number)}); err != nil {
		t.Fatalf("the registered card: %v", err)
	}
	if w := s.do(t, req{method: "POST", path: "/api/v1/staff/s1/card/remove", remote: lan, token: superTok}); w.Code != 200 {
		t.Fatalf("remove: %d %s", w.Code, w.Body)
	}
}
