package web

import "net/http"

// whoami tells a page under which name its actions are recorded and what it
// may do, so a page can say "操作人：…" and hide what it may not use.
func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	c := s.callerOf(r)
	scopes := []Scope{}
	for _, sc := range []Scope{ScopeBoard, ScopeKiosk, ScopeWindow, ScopeSupervisor, ScopeIT, ScopeCentral} {
		if c.has(sc) {
			scopes = append(scopes, sc)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": c.name(), "loopback": c.loopback, "scopes": scopes})
}
