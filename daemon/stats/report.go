package stats

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"

	"halld/daemon/hall"
)

// Groupings for Query.By.
const (
	ByService = "service"
	ByWindow  = "window"
	ByStaff   = "staff"
	ByDay     = "day"
	ByHour    = "hour" // hour of day 00–23, over every day in the range
)

// Query asks for a report. From and To are days in the hall's zone (their
// time of day is ignored): From inclusive, To exclusive; a zero time leaves
// that end open. By groups the rows ("" gives totals only). Service, Window
// and Staff, when set, keep only what belongs to that id.
type Query struct {
	From, To time.Time
	By       string
	Service  string
	Window   string
	Staff    string
}

// Validate tells a query Report can answer.
func (q Query) Validate() error {
	switch q.By {
	case "", ByService, ByWindow, ByStaff, ByDay, ByHour:
	default:
		return fmt.Errorf("stats: by must be service, window, staff, day or hour, not %q", q.By)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		return fmt.Errorf("stats: to (%s) must be after from (%s)", q.To.Format(time.DateOnly), q.From.Format(time.DateOnly))
	}
	return nil
}

// Report is the answer to a Query. Rows are sorted by key; the row with the
// empty key gathers what has no value for the grouping (issued tickets have
// no window or staff; pauses and attendance have no service). Totals cover
// everything the filters keep, so the rows add up to them.
type Report struct {
	From    string `json:"from,omitempty"` // first day, inclusive
	To      string `json:"to,omitempty"`   // last day, exclusive
	By      string `json:"by,omitempty"`
	Service string `json:"service,omitempty"`
	Window  string `json:"window,omitempty"`
	Staff   string `json:"staff,omitempty"`
	// Seq and AsOf say how much of the journal the numbers include; open
	// pauses and sessions are counted up to AsOf.
	Seq        uint64          `json:"seq"`
	AsOf       string          `json:"as_of,omitempty"`
	Rows       []Row           `json:"rows"`
	Totals     Row             `json:"totals"`
	Attendance []AttendanceDay `json:"attendance,omitempty"`
	Error      string          `json:"error,omitempty"`
	// Definitions says what the rates and counts mean, by their JSON path
	// in a row (the same for every row and the totals).
	Definitions map[string]string `json:"definitions"`
}

// Definitions of the report's rates and outcome counts (GB/T 39734 / 39735
// 好评率, 主动评价好评率, 未评价率; the estimate's accuracy).
var Definitions = map[string]string{
	"ratings.good":                 "好评数：非常满意、满意、基本满意的评价（差评为不满意、非常不满意）；申诉成立剔除的不计",
	"ratings.good_rate":            "好评率 = 好评数 ÷ 有效评价数（rated）",
	"ratings.prompted":             "提示评价数：评价器显示“请评价”该次办件时给出的评价",
	"ratings.unprompted":           "主动评价数：未经提示、群众主动给出的评价（办理中、办结提示前按下评价器，或提示结束后扫码评价）",
	"ratings.unprompted_good":      "主动评价中的好评数",
	"ratings.unprompted_good_rate": "主动评价好评率 = 主动评价中的好评数 ÷ 主动评价数",
	"ratings.unrated":              "未评价数：办结后评价机会结束仍未评价的办件（超时、评价器超时、叫下一号、暂停、签退、日终），当日之后补评的不计",
	"ratings.unrated_rate":         "未评价率 = 未评价数 ÷（有效评价数 + 申诉剔除数 + 未评价数），即有评价结果的办结办件中未评价的比例",
	"ratings.unrated_by":           "未评价数按评价机会结束的原因：timeout 超时、pad_timeout 评价器超时、next_call 叫下一号、pause 暂停、sign_out 签退、day_end 日终、unknown 旧记录",
	"ratings.timeouts":             "同 unrated（旧字段名）",
	"outcomes":                     "号票结果，每张号票一个：served 办结、no_show 日终时仍为过号、expired 日终时仍在等候、挂起、已叫或办理中（日终计在当天 23 时）",
	"estimate.samples":             "有预计等候时间、未经转移即被首次叫号的号票数（在叫号时计入其业务、窗口、人员）",
	"estimate.within_band_rate":    "预计准确率 = 实际等候（取号到首次叫号）落在预计区间 [low, high] 内的号票 ÷ samples",
	"estimate.p80_error_minutes":   "80% 的号票实际等候与预计（minutes）之差不超过该分钟数",
	"estimate.unservable":          "取号时没有任何已签到窗口（含 AB 岗）可办理的号票数（不作预计）",
}

// Row is one group's numbers.
type Row struct {
	Key            string          `json:"key"`
	Name           string          `json:"name,omitempty"`
	Issued         int             `json:"issued"`
	Called         int             `json:"called"`
	Recalls        int             `json:"recalls"`
	Served         int             `json:"served"`
	NoShows        int             `json:"no_shows"`
	Held           int             `json:"held"`
	TransferredOut int             `json:"transferred_out"`
	Wait           Dist            `json:"wait"`
	Service        Dist            `json:"service"`
	Pauses         PauseStats      `json:"pauses"`
	Ratings        RatingStats     `json:"ratings"`
	FollowUps      FollowUpStats   `json:"followups"`
	Attendance     AttendanceStats `json:"attendance"`
	Outcomes       OutcomeStats    `json:"outcomes"`
	Estimate       EstimateStats   `json:"estimate"`
}

// OutcomeStats count the tickets' one outcome each (Definitions "outcomes").
type OutcomeStats struct {
	Served  int `json:"served"`
	NoShow  int `json:"no_show"`
	Expired int `json:"expired"`
}

// EstimateStats measure the wait estimates given at issue (Definitions).
type EstimateStats struct {
	Samples        int      `json:"samples"`
	WithinBand     int      `json:"within_band"`
	WithinBandRate *float64 `json:"within_band_rate"` // null with no samples
	// P80ErrorMinutes: 80 % of the estimates were off by at most this many
	// minutes (rounded up to the minute); null with no samples.
	P80ErrorMinutes *float64 `json:"p80_error_minutes"`
	Unservable      int      `json:"unservable"`
}

// Dist summarises durations in seconds (rounded to the millisecond). Median
// and P90 are exact, interpolated linearly between the closest ranks (as
// Excel's PERCENTILE.INC): with sorted x[0..n-1], q is at h = (n-1)·q, that
// is x[⌊h⌋] + (h−⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]).
type Dist struct {
	Count         int     `json:"count"`
	MeanSeconds   float64 `json:"mean_seconds"`
	MedianSeconds float64 `json:"median_seconds"`
	P90Seconds    float64 `json:"p90_seconds"`
	MaxSeconds    float64 `json:"max_seconds"`
}

// PauseStats are a window's pauses (暂停服务 / 临时外出).
type PauseStats struct {
	Count          int     `json:"count"`
	TotalSeconds   float64 `json:"total_seconds"`
	LongestSeconds float64 `json:"longest_seconds"`
	Overdue        int     `json:"overdue"`
}

// RatingStats are the 好差评 ratings; excluded ones (appeal upheld) count in
// Excluded only.
type RatingStats struct {
	VerySatisfied      int `json:"very_satisfied"`      // 非常满意
	Satisfied          int `json:"satisfied"`           // 满意
	BasicallySatisfied int `json:"basically_satisfied"` // 基本满意
	Dissatisfied       int `json:"dissatisfied"`        // 不满意
	VeryDissatisfied   int `json:"very_dissatisfied"`   // 非常不满意
	Rated              int `json:"rated"`
	// SatisfactionRate is (非常满意+满意+基本满意)/Rated, 0–1; null when nothing was rated.
	SatisfactionRate *float64 `json:"satisfaction_rate"`
	Bad              int      `json:"bad"`      // 差评: 不满意 + 非常不满意
	Timeouts         int      `json:"timeouts"` // = Unrated
	Excluded         int      `json:"excluded"`
	// 好评率, 主动评价好评率, 未评价率 (Report.Definitions); rates are 0–1,
	// null when their denominator is 0.
	Good               int            `json:"good"`
	GoodRate           *float64       `json:"good_rate"`
	Prompted           int            `json:"prompted"`
	Unprompted         int            `json:"unprompted"`
	UnpromptedGood     int            `json:"unprompted_good"`
	UnpromptedGoodRate *float64       `json:"unprompted_good_rate"`
	Unrated            int            `json:"unrated"`
	UnratedRate        *float64       `json:"unrated_rate"`
	UnratedBy          map[string]int `json:"unrated_by"`
}

// FollowUpStats are the 差评 follow-ups (回访 → 整改 → 反馈, 申诉复核).
type FollowUpStats struct {
	Opened   int `json:"opened"`
	Open     int `json:"open"`
	Closed   int `json:"closed"`
	Overdue  int `json:"overdue"`
	Excluded int `json:"excluded"` // closed by an upheld appeal
}

// AttendanceStats come from sign-ins and sign-outs.
type AttendanceStats struct {
	SignedInMinutes float64 `json:"signed_in_minutes"`
	SignIns         int     `json:"sign_ins"`
	StaffDays       int     `json:"staff_days"` // distinct (staff, day) with a sign-in
	FirstSignIn     string  `json:"first_sign_in,omitempty"`
	LastSignOut     string  `json:"last_sign_out,omitempty"`
}

// AttendanceDay is one staff member's day.
type AttendanceDay struct {
	Staff           string  `json:"staff"`
	Name            string  `json:"name,omitempty"`
	Day             string  `json:"day"`
	SignedInMinutes float64 `json:"signed_in_minutes"`
	SignIns         int     `json:"sign_ins"`
	FirstSignIn     string  `json:"first_sign_in,omitempty"`
	LastSignOut     string  `json:"last_sign_out,omitempty"`
}

const stampLayout = "2006-01-02T15:04:05Z07:00"

type acc struct {
	issued, called, recalls, served, noShows, held, transferred int
	waits, service                                              []float32
	pauses, pausesOverdue                                       int
	pauseTotal, pauseMax                                        float64
	levels                                                      [5]int
	unpromptedLevels                                            [5]int
	excluded, timeouts                                          int
	unratedBy                                                   [8]int
	endNoShow, expired                                          int
	estSamples, estWithin, unservable                           int
	estErrors                                                   []float32
	fuOpened, fuClosed, fuOverdue, fuExcluded                   int
	presence                                                    float64
	signIns                                                     int
	staffDays                                                   map[int64]struct{}
	firstIn, lastOut                                            int64 // ms since epoch, hall-local wall clock; 0 none
}

func (c *acc) add(f *fact, val float32) {
	switch f.kind {
	case kIssued:
		c.issued++
		if f.flags&fUnservable != 0 {
			c.unservable++
		}
	case kClosed:
		if f.level == 0 {
			c.endNoShow++
		} else {
			c.expired++
		}
	case kEstimate:
		c.estSamples++
		if f.flags&fWithin != 0 {
			c.estWithin++
		}
		c.estErrors = append(c.estErrors, val)
	case kCall:
		c.called++
		if f.flags&fDur != 0 {
			c.waits = append(c.waits, val)
		}
	case kRecall:
		c.recalls++
	case kServed:
		c.served++
		if f.flags&fDur != 0 {
			c.service = append(c.service, val)
		}
	case kNoShow:
		c.noShows++
	case kHeld:
		c.held++
	case kTransfer:
		c.transferred++
		if f.flags&fDur != 0 {
			c.service = append(c.service, val)
		}
	case kRating:
		if f.flags&fExcluded != 0 {
			c.excluded++
		} else {
			c.levels[f.level]++
			if f.flags&fUnprompted != 0 {
				c.unpromptedLevels[f.level]++
			}
		}
	case kTimeout:
		if f.flags&fExcluded == 0 { // not replaced by a late rating
			c.timeouts++
			c.unratedBy[min(int(f.level), len(c.unratedBy)-1)]++
		}
	case kPause:
		c.pauses++
		c.pauseTotal += float64(val)
		c.pauseMax = max(c.pauseMax, float64(val))
		if f.flags&fOverdue != 0 {
			c.pausesOverdue++
		}
	case kFollowUp:
		c.fuOpened++
		if f.flags&fClosed != 0 {
			c.fuClosed++
		}
		if f.flags&fOverdue != 0 {
			c.fuOverdue++
		}
		if f.flags&fExcluded != 0 {
			c.fuExcluded++
		}
	case kPresence:
		c.presence += float64(val)
	case kSignIn:
		c.signIns++
		if c.staffDays == nil {
			c.staffDays = map[int64]struct{}{}
		}
		c.staffDays[int64(f.staff)<<32|int64(uint32(f.day))] = struct{}{}
		if at := wall(f.day, val); c.firstIn == 0 || at < c.firstIn {
			c.firstIn = at
		}
	case kSignOut:
		if at := wall(f.day, val); at > c.lastOut {
			c.lastOut = at
		}
	}
}

// wall is a day and second-of-day as milliseconds of the hall's wall clock.
func wall(day int32, sec float32) int64 {
	return int64(day)*86400000 + int64(math.Round(float64(sec)*1000))
}

func (a *Aggregator) wallString(ms int64) string {
	if ms == 0 {
		return ""
	}
	u := time.UnixMilli(ms).UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), u.Hour(), u.Minute(), u.Second(), u.Nanosecond(), a.loc).Format(stampLayout)
}

func (a *Aggregator) row(c *acc) Row {
	r := Row{Issued: c.issued, Called: c.called, Recalls: c.recalls, Served: c.served, NoShows: c.noShows,
		Held: c.held, TransferredOut: c.transferred, Wait: dist(c.waits), Service: dist(c.service)}
	r.Pauses = PauseStats{Count: c.pauses, TotalSeconds: ms(c.pauseTotal), LongestSeconds: ms(c.pauseMax), Overdue: c.pausesOverdue}
	l := c.levels
	rated := l[0] + l[1] + l[2] + l[3] + l[4]
	r.Ratings = RatingStats{VerySatisfied: l[0], Satisfied: l[1], BasicallySatisfied: l[2], Dissatisfied: l[3],
		VeryDissatisfied: l[4], Rated: rated, Bad: l[3] + l[4], Timeouts: c.timeouts, Excluded: c.excluded}
	if rated > 0 {
		rate := float64(l[0]+l[1]+l[2]) / float64(rated)
		r.Ratings.SatisfactionRate = &rate
	}
	u := c.unpromptedLevels
	unprompted := u[0] + u[1] + u[2] + u[3] + u[4]
	r.Ratings.Good = l[0] + l[1] + l[2]
	r.Ratings.GoodRate = ratio(r.Ratings.Good, rated)
	r.Ratings.Unprompted, r.Ratings.Prompted = unprompted, rated-unprompted
	r.Ratings.UnpromptedGood = u[0] + u[1] + u[2]
	r.Ratings.UnpromptedGoodRate = ratio(r.Ratings.UnpromptedGood, unprompted)
	r.Ratings.Unrated = c.timeouts
	r.Ratings.UnratedRate = ratio(c.timeouts, rated+c.excluded+c.timeouts)
	r.Ratings.UnratedBy = map[string]int{}
	for i, n := range c.unratedBy {
		if n == 0 {
			continue
		}
		name := "unknown"
		if i > 0 && i <= len(hall.RatingEndReasons) {
			name = hall.RatingEndReasons[i-1]
		}
		r.Ratings.UnratedBy[name] += n
	}
	r.Outcomes = OutcomeStats{Served: c.served, NoShow: c.endNoShow, Expired: c.expired}
	r.Estimate = EstimateStats{Samples: c.estSamples, WithinBand: c.estWithin, WithinBandRate: ratio(c.estWithin, c.estSamples),
		Unservable: c.unservable}
	if len(c.estErrors) > 0 {
		p := math.Ceil(quantile(slices.Clone(c.estErrors), 0.8)*10) / 10
		r.Estimate.P80ErrorMinutes = &p
	}
	r.FollowUps = FollowUpStats{Opened: c.fuOpened, Open: c.fuOpened - c.fuClosed, Closed: c.fuClosed,
		Overdue: c.fuOverdue, Excluded: c.fuExcluded}
	r.Attendance = AttendanceStats{SignedInMinutes: math.Round(c.presence/60*100) / 100, SignIns: c.signIns,
		StaffDays: len(c.staffDays), FirstSignIn: a.wallString(c.firstIn), LastSignOut: a.wallString(c.lastOut)}
	return r
}

func ms(s float64) float64 { return math.Round(s*1000) / 1000 }

// ratio is n/d, nil when d is 0.
func ratio(n, d int) *float64 {
	if d == 0 {
		return nil
	}
	r := float64(n) / float64(d)
	return &r
}

func dist(xs []float32) Dist {
	if len(xs) == 0 {
		return Dist{}
	}
	sum := 0.0
	for _, x := range xs {
		sum += float64(x)
	}
	h50, h90 := float64(len(xs)-1)*0.5, float64(len(xs)-1)*0.9
	med := quantileAt(xs, h50) // partitions xs at the median's rank k…
	k := int(h50)
	p90 := quantileAt(xs[k:], h90-float64(k)) // …so ranks ≥ k are xs[k:] (h90 − k is exact)
	top := xs[k]
	for _, x := range xs[k:] {
		top = max(top, x)
	}
	return Dist{Count: len(xs), MeanSeconds: ms(sum / float64(len(xs))), MedianSeconds: ms(med),
		P90Seconds: ms(p90), MaxSeconds: ms(float64(top))}
}

// quantile q of xs, linear between the closest ranks (PERCENTILE.INC). It
// reorders xs (a selection, O(n), not a sort).
func quantile(xs []float32, q float64) float64 {
	return quantileAt(xs, float64(len(xs)-1)*q)
}

// quantileAt is the value at position h of xs as if sorted: x[⌊h⌋] and a
// fraction of the way to x[⌊h⌋+1]. Afterwards xs is partitioned at ⌊h⌋.
func quantileAt(xs []float32, h float64) float64 {
	lo := max(0, min(int(math.Floor(h)), len(xs)-1))
	selectRank(xs, lo)
	x := float64(xs[lo])
	if frac := h - float64(lo); frac > 0 && lo+1 < len(xs) {
		next := xs[lo+1]
		for _, v := range xs[lo+2:] {
			next = min(next, v)
		}
		x += frac * (float64(next) - x)
	}
	return x
}

// selectRank reorders xs so that xs[k] is the value of rank k, with no
// larger value before it and no smaller one after (Hoare's selection,
// median-of-three pivots).
func selectRank(xs []float32, k int) {
	lo, hi := 0, len(xs)-1
	for lo < hi {
		a, b, c := xs[lo], xs[lo+(hi-lo)/2], xs[hi]
		p := max(min(a, b), min(max(a, b), c))
		i, j := lo, hi
		for i <= j {
			for xs[i] < p {
				i++
			}
			for xs[j] > p {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return // between j and i: equal to the pivot
		}
	}
}

// span turns a query's days into civil day numbers [lo, hi).
func (a *Aggregator) span(from, to time.Time) (int32, int32) {
	lo, hi := int32(math.MinInt32), int32(math.MaxInt32)
	if !from.IsZero() {
		lo = a.dayOf(from)
	}
	if !to.IsZero() {
		hi = a.dayOf(to)
	}
	return lo, hi
}

// filterID is an id to match, or -1 for any.
func (a *Aggregator) filterID(s string) int {
	if s == "" {
		return -1
	}
	if id, ok := a.ids[s]; ok {
		return int(id)
	}
	return maxIDs // matches nothing
}

// scan calls fn with every fact (and every still-open one) in the span that
// passes the filters, with its value (open pauses last until the last record).
func (a *Aggregator) scan(lo, hi int32, svc, win, staff int, fn func(f *fact, val float32)) {
	extra, open := a.openFacts()
	visit := func(i int, f *fact) {
		if f.day < lo || f.day >= hi ||
			(svc >= 0 && int(f.svc) != svc) || (win >= 0 && int(f.win) != win) || (staff >= 0 && int(f.staff) != staff) {
			return
		}
		val := f.val
		if f.flags&fOpen != 0 {
			val = open[i]
		}
		fn(f, val)
	}
	for i := range a.facts {
		visit(i, &a.facts[i])
	}
	for i := range extra {
		visit(-1, &extra[i])
	}
}

// Report answers q. An invalid q gives a Report with Error set and no rows.
func (a *Aggregator) Report(q Query) Report {
	lo, hi := a.span(q.From, q.To)
	rep := Report{By: q.By, Service: q.Service, Window: q.Window, Staff: q.Staff, Seq: a.seq, Rows: []Row{}, Definitions: Definitions}
	if !q.From.IsZero() {
		rep.From = dayString(lo)
	}
	if !q.To.IsZero() {
		rep.To = dayString(hi)
	}
	if !a.last.IsZero() {
		rep.AsOf = a.last.Format(stampLayout)
	}
	if err := q.Validate(); err != nil {
		rep.Error = err.Error()
		return rep
	}
	var key func(f *fact) int64
	switch q.By {
	case ByService:
		key = func(f *fact) int64 { return int64(f.svc) }
	case ByWindow:
		key = func(f *fact) int64 { return int64(f.win) }
	case ByStaff:
		key = func(f *fact) int64 { return int64(f.staff) }
	case ByDay:
		key = func(f *fact) int64 { return int64(f.day) }
	case ByHour:
		key = func(f *fact) int64 { return int64(f.hour) }
	}
	var total acc
	groups := map[int64]*acc{}                   // by day
	dense := make([]*acc, max(len(a.names), 24)) // by id or hour
	type dayKey struct {
		staff uint16
		day   int32
	}
	days := map[dayKey]*acc{}
	a.scan(lo, hi, a.filterID(q.Service), a.filterID(q.Window), a.filterID(q.Staff), func(f *fact, val float32) {
		total.add(f, val)
		if key != nil {
			k := key(f)
			var g *acc
			if q.By == ByDay {
				if g = groups[k]; g == nil {
					g = &acc{}
					groups[k] = g
				}
			} else if g = dense[k]; g == nil {
				g = &acc{}
				dense[k] = g
			}
			g.add(f, val)
		}
		if f.staff != 0 && (f.kind == kPresence || f.kind == kSignIn || f.kind == kSignOut) {
			k := dayKey{f.staff, f.day}
			d := days[k]
			if d == nil {
				d = &acc{}
				days[k] = d
			}
			d.add(f, val)
		}
	})
	rep.Totals = a.row(&total)
	rep.Totals.Key, rep.Totals.Name = "", "合计"
	for k, g := range dense {
		if g != nil {
			groups[int64(k)] = g
		}
	}
	for k, g := range groups {
		r := a.row(g)
		switch q.By {
		case ByDay:
			r.Key = dayString(int32(k))
		case ByHour:
			r.Key = fmt.Sprintf("%02d", k)
		default:
			r.Key, r.Name = a.names[k], a.name(uint16(k), q.By)
		}
		rep.Rows = append(rep.Rows, r)
	}
	sort.Slice(rep.Rows, func(i, j int) bool { return rep.Rows[i].Key < rep.Rows[j].Key })
	for k, d := range days {
		r := a.row(d)
		rep.Attendance = append(rep.Attendance, AttendanceDay{Staff: a.names[k.staff], Name: a.name(k.staff, ByStaff),
			Day: dayString(k.day), SignedInMinutes: r.Attendance.SignedInMinutes, SignIns: r.Attendance.SignIns,
			FirstSignIn: r.Attendance.FirstSignIn, LastSignOut: r.Attendance.LastSignOut})
	}
	sort.Slice(rep.Attendance, func(i, j int) bool {
		x, y := rep.Attendance[i], rep.Attendance[j]
		if x.Staff != y.Staff {
			return x.Staff < y.Staff
		}
		return x.Day < y.Day
	})
	return rep
}

// CSV writes the report for spreadsheets: UTF-8 with a byte-order mark (so
// Excel reads the Chinese), Chinese headers, durations in minutes (one
// decimal), rates in percent, one row per group and a 合计 row.
func (r Report) CSV(w io.Writer) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	group := map[string]string{ByService: "业务", ByWindow: "窗口", ByStaff: "工作人员", ByDay: "日期", ByHour: "时段"}[r.By]
	if group == "" {
		group = "范围"
	}
	header := []string{group, "名称", "取号数", "叫号数", "重呼次数", "办结数", "过号数", "挂起数", "转出数",
		"等候样本数", "平均等候(分钟)", "等候中位数(分钟)", "等候P90(分钟)",
		"办理样本数", "平均办理(分钟)", "办理中位数(分钟)", "办理P90(分钟)",
		"暂停次数", "暂停总时长(分钟)", "最长暂停(分钟)", "超时暂停次数",
		"非常满意", "满意", "基本满意", "不满意", "非常不满意", "有效评价数", "满意率(%)", "差评数", "未评价(超时)", "申诉排除",
		"差评整改数", "整改未办结", "整改已办结", "整改超期",
		"签到时长(分钟)", "签到次数", "出勤人天", "首次签到", "最后签退",
		"好评数", "好评率(%)", "主动评价数", "主动评价好评率(%)", "未评价数", "未评价率(%)",
		"日终过号", "日终过期", "预计样本数", "预计准确率(%)", "80%预计误差(分钟)", "无窗口可办"}
	if err := cw.Write(header); err != nil {
		return err
	}
	rows := append(slices.Clone(r.Rows), r.Totals)
	for i, x := range rows {
		key, name := x.Key, x.Name
		if i == len(rows)-1 {
			key, name = "合计", ""
		} else if key == "" {
			key = "（未分配）"
		}
		if r.By == ByHour && i < len(rows)-1 {
			key += ":00"
		}
		rate := ""
		if x.Ratings.SatisfactionRate != nil {
			rate = strconv.FormatFloat(*x.Ratings.SatisfactionRate*100, 'f', 1, 64)
		}
		rec := []string{key, name, itoa(x.Issued), itoa(x.Called), itoa(x.Recalls), itoa(x.Served), itoa(x.NoShows),
			itoa(x.Held), itoa(x.TransferredOut)}
		rec = append(rec, distCols(x.Wait)...)
		rec = append(rec, distCols(x.Service)...)
		rec = append(rec, itoa(x.Pauses.Count), minutes(x.Pauses.TotalSeconds), minutes(x.Pauses.LongestSeconds), itoa(x.Pauses.Overdue),
			itoa(x.Ratings.VerySatisfied), itoa(x.Ratings.Satisfied), itoa(x.Ratings.BasicallySatisfied),
			itoa(x.Ratings.Dissatisfied), itoa(x.Ratings.VeryDissatisfied), itoa(x.Ratings.Rated), rate,
			itoa(x.Ratings.Bad), itoa(x.Ratings.Timeouts), itoa(x.Ratings.Excluded),
			itoa(x.FollowUps.Opened), itoa(x.FollowUps.Open), itoa(x.FollowUps.Closed), itoa(x.FollowUps.Overdue),
			strconv.FormatFloat(x.Attendance.SignedInMinutes, 'f', 1, 64), itoa(x.Attendance.SignIns), itoa(x.Attendance.StaffDays),
			clock(x.Attendance.FirstSignIn), clock(x.Attendance.LastSignOut),
			itoa(x.Ratings.Good), pct(x.Ratings.GoodRate), itoa(x.Ratings.Unprompted), pct(x.Ratings.UnpromptedGoodRate),
			itoa(x.Ratings.Unrated), pct(x.Ratings.UnratedRate), itoa(x.Outcomes.NoShow), itoa(x.Outcomes.Expired),
			itoa(x.Estimate.Samples), pct(x.Estimate.WithinBandRate), num(x.Estimate.P80ErrorMinutes), itoa(x.Estimate.Unservable))
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// AttendanceCSV writes the per-staff, per-day attendance (考勤明细) the same way.
func (r Report) AttendanceCSV(w io.Writer) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"工号", "姓名", "日期", "签到时长(分钟)", "签到次数", "首次签到", "最后签退"}); err != nil {
		return err
	}
	for _, d := range r.Attendance {
		if err := cw.Write([]string{d.Staff, d.Name, d.Day, strconv.FormatFloat(d.SignedInMinutes, 'f', 1, 64),
			itoa(d.SignIns), clock(d.FirstSignIn), clock(d.LastSignOut)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func itoa(n int) string { return strconv.Itoa(n) }

// pct renders a 0–1 rate in percent with one decimal, "" when there is none.
func pct(r *float64) string {
	if r == nil {
		return ""
	}
	return strconv.FormatFloat(*r*100, 'f', 1, 64)
}

func num(x *float64) string {
	if x == nil {
		return ""
	}
	return strconv.FormatFloat(*x, 'f', 1, 64)
}

func minutes(sec float64) string { return strconv.FormatFloat(sec/60, 'f', 1, 64) }

func distCols(d Dist) []string {
	if d.Count == 0 {
		return []string{"0", "", "", ""}
	}
	return []string{itoa(d.Count), minutes(d.MeanSeconds), minutes(d.MedianSeconds), minutes(d.P90Seconds)}
}

// clock renders an RFC 3339 stamp as "2006-01-02 15:04:05" (the hall's time).
func clock(s string) string {
	t, err := time.Parse(stampLayout, s)
	if err != nil {
		return s
	}
	return t.Format(time.DateTime)
}
