package web

// The phone relay (docs/phone-relay.md): when the hall has an uplink, halld
// publishes each of today's tickets' phone views, retained, on
// hall/{hall}/{node}/phone/{key}, where key is RelayKey(token) — a hash of
// the ticket's token, never the token — so that the central server can serve
// the phone page to citizens off the hall's Wi-Fi (it learns the token from
// the citizen's own link, hashes it and reads that one topic). The views are
// the page's own (no name, no ID fragment, no ticket id, no visit number);
// they are cleared at day close and when a new hall day begins. Ratings and
// 无声叫号 come back as uplink commands that carry the token, checked like
// the page's own requests.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"halld/daemon/hall"
	"halld/daemon/phonetoken"
	"halld/daemon/uplink"
)

// RelayKey is the relay topic's last level for a ticket's token: the first
// 16 bytes of SHA-256("halld/phone-relay/v1\x00" ‖ token), in hex. It cannot
// be turned back into the token, and the central server computes it from
// the token in the citizen's link.
func RelayKey(token string) string {
	h := sha256.Sum256([]byte("halld/phone-relay/v1\x00" + token))
	return hex.EncodeToString(h[:16])
}

// PhoneRelayEvery is how often, at most, one ticket's relayed view is
// published again (the view moves with every call; the relay need not be
// faster than a page on the hall's Wi-Fi polling).
const PhoneRelayEvery = 3 * time.Second

// relayView is what is published: the phone view and the day it is of.
type relayView struct {
	Day string `json:"day"`
	phoneView
}

// RunPhoneRelay publishes the views until ctx ends (publish is
// uplink.PublishRetained). It recomputes after journal changes, at most
// every `every`, and publishes only the views that changed.
func (s *Server) RunPhoneRelay(ctx context.Context, publish func(sub string, payload []byte), every time.Duration) {
	ps := s.phone()
	if ps == nil {
		return
	}
	j := s.d.Journal
	type published struct {
		sub string
		key []byte
	}
	var (
		day      string
		last     = map[string]*published{} // ticket id → what the broker has
		clearedD string                    // the closed day already cleared
	)
	clearAll := func() {
		for id, p := range last {
			publish(p.sub, nil)
			delete(last, id)
		}
	}
	tick := time.NewTicker(aheadMaxAge)
	defer tick.Stop()
	for {
		changed := j.Changed()
		type snap struct {
			day, closed string
			ids         []string
			pts         []*phoneTicket
		}
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		v, err := s.d.Engine.Query(qctx, func(st *hall.State) any {
			now := s.d.Engine.Now()
			out := snap{day: st.Day, closed: st.ClosedDay, ids: append([]string(nil), st.Order...)}
			out.pts = make([]*phoneTicket, len(out.ids))
			for i, id := range out.ids {
				out.pts[i] = s.phoneTicketOf(st, ps, id, now)
			}
			return out
		})
		cancel()
		if err == nil {
			sn := v.(snap)
			if sn.day != day {
				clearAll() // a new hall day: yesterday's links are dead
				day = sn.day
			}
			switch {
			case sn.closed != "" && sn.closed == sn.day:
				if clearedD != sn.day {
					// Day closed (perhaps before a restart: clear every ticket's topic).
					for _, id := range sn.ids {
						if _, ok := last[id]; !ok {
							publish("phone/"+RelayKey(s.d.PhoneKey.Token(sn.day, id)), nil)
						}
					}
					clearAll()
					clearedD = sn.day
				}
			default:
				for i, id := range sn.ids {
					pt := sn.pts[i]
					if pt == nil {
						continue // not today's
					}
					p := last[id]
					if p == nil {
						p = &published{sub: "phone/" + RelayKey(s.d.PhoneKey.Token(sn.day, id))}
						last[id] = p
					}
					view := s.makePhoneView(pt)
					view.Poll = 0
					view.Now = hall.Stamp{}
					key, _ := json.Marshal(relayView{Day: sn.day, phoneView: view})
					if bytes.Equal(key, p.key) {
						continue
					}
					view.Now = hall.Stamp(s.d.Engine.Now().In(s.d.Config.Location))
					body, _ := json.Marshal(relayView{Day: sn.day, phoneView: view})
					publish(p.sub, body)
					p.key = key
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-tick.C:
		}
		select { // at most one round per `every`
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// PhoneRelayCommands answers the relay's commands (phone.rate, phone.silent)
// and hands every other to next:
//
//	phone.rate   {"token", "level", "reasons", "comment"} → {"ok", "duplicate", "late"}
//	phone.silent {"token", "silent"}                      → {"ok", "silent"}
//
// The token is checked as for the page (today's ticket, HMAC), without the
// per-address limits: the central server is one client that answers for
// its own.
func (s *Server) PhoneRelayCommands(next uplink.CommandFunc) uplink.CommandFunc {
	return func(dev, name string, args []byte) (any, error) {
		if dev != "" || !strings.HasPrefix(name, "phone.") {
			if next == nil {
				return nil, fmt.Errorf("%w: %s", uplink.ErrUnknownCommand, name)
			}
			return next(dev, name, args)
		}
		ps := s.phone()
		if ps == nil {
			return nil, errors.New("这个大厅没有启用手机查询")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var a struct {
			Token   string   `json:"token"`
			Level   string   `json:"level"`
			Reasons []string `json:"reasons"`
			Comment string   `json:"comment"`
			Silent  *bool    `json:"silent"`
		}
		dec := json.NewDecoder(bytes.NewReader(args))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil {
			return nil, fmt.Errorf("参数格式不正确：%v", err)
		}
		id, ok := ps.index.Lookup(a.Token)
		if !ok && len(a.Token) == phonetoken.Len {
			if err := s.refreshIndexCtx(ctx, ps); err != nil {
				return nil, err
			}
			id, ok = ps.index.Lookup(a.Token)
		}
		if !ok {
			return nil, errors.New("unknown_ticket: 链接无效或已过期（号票仅当天有效）")
		}
		switch name {
		case "phone.silent":
			if a.Silent == nil {
				return nil, errors.New("bad_request: 请说明是否无声叫号（silent）")
			}
			if _, err := s.d.Engine.Submit(ctx, hall.SetSilentCall{Ticket: id, Silent: *a.Silent, By: "phone-relay"}); err != nil {
				return nil, err
			}
			return map[string]any{"ok": true, "silent": *a.Silent}, nil
		case "phone.rate":
			v, err := s.d.Engine.Query(ctx, func(st *hall.State) any { return s.phoneTicketOf(st, ps, id, s.d.Engine.Now()) })
			if err != nil {
				return nil, err
			}
			pt := v.(*phoneTicket)
			switch {
			case pt == nil:
				return nil, errors.New("unknown_ticket: 链接无效或已过期（号票仅当天有效）")
			case pt.rated:
				return map[string]any{"ok": true, "duplicate": true}, nil
			case !pt.finished:
				return nil, errors.New("not_finished: 办结后才能评价")
			}
			res, err := s.d.Engine.Submit(ctx, hall.Rate{Visit: pt.visit, Level: a.Level, Reasons: a.Reasons,
				Comment: strings.TrimSpace(a.Comment), Channel: "qr"})
			if err != nil {
				return nil, err
			}
			if len(res.Events) == 0 {
				return map[string]any{"ok": true, "duplicate": true}, nil
			}
			late := false
			for _, rec := range res.Events {
				if rec.Type == hall.TypeRatingSubmitted {
					if v, err := hall.Decode(rec.Type, rec.Body); err == nil {
						late = v.(*hall.RatingSubmitted).Late
					}
				}
			}
			return map[string]any{"ok": true, "duplicate": false, "late": late}, nil
		}
		return nil, fmt.Errorf("%w: %s", uplink.ErrUnknownCommand, name)
	}
}
