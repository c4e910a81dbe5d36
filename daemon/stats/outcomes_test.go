package stats

import (
	"encoding/json"
	"math"
	"testing"

	"halld/daemon/hall"
)

const outcomeHall = `
hall:
  id: o-hall
  name: 测试大厅
  timezone: Asia/Shanghai
  opening_hours: [{days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}]
  always_open: true
  rating_timeout: 2m
areas: [{id: front, name: 前台}]
services:
  - {id: biz, prefix: A, name: 企业开办, area: front}
  - {id: tax, prefix: B, name: 税务, area: front}
windows:
  - {id: w1, number: 1, services: [{service: biz}]}
  - {id: w2, number: 2, services: [{service: tax}]}
staff:
  - {id: s1, name: 张敏, windows: [w1]}
  - {id: s2, name: 李强, windows: [w2]}
`

// outcomeDay: 好评率, 主动评价好评率, 未评价率, ticket outcomes and the
// estimates' accuracy, by hand.
//
//	2026-11-25                                       estimate   wait   error
//	08:55 s1 signs in at w1
//	09:00 A001; B001 (tax: nobody at w2 → unservable)  0 [0,2]
//	09:01 w1 calls A001 (v1)                                    1      1 within
//	09:02 A002                                         0 [0,2]
//	09:03 A003 (A002 ahead)                            10 [5,15]
//	09:06 finish A001; rated 非常满意 on the pad (prompted)
//	09:07 w1 calls A002 (v2)                                    5      5 out
//	09:10 finish A002
//	09:11 w1 calls A003 (v3): A002 未评价 (next_call)           8      2 within
//	09:12 start; 09:13 A003 rated 满意 during the service (unprompted)
//	09:15 A002 rated 不满意 by QR (late, unprompted: replaces its 未评价)
//	09:20 finish A003 (nothing to ask)
//	09:21 A004; 09:22 called (v4); 09:30 finish        0 [0,2]  1      1 within
//	09:31 s1 signs out: A004 未评价 (sign_out)
//	10:00 s2 signs in at w2; 10:01 B002 (B001 ahead)   10 [5,15]
//	10:02 w2 calls B002 (v5); 10:03 no-show                     1      9 out
//	16:00 s1 signs in; A005; 16:05 called (v6); 16:50 finish  0 [0,2]  5  5 out
//	2026-11-26 08:00 tick: the 25th ends: A005 未评价 (day_end), B001 expired,
//	B002 no-show; counted on the 25th at 23:00.
func outcomeDay(t *testing.T) *script {
	s := newScript(t, outcomeHall)
	d := func(hm string) *script { return s.at("2026-11-25 " + hm) }
	d("08:55").do(hall.SignIn{Window: "w1", Staff: "s1"})
	d("09:00").issue("biz")
	d("09:00").issue("tax")
	d("09:01").call("w1", "A001")
	d("09:02").issue("biz")
	d("09:03").issue("biz")
	d("09:06").do(hall.Finish{Window: "w1"})
	d("09:06").do(hall.Rate{Visit: 1, Level: "非常满意", Channel: "pad"})
	d("09:07").call("w1", "A002")
	d("09:10").do(hall.Finish{Window: "w1"})
	s.has(d("09:11").do(hall.CallNext{Window: "w1"}), hall.TypeRatingTimeout)
	d("09:12").do(hall.Start{Window: "w1"})
	d("09:13").do(hall.Rate{Visit: 3, Level: "满意", Channel: "mqtt"})
	d("09:15").do(hall.Rate{Visit: 2, Level: "不满意", Reasons: []string{"等候时间长"}, Channel: "qr"})
	d("09:20").do(hall.Finish{Window: "w1"})
	d("09:21").issue("biz")
	d("09:22").call("w1", "A004")
	d("09:30").do(hall.Finish{Window: "w1"})
	s.has(d("09:31").do(hall.SignOut{Window: "w1"}), hall.TypeRatingTimeout)
	d("10:00").do(hall.SignIn{Window: "w2", Staff: "s2"})
	d("10:01").issue("tax")
	d("10:02").do(hall.CallTicket{Window: "w2", Ticket: "T20261125-B002"})
	d("10:03").do(hall.NoShow{Window: "w2"})
	d("16:00").do(hall.SignIn{Window: "w1", Staff: "s1"})
	d("16:00").issue("biz")
	d("16:05").call("w1", "A005")
	d("16:50").do(hall.Finish{Window: "w1"})
	s.has(s.at("2026-11-26 08:00").do(hall.Tick{}), hall.TypeDayClosed)
	return s
}

func TestGoodAndUnratedRates(t *testing.T) {
	s := outcomeDay(t)
	a := fold(t, s.cfg, s.recs)
	rep := a.Report(Query{By: ByService})
	if rep.Definitions["ratings.unrated_rate"] == "" || rep.Definitions["ratings.unprompted_good_rate"] == "" {
		t.Fatal("the report does not define its rates")
	}
	biz := rowOf(t, rep, "biz").Ratings
	// Rated: A001 非常满意 (prompted), A003 满意 and A002 不满意 (unprompted).
	eq(t, "biz counts", []int{biz.Rated, biz.Good, biz.Prompted, biz.Unprompted, biz.UnpromptedGood, biz.Unrated, biz.Bad},
		[]int{3, 2, 1, 2, 1, 2, 1})
	rate(t, "好评率", biz.GoodRate, 2.0/3)
	rate(t, "主动评价好评率", biz.UnpromptedGoodRate, 0.5)
	// 未评价: A004 (sign_out), A005 (day_end); A002's next_call was replaced by its QR rating.
	rate(t, "未评价率", biz.UnratedRate, 2.0/5)
	eq(t, "unrated by", biz.UnratedBy, map[string]int{"sign_out": 1, "day_end": 1})
	eq(t, "biz outcomes", rowOf(t, rep, "biz").Outcomes, OutcomeStats{Served: 5})
	eq(t, "tax outcomes", rowOf(t, rep, "tax").Outcomes, OutcomeStats{NoShow: 1, Expired: 1})

	// Estimates: biz errors 1 5 2 1 5, three within their band; p80 at
	// h = 4×0.8 = 3.2 of 1 1 2 5 5 = 5. tax: B002 off by 9; B001 unservable.
	be, te := rowOf(t, rep, "biz").Estimate, rowOf(t, rep, "tax").Estimate
	eq(t, "biz estimate", []int{be.Samples, be.WithinBand, be.Unservable}, []int{5, 3, 0})
	rate(t, "biz within band", be.WithinBandRate, 0.6)
	rate(t, "biz p80", be.P80ErrorMinutes, 5)
	eq(t, "tax estimate", []int{te.Samples, te.WithinBand, te.Unservable}, []int{1, 0, 1})
	rate(t, "tax p80", te.P80ErrorMinutes, 9)

	// The day's end counts on the day that ended, at 23:00.
	days := a.Report(Query{By: ByDay}) // the 26th has s1's open session only
	d26 := rowOf(t, days, "2026-11-26")
	eq(t, "the 26th", []int{d26.Ratings.Unrated, d26.Outcomes.NoShow, d26.Outcomes.Expired}, []int{0, 0, 0})
	eq(t, "the 25th", rowOf(t, days, "2026-11-25").Outcomes, OutcomeStats{Served: 5, NoShow: 1, Expired: 1})
	h23 := rowOf(t, a.Report(Query{By: ByHour}), "23")
	eq(t, "23:00", []int{h23.Ratings.Unrated, h23.Outcomes.NoShow, h23.Outcomes.Expired}, []int{1, 1, 1})

	// Per window and staff the same rates.
	s1 := rowOf(t, a.Report(Query{By: ByStaff}), "s1").Ratings
	rate(t, "s1 未评价率", s1.UnratedRate, 2.0/5)
	w1 := rowOf(t, a.Report(Query{By: ByWindow}), "w1").Ratings
	rate(t, "w1 好评率", w1.GoodRate, 2.0/3)
	if math.IsNaN(*w1.GoodRate) {
		t.Fatal("NaN")
	}

	// A checkpoint anywhere folds to the same numbers.
	for k := range s.recs {
		part := fold(t, s.cfg, s.recs[:k])
		b, err := part.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		got := New(s.cfg)
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		for _, r := range s.recs[k:] {
			if err := got.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		if g, w := got.Report(Query{By: ByService}), a.Report(Query{By: ByService}); !eqJSON(g, w) {
			t.Fatalf("checkpoint after %d records reports otherwise", k)
		}
	}
}

func eqJSON(a, b Report) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
