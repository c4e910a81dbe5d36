package web

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"halld/daemon/hall"
)

// liveConn is one phone's live socket; its frames arrive on ch (a read
// that times out would spoil a gorilla connection, so one goroutine reads).
type liveConn struct {
	t  *testing.T
	c  *websocket.Conn
	ch chan map[string]any
}

func (p *phoneTestHall) live(srv *httptest.Server, token string) *liveConn {
	p.t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/api/v1/phone/"+token+"/live", nil)
	if err != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		p.t.Fatalf("live %s: %v (%d)", token, err, code)
	}
	p.t.Cleanup(func() { c.Close() })
	l := &liveConn{p.t, c, make(chan map[string]any, 64)}
	go func() {
		defer close(l.ch)
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			var f map[string]any
			if json.Unmarshal(msg, &f) != nil {
				f = map[string]any{"type": "bad", "raw": string(msg)}
			}
			l.ch <- f
		}
	}()
	return l
}

// next is the next frame within d; nil when none came.
func (l *liveConn) next(d time.Duration) map[string]any {
	l.t.Helper()
	select {
	case f, ok := <-l.ch:
		if !ok {
			l.t.Fatal("the live socket closed")
		}
		return f
	case <-time.After(d):
		return nil
	}
}

func (l *liveConn) view(d time.Duration) map[string]any {
	l.t.Helper()
	f := l.next(d)
	if f == nil {
		l.t.Fatalf("no view within %v", d)
	}
	if f["type"] != "view" {
		l.t.Fatalf("frame %v", f)
	}
	return f["data"].(map[string]any)
}

// TestPhoneLiveFollowsTheTicket: the live socket sends the view at once,
// then each change of this ticket's view (people ahead, the call, the
// rating) within a second, and nothing when only other tickets change.
func TestPhoneLiveFollowsTheTicket(t *testing.T) {
	p := newPhoneHall(t)
	srv := httptest.NewServer(p.s)
	t.Cleanup(srv.Close)
	p.must(hall.SignIn{Window: "w1", Staff: "s1"})
	var tokens []string
	for i := 0; i < 4; i++ {
		_, tok := p.issue("")
		tokens = append(tokens, tok)
	}
	l := p.live(srv, tokens[3])
	if v := l.view(time.Second); v["ahead"] != 3.0 || v["status"] != "waiting" {
		t.Fatalf("first view: %v", v)
	}
	for { // the hub's first pass may repeat the first view
		f := l.next(600 * time.Millisecond)
		if f == nil {
			break
		}
	}
	p.issue("") // behind it: its view does not change
	if f := l.next(800 * time.Millisecond); f != nil {
		t.Fatalf("a ticket behind it sent %v", f)
	}
	start := time.Now()
	p.must(hall.CallNext{Window: "w1"})
	if v := l.view(time.Second); v["ahead"] != 2.0 {
		t.Fatalf("after a call: %v", v)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the view came %v after the call", d)
	}
	for i := 0; i < 3; i++ {
		p.must(hall.Finish{Window: "w1"})
		p.must(hall.CallNext{Window: "w1"})
	}
	var v map[string]any
	for v == nil || v["status"] != "called" {
		v = l.view(2 * time.Second)
	}
	if w, _ := v["window"].(map[string]any); w == nil || w["number"] != 1.0 {
		t.Fatalf("called: %v", v)
	}
	p.must(hall.Finish{Window: "w1"})
	for v["rating"].(map[string]any)["state"] != "open" {
		v = l.view(2 * time.Second)
	}
	if code, _ := p.rate(tokens[3], `{"level":"非常满意"}`); code != 201 {
		t.Fatalf("rate: %d", code)
	}
	for v["rating"].(map[string]any)["state"] != "rated" {
		v = l.view(2 * time.Second)
	}
	if n := p.s.phone().live().count(); n != 1 {
		t.Fatalf("%d phones connected", n)
	}
	if w := p.s.do(t, req{method: "GET", path: "/metrics"}); !strings.Contains(w.Body.String(), "halld_phone_live_clients 1") {
		t.Fatalf("metrics: no halld_phone_live_clients 1")
	}
}

func TestPhoneLiveRefusesGuessesAndBoundsSocketsPerTicket(t *testing.T) {
	p := newPhoneHall(t)
	srv := httptest.NewServer(p.s)
	t.Cleanup(srv.Close)
	_, token := p.issue("")
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/v1/phone/"
	if _, resp, err := websocket.DefaultDialer.Dial(url+strings.Repeat("A", 32)+"/live", nil); err == nil || resp == nil || resp.StatusCode != 404 {
		t.Fatalf("a guessed token: %v %v", err, resp)
	}
	for i := 0; i < phoneLivePerToken; i++ {
		p.live(srv, token).view(time.Second)
	}
	_, resp, err := websocket.DefaultDialer.Dial(url+token+"/live", nil)
	if err == nil || resp == nil || resp.StatusCode != 503 {
		t.Fatalf("socket %d of one ticket: %v %v", phoneLivePerToken+1, err, resp)
	}
}

// TestPhoneSilentCall: the phone sets 无声叫号; the call that follows has no
// voice line and is marked silent on the public stream's projection, and
// the event names the phone as who asked.
func TestPhoneSilentCall(t *testing.T) {
	p := newPhoneHall(t)
	p.must(hall.SignIn{Window: "w1", Staff: "s1"})
	tk, token := p.issue("")
	post := func(body string) (int, map[string]any) {
		w := p.s.do(t, req{method: "POST", path: "/api/v1/phone/" + token + "/silent", body: body, remote: "192.168.20.7:51000"})
		var out map[string]any
		json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}
	if code, out := post(`{}`); code != 400 || out["error"] == nil {
		t.Fatalf("no flag: %d %v", code, out)
	}
	if code, out := post(`{"silent":true}`); code != 200 || out["silent"] != true {
		t.Fatalf("set: %d %v", code, out)
	}
	if _, v := p.view(token); v["silent"] != true {
		t.Fatalf("view: %v", v["silent"])
	}
	if w := p.s.do(t, req{method: "POST", path: "/api/v1/phone/" + strings.Repeat("A", 32) + "/silent", body: `{"silent":true}`, remote: "192.168.20.7:51000"}); w.Code != 404 {
		t.Fatalf("a guessed token: %d", w.Code)
	}
	p.must(hall.CallNext{Window: "w1"})
	var set, called map[string]any
	for seq := uint64(1); seq <= p.s.d.Journal.Head(); seq++ {
		recs, err := p.s.d.Journal.Read(context.Background(), seq-1, 1)
		if err != nil || len(recs) != 1 {
			t.Fatal(err)
		}
		body, err := projectEvent(levelPublic, recs[0].Body)
		if err != nil {
			t.Fatal(err)
		}
		var full, pub map[string]any
		json.Unmarshal(recs[0].Body, &full)
		json.Unmarshal(body, &pub)
		switch recs[0].Type {
		case hall.TypeSilentCallSet:
			set = full
			if pub["number"] != tk.Number || pub["silent"] != true || pub["ticket_id"] != nil || pub["by"] != nil {
				t.Fatalf("public ticket.silent_call: %v", pub)
			}
		case hall.TypeTicketCalled:
			called = pub
		}
	}
	if set == nil || set["by"] != "phone" {
		t.Fatalf("the journal's ticket.silent_call: %v", set)
	}
	if called == nil || called["silent"] != true || called["voice"] != "" || called["number"] != tk.Number {
		t.Fatalf("the public call: %v", called)
	}
}
