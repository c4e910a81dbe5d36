package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"halld/daemon/config"
	"halld/daemon/engine"
	"halld/daemon/hall"
	"halld/daemon/internal/testhall"
	"halld/daemon/journal"
	"halld/daemon/phonetoken"
)

const phoneYAML = `
hall:
  id: test-hall
  name: 测试大厅
  timezone: Asia/Shanghai
  hotline: "0731-88995297"
  always_open: true
  opening_hours:
    - {days: [mon, tue, wed, thu, fri, sat, sun], open: "00:00", close: "23:59"}
storage:
  dir: %s
http:
  listen: 127.0.0.1:8080
areas:
  - {id: front, name: 前窗}
services:
  - {id: tax, prefix: B, name: 税务, area: front, avg_service_minutes: 6}
windows:
  - {id: w1, number: 1, name: 综合窗口, area: front, services: [{service: tax}]}
staff:
  - {id: s1, name: 张敏, windows: [w1]}
`

// clock is the hall's settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

type phoneTestHall struct {
	t   *testing.T
	s   *Server
	eng *engine.Engine
	cfg *config.Config
	key *phonetoken.Key
	clk *clock
}

func newPhoneHall(t *testing.T) *phoneTestHall {
	t.Helper()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	clk := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, loc)}
	cfg := testhall.Config(t, fmt.Sprintf(phoneYAML, t.TempDir()))
	h := testhall.StartAt(t, cfg, testhall.Journal(t), clk.now)
	key, err := phonetoken.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	pages := fstest.MapFS{"phone/index.html": {Data: []byte(`<!DOCTYPE html><script src="/phone/phone.js"></script>`)}}
	s := New(Deps{PhoneKey: key, Pages: pages, Config: cfg, Engine: h.Engine, Journal: h.Journal, Log: h.Log, Registry: prometheus.NewRegistry(),
		Ready: func() []string { return nil }})
	t.Cleanup(s.Close)
	return &phoneTestHall{t: t, s: s, eng: h.Engine, cfg: cfg, key: key, clk: clk}
}

func (p *phoneTestHall) must(cmd any) engine.Result {
	p.t.Helper()
	res, err := p.eng.Submit(context.Background(), cmd)
	if err != nil {
		p.t.Fatalf("%T: %v", cmd, err)
	}
	return res
}

// issue takes a ticket and returns it with its token.
func (p *phoneTestHall) issue(prio string) (*hall.Ticket, string) {
	p.t.Helper()
	res := p.must(hall.IssueTicket{Service: "tax", Channel: "kiosk", Priority: prio, MaskedID: "4301**********731X"})
	return res.Ticket, p.key.Token(res.Ticket.Day, res.Ticket.ID)
}

func (p *phoneTestHall) view(token string, remote ...string) (int, map[string]any) {
	p.t.Helper()
	r := req{method: "GET", path: "/api/v1/phone/" + token, remote: "192.168.20.7:51000"}
	if len(remote) > 0 {
		r.remote = remote[0]
	}
	w := p.s.do(p.t, r)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		p.t.Fatalf("GET phone %s: %d, not JSON: %q", token, w.Code, w.Body.String())
	}
	return w.Code, out
}

func (p *phoneTestHall) rate(token, body string) (int, map[string]any) {
	p.t.Helper()
	w := p.s.do(p.t, req{method: "POST", path: "/api/v1/phone/" + token + "/rating", body: body, remote: "192.168.20.7:51000"})
	var out map[string]any
	json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

func TestPhoneShowsTheTicketAndNothingPersonal(t *testing.T) {
	p := newPhoneHall(t)
	tk, token := p.issue("")
	if len(token) != phonetoken.Len || strings.Contains(token, tk.Number) || strings.Contains(token, tk.ID) {
		t.Fatalf("token %q", token)
	}
	code, v := p.view(token)
	if code != 200 || v["number"] != tk.Number || v["service_name"] != "税务" || v["status"] != "waiting" {
		t.Fatalf("%d %v", code, v)
	}
	raw := p.s.do(t, req{method: "GET", path: "/api/v1/phone/" + token, remote: "192.168.20.7:51000"}).Body.String()
	for _, bad := range []string{tk.ID, "731X", "4301", `"visit"`, `"id"`, "s1", "张敏"} {
		if strings.Contains(raw, bad) {
			t.Errorf("phone view carries %q: %s", bad, raw)
		}
	}
	// Scanned again: the same ticket, and no new one.
	_, again := p.view(token)
	if again["number"] != tk.Number {
		t.Fatalf("second open shows %v", again["number"])
	}
	n, _ := p.eng.Query(context.Background(), func(st *hall.State) any { return len(st.Order) })
	if n.(int) != 1 {
		t.Fatalf("%d tickets after opening the link twice", n)
	}
}

func flipLast(tok string) string {
	if tok[len(tok)-1] == 'A' {
		return tok[:len(tok)-1] + "B"
	}
	return tok[:len(tok)-1] + "A"
}

func TestPhoneRefusesGuessedMalformedAndYesterdaysTokens(t *testing.T) {
	p := newPhoneHall(t)
	tk, token := p.issue("")
	other, _ := phonetoken.New([]byte("another key, another hall, 32by"))
	guesses := []string{
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		flipLast(token),
		token[:phonetoken.Len-1],
		token + "A",
		tk.ID, tk.Number, "snapshot",
		other.Token(tk.Day, tk.ID),
		p.key.Token(tk.Day, "T20261125-2"), // a ticket not yet issued
		p.key.Token("2026-11-24", tk.ID),   // another day
	}
	for i, g := range guesses {
		code, v := p.view(g, fmt.Sprintf("192.168.30.%d:4000", i+1))
		e, _ := v["error"].(map[string]any)
		if code != 404 || e["code"] != "unknown_ticket" || v["number"] != nil {
			t.Errorf("guess %q: %d %v", g, code, v)
		}
	}
	// Yesterday's token: the next day it is refused, before and after the
	// day's first ticket.
	p.clk.set(p.clk.now().Add(24 * time.Hour))
	if code, v := p.view(token); code != 404 {
		t.Fatalf("yesterday's token the next morning: %d %v", code, v)
	}
	tk2, token2 := p.issue("")
	if tk2.Day == tk.Day {
		t.Fatalf("same day %s", tk2.Day)
	}
	if code, v := p.view(token); code != 404 {
		t.Fatalf("yesterday's token after a new ticket: %d %v", code, v)
	}
	if code, v := p.view(token2); code != 200 || v["number"] != tk2.Number {
		t.Fatalf("today's token: %d %v", code, v)
	}
}

func TestPhoneRateLimitsGuessingPerAddress(t *testing.T) {
	p := newPhoneHall(t)
	_, token := p.issue("")
	guesser := "10.0.0.9:5000"
	limited := 0
	for i := 0; i < 15; i++ {
		code, v := p.view(fmt.Sprintf("%032d", i), guesser)
		if code == 429 {
			limited++
		} else if code != 404 || v["number"] != nil {
			t.Fatalf("guess %d: %d %v", i, code, v)
		}
	}
	if miss := p.cfg.Phone.MissBurst; limited != 15-miss {
		t.Fatalf("15 misses in a row with a budget of %d: %d refused with 429", miss, limited)
	}
	// The misses are the guesser's own: a real ticket's token from the same
	// address (the guest Wi-Fi's NAT) is still served.
	if code, _ := p.view(token, guesser); code != 200 {
		t.Fatalf("a valid token from the guessing address: %d", code)
	}
	// An IPv6 phone changing its address within its /64 is the same client.
	for i := 0; i < 12; i++ {
		p.view("x", fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1))
	}
	if code, _ := p.view("y", "[2001:db8:1:2::ffff]:443"); code != 429 {
		t.Fatalf("a new address in the same /64: %d", code)
	}
	if code, _ := p.view("y", "[2001:db8:1:3::1]:443"); code != 404 {
		t.Fatalf("another /64: %d", code)
	}
	// A phone is well within its token's limit; a runaway one is stopped.
	n := 0
	for i := 0; i < 200; i++ {
		code, _ := p.view(token, "10.0.0.11:5000")
		if code != 200 {
			break
		}
		n++
	}
	if n < 20 || n >= 200 {
		t.Fatalf("one token: %d requests served in a burst (token_burst %d)", n, p.cfg.Phone.TokenBurst)
	}
}

// TestPhoneNATdGuestWiFi: a hall's guest Wi-Fi leaves through one address.
// 200 phones behind it each get their page and their view, twice over (the
// page, the first view, a reconnect), while a guesser behind the same
// address gets nothing and is slowed to the miss rate.
func TestPhoneNATdGuestWiFi(t *testing.T) {
	p := newPhoneHall(t)
	const phones = 200
	nat := "203.0.113.7:40000"
	tokens := make([]string, phones)
	for i := range tokens {
		_, tokens[i] = p.issue("")
	}
	guessed, limited := 0, 0
	guess := func(i int) {
		tok := p.key.Token("2026-11-25", fmt.Sprintf("T20261125-%d", 5000+i)) // well-formed, not a ticket
		code, v := p.view(tok, nat)
		switch {
		case code == 429:
			limited++
		case code == 404 && v["number"] == nil:
			guessed++
		default:
			t.Fatalf("guess %d: %d %v", i, code, v)
		}
	}
	for round := 0; round < 2; round++ {
		for i, tok := range tokens {
			w := p.s.do(t, req{method: "GET", path: "/t/" + tok, remote: nat})
			if w.Code != 200 || !strings.Contains(w.Body.String(), "phone.js") {
				t.Fatalf("round %d phone %d page: %d", round, i, w.Code)
			}
			if code, v := p.view(tok, nat); code != 200 || v["number"] == nil {
				t.Fatalf("round %d phone %d view: %d %v", round, i, code, v)
			}
			guess(round*phones + i)
		}
	}
	if guessed != p.cfg.Phone.MissBurst || limited != 2*phones-guessed {
		t.Fatalf("the guesser: %d answered 404, %d refused 429 (miss burst %d)", guessed, limited, p.cfg.Phone.MissBurst)
	}
	if ra := p.s.do(t, req{method: "GET", path: "/api/v1/phone/" + strings.Repeat("A", 32), remote: nat}); ra.Code != 429 || ra.Header().Get("Retry-After") == "" {
		t.Fatalf("a spent guesser: %d, Retry-After %q", ra.Code, ra.Header().Get("Retry-After"))
	}
}

func TestPhoneLimiterRefills(t *testing.T) {
	cfg := config.Phone{AddressPerMinute: 600, AddressBurst: 50, TokenPerMinute: 60, TokenBurst: 5, MissesPerMinute: 10, MissBurst: 3}
	l := phoneLimiter{cfg: cfg}
	t0 := time.Unix(1000, 0)
	for i := 0; i < cfg.MissBurst; i++ {
		if l.miss("a", t0) == nil {
			t.Fatalf("miss %d refused", i)
		}
	}
	if l.miss("a", t0) != nil {
		t.Fatal("a miss with the misses spent")
	}
	if l.miss("a", t0.Add(6*time.Second+time.Millisecond)) == nil {
		t.Fatal("no miss after one refilled (10 a minute)")
	}
	if !l.allow("a", "T1", t0) {
		t.Fatal("a valid token from an address with its misses spent")
	}
	n := 1
	for l.allow("a", "T1", t0) {
		n++
	}
	if n != cfg.TokenBurst {
		t.Fatalf("token burst %d", n)
	}
	if !l.allow("a", "T1", t0.Add(time.Second+time.Millisecond)) {
		t.Fatal("token not refilled after a second (60 a minute)")
	}
	// The address's ceiling holds across tokens.
	m := 0
	for i := 0; i < 100; i++ {
		if l.allow("b", fmt.Sprint("U", i), t0) {
			m++
		}
	}
	if m != cfg.AddressBurst {
		t.Fatalf("address burst %d", m)
	}
}

func TestPhoneLiveAheadBandAndEstimate(t *testing.T) {
	p := newPhoneHall(t)
	p.must(hall.SignIn{Window: "w1", Staff: "s1"})
	var tokens []string
	for i := 0; i < 25; i++ {
		_, tok := p.issue("")
		tokens = append(tokens, tok)
	}
	_, v := p.view(tokens[24])
	band, _ := v["ahead_band"].(map[string]any)
	if v["ahead"] != nil || band == nil || band["low"] != 20.0 || band["high"] != 30.0 || v["ahead_text"] != "前面约 20–30 人" {
		t.Fatalf("24 ahead: %v %v %v", v["ahead"], v["ahead_band"], v["ahead_text"])
	}
	_, v = p.view(tokens[3])
	est, _ := v["estimate"].(map[string]any)
	if v["ahead"] != 3.0 || v["ahead_text"] != "前面还有 3 人" || est == nil || est["servable"] != true || !strings.HasPrefix(est["text"].(string), "约 ") {
		t.Fatalf("3 ahead: %v %v %v", v["ahead"], v["ahead_text"], v["estimate"])
	}
	// A green-channel ticket goes before them: the position is live.
	p.issue(hall.PriorityGreen)
	if _, v = p.view(tokens[3]); v["ahead"] != 4.0 {
		t.Fatalf("after a green ticket: %v", v["ahead"])
	}
	p.must(hall.CallNext{Window: "w1"}) // the green one
	p.must(hall.Finish{Window: "w1"})
	p.must(hall.CallNext{Window: "w1"}) // tokens[0]
	if _, v = p.view(tokens[3]); v["ahead"] != 2.0 {
		t.Fatalf("after two calls: %v", v["ahead"])
	}
	_, v = p.view(tokens[0])
	w, _ := v["window"].(map[string]any)
	if v["status"] != "called" || w == nil || w["number"] != 1.0 || w["name"] != "综合窗口" || v["ahead"] != nil {
		t.Fatalf("called: %v %v", v["status"], v["window"])
	}
	// Notices.
	p.must(hall.PostNotice{Notice: hall.Notice{ID: "n1", Text: "午间12:00–13:00部分窗口暂停"}})
	// A notice for the boards only stays off the phone.
	p.must(hall.PostNotice{Notice: hall.Notice{ID: "n2", Text: "请留意叫号屏", Where: []string{"board"}}})
	if _, v = p.view(tokens[3]); fmt.Sprint(v["notices"]) != "[午间12:00–13:00部分窗口暂停]" {
		t.Fatalf("notices %v", v["notices"])
	}
}

// serve: call and finish the ticket at w1, and return its visit.
func (p *phoneTestHall) serve() uint32 {
	p.t.Helper()
	res := p.must(hall.CallNext{Window: "w1"})
	p.must(hall.Finish{Window: "w1"})
	v, _ := p.eng.Query(context.Background(), func(st *hall.State) any { return st.Tickets[res.Ticket.ID].Visit })
	return v.(uint32)
}

func TestPhoneRatingOnceAcrossPhoneAndAPI(t *testing.T) {
	p := newPhoneHall(t)
	p.must(hall.SignIn{Window: "w1", Staff: "s1"})
	_, tok1 := p.issue("")
	_, tok2 := p.issue("")

	// Before the finish there is nothing to rate.
	if code, v := p.rate(tok1, `{"level":"满意"}`); code != 409 {
		t.Fatalf("rating before the call: %d %v", code, v)
	}
	visit1 := p.serve()
	_, v := p.view(tok1)
	r, _ := v["rating"].(map[string]any)
	if r["state"] != "open" || r["late"] != false || len(r["levels"].([]any)) != 5 || len(r["reasons"].([]any)) == 0 {
		t.Fatalf("rating offer: %v", r)
	}
	// A 差评 needs a reason, as on the pad.
	if code, v := p.rate(tok1, `{"level":"不满意"}`); code != 400 {
		t.Fatalf("bad rating without reason: %d %v", code, v)
	}
	// Phone first: counted; then the API (a networked pad): duplicate.
	if code, v := p.rate(tok1, `{"level":"满意","comment":"很好"}`); code != 201 || v["duplicate"] != false {
		t.Fatalf("phone rating: %d %v", code, v)
	}
	w := p.s.do(t, req{method: "POST", path: "/api/v1/ratings", body: fmt.Sprintf(`{"visit":%d,"level":"非常不满意","reasons":["服务态度差"]}`, visit1)})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"duplicate":true`) {
		t.Fatalf("API after the phone: %d %s", w.Code, w.Body)
	}
	if code, v := p.rate(tok1, `{"level":"非常满意"}`); code != 200 || v["duplicate"] != true {
		t.Fatalf("phone twice: %d %v", code, v)
	}
	_, v = p.view(tok1)
	r, _ = v["rating"].(map[string]any)
	if r["state"] != "rated" || r["level"] != "满意" {
		t.Fatalf("after rating: %v", r)
	}

	// API first, then the phone.
	visit2 := p.serve()
	w = p.s.do(t, req{method: "POST", path: "/api/v1/ratings", body: fmt.Sprintf(`{"visit":%d,"level":"非常满意"}`, visit2)})
	if w.Code != 201 {
		t.Fatalf("API rating: %d %s", w.Code, w.Body)
	}
	if code, v := p.rate(tok2, `{"level":"基本满意"}`); code != 200 || v["duplicate"] != true {
		t.Fatalf("phone after the API: %d %v", code, v)
	}
	// Exactly one rating per visit in the journal.
	counts := map[uint32]int{}
	channels := map[uint32]string{}
	err := p.s.d.Journal.Scan(context.Background(), 0, func(rec journal.Record) error {
		if rec.Type == hall.TypeRatingSubmitted {
			e, err := hall.Decode(rec.Type, rec.Body)
			if err != nil {
				return err
			}
			rs := e.(*hall.RatingSubmitted)
			counts[rs.Visit]++
			channels[rs.Visit] = rs.Channel
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if counts[visit1] != 1 || counts[visit2] != 1 || channels[visit1] != "qr" || channels[visit2] != "api" {
		t.Fatalf("ratings per visit %v, channels %v", counts, channels)
	}
}

func TestPhoneLateRatingIsMarked(t *testing.T) {
	p := newPhoneHall(t)
	p.must(hall.SignIn{Window: "w1", Staff: "s1"})
	_, tok := p.issue("")
	visit := p.serve()
	p.must(hall.RateTimeout{Visit: visit, Reason: hall.RatingEndTimeout})
	_, v := p.view(tok)
	r, _ := v["rating"].(map[string]any)
	if r["state"] != "open" || r["late"] != true {
		t.Fatalf("after 未评价: %v", r)
	}
	if code, v := p.rate(tok, `{"level":"非常满意"}`); code != 201 || v["late"] != true {
		t.Fatalf("late rating: %d %v", code, v)
	}
}

func TestPhoneRoutesKeepTheHostAndOriginChecks(t *testing.T) {
	p := newPhoneHall(t)
	_, tok := p.issue("")
	if w := p.s.do(t, req{method: "GET", path: "/api/v1/phone/" + tok, host: "evil.example", remote: "192.168.20.7:1"}); w.Code != http.StatusMisdirectedRequest {
		t.Fatalf("foreign host: %d", w.Code)
	}
	if w := p.s.do(t, req{method: "POST", path: "/api/v1/phone/" + tok + "/rating", body: `{"level":"满意"}`,
		origin: "http://evil.example", remote: "192.168.20.7:1"}); w.Code != http.StatusForbidden || errCode(t, w) != "bad_origin" {
		t.Fatalf("foreign origin: %d %s", w.Code, w.Body)
	}
}
