package config

import (
	"path/filepath"
	"time"
)

// Ranking is the monthly and quarterly window ranking (窗口排名, GET /api/v1/rankings). Each weight and
// deduction is a pointer so that 0 can be set on purpose: absent means the default of daemon/stats
// (DefaultWindowFormula), which the doc of each key states.
type Ranking struct {
	// Weights of the four scored parts: each part is scored 0–100 and gives weight × score / 100 points,
	// so with weights summing to 100 the best score is 100.
	Satisfaction  *int `yaml:"satisfaction" min:"0" max:"100" doc:"Weight of 满意度 (the 好差评 levels scored 非常满意 100, 满意 80, 基本满意 60, 不满意 20, 非常不满意 0; ratings excluded by an upheld appeal left out). Default 45."`
	Participation *int `yaml:"participation" min:"0" max:"100" doc:"Weight of 参评率 (finished visits rated, of those rated or 未评价: 一次一评). Default 10."`
	Timeliness    *int `yaml:"timeliness" min:"0" max:"100" doc:"Weight of 办理时效 (the window's median service time against the hall's median for the same services; not slower than the hall's median scores 100). Default 20."`
	Attendance    *int `yaml:"attendance" min:"0" max:"100" doc:"Weight of 在岗率 (staffed and not paused, of the opening hours of the period's working days; 坐班制). Default 25."`
	// Deductions, in points per occurrence.
	BadRatingPenalty       *int `yaml:"bad_rating_penalty" min:"0" max:"100" doc:"Points off per 差评 (不满意, 非常不满意) not excluded by an upheld appeal. Default 2."`
	OverdueFollowUpPenalty *int `yaml:"overdue_followup_penalty" min:"0" max:"100" doc:"Points off per 差评 follow-up (回访 → 整改 → 反馈) that passed its working-day deadline. Default 5."`
	OverduePausePenalty    *int `yaml:"overdue_pause_penalty" min:"0" max:"100" doc:"Points off per pause past hall.pause_limit (暂离超时, 30 minutes by the hall's rules). Default 1."`
	// Enough data to be ranked.
	MinServed *int `yaml:"min_served" min:"0" max:"100000" doc:"Visits a window must have finished per month of the period to be ranked (a quarter needs three times as many); fewer are listed as 数据不足, not ranked. Default 20."`
	MinRated  *int `yaml:"min_rated" min:"0" max:"100000" doc:"Ratings a window must have per month of the period to be ranked. Default 10."`
	// Bottom is how many places at the foot of a month count for the 连续两月排名末位 mark.
	Bottom *int `yaml:"bottom" min:"0" max:"20" doc:"Places at the foot of a month's ranking that count as 末位; a window there two months running is marked 连续两月排名末位 (only in months with more than twice this many windows ranked). 0: no mark. Default 2."`
	// Font is the TrueType (.ttf, not .ttc or CFF .otf) font with Chinese glyphs the PDF report embeds.
	// Empty: the first usable of a search list (DroidSansFallbackFull, WenQuanYi Zen Hei Sharp, Noto Sans
	// CJK TTF, AR PL UMing TTF …). halld check warns when none is usable.
	Font string `yaml:"font" doc:"TrueType font (.ttf; not .ttc or CFF .otf) with Chinese glyphs for the ranking's PDF report; relative to this file's directory. Empty: the first usable of /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf and other common CJK .ttf paths (Debian: apt install fonts-droid-fallback). halld check warns when none is usable." example:"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"`
}

// RankingFont is ranking.font as a path (relative ones against the config file's directory), "" when unset.
func (c *Config) RankingFont() string {
	p := c.Ranking.Font
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if c.File != "" {
		p = filepath.Join(filepath.Dir(c.File), p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// OpeningSpan is when the hall is open on t's day (hall time), as minutes after midnight: the earliest
// opening and the latest closing of the opening hours that apply, and the minutes open in between (the
// sum of the rules' spans). A holiday is closed (0); a 调休 working day has Monday's hours. It ignores
// always_open: it is for measuring staffed time against the hall's posted hours.
func (c *Config) OpeningSpan(t time.Time) (open, close, minutesOpen int) {
	lt := t.In(c.location())
	day := lt.Format("2006-01-02")
	wd := lt.Weekday()
	for _, h := range c.Holidays {
		if h.Date == day {
			if !h.Workday {
				return 0, 0, 0
			}
			wd = time.Monday
			break
		}
	}
	open = -1
	for _, oh := range c.Hall.OpeningHours {
		if !hasWeekday(oh.Days, wd) {
			continue
		}
		o, ok1 := minutes(oh.Open)
		cl, ok2 := minutes(oh.Close)
		if !ok1 || !ok2 || cl <= o {
			continue
		}
		if open < 0 || o < open {
			open = o
		}
		close = max(close, cl)
		minutesOpen += cl - o
	}
	if open < 0 {
		return 0, 0, 0
	}
	return open, close, minutesOpen
}

func (d *decoder) validateRanking(c *Config) {
	r := c.Ranking
	sum, set := 0, false
	for _, w := range []*int{r.Satisfaction, r.Participation, r.Timeliness, r.Attendance} {
		if w != nil {
			sum += *w
			set = true
		}
	}
	// Only when every weight is given can they all be 0 (an absent one takes its default, > 0).
	if set && sum == 0 && r.Satisfaction != nil && r.Participation != nil && r.Timeliness != nil && r.Attendance != nil {
		d.semantic("ranking", "the weights satisfaction, participation, timeliness and attendance are all 0: nothing would be scored")
	}
}
