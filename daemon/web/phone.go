package web

// The citizen's phone page (README "The citizen's phone"): the printed
// ticket's QR opens /t/{token} on the hall's guest Wi-Fi; the page polls
// GET /api/v1/phone/{token} and rates the visit with
// POST /api/v1/phone/{token}/rating. The routes need no scope: the token
// (daemon/phonetoken) is the guard, and they pass the Host check and, for the
// rating, the Origin check like every other route. A token that is not one of
// today's tickets gets 404 and nothing else; misses and requests are limited
// per client address.

import (
	"io"
	"net"
	"net/http"
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

	// Per client address (an IPv6 /64): requests at phoneRate a second, bursts
	// of phoneBurst; tokens that match no ticket at one per phoneMissEvery,
	// bursts of phoneMissBurst. Once the misses are spent every request from
	// there gets 429 until they refill, so guessing learns nothing faster.
	phoneRate      = 5.0
	phoneBurst     = 30.0
	phoneMissEvery = 6 * time.Second
	phoneMissBurst = 10.0
	phoneClients   = 8192 // addresses tracked at most
)

// phoneState is the phone routes' own state, one per Server.
type phoneState struct {
	index   *phonetoken.Index
	refresh sync.Mutex // one index refresh at a time
	limit   phoneLimiter

	mu    sync.Mutex // guards ahead
	ahead aheadCache
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
		if key := phonetoken.For(s.d.Config); key != nil {
			s.phoneSt = &phoneState{index: phonetoken.NewIndex(key)}
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
	if !ps.limit.allow(client, now) {
		w.Header().Set("Retry-After", "10")
		writeError(w, http.StatusTooManyRequests, "rate_limited", "请求过于频繁，请稍后再试")
		return nil, "", false
	}
	token := r.PathValue("token")
	id, ok := ps.index.Lookup(token)
	if !ok && len(token) == phonetoken.Len {
		// Perhaps a ticket issued since the index was last brought up to date.
		if err := s.refreshIndex(r, ps); err != nil {
			writeRuleError(w, err)
			return nil, "", false
		}
		id, ok = ps.index.Lookup(token)
	}
	if !ok {
		ps.limit.miss(client, now)
		notFound()
		return nil, "", false
	}
	return ps, id, true
}

// refreshIndex adds the tickets issued since the index last looked (a new
// hall day starts it again). The MACs are made off the engine's goroutine.
func (s *Server) refreshIndex(r *http.Request, ps *phoneState) error {
	ps.refresh.Lock()
	defer ps.refresh.Unlock()
	day, n := ps.index.Known()
	type fresh struct {
		day  string
		from int
		ids  []string
	}
	v, err := s.d.Engine.Query(r.Context(), func(st *hall.State) any {
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
	cfg := s.d.Config
	v, err := s.d.Engine.Query(r.Context(), func(st *hall.State) any {
		now := s.d.Engine.Now()
		t, ok := st.Tickets[id]
		if !ok || t.Day != cfg.Day(now) {
			return (*phoneTicket)(nil)
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
		for _, n := range st.Notices {
			if n.Until == nil || time.Time(*n.Until).After(now) {
				out.notices = append(out.notices, n.Text)
			}
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	return v.(*phoneTicket), nil
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
		CalledAt: t.CalledAt, Recalls: t.Recalls, Notices: pt.notices, Poll: phonePollSeconds,
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

// phoneLimiter holds two token buckets per client address
// (golang.org/x/time/rate): its requests, and its tokens that matched no
// ticket.
type phoneLimiter struct {
	mu sync.Mutex
	m  map[string]*phoneBucket
}

type phoneBucket struct {
	reqs, misses *rate.Limiter
}

// idle tells whether both buckets are full again: nothing to remember.
func (b *phoneBucket) idle(now time.Time) bool {
	return b.reqs.TokensAt(now) >= phoneBurst && b.misses.TokensAt(now) >= phoneMissBurst
}

func (l *phoneLimiter) bucket(key string, now time.Time) *phoneBucket {
	if l.m == nil {
		l.m = map[string]*phoneBucket{}
	}
	b, ok := l.m[key]
	if !ok {
		if len(l.m) >= phoneClients {
			// Forget the addresses whose buckets are full again: they are idle.
			for k, o := range l.m {
				if o.idle(now) {
					delete(l.m, k)
				}
			}
			if len(l.m) >= phoneClients {
				return nil
			}
		}
		b = &phoneBucket{reqs: rate.NewLimiter(phoneRate, phoneBurst),
			misses: rate.NewLimiter(rate.Every(phoneMissEvery), phoneMissBurst)}
		l.m[key] = b
	}
	return b
}

// allow takes one request from key's bucket; false when it is empty or the
// key's misses are spent.
func (l *phoneLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key, now)
	if b == nil || b.misses.TokensAt(now) < 1 {
		return false
	}
	return b.reqs.AllowN(now, 1)
}

// miss counts a token that matched no ticket.
func (l *phoneLimiter) miss(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.bucket(key, now); b != nil {
		b.misses.AllowN(now, 1) // none left: it stays empty
	}
}

const phoneNotFoundPage = `<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">` +
	`<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer">` +
	`<title>链接无效</title></head><body style="font-family:sans-serif;margin:0;padding:32px 20px;text-align:center;color:#222">` +
	`<h1 style="font-size:22px;color:#0a2f66">链接无效或已过期</h1>` +
	`<p style="font-size:16px;line-height:1.6">号票仅当天有效。请扫描您号票上的二维码，或到大厅咨询台询问。</p></body></html>`
