package stats

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"halld/daemon/config"
	"halld/daemon/hall"
	"halld/daemon/journal"
)

const dayHall = `
hall:
  id: t-hall
  name: 测试大厅
  timezone: Asia/Shanghai
  opening_hours: [{days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}]
  always_open: true
  pause_limit: 30m
  rating_timeout: 2m
areas: [{id: front, name: 前台}]
services:
  - {id: biz, prefix: A, name: 企业开办, area: front}
  - {id: tax, prefix: B, name: 税务, area: front}
windows:
  - {id: w1, number: 1, services: [{service: biz}, {service: tax}]}
  - {id: w2, number: 2, services: [{service: tax}]}
staff:
  - {id: s1, name: 张敏, windows: [w1]}
  - {id: s2, name: 李强, windows: [w2]}
`

// script runs commands through the real rules (Decide, then Apply, as the
// engine does) at a fixed clock and keeps the journal records they make.
type script struct {
	t    *testing.T
	cfg  *config.Config
	st   *hall.State
	now  time.Time
	recs []journal.Record
}

func newScript(t *testing.T, yaml string) *script {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return &script{t: t, cfg: cfg, st: hall.NewState()}
}

// at sets the clock: "2026-11-25 09:05" in the hall's zone.
func (s *script) at(when string) *script {
	s.t.Helper()
	t, err := time.ParseInLocation("2006-01-02 15:04", when, s.cfg.Location)
	if err != nil {
		s.t.Fatal(err)
	}
	s.now = t
	return s
}

func (s *script) do(cmd any) []hall.Emit {
	s.t.Helper()
	emits, err := hall.Decide(s.cfg, s.st, cmd, s.now)
	if err != nil {
		s.t.Fatalf("%s %T%+v: %v", s.now.Format(time.DateTime), cmd, cmd, err)
	}
	for _, e := range emits {
		seq := uint64(len(s.recs) + 1)
		env := hall.Envelope{ID: fmt.Sprintf("ev-%d", seq), Seq: seq, TS: hall.Stamp(s.now), Type: e.Type, Hall: s.cfg.Hall.ID}
		body, err := hall.Encode(env, e.Data)
		if err != nil {
			s.t.Fatal(err)
		}
		s.recs = append(s.recs, journal.Record{Seq: seq, ID: env.ID, Type: e.Type, TS: s.now.UTC(), Body: body})
		hall.Apply(s.st, seq, e.Type, s.now, e.Data)
	}
	return emits
}

func (s *script) has(emits []hall.Emit, typ string) {
	s.t.Helper()
	for _, e := range emits {
		if e.Type == typ {
			return
		}
	}
	s.t.Fatalf("%s: no %s among %d events", s.now.Format(time.DateTime), typ, len(emits))
}

func (s *script) issue(svc string) string {
	s.t.Helper()
	for _, e := range s.do(hall.IssueTicket{Service: svc}) { // on a new day, after the last day's outcomes
		if ti, ok := e.Data.(*hall.TicketIssued); ok {
			return ti.Ticket.Number
		}
	}
	s.t.Fatal("no ticket issued")
	return ""
}

func (s *script) call(w, want string) uint32 {
	s.t.Helper()
	c := s.do(hall.CallNext{Window: w})[0].Data.(*hall.TicketCalled)
	if c.Number != want {
		s.t.Fatalf("%s: %s called %s, want %s", s.now.Format(time.DateTime), w, c.Number, want)
	}
	return c.Visit
}

// scriptedDay is two hall days (and a later one) run through the rules:
//
//	2026-11-25 (Wed)                                    waits, services (s)
//	08:50 s1 signs in at w1; 08:55 s2 signs in at w2
//	09:00 A001 biz  09:01 B001 tax  09:02 B002 tax  09:03 A002 biz
//	09:05 w1 calls A001 (v1)                             wait 300
//	09:06 w2 calls B001 (v2)                             wait 300
//	09:07 w1 starts A001; 09:08 w2 recalls B001; 09:10 B001 no-show
//	09:11 w2 calls B002 (v3)                             wait 540
//	09:12 w2 starts B002
//	09:17 w1 finishes A001                               service 600 (09:07→09:17)
//	09:18 v1 rated 非常满意
//	09:20 w2 transfers B002 to biz                       its visit: 480 (09:12→09:20), not served
//	09:21 w1 calls B002 (v4, ahead of A002: it keeps its 09:02 place)  wait 60 (09:20→09:21)
//	09:22 start, 09:30 finish                            service 480
//	09:31 v4 rated 满意
//	09:32 w1 calls A002 (v5)                             wait 1740 (09:03→09:32)
//	09:42 w1 finishes A002 without start (implicit)      service 600 (call→finish)
//	09:43 v5 rated 基本满意
//	09:45 w2 pauses (临时外出, 20 min); 10:15 overdue; 10:25 resumes   pause 2400, overdue
//	10:30 w1 pauses (会议); 10:40 resumes                pause 600
//	11:00 B003; 11:01 w2 calls (v6), 11:02 start, 11:12 finish   wait 60, service 600
//	11:13 v6 rated 不满意 → 差评 alert, follow-up fu-6
//	11:20 B004; 11:21 w2 calls (v7), 11:22 start, 11:37 finish   wait 60, service 900
//	11:38 v7 rated 非常不满意 → fu-7
//	12:00 fu-7 appealed; 12:05 fu-6 called back (回访); 12:30 fu-7 upheld → v7 excluded
//	13:00 A003; 13:02 w1 calls (v8), 13:03 start, 13:13 finish   wait 120, service 600
//	13:15 tick: no rating for v8 → rating.timeout
//	17:00 s2 signs out (08:55→17:00 = 485 min); 17:30 s1 signs out (08:50→17:30 = 520 min)
//	22:00 s1 signs in again (night service)
//	23:50 A004; 23:55 w1 calls (v9), 23:58 start                 wait 300
//	2026-11-26 (Thu)
//	00:10 w1 finishes A004                               service 720 (23:58→00:10), served on the 26th
//	00:11 v9 rated 满意
//	00:20 B001 of the 26th (numbers restart); 00:25 w1 calls (v10), 00:26 start, 00:36 finish
//	                                                     wait 300, service 600
//	00:37 v10 rated 非常满意
//	01:00 s1 signs out (22:00→01:00: 120 min on the 25th, 60 on the 26th)
//	2026-12-03 09:00 tick: fu-6 is past its 5 working days (deadline 12-02) → followup.overdue
func scriptedDay(t *testing.T) *script {
	s := newScript(t, dayHall)
	d1 := func(hm string) *script { return s.at("2026-11-25 " + hm) }
	d2 := func(hm string) *script { return s.at("2026-11-26 " + hm) }

	d1("08:50").do(hall.SignIn{Window: "w1", Staff: "s1"})
	d1("08:55").do(hall.SignIn{Window: "w2", Staff: "s2"})
	d1("09:00").issue("biz")
	d1("09:01").issue("tax")
	d1("09:02").issue("tax")
	d1("09:03").issue("biz")
	d1("09:05").call("w1", "A001")
	d1("09:06").call("w2", "B001")
	d1("09:07").do(hall.Start{Window: "w1"})
	s.has(d1("09:08").do(hall.Recall{Window: "w2"}), hall.TypeTicketRecalled)
	s.has(d1("09:10").do(hall.NoShow{Window: "w2"}), hall.TypeTicketNoShow)
	d1("09:11").call("w2", "B002")
	d1("09:12").do(hall.Start{Window: "w2"})
	d1("09:17").do(hall.Finish{Window: "w1"})
	d1("09:18").do(hall.Rate{Visit: 1, Level: "非常满意", Channel: "pad"})
	s.has(d1("09:20").do(hall.Transfer{Window: "w2", Service: "biz"}), hall.TypeTicketTransferred)
	d1("09:21").call("w1", "B002")
	d1("09:22").do(hall.Start{Window: "w1"})
	d1("09:30").do(hall.Finish{Window: "w1"})
	d1("09:31").do(hall.Rate{Visit: 4, Level: "满意", Channel: "pad"})
	d1("09:32").call("w1", "A002")
	if e := d1("09:42").do(hall.Finish{Window: "w1"}); !e[0].Data.(*hall.ServiceStarted).Implicit {
		t.Fatal("finish without start should start implicitly")
	}
	d1("09:43").do(hall.Rate{Visit: 5, Level: "基本满意", Channel: "pad"})
	d1("09:45").do(hall.Pause{Window: "w2", Reason: "临时外出", Minutes: 20})
	s.has(d1("10:15").do(hall.Tick{}), hall.TypeWindowOverdue)
	d1("10:25").do(hall.Resume{Window: "w2"})
	d1("10:30").do(hall.Pause{Window: "w1", Reason: "会议"})
	d1("10:40").do(hall.Resume{Window: "w1"})
	d1("11:00").issue("tax")
	d1("11:01").call("w2", "B003")
	d1("11:02").do(hall.Start{Window: "w2"})
	d1("11:12").do(hall.Finish{Window: "w2"})
	s.has(d1("11:13").do(hall.Rate{Visit: 6, Level: "不满意", Reasons: []string{"等候时间长"}, Channel: "pad"}), hall.TypeFollowUpOpened)
	d1("11:20").issue("tax")
	d1("11:21").call("w2", "B004")
	d1("11:22").do(hall.Start{Window: "w2"})
	d1("11:37").do(hall.Finish{Window: "w2"})
	s.has(d1("11:38").do(hall.Rate{Visit: 7, Level: "非常不满意", Reasons: []string{"服务态度差"}, Channel: "pad"}), hall.TypeFollowUpOpened)
	d1("12:00").do(hall.FollowUpStep{ID: "fu-7", Stage: hall.StageAppealed, Note: "恶意评价，监控可查", By: "s2"})
	d1("12:05").do(hall.FollowUpStep{ID: "fu-6", Stage: hall.StageCallback, Note: "已电话回访", By: "admin"})
	d1("12:30").do(hall.FollowUpStep{ID: "fu-7", Stage: hall.StageUpheld, Note: "申诉成立", By: "admin"})
	d1("13:00").issue("biz")
	d1("13:02").call("w1", "A003")
	d1("13:03").do(hall.Start{Window: "w1"})
	d1("13:13").do(hall.Finish{Window: "w1"})
	s.has(d1("13:15").do(hall.Tick{}), hall.TypeRatingTimeout)
	d1("17:00").do(hall.SignOut{Window: "w2"})
	d1("17:30").do(hall.SignOut{Window: "w1"})
	d1("22:00").do(hall.SignIn{Window: "w1", Staff: "s1"})
	d1("23:50").issue("biz")
	d1("23:55").call("w1", "A004")
	d1("23:58").do(hall.Start{Window: "w1"})
	d2("00:10").do(hall.Finish{Window: "w1"})
	d2("00:11").do(hall.Rate{Visit: 9, Level: "满意", Channel: "qr"})
	if n := d2("00:20").issue("tax"); n != "B001" {
		t.Fatalf("the 26th's first tax ticket is %s, want B001", n)
	}
	d2("00:25").call("w1", "B001")
	d2("00:26").do(hall.Start{Window: "w1"})
	d2("00:36").do(hall.Finish{Window: "w1"})
	d2("00:37").do(hall.Rate{Visit: 10, Level: "非常满意", Channel: "pad"})
	d2("01:00").do(hall.SignOut{Window: "w1"})
	s.has(s.at("2026-12-03 09:00").do(hall.Tick{}), hall.TypeFollowUpOverdue)
	return s
}

func fold(t testing.TB, cfg *config.Config, recs []journal.Record) *Aggregator {
	t.Helper()
	a := New(cfg)
	for _, r := range recs {
		if err := a.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func rowOf(t *testing.T, rep Report, key string) Row {
	t.Helper()
	for _, r := range rep.Rows {
		if r.Key == key {
			return r
		}
	}
	t.Fatalf("no row %q in %s report (rows %v)", key, rep.By, keys(rep))
	return Row{}
}

func keys(rep Report) []string {
	var out []string
	for _, r := range rep.Rows {
		out = append(out, r.Key)
	}
	return out
}

func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

func rate(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil || *got < want-1e-9 || *got > want+1e-9 {
		t.Errorf("%s satisfaction rate = %v, want %v", what, got, want)
	}
}

// counts is the counting part of a row, to compare in one line.
type counts struct{ Issued, Called, Recalls, Served, NoShows, Held, TransferredOut int }

func countsOf(r Row) counts {
	return counts{r.Issued, r.Called, r.Recalls, r.Served, r.NoShows, r.Held, r.TransferredOut}
}

func ratingsOf(r Row) RatingStats {
	x := r.Ratings
	x.SatisfactionRate = nil
	// The GB/T rates are checked on their own (TestGoodAndUnratedRates).
	x.Good, x.GoodRate, x.Prompted, x.Unprompted, x.UnpromptedGood, x.UnpromptedGoodRate = 0, nil, 0, 0, 0, nil
	x.Unrated, x.UnratedRate, x.UnratedBy = 0, nil, nil
	return x
}

func TestScriptedDay(t *testing.T) {
	s := scriptedDay(t)
	a := fold(t, s.cfg, s.recs)
	all := Query{}

	t.Run("totals", func(t *testing.T) {
		tot := a.Report(all).Totals
		// Issued: A001 B001 B002 A002 B003 B004 A003 A004 on the 25th, B001 on the 26th = 9.
		// Called: v1…v10 = 10; one recall; served v1 v4 v5 v6 v7 v8 v9 v10 = 8; B001 no-show; B002 transferred.
		eq(t, "counts", countsOf(tot), counts{Issued: 9, Called: 10, Recalls: 1, Served: 8, NoShows: 1, TransferredOut: 1})
		// Waits 300 300 540 60 1740 60 60 120 300 300, sorted 60 60 60 120 300 300 300 300 540 1740:
		// mean 3780/10 = 378; median between ranks 4 and 5 (300, 300) = 300;
		// p90 at h = 9×0.9 = 8.1: 540 + 0.1×(1740−540) = 660.
		eq(t, "wait", tot.Wait, Dist{Count: 10, MeanSeconds: 378, MedianSeconds: 300, P90Seconds: 660, MaxSeconds: 1740})
		// Services 600 480 600 600 900 600 720 600 and the transferred visit's 480, sorted
		// 480 480 600 600 600 600 600 720 900: mean 5580/9 = 620; median rank 4 = 600;
		// p90 at h = 8×0.9 = 7.2: 720 + 0.2×(900−720) = 756.
		eq(t, "service", tot.Service, Dist{Count: 9, MeanSeconds: 620, MedianSeconds: 600, P90Seconds: 756, MaxSeconds: 900})
		// Pauses: w2 09:45→10:25 = 2400 (overdue), w1 10:30→10:40 = 600.
		eq(t, "pauses", tot.Pauses, PauseStats{Count: 2, TotalSeconds: 3000, LongestSeconds: 2400, Overdue: 1})
		// Ratings: v1 非常满意, v4 满意, v5 基本满意, v6 不满意, v7 非常不满意 (excluded), v9 满意,
		// v10 非常满意; v8 timed out. Rated 6, satisfied 5 → 5/6.
		eq(t, "ratings", ratingsOf(tot), RatingStats{VerySatisfied: 2, Satisfied: 2, BasicallySatisfied: 1, Dissatisfied: 1,
			Rated: 6, Bad: 1, Timeouts: 1, Excluded: 1})
		rate(t, "totals", tot.Ratings.SatisfactionRate, 5.0/6)
		// 好评 5 of 6 rated, all prompted; 未评价 v8 of 8 visits with an outcome (6 rated, 1 excluded).
		eq(t, "good, prompted, unrated", []int{tot.Ratings.Good, tot.Ratings.Prompted, tot.Ratings.Unprompted, tot.Ratings.Unrated}, []int{5, 6, 0, 1})
		rate(t, "good rate", tot.Ratings.GoodRate, 5.0/6)
		rate(t, "unrated rate", tot.Ratings.UnratedRate, 1.0/8)
		eq(t, "unrated by", tot.Ratings.UnratedBy, map[string]int{"timeout": 1})
		if tot.Ratings.UnpromptedGoodRate != nil {
			t.Error("主动评价好评率 with no 主动评价")
		}
		// The 25th ended (at the 26th's first ticket) with B001 a no-show.
		eq(t, "outcomes", tot.Outcomes, OutcomeStats{Served: 8, NoShow: 1})
		// fu-6 open (called back only) and overdue; fu-7 closed by the upheld appeal.
		eq(t, "followups", tot.FollowUps, FollowUpStats{Opened: 2, Open: 1, Closed: 1, Overdue: 1, Excluded: 1})
		// s1 520 + 120 + 60, s2 485 = 1185 min; three sign-ins; staff-days (s1, 25th), (s2, 25th).
		eq(t, "attendance", tot.Attendance, AttendanceStats{SignedInMinutes: 1185, SignIns: 3, StaffDays: 2,
			FirstSignIn: "2026-11-25T08:50:00+08:00", LastSignOut: "2026-11-26T01:00:00+08:00"})
	})

	t.Run("by service", func(t *testing.T) {
		rep := a.Report(Query{By: ByService})
		eq(t, "rows", keys(rep), []string{"", "biz", "tax"})
		biz := rowOf(t, rep, "biz")
		eq(t, "biz name", biz.Name, "企业开办")
		eq(t, "biz counts", countsOf(biz), counts{Issued: 4, Called: 5, Served: 5})
		// biz waits 300 (A001) 60 (B002 after its transfer) 1740 120 300, sorted 60 120 300 300 1740:
		// mean 2520/5 = 504; median 300; p90 at h = 3.6: 300 + 0.6×1440 = 1164.
		eq(t, "biz wait", biz.Wait, Dist{Count: 5, MeanSeconds: 504, MedianSeconds: 300, P90Seconds: 1164, MaxSeconds: 1740})
		// biz services 600 480 600 600 720, sorted 480 600 600 600 720: mean 600, median 600,
		// p90 at 3.6: 600 + 0.6×120 = 672.
		eq(t, "biz service", biz.Service, Dist{Count: 5, MeanSeconds: 600, MedianSeconds: 600, P90Seconds: 672, MaxSeconds: 720})
		eq(t, "biz ratings", ratingsOf(biz), RatingStats{VerySatisfied: 1, Satisfied: 2, BasicallySatisfied: 1, Rated: 4, Timeouts: 1})
		rate(t, "biz", biz.Ratings.SatisfactionRate, 1)

		tax := rowOf(t, rep, "tax")
		// tax: B001 B002 B003 B004 of the 25th and B001 of the 26th; B002 left it for biz.
		eq(t, "tax counts", countsOf(tax), counts{Issued: 5, Called: 5, Recalls: 1, Served: 3, NoShows: 1, TransferredOut: 1})
		// waits 300 540 60 60 300, sorted 60 60 300 300 540: mean 252, median 300, p90 300 + 0.6×240 = 444.
		eq(t, "tax wait", tax.Wait, Dist{Count: 5, MeanSeconds: 252, MedianSeconds: 300, P90Seconds: 444, MaxSeconds: 540})
		// services 600 900 600 + the transferred visit's 480, sorted 480 600 600 900: mean 645,
		// median at 1.5 = 600, p90 at 2.7: 600 + 0.7×300 = 810.
		eq(t, "tax service", tax.Service, Dist{Count: 4, MeanSeconds: 645, MedianSeconds: 600, P90Seconds: 810, MaxSeconds: 900})
		eq(t, "tax ratings", ratingsOf(tax), RatingStats{VerySatisfied: 1, Dissatisfied: 1, Rated: 2, Bad: 1, Excluded: 1})
		rate(t, "tax", tax.Ratings.SatisfactionRate, 0.5)
		eq(t, "tax followups", tax.FollowUps, FollowUpStats{Opened: 2, Open: 1, Closed: 1, Overdue: 1, Excluded: 1})

		none := rowOf(t, rep, "") // pauses and attendance have no service
		eq(t, "no-service pauses", none.Pauses.Count, 2)
		eq(t, "no-service minutes", none.Attendance.SignedInMinutes, 1185.0)
		eq(t, "no-service counts", countsOf(none), counts{})
	})

	t.Run("by staff", func(t *testing.T) {
		rep := a.Report(Query{By: ByStaff})
		eq(t, "rows", keys(rep), []string{"", "s1", "s2"})
		eq(t, "unassigned issued", rowOf(t, rep, "").Issued, 9)
		s1 := rowOf(t, rep, "s1")
		eq(t, "s1 name", s1.Name, "张敏")
		eq(t, "s1 counts", countsOf(s1), counts{Called: 6, Served: 6})
		// waits 300 60 1740 120 300 300, sorted 60 120 300 300 300 1740: mean 2820/6 = 470;
		// median at 2.5 = 300; p90 at 4.5: 300 + 0.5×1440 = 1020.
		eq(t, "s1 wait", s1.Wait, Dist{Count: 6, MeanSeconds: 470, MedianSeconds: 300, P90Seconds: 1020, MaxSeconds: 1740})
		// services 600 480 600 600 720 600: mean 600, median 600, p90 at 4.5: 600 + 0.5×120 = 660.
		eq(t, "s1 service", s1.Service, Dist{Count: 6, MeanSeconds: 600, MedianSeconds: 600, P90Seconds: 660, MaxSeconds: 720})
		eq(t, "s1 pauses", s1.Pauses, PauseStats{Count: 1, TotalSeconds: 600, LongestSeconds: 600})
		eq(t, "s1 ratings", ratingsOf(s1), RatingStats{VerySatisfied: 2, Satisfied: 2, BasicallySatisfied: 1, Rated: 5, Timeouts: 1})
		// 520 + 120 + 60 = 700 min.
		eq(t, "s1 attendance", s1.Attendance, AttendanceStats{SignedInMinutes: 700, SignIns: 2, StaffDays: 1,
			FirstSignIn: "2026-11-25T08:50:00+08:00", LastSignOut: "2026-11-26T01:00:00+08:00"})

		s2 := rowOf(t, rep, "s2")
		eq(t, "s2 counts", countsOf(s2), counts{Called: 4, Recalls: 1, Served: 2, NoShows: 1, TransferredOut: 1})
		// waits 300 540 60 60, sorted 60 60 300 540: mean 240; median at 1.5: 60 + 0.5×240 = 180;
		// p90 at 2.7: 300 + 0.7×240 = 468.
		eq(t, "s2 wait", s2.Wait, Dist{Count: 4, MeanSeconds: 240, MedianSeconds: 180, P90Seconds: 468, MaxSeconds: 540})
		// 600 900 and the transferred 480: mean 660, median 600, p90 at 1.8: 600 + 0.8×300 = 840.
		eq(t, "s2 service", s2.Service, Dist{Count: 3, MeanSeconds: 660, MedianSeconds: 600, P90Seconds: 840, MaxSeconds: 900})
		eq(t, "s2 pauses", s2.Pauses, PauseStats{Count: 1, TotalSeconds: 2400, LongestSeconds: 2400, Overdue: 1})
		eq(t, "s2 ratings", ratingsOf(s2), RatingStats{Dissatisfied: 1, Rated: 1, Bad: 1, Excluded: 1})
		rate(t, "s2", s2.Ratings.SatisfactionRate, 0)
		eq(t, "s2 attendance", s2.Attendance, AttendanceStats{SignedInMinutes: 485, SignIns: 1, StaffDays: 1,
			FirstSignIn: "2026-11-25T08:55:00+08:00", LastSignOut: "2026-11-25T17:00:00+08:00"})

		// Attendance per staff per day: s1's night shift splits at midnight.
		eq(t, "attendance days", rep.Attendance, []AttendanceDay{
			{Staff: "s1", Name: "张敏", Day: "2026-11-25", SignedInMinutes: 640, SignIns: 2,
				FirstSignIn: "2026-11-25T08:50:00+08:00", LastSignOut: "2026-11-25T17:30:00+08:00"},
			{Staff: "s1", Name: "张敏", Day: "2026-11-26", SignedInMinutes: 60, LastSignOut: "2026-11-26T01:00:00+08:00"},
			{Staff: "s2", Name: "李强", Day: "2026-11-25", SignedInMinutes: 485, SignIns: 1,
				FirstSignIn: "2026-11-25T08:55:00+08:00", LastSignOut: "2026-11-25T17:00:00+08:00"},
		})
	})

	t.Run("by day, across midnight", func(t *testing.T) {
		rep := a.Report(Query{By: ByDay})
		eq(t, "rows", keys(rep), []string{"2026-11-25", "2026-11-26"})
		d1 := rowOf(t, rep, "2026-11-25")
		eq(t, "25th counts", countsOf(d1), counts{Issued: 8, Called: 9, Recalls: 1, Served: 6, NoShows: 1, TransferredOut: 1})
		// The 25th's waits (all but v10's), sorted 60 60 60 120 300 300 300 540 1740: mean 3480/9 = 386.667;
		// median rank 4 = 300; p90 at 7.2: 540 + 0.2×1200 = 780.
		eq(t, "25th wait", d1.Wait, Dist{Count: 9, MeanSeconds: 386.667, MedianSeconds: 300, P90Seconds: 780, MaxSeconds: 1740})
		// The 25th's services (A004's finish is on the 26th): 600 480 600 600 900 600 + 480 transferred,
		// sorted 480 480 600 600 600 600 900: mean 4260/7 = 608.571; median 600; p90 at 5.4: 600 + 0.4×300 = 720.
		eq(t, "25th service", d1.Service, Dist{Count: 7, MeanSeconds: 608.571, MedianSeconds: 600, P90Seconds: 720, MaxSeconds: 900})
		eq(t, "25th ratings", ratingsOf(d1), RatingStats{VerySatisfied: 1, Satisfied: 1, BasicallySatisfied: 1, Dissatisfied: 1,
			Rated: 4, Bad: 1, Timeouts: 1, Excluded: 1})
		rate(t, "25th", d1.Ratings.SatisfactionRate, 0.75)
		// s1 520 + 120 (22:00→24:00), s2 485.
		eq(t, "25th attendance", d1.Attendance, AttendanceStats{SignedInMinutes: 1125, SignIns: 3, StaffDays: 2,
			FirstSignIn: "2026-11-25T08:50:00+08:00", LastSignOut: "2026-11-25T17:30:00+08:00"})

		d2 := rowOf(t, rep, "2026-11-26")
		eq(t, "26th counts", countsOf(d2), counts{Issued: 1, Called: 1, Served: 2})
		// A004 (started 23:58 on the 25th) 720 and B001 600: mean 660, median 660, p90 600 + 0.9×120 = 708.
		eq(t, "26th service", d2.Service, Dist{Count: 2, MeanSeconds: 660, MedianSeconds: 660, P90Seconds: 708, MaxSeconds: 720})
		eq(t, "26th wait", d2.Wait, Dist{Count: 1, MeanSeconds: 300, MedianSeconds: 300, P90Seconds: 300, MaxSeconds: 300})
		eq(t, "26th ratings", ratingsOf(d2), RatingStats{VerySatisfied: 1, Satisfied: 1, Rated: 2})
		eq(t, "26th attendance", d2.Attendance, AttendanceStats{SignedInMinutes: 60, LastSignOut: "2026-11-26T01:00:00+08:00"})

		// From/To are days in the hall's zone: [25th, 26th) is the 25th alone, even given as UTC times.
		only := a.Report(Query{From: time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)})
		eq(t, "window From", only.From, "2026-11-25")
		eq(t, "window To", only.To, "2026-11-26")
		eq(t, "25th alone", countsOf(only.Totals), countsOf(d1))
	})

	t.Run("by hour", func(t *testing.T) {
		rep := a.Report(Query{By: ByHour})
		// 08: s1 08:50–09:00 and s2 08:55–09:00 = 15 min, two sign-ins.
		eq(t, "08 attendance", rowOf(t, rep, "08").Attendance.SignedInMinutes, 15.0)
		eq(t, "08 sign-ins", rowOf(t, rep, "08").Attendance.SignIns, 2)
		// 23: A004 issued and called (wait 300), s1 signed in all hour.
		h23 := rowOf(t, rep, "23")
		eq(t, "23 counts", countsOf(h23), counts{Issued: 1, Called: 1})
		eq(t, "23 minutes", h23.Attendance.SignedInMinutes, 60.0)
		// 00 (on the 26th): B001 issued and called, A004 and B001 finished, two ratings, 60 min.
		h00 := rowOf(t, rep, "00")
		eq(t, "00 counts", countsOf(h00), counts{Issued: 1, Called: 1, Served: 2})
		eq(t, "00 rated", h00.Ratings.Rated, 2)
		// 09: A001 B001 B002 A002 issued; v1 v2 v3 v4 v5 called; the recall; A001 B002 A002 finished.
		eq(t, "09 counts", countsOf(rowOf(t, rep, "09")), counts{Issued: 4, Called: 5, Recalls: 1, Served: 3, NoShows: 1, TransferredOut: 1})
	})

	t.Run("filters", func(t *testing.T) {
		rep := a.Report(Query{By: ByDay, Staff: "s2"})
		eq(t, "rows", keys(rep), []string{"2026-11-25"})
		eq(t, "s2 on the 25th", countsOf(rep.Totals), counts{Called: 4, Recalls: 1, Served: 2, NoShows: 1, TransferredOut: 1})
		// A service filter keeps issued tickets but leaves out pauses and attendance.
		tax := a.Report(Query{By: ByWindow, Service: "tax"})
		eq(t, "tax windows", keys(tax), []string{"", "w1", "w2"})
		eq(t, "tax on w1", countsOf(rowOf(t, tax, "w1")), counts{Called: 1, Served: 1})
		eq(t, "tax pauses", tax.Totals.Pauses.Count, 0)
		eq(t, "tax attendance", tax.Attendance, []AttendanceDay(nil))
		eq(t, "unknown staff", countsOf(a.Report(Query{Staff: "nobody"}).Totals), counts{})
		if bad := a.Report(Query{By: "week"}); bad.Error == "" || len(bad.Rows) != 0 {
			t.Errorf("by week: %+v", bad)
		}
	})

	t.Run("restart gives the same numbers", func(t *testing.T) {
		// Through a real journal: Build scans it as halld would after a restart.
		j, err := journal.Open(filepath.Join(t.TempDir(), "j.db"), journal.Options{RingSize: 8})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		if err := j.Append(context.Background(), s.recs); err != nil {
			t.Fatal(err)
		}
		b, err := Build(context.Background(), j, s.cfg)
		if err != nil {
			t.Fatal(err)
		}
		again := fold(t, s.cfg, s.recs)
		for _, by := range []string{"", ByService, ByWindow, ByStaff, ByDay, ByHour} {
			q := Query{By: by}
			want, _ := json.Marshal(a.Report(q))
			for name, x := range map[string]*Aggregator{"built from the journal": b, "folded again": again} {
				if got, _ := json.Marshal(x.Report(q)); !bytes.Equal(got, want) {
					t.Errorf("by %q, %s:\n got %s\nwant %s", by, name, got, want)
				}
			}
		}
		if !reflect.DeepEqual(b.Stars("2026Q4", nil, DefaultFormula()), a.Stars("2026Q4", nil, DefaultFormula())) {
			t.Error("stars differ after a rebuild")
		}
		if err := again.Add(s.recs[3]); err == nil {
			t.Error("a record folded twice must be refused")
		}
	})

	t.Run("open pause and session count to the last record", func(t *testing.T) {
		// Up to the 10:15 tick: w2's pause (09:45) is open and overdue; s1 and s2 still signed in.
		n := 0
		for i, r := range s.recs {
			if r.Type == hall.TypeWindowOverdue {
				n = i + 1
			}
		}
		p := fold(t, s.cfg, s.recs[:n+1]) // and the alert raised with it
		tot := p.Report(all).Totals
		eq(t, "open pause", tot.Pauses, PauseStats{Count: 1, TotalSeconds: 1800, LongestSeconds: 1800, Overdue: 1})
		// s1 08:50→10:15 = 85 min, s2 08:55→10:15 = 80 min.
		eq(t, "open sessions", tot.Attendance.SignedInMinutes, 165.0)
		eq(t, "as of", p.Report(all).AsOf, "2026-11-25T10:15:00+08:00")
	})

	t.Run("csv and json", func(t *testing.T) {
		rep := a.Report(Query{By: ByService})
		var buf bytes.Buffer
		if err := rep.CSV(&buf); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(buf.Bytes(), []byte("\xEF\xBB\xBF")) {
			t.Fatal("CSV without a UTF-8 BOM")
		}
		rows, err := csv.NewReader(bytes.NewReader(buf.Bytes()[3:])).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		head := rows[0]
		col := func(name string) int {
			for i, h := range head {
				if h == name {
					return i
				}
			}
			t.Fatalf("no column %s in %v", name, head)
			return -1
		}
		eq(t, "first header", head[0], "业务")
		eq(t, "rows", len(rows), 1+3+1) // header, "", biz, tax, 合计
		biz, total := rows[2], rows[4]
		eq(t, "biz name", biz[col("名称")], "企业开办")
		eq(t, "biz mean wait", biz[col("平均等候(分钟)")], "8.4")  // 504 s
		eq(t, "biz p90 wait", biz[col("等候P90(分钟)")], "19.4") // 1164 s
		eq(t, "total", total[0], "合计")
		eq(t, "total satisfaction", total[col("满意率(%)")], "83.3") // 5/6
		eq(t, "total excluded", total[col("申诉排除")], "1")
		eq(t, "unassigned", rows[1][0], "（未分配）")

		buf.Reset()
		if err := rep.AttendanceCSV(&buf); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "s1,张敏,2026-11-25,640.0,2,2026-11-25 08:50:00,2026-11-25 17:30:00") {
			t.Errorf("attendance CSV:\n%s", buf.String())
		}

		js, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{`"transferred_out":1`, `"satisfaction_rate":0.5`, `"median_seconds":600`,
			`"signed_in_minutes":1185`, `"no_shows":1`, `"followups":{`, `"very_dissatisfied":0`} {
			if !bytes.Contains(js, []byte(k)) {
				t.Errorf("JSON lacks %s: %s", k, js)
			}
		}
	})
}

// TestFollowUpClosesAtTheCitizensRating: a follow-up is closed by the
// citizen's rating of the rectification (反馈 alone no longer closes it),
// and one late step marks it overdue for its window — what the quarterly
// ranking reads (Row.FollowUps.Overdue by window over the quarter).
func TestFollowUpClosesAtTheCitizensRating(t *testing.T) {
	s := newScript(t, dayHall)
	s.at("2026-11-25 09:00").do(hall.SignIn{Window: "w2", Staff: "s2"})
	s.issue("tax")
	v := s.call("w2", "B001")
	s.do(hall.Finish{Window: "w2"})
	s.has(s.do(hall.Rate{Visit: v, Level: "不满意", Reasons: []string{"等候时间长"}, Channel: "pad"}), hall.TypeFollowUpOpened)
	s.at("2026-11-26 10:00").do(hall.FollowUpStep{ID: "fu-1", Stage: hall.StageCallback, Note: "已回访"})
	s.do(hall.FollowUpStep{ID: "fu-1", Stage: hall.StageRectify, Note: "已整改"})
	s.do(hall.FollowUpStep{ID: "fu-1", Stage: hall.StageFeedback, Note: "已反馈"})
	q := Query{By: ByWindow}
	row := func() FollowUpStats {
		t.Helper()
		for _, r := range fold(t, s.cfg, s.recs).Report(q).Rows {
			if r.Key == "w2" {
				return r.FollowUps
			}
		}
		t.Fatal("no row for w2")
		return FollowUpStats{}
	}
	eq(t, "after 反馈", row(), FollowUpStats{Opened: 1, Open: 1})
	s.has(s.at("2026-12-01 09:00").do(hall.Tick{}), hall.TypeFollowUpOverdue) // the rating was due 11-30
	s.do(hall.FollowUpStep{ID: "fu-1", Stage: hall.StageRating, Level: "满意"})
	eq(t, "after the citizen's rating", row(), FollowUpStats{Opened: 1, Closed: 1, Overdue: 1})
}
