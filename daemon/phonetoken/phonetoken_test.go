package phonetoken_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"halld/daemon/config"
	"halld/daemon/hall"
	"halld/daemon/phonetoken"
	"halld/daemon/printing"
	"halld/drivers/escpos"
)

func TestKeyFileIsPrivateAndStable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "phone.key")
	k1, err := phonetoken.LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	k2, err := phonetoken.LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if k1.Token("2026-11-25", "T20261125-1") != k2.Token("2026-11-25", "T20261125-1") {
		t.Fatal("token changes across restarts")
	}
	os.Chmod(path, 0o644)
	if _, err := phonetoken.LoadOrCreate(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a readable key: %v", err)
	}
}

func TestTokensAreOpaqueAndPerTicketAndDay(t *testing.T) {
	k, _ := phonetoken.New(bytes.Repeat([]byte{7}, 32))
	seen := map[string]bool{}
	for i := 1; i <= 2000; i++ {
		id := fmt.Sprintf("T20261125-%d", i)
		tok := k.Token("2026-11-25", id)
		if len(tok) != phonetoken.Len || seen[tok] || strings.Contains(tok, id) {
			t.Fatalf("token %d: %q", i, tok)
		}
		seen[tok] = true
	}
	if k.Token("2026-11-25", "T20261125-1") == k.Token("2026-11-26", "T20261125-1") {
		t.Fatal("the day is not in the token")
	}
}

func TestIndexFindsOnlyItsDaysTickets(t *testing.T) {
	k, _ := phonetoken.New(bytes.Repeat([]byte{9}, 32))
	ix := phonetoken.NewIndex(k)
	ix.Add("2026-11-25", 0, []string{"T20261125-1", "T20261125-2"})
	ix.Add("2026-11-25", 5, []string{"T20261125-9"}) // out of step: ignored
	ix.Add("2026-11-25", 2, []string{"T20261125-3"})
	if d, n := ix.Known(); d != "2026-11-25" || n != 3 {
		t.Fatalf("known %s %d", d, n)
	}
	for _, id := range []string{"T20261125-1", "T20261125-3"} {
		if got, ok := ix.Lookup(k.Token("2026-11-25", id)); !ok || got != id {
			t.Fatalf("lookup %s: %q %v", id, got, ok)
		}
	}
	tok := k.Token("2026-11-25", "T20261125-1")
	for _, bad := range []string{"", tok[:31], tok + "A", tok[:20] + "AAAAAAAAAAAA", k.Token("2026-11-25", "T20261125-9"), "!" + tok[1:]} {
		if _, ok := ix.Lookup(bad); ok {
			t.Fatalf("accepted %q", bad)
		}
	}
	ix.Add("2026-11-26", 0, []string{"T20261126-1"})
	if _, ok := ix.Lookup(tok); ok {
		t.Fatal("yesterday's token after the day changed")
	}
}

const qrYAML = `
hall:
  id: h
  name: 大厅
  eval_url: "https://hcp.example.org/eval?t="
  %s
  opening_hours: [{days: [mon], open: "09:00", close: "17:00"}]
areas: [{id: a, name: 区}]
services:
  - {id: s, prefix: A, name: 服务, area: a}
`

func TestPrintedQRCarriesTheTokenWhenPhoneURLIsSet(t *testing.T) {
	tk := &hall.Ticket{ID: "T20261125-1", Number: "A001", Service: "s", ServiceName: "服务", Day: "2026-11-25",
		IssuedAt: hall.Stamp(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))}
	k, _ := phonetoken.New(bytes.Repeat([]byte{3}, 32))
	prof, _ := escpos.LookupProfile("generic-80mm")

	old, err := config.Parse("t.yaml", []byte(fmt.Sprintf(qrYAML, "")))
	if err != nil {
		t.Fatal(err)
	}
	if got := phonetoken.QR(old, k, tk); got != "https://hcp.example.org/eval?t=T20261125-1" {
		t.Fatalf("without phone_url: %q", got)
	}
	cfg, err := config.Parse("t.yaml", []byte(fmt.Sprintf(qrYAML, `phone_url: "http://192.168.10.2:8080/t/"`)))
	if err != nil {
		t.Fatal(err)
	}
	if got := phonetoken.QR(cfg, nil, tk); got != "https://hcp.example.org/eval?t=T20261125-1" {
		t.Fatalf("phone_url but no key loaded: %q", got)
	}
	want := "http://192.168.10.2:8080/t/" + k.Token(tk.Day, tk.ID)
	if got := phonetoken.QR(cfg, k, tk); got != want {
		t.Fatalf("QR %q, want %q", got, want)
	}
	job, err := printing.Render(cfg, prof, tk, k)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(job, []byte(want)) || bytes.Contains(job, []byte("eval?t=")) {
		t.Fatal("the printed QR does not hold the phone link")
	}
}
