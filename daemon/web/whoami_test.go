package web

import (
	"encoding/json"
	"slices"
	"testing"
)

// A page learns the name its actions are recorded under from the token it
// holds; a reader without one learns nothing it could act on.
func TestWhoamiNamesTheTokenAndItsScopes(t *testing.T) {
	s, _ := accessServer(t)
	type me struct {
		Name     string   `json:"name"`
		Loopback bool     `json:"loopback"`
		Scopes   []string `json:"scopes"`
	}
	get := func(r req) me {
		t.Helper()
		r.method, r.path = "GET", "/api/v1/whoami"
		w := s.do(t, r)
		if w.Code != 200 {
			t.Fatalf("whoami: %d %s", w.Code, w.Body)
		}
		var m me
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := get(req{}); !m.Loopback || m.Name != "loopback" || !slices.Contains(m.Scopes, "supervisor") {
		t.Errorf("loopback: %+v", m)
	}
	if m := get(req{remote: "10.20.0.7:50000"}); m.Loopback || m.Name != "" || len(m.Scopes) != 0 {
		t.Errorf("no token: %+v", m)
	}
	m := get(req{remote: "10.20.0.7:50000", token: "supervisor-token-0123456789"})
	if m.Name == "" || !slices.Equal(m.Scopes, []string{"supervisor"}) {
		t.Errorf("supervisor token: %+v", m)
	}
}
