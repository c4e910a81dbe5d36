package web

// The citizen's phone page (README "The citizen's phone"): the printed
// ticket's QR opens /t/{token} on the hall's guest Wi-Fi; the page polls
// GET /api/v1/phone/{token} and rates the visit with
// POST /api/v1/phone/{token}/rating. The routes need no scope: the token
// (daemon/phonetoken) is the guard, and they pass the Host check and, for the
// rating, the Origin check like every other route. A token that is not one of
// today's tickets gets 404 and nothing else; requests are limited per token
// and per client address, misses per client address (config.Phone).

import (
	"context"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"halld/daemon/config"
	"halld/daemon/hall"
	"halld/daemon/phonetoken"
)

const (
	// phoneExact: up to this many ahead the page says exactly how many; past
	// it, a band (the queue's order can still change: the green channel,
	// appointments in their slot, weights).
	phoneExact = 10
	// phoneBandTop: past this, "50 人以上".
	phoneBandTop = 50
	// phonePollSeconds is how often the page asks, as the server advises it.
	phonePollSeconds = 3
	// aheadMaxAge: the queue positions are recomputed after a new event, or
	// after this long (the queue's order moves with time: waits are weighted,
	// appointments come due).
	aheadMaxAge = 5 * time.Second

	// The rate limits (per token, per address, misses per address) are
	// config.Phone's: see there why they are sized for a NAT'd guest Wi-Fi.
	phoneClients = 8192  // addresses tracked at most
	phoneTokens  = 50000 // tokens tracked at most (a day's tickets)
)

// phoneState is the phone routes' own state, one per Server.
type phoneState struct {
	index   *phonetoken.Index
	refresh sync.Mutex // one index refresh at a time
	limit   phoneLimiter

	mu    sync.Mutex // guards ahead
	ahead aheadCache

	liveOnce sync.Once
	hub      *phoneHub // phonelive.go
}

type aheadCache struct {
	seq uint64
	at  time.Time
	day string
	pos map[string]int // waiting ticket id → tickets ahead
}

// phone returns the server's phone state; nil when the hall has no phone key.
func (s *Server) phone() *phoneState {
	s.phoneMu.Lock()
	defer s.phoneMu.Unlock()
	if s.phoneSt == nil {
		if key := s.d.PhoneKey; key != nil {
			s.phoneSt = &phoneState{index: phonetoken.NewIndex(key), limit: phoneLimiter{cfg: s.d.Config.Phone}}
		}
	}
	return s.phoneSt
}

// resolve finds the ticket id of the request's token, after the rate limits.
// On false the answer has been written (404 or 429).
func (s *Server) resolve(w http.ResponseWriter, r *http.Request, html bool) (*phoneState, string, bool) {
	ps := s.phone()
	notFound := func() {
		if html {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, phoneNotFoundPage)
			return
		}
		writeError(w, http.StatusNotFound, "unknown_ticket", "链接无效或已过期（号票仅当天有效），请扫描号票上的二维码")
	}
	if ps == nil {
		notFound()
		return nil, "", false
	}
	client := clientKey(r)
	now := time.Now()
	lim := &ps.limit
	tooMany := func() {
		w.Header().Set("Retry-After", "10")
		writeError(w, http.StatusTooManyRequests, "rate_limited", "请求过于频繁，请稍后再试")
	}
	token := r.PathValue("token")
	id, ok := ps.index.Lookup(token)
	if !ok {
		// A token that matches no ticket: it spends the address's misses.
		// Once they are spent the answer is 429 with no lookup beyond the
		// index (no engine query), so guessing learns nothing faster.
		spent := lim.miss(client, now)
		if spent == nil {
			tooMany()
			return nil, "", false
		}
		if len(token) == phonetoken.Len {
			// Perhaps a ticket issued since the index was last brought up to date.
			if err := s.refreshIndex(r, ps); err != nil {
				writeRuleError(w, err)
				return nil, "", false
			}
			id, ok = ps.index.Lookup(token)
		}
		if !ok {
			notFound()
			return nil, "", false
		}
		spent.CancelAt(now) // it was a ticket after all
	}
	if !lim.allow(client, id, now) {
		tooMany()
		return nil, "", false
	}
	return ps, id, true
}

// refreshIndex adds the tickets issued since the index last looked (a new
// hall day starts it again). The MACs are made off the engine's goroutine.
func (s *Server) refreshIndex(r *http.Request, ps *phoneState) error {
	return s.refreshIndexCtx(r.Context(), ps)
}

func (s *Server) refreshIndexCtx(ctx context.Context, ps *phoneState) error {
	ps.refresh.Lock()
	defer ps.refresh.Unlock()
	day, n := ps.index.Known()
	type fresh struct {
		day  string
		from int
		ids  []string
	}
	v, err := s.d.Engine.Query(ctx, func(st *hall.State) any {
		from := n
		if st.Day != day || len(st.Order) < n {
			from = 0
		}
		return fresh{st.Day, from, append([]string(nil), st.Order[from:]...)}
	})
	if err != nil {
		return err
	}
	f := v.(fresh)
	if f.day != "" {
		ps.index.Add(f.day, f.from, f.ids)
	}
	return nil
}

// phoneView is what the phone page shows of one ticket: its own progress and
// the hall's notices; never the citizen's data, ids or the visit number.
type phoneView struct {
	Number      string         `json:"number"`
	ServiceName string         `json:"service_name"`
	Priority    string         `json:"priority"`
	Status      string         `json:"status"`
	StatusText  string         `json:"status_text"`
	Transferred bool           `json:"transferred"`
	IssuedAt    hall.Stamp     `json:"issued_at"`
	Ahead       *int           `json:"ahead"`      // exact, when phoneExact or fewer
	AheadBand   *phoneBand     `json:"ahead_band"` // otherwise
	AheadText   string         `json:"ahead_text"`
	Estimate    *hall.Estimate `json:"estimate"` // while waiting: as the kiosk words it, for the queue now
	Window      *phoneWindow   `json:"window"`   // where to go, once called
	CalledAt    *hall.Stamp    `json:"called_at"`
	Recalls     int            `json:"recalls"`
	Silent      bool           `json:"silent"` // 无声叫号: the board shows the call and does not speak it
	Notices     []string       `json:"notices"`
	Rating      phoneRating    `json:"rating"`
	Hall        phoneHall      `json:"hall"`
	Poll        int            `json:"poll"` // seconds until the page should ask again
	Now         hall.Stamp     `json:"now"`
}

type phoneBand struct {
	Low  int  `json:"low"`
	High *int `json:"high"` // null: more than Low
}

type phoneWindow struct {
	Number   int    `json:"number"`
	Name     string `json:"name"`
	AreaName string `json:"area_name,omitempty"`
}

type phoneHall struct {
	Name    string `json:"name"`
	Hotline string `json:"hotline,omitempty"`
}

// phoneRating says whether the visit may be rated from the phone.
type phoneRating struct {
	// State: "none" (no visit finished yet), "open" (may be rated now),
	// "rated" (on the pad, the API or this phone), "closed" (the hall day's
	// ratings are closed).
	State   string   `json:"state"`
	Late    bool     `json:"late"`            // a rating now is a 补充评价: 未评价 was recorded
	Level   string   `json:"level,omitempty"` // when rated
	Levels  []string `json:"levels,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
}

// phoneTicket is what one Query takes out of the state for a ticket.
type phoneTicket struct {
	t        hall.Ticket
	ahead    int
	estimate *hall.Estimate
	visit    uint32
	finished bool
	rated    bool
	timedOut bool
	closed   bool
	notices  []string
}

func (s *Server) phoneQuery(r *http.Request, ps *phoneState, id string) (*phoneTicket, error) {
	v, err := s.d.Engine.Query(r.Context(), func(st *hall.State) any {
		return s.phoneTicketOf(st, ps, id, s.d.Engine.Now())
	})
	if err != nil {
		return nil, err
	}
	return v.(*phoneTicket), nil
}

// phoneTicketOf takes what the phone shows of ticket id out of the state (on
// the engine's goroutine); nil when it is not one of today's tickets.
func (s *Server) phoneTicketOf(st *hall.State, ps *phoneState, id string, now time.Time) *phoneTicket {
	cfg := s.d.Config
	t, ok := st.Tickets[id]
	if !ok || t.Day != cfg.Day(now) {
		return nil
	}
	out := &phoneTicket{t: *t, visit: t.Visit}
	if t.Status == hall.StatusWaiting {
		out.ahead = ps.aheadOf(cfg, st, t, now)
		out.estimate = hall.EstimateFor(cfg, st, t.Service, out.ahead, now)
	}
	if t.Visit != 0 {
		out.finished, out.rated, out.timedOut = st.Finished[t.Visit], st.Rated[t.Visit], st.TimedOut[t.Visit]
	}
	out.closed = st.ClosedDay != "" && st.ClosedDay == st.Day
	for _, nid := range slices.Sorted(maps.Keys(st.Notices)) { // one order, or every view would differ
		// Only the notices meant for phones (or for everywhere).
		if n := st.Notices[nid]; n.ShownOn("phone") && (n.Until == nil || time.Time(*n.Until).After(now)) {
			out.notices = append(out.notices, n.Text)
		}
	}
	return out
}

// aheadOf is how many tickets will be called before t: its place in the
// calling order (hall.Queue) of the staffed window where it stands
// earliest (of any window that can call it, when none is staffed). Runs on
// the engine's goroutine; the positions of every waiting ticket are worked
// out once per event (or aheadMaxAge) for all the phones.
func (ps *phoneState) aheadOf(cfg *config.Config, st *hall.State, t *hall.Ticket, now time.Time) int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	c := &ps.ahead
	if c.pos == nil || c.seq != st.Seq || c.day != st.Day || now.Sub(c.at) > aheadMaxAge || now.Before(c.at) {
		staffed, all := map[string]int{}, map[string]int{}
		for i := range cfg.Windows {
			wid := cfg.Windows[i].ID
			_, signedIn := st.Windows[wid]
			signedIn = signedIn && st.Windows[wid].Staff != ""
			for k, cand := range hall.Queue(cfg, st, wid, now) {
				tid := cand.Ticket.ID
				if p, ok := all[tid]; !ok || k < p {
					all[tid] = k
				}
				if p, ok := staffed[tid]; signedIn && (!ok || k < p) {
					staffed[tid] = k
				}
			}
		}
		for tid, k := range all {
			if _, ok := staffed[tid]; !ok {
				staffed[tid] = k
			}
		}
		*c = aheadCache{seq: st.Seq, at: now, day: st.Day, pos: staffed}
	}
	if k, ok := c.pos[t.ID]; ok {
		return k
	}
	// No window can call it (a service no window serves): count the waiting
	// tickets of its service before it.
	n := 0
	for _, id := range st.Order {
		if id == t.ID {
			break
		}
		if o := st.Tickets[id]; o.Service == t.Service && o.Status == hall.StatusWaiting {
			n++
		}
	}
	return n
}

var phoneStatusText = map[string]string{
	hall.StatusWaiting: "等候中", hall.StatusCalled: "请到窗口办理", hall.StatusServing: "办理中",
	hall.StatusDone: "已办结", hall.StatusNoShow: "已过号", hall.StatusHeld: "暂停办理，请留意窗口通知",
	hall.StatusExpired: "已过期（当日未办理）",
}

func (s *Server) makePhoneView(pt *phoneTicket) phoneView {
	cfg := s.d.Config
	t := &pt.t
	v := phoneView{Number: t.Number, ServiceName: t.ServiceName, Priority: t.Priority, Status: t.Status,
		StatusText: phoneStatusText[t.Status], Transferred: len(t.Transfers) > 0, IssuedAt: t.IssuedAt,
		CalledAt: t.CalledAt, Recalls: t.Recalls, Silent: t.Silent, Notices: pt.notices, Poll: phonePollSeconds,
		Hall: phoneHall{Name: cfg.Hall.Name, Hotline: cfg.Hall.Hotline}, Now: hall.Stamp(s.d.Engine.Now().In(cfg.Location))}
	if v.StatusText == "" {
		v.StatusText = t.Status
	}
	if v.Notices == nil {
		v.Notices = []string{}
	}
	switch t.Status {
	case hall.StatusWaiting:
		n := pt.ahead
		switch {
		case n <= phoneExact:
			v.Ahead = &n
			if n == 0 {
				v.AheadText = "下一位就是您"
			} else {
				v.AheadText = "前面还有 " + strconv.Itoa(n) + " 人"
			}
		case n <= phoneBandTop:
			lo := n / 10 * 10
			hi := lo + 10
			if n%10 == 0 {
				lo -= 10
				hi -= 10
			}
			v.AheadBand = &phoneBand{Low: lo, High: &hi}
			v.AheadText = "前面约 " + strconv.Itoa(lo) + "–" + strconv.Itoa(hi) + " 人"
		default:
			v.AheadBand = &phoneBand{Low: phoneBandTop}
			v.AheadText = "前面 " + strconv.Itoa(phoneBandTop) + " 人以上"
		}
		v.Estimate = pt.estimate
		if v.Transferred {
			v.StatusText = "已转办，等候中"
		}
	case hall.StatusCalled, hall.StatusServing:
		if wc, ok := cfg.Window(t.Window); ok {
			v.Window = &phoneWindow{Number: wc.Number, Name: wc.Name, AreaName: hall.AreaName(cfg, wc.Area)}
		}
	}
	switch {
	case pt.rated:
		v.Rating = phoneRating{State: "rated", Level: t.Rating}
	case !pt.finished:
		v.Rating = phoneRating{State: "none"}
	case pt.closed:
		v.Rating = phoneRating{State: "closed"}
	default:
		v.Rating = phoneRating{State: "open", Late: pt.timedOut, Levels: hall.RatingLevels, Reasons: cfg.Reasons()}
	}
	return v
}

// phonePage serves the page for a ticket's token (a bad one gets a page
// that says the link is not valid, and nothing else).
func (s *Server) phonePage(w http.ResponseWriter, r *http.Request) {
	ps, id, ok := s.resolve(w, r, true)
	if !ok {
		return
	}
	if pt, err := s.phoneQuery(r, ps, id); err != nil || pt == nil {
		// Yesterday's ticket (or halld stopping): the same page as a bad link.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, phoneNotFoundPage)
		return
	}
	f, err := s.d.Pages.Open("phone/index.html")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	phoneHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.Copy(w, f.(io.Reader))
}

// phoneHeaders: the token is in the path, so it must not leave in a Referer
// or stay in a cache; the page is not for search engines.
func phoneHeaders(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("X-Robots-Tag", "noindex, nofollow")
	w.Header().Set("X-Content-Type-Options", "nosniff")
}

// phoneTicket answers the page's poll.
func (s *Server) phoneStatus(w http.ResponseWriter, r *http.Request) {
	ps, id, ok := s.resolve(w, r, false)
	if !ok {
		return
	}
	pt, err := s.phoneQuery(r, ps, id)
	if err != nil {
		writeRuleError(w, err)
		return
	}
	if pt == nil { // a ticket of a day that has ended
		writeError(w, http.StatusNotFound, "unknown_ticket", "链接无效或已过期（号票仅当天有效），请扫描号票上的二维码")
		return
	}
	phoneHeaders(w)
	writeJSON(w, http.StatusOK, s.makePhoneView(pt))
}

// phoneRate rates the ticket's finished visit from the phone (channel qr).
// 一次一评 across pad, API and phone: the rules take the first rating of a
// visit and answer any later one as a duplicate.
func (s *Server) phoneRate(w http.ResponseWriter, r *http.Request) {
	ps, id, ok := s.resolve(w, r, false)
	if !ok {
		return
	}
	var req struct {
		Level   string   `json:"level"`
		Reasons []string `json:"reasons"`
		Comment string   `json:"comment"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	pt, err := s.phoneQuery(r, ps, id)
	if err != nil {
		writeRuleError(w, err)
		return
	}
	phoneHeaders(w)
	switch {
	case pt == nil:
		writeError(w, http.StatusNotFound, "unknown_ticket", "链接无效或已过期（号票仅当天有效），请扫描号票上的二维码")
		return
	case pt.rated:
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "duplicate": true, "level": pt.t.Rating})
		return
	case !pt.finished:
		writeError(w, http.StatusConflict, "not_finished", "办结后才能评价")
		return
	}
	res, err := s.d.Engine.Submit(r.Context(), hall.Rate{Visit: pt.visit, Level: req.Level, Reasons: req.Reasons,
		Comment: strings.TrimSpace(req.Comment), Channel: "qr"})
	if err != nil {
		writeRuleError(w, err)
		return
	}
	if len(res.Events) == 0 {
		// Rated on the pad (or the API) a moment before.
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "duplicate": true})
		return
	}
	late := false
	for _, rec := range res.Events {
		if rec.Type != hall.TypeRatingSubmitted {
			continue
		}
		if v, err := hall.Decode(rec.Type, rec.Body); err == nil {
			late = v.(*hall.RatingSubmitted).Late
		}
	}
	writeJSON(w, http.StatusCreated, map[string]any{"ok": true, "duplicate": false, "late": late, "level": req.Level})
}

// phoneSilent sets or clears the ticket's 无声叫号 from its phone
// ({"silent": true|false}); the event names the phone link as who asked.
func (s *Server) phoneSilent(w http.ResponseWriter, r *http.Request) {
	_, id, ok := s.resolve(w, r, false)
	if !ok {
		return
	}
	var req struct {
		Silent *bool `json:"silent"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Silent == nil {
		writeError(w, http.StatusBadRequest, "bad_request", "请说明是否无声叫号（silent: true 或 false）")
		return
	}
	phoneHeaders(w)
	if _, err := s.d.Engine.Submit(r.Context(), hall.SetSilentCall{Ticket: id, Silent: *req.Silent, By: "phone"}); err != nil {
		writeRuleError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "silent": *req.Silent})
}

// clientKey is the address the limits count by: an IPv4 address, or an IPv6
// /64 (one phone may hold many addresses of its network).
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// phoneLimiter holds the phone routes' token buckets
// (golang.org/x/time/rate): requests per address and misses per address
// (phoneAddr), requests per ticket token. The rates are config.Phone's.
type phoneLimiter struct {
	cfg    config.Phone
	mu     sync.Mutex
	addrs  map[string]*phoneAddr
	tokens map[string]*rate.Limiter // by ticket id
}

type phoneAddr struct{ reqs, misses *rate.Limiter }

func perMinute(n int) rate.Limit { return rate.Limit(float64(n) / 60) }

// full tells whether l has refilled to its burst: nothing to remember.
func full(l *rate.Limiter, now time.Time) bool { return l.TokensAt(now) >= float64(l.Burst()) }

func (l *phoneLimiter) addr(key string, now time.Time) *phoneAddr {
	c := &l.cfg
	if l.addrs == nil {
		l.addrs = map[string]*phoneAddr{}
	}
	a, ok := l.addrs[key]
	if !ok {
		if len(l.addrs) >= phoneClients {
			// Forget the addresses whose buckets are full again: they are idle.
			for k, o := range l.addrs {
				if full(o.reqs, now) && full(o.misses, now) {
					delete(l.addrs, k)
				}
			}
			if len(l.addrs) >= phoneClients {
				return nil
			}
		}
		a = &phoneAddr{reqs: rate.NewLimiter(perMinute(c.AddressPerMinute), c.AddressBurst),
			misses: rate.NewLimiter(perMinute(c.MissesPerMinute), c.MissBurst)}
		l.addrs[key] = a
	}
	return a
}

// allow takes one request of ticket id from key: false when the token's
// bucket or the address's is empty (then neither is spent).
func (l *phoneLimiter) allow(key, id string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &l.cfg
	if l.tokens == nil {
		l.tokens = map[string]*rate.Limiter{}
	}
	t, ok := l.tokens[id]
	if !ok {
		if len(l.tokens) >= phoneTokens {
			for k, o := range l.tokens {
				if full(o, now) {
					delete(l.tokens, k)
				}
			}
			if len(l.tokens) >= phoneTokens {
				return false
			}
		}
		t = rate.NewLimiter(perMinute(c.TokenPerMinute), c.TokenBurst)
		l.tokens[id] = t
	}
	a := l.addr(key, now)
	if a == nil || t.TokensAt(now) < 1 || a.reqs.TokensAt(now) < 1 {
		return false
	}
	return t.AllowN(now, 1) && a.reqs.AllowN(now, 1)
}

// miss takes one miss from key's budget: nil when it is spent. Cancelling
// the reservation gives it back (a token that was a new ticket's after all).
func (l *phoneLimiter) miss(key string, now time.Time) *rate.Reservation {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.addr(key, now)
	if a == nil || a.misses.TokensAt(now) < 1 {
		return nil
	}
	return a.misses.ReserveN(now, 1)
}

const phoneNotFoundPage = `<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">` +
	`<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer">` +
	`<title>链接无效</title></head><body style="font-family:sans-serif;margin:0;padding:32px 20px;text-align:center;color:#222">` +
	`<h1 style="font-size:22px;color:#0a2f66">链接无效或已过期</h1>` +
	`<p style="font-size:16px;line-height:1.6">号票仅当天有效。请扫描您号票上的二维码，或到大厅咨询台询问。</p></body></html>`
