package abuse

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"halld/daemon/phonetoken"
)

// TestAbusePhonePageFromGuestNetwork: a citizen's phone on the hall's guest
// Wi-Fi (a network namespace standing in for it) opens its ticket's link:
// the page and its poll answer, with the number and nothing personal; a
// guessed token gets nothing; and the phone may not read the hall's own
// data with the same reach.
func TestAbusePhonePageFromGuestNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real halld")
	}
	ns := newNetns(t)
	port := freePort(t)
	h := startHall(t, hallOpts{httpListen: "0.0.0.0:" + port})
	a := do(fresh(5*time.Second), "POST", h.url("/api/v1/tickets"), `{"service":"s1","kiosk":"kiosk-1","request_id":"phone-1"}`, nil)
	var body struct {
		Ticket struct{ ID, Day, Number string } `json:"ticket"`
	}
	if a.err != nil || a.status != http.StatusCreated || json.Unmarshal(a.body, &body) != nil {
		t.Fatalf("ticket: %v", a)
	}
	key, err := phonetoken.LoadOrCreate(filepath.Join(h.dir, "data", "phone.key"))
	if err != nil {
		t.Fatal(err)
	}
	token := key.Token(body.Ticket.Day, body.Ticket.ID)
	guessed := strings.Repeat("A", len(token))

	guest := "http://" + ns.hostIP + ":" + port
	reqs, _ := json.Marshal([]map[string]any{
		{"method": "GET", "url": guest + "/t/" + token},
		{"method": "GET", "url": guest + "/api/v1/phone/" + token},
		{"method": "GET", "url": guest + "/api/v1/phone/" + guessed},
		{"method": "GET", "url": guest + "/api/v1/tickets/" + body.Ticket.ID},
	})
	var res []httpResult
	ns.inNetns(t, map[string]string{helperEnv: "http", "HALLD_ABUSE_REQS": string(reqs)}, &res)
	if len(res) != 4 {
		t.Fatalf("guest requests: %v", res)
	}
	page, poll, guess, ticket := res[0], res[1], res[2], res[3]
	if page.Status != 200 || !strings.Contains(page.Body, "<html") {
		t.Errorf("the phone page from the guest network: %d %s %.200s", page.Status, page.Err, page.Body)
	}
	if poll.Status != 200 || !strings.Contains(poll.Body, body.Ticket.Number) {
		t.Errorf("the phone's poll from the guest network: %d %s %.300s", poll.Status, poll.Err, poll.Body)
	}
	for _, leak := range []string{body.Ticket.ID, secretStaff, `"kiosk"`} {
		if strings.Contains(poll.Body, leak) {
			t.Errorf("the phone's poll carries %q: %.300s", leak, poll.Body)
		}
	}
	if guess.Status != http.StatusNotFound || strings.Contains(guess.Body, body.Ticket.Number) {
		t.Errorf("a guessed token: %d %.200s; want 404 and nothing", guess.Status, guess.Body)
	}
	if ticket.Status != http.StatusUnauthorized {
		t.Errorf("the ticket API from the guest network without a token: %d; want 401", ticket.Status)
	}
	reliability(t, "phone-from-guest-network", "page", page.Status, "poll", poll.Status, "poll_bytes", len(poll.Body),
		"guessed", guess.Status, "ticket_api", ticket.Status)
}
