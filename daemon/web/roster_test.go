package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"halld/daemon/hall"
)

const (
	boardTok  = "board-token-0123456789"
	windowTok = "window-token-0123456789"
	superTok  = "supervisor-token-0123456789"
	lan       = "192.168.1.50:5000"
)

func TestRosterRoutesNeedTheSupervisorScope(t *testing.T) {
	s, _ := accessServer(t)
	cases := []struct {
		path, body, token string
		want              int
	}{
		{"/api/v1/staff", `{"id":"s2","name":"李四","windows":["w1"]}`, windowTok, http.StatusForbidden},
		{"/api/v1/staff", `{"id":"s2","name":"李四","windows":["w1"]}`, "", http.StatusUnauthorized},
		{"/api/v1/notices", `{"text":"今日下午停电检修"}`, boardTok, http.StatusForbidden},
		{"/api/v1/notices", `{"text":"今日下午停电检修"}`, windowTok, http.StatusForbidden},
		{"/api/v1/services/tax/close", `{"reason":"系统升级"}`, windowTok, http.StatusForbidden},
		{"/api/v1/windows/w1/services", `{"services":[{"service":"tax"}]}`, windowTok, http.StatusForbidden},
		{"/api/v1/staff/s1/pin", `{"pin":"2468"}`, windowTok, http.StatusForbidden},
		{"/api/v1/staff/s1/unlock", ``, windowTok, http.StatusForbidden},
		{"/api/v1/staff/s1/remove", ``, boardTok, http.StatusForbidden},
	}
	for _, c := range cases {
		if w := s.do(t, req{method: "POST", path: c.path, body: c.body, remote: lan, token: c.token}); w.Code != c.want {
			t.Errorf("%s with %q: %d %s, want %d", c.path, c.token, w.Code, w.Body, c.want)
		}
	}
	if w := s.do(t, req{method: "GET", path: "/api/v1/roster", remote: lan, token: windowTok}); w.Code != http.StatusForbidden {
		t.Errorf("a window token read the roster: %d", w.Code)
	}
}

func TestNoticePostedAndExpiredBySupervisor(t *testing.T) {
	s, eng := accessServer(t)
	w := s.do(t, req{method: "POST", path: "/api/v1/notices", remote: lan, token: superTok,
		body: `{"text":"今日下午停电检修","where":["board","kiosk"]}`})
	if w.Code != http.StatusCreated {
		t.Fatalf("post: %d %s", w.Code, w.Body)
	}
	var posted struct{ ID string }
	json.Unmarshal(w.Body.Bytes(), &posted)
	if w := s.do(t, req{method: "POST", path: "/api/v1/notices", remote: lan, token: superTok, body: `{"text":"x","where":["wall"]}`}); errCode(t, w) != "bad_notice" {
		t.Fatalf("a bad place: %s", w.Body)
	}
	pub := s.do(t, req{method: "GET", path: "/api/v1/snapshot", remote: lan})
	if !strings.Contains(pub.Body.String(), "今日下午停电检修") || strings.Contains(pub.Body.String(), `"by"`) {
		t.Fatalf("public snapshot: %s", pub.Body)
	}
	full := s.do(t, req{method: "GET", path: "/api/v1/roster", token: superTok, remote: lan})
	if !strings.Contains(full.Body.String(), `"by":"office"`) {
		t.Fatalf("the notice does not name who posted it: %s", full.Body)
	}
	if w := s.do(t, req{method: "POST", path: "/api/v1/notices/" + posted.ID + "/expire", remote: lan, token: superTok}); w.Code != 200 {
		t.Fatalf("expire: %d %s", w.Code, w.Body)
	}
	if pub := s.do(t, req{method: "GET", path: "/api/v1/snapshot", remote: lan}); strings.Contains(pub.Body.String(), "停电") {
		t.Fatal("the expired notice is still shown")
	}
	// A service closed for today, reopened.
	if w := s.do(t, req{method: "POST", path: "/api/v1/services/tax/close", remote: lan, token: superTok, body: `{"reason":"系统升级"}`}); w.Code != 200 {
		t.Fatalf("close: %s", w.Body)
	}
	if _, err := eng.Submit(t.Context(), hall.IssueTicket{Service: "tax", Channel: "kiosk"}); err == nil || !strings.Contains(err.Error(), "service_closed") {
		t.Fatalf("a ticket for a closed service: %v", err)
	}
	if w := s.do(t, req{method: "POST", path: "/api/v1/services/tax/open", remote: lan, token: superTok}); w.Code != 200 {
		t.Fatalf("open: %s", w.Body)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	var out []byte
	for _, p := range []string{path, path + ".log", path + "-wal"} {
		b, _ := os.ReadFile(p)
		out = append(out, b...)
	}
	return out
}

func TestStaffPINSignInAndLockOut(t *testing.T) {
	s, _ := accessServer(t)
	sup := func(path, body string) {
		t.Helper()
		if w := s.do(t, req{method: "POST", path: path, body: body, remote: lan, token: superTok}); w.Code != 200 {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
	}
	signIn := func(body string) (int, map[string]any) {
		w := s.do(t, req{method: "POST", path: "/api/v1/windows/w1/sign-in", body: body, remote: lan, token: windowTok})
		var m map[string]any
		json.Unmarshal(w.Body.Bytes(), &m)
		return w.Code, m
	}
	sup("/api/v1/staff", `{"id":"s2","name":"李四","windows":["w1"]}`)
	if w := s.do(t, req{method: "POST", path: "/api/v1/staff/s2/pin", body: `{"pin":"12"}`, remote: lan, token: superTok}); errCode(t, w) != "bad_pin" {
		t.Fatalf("a short PIN: %s", w.Body)
	}
	sup("/api/v1/staff/s2/pin", `{"pin":"975310"}`)
	// Now the hall has PINs: no PIN, no sign-in (s1 has none at all).
	if code, m := signIn(`{"staff":"s2"}`); code != 403 || m["error"].(map[string]any)["code"] != "pin_required" {
		t.Fatalf("without a PIN: %d %v", code, m)
	}
	if code, m := signIn(`{"staff":"s1","pin":"1234"}`); code != 403 || m["error"].(map[string]any)["code"] != "no_pin" {
		t.Fatalf("someone without a PIN: %d %v", code, m)
	}
	for i := 1; i <= 4; i++ {
		code, m := signIn(`{"staff":"s2","pin":"000000"}`)
		if code != 403 || m["remaining"] != float64(5-i) {
			t.Fatalf("wrong PIN %d: %d %v", i, code, m)
		}
	}
	if code, m := signIn(`{"staff":"s2","pin":"000000"}`); code != http.StatusLocked || !strings.Contains(m["error"].(map[string]any)["message"].(string), "已锁定") {
		t.Fatalf("fifth wrong PIN: %d %v", code, m)
	}
	if code, _ := signIn(`{"staff":"s2","pin":"975310"}`); code != http.StatusLocked {
		t.Fatalf("the right PIN while locked: %d", code)
	}
	snap := s.do(t, req{method: "GET", path: "/api/v1/snapshot", token: superTok, remote: lan}).Body.String()
	if !strings.Contains(snap, "pin-locked-s2") {
		t.Fatal("no alert for the supervisor")
	}
	if m := s.do(t, req{method: "GET", path: "/metrics"}).Body.String(); !strings.Contains(m, "halld_staff_pin_lockouts_total 1") ||
		!strings.Contains(m, "halld_staff_pin_failures_total 6") {
		t.Fatalf("metrics:\n%s", m)
	}
	sup("/api/v1/staff/s2/unlock", ``)
	if code, m := signIn(`{"staff":"s2","pin":"975310"}`); code != 200 {
		t.Fatalf("sign-in: %d %v", code, m)
	}
	// The staff member changes their own PIN with a window token.
	if w := s.do(t, req{method: "POST", path: "/api/v1/staff/s2/pin/change", body: `{"old":"975310","new":"864200"}`, remote: lan, token: windowTok}); w.Code != 200 {
		t.Fatalf("change: %d %s", w.Code, w.Body)
	}
	// Removing someone signed in is refused.
	if w := s.do(t, req{method: "POST", path: "/api/v1/staff/s2/remove", remote: lan, token: superTok}); errCode(t, w) != "staff_signed_in" {
		t.Fatalf("remove while signed in: %s", w.Body)
	}

	// Neither the PIN nor its hash is anywhere but pins.json; the journal
	// names who did what.
	dir := s.d.Config.Storage.Dir
	pins, err := os.ReadFile(filepath.Join(dir, "pins.json"))
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string]struct{ Hash, Salt []byte }
	json.Unmarshal(pins, &stored)
	hashB64, _ := json.Marshal(stored["s2"].Hash)
	var journal []byte
	s.d.Journal.Flush()
	for _, d := range []string{dir, filepath.Dir(s.d.Journal.Path())} {
		filepath.Walk(d, func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() && filepath.Base(p) != "pins.json" {
				b, _ := os.ReadFile(p)
				journal = append(journal, b...)
			}
			return nil
		})
	}
	if len(journal) == 0 || !bytes.Contains(journal, []byte(`"staff.pin"`)) {
		t.Fatal("the journal holds no staff.pin event: grep would prove nothing")
	}
	for _, secret := range [][]byte{[]byte("975310"), []byte("864200"), bytes.Trim(hashB64, `"`)} {
		if bytes.Contains(journal, secret) {
			t.Fatalf("%q is in the journal files", secret)
		}
	}
	if w := s.do(t, req{method: "POST", path: "/api/v1/windows/w1/sign-out", remote: lan, token: windowTok}); w.Code != 200 {
		t.Fatalf("sign-out: %d %s", w.Code, w.Body)
	}
	s.d.Journal.Flush()
	journal = append(journal, mustRead(t, s.d.Journal.Path())...)
	for _, who := range []string{`"type":"staff.signed_out"`, `"staff":"s2","by":"desk-1"`, `"staff_name":"李四","by":"desk-1"`, `"type":"staff.added"`, `"action":"changed","by":"desk-1"`, `"action":"unlocked","by":"office"`} {
		if !bytes.Contains(journal, []byte(who)) {
			t.Errorf("the journal lacks %s", who)
		}
	}
}
