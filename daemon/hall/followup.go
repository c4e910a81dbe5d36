package hall

import (
	"sort"
	"strconv"
	"time"

	"halld/daemon/config"
)

// A 差评 opens a follow-up (差评问题就近从快处置, 国办发〔2019〕51号: 回访核实,
// 整改, 反馈). Its steps, each due within working days of the hall's calendar
// (hall.followup, counted from the day the step before it was done):
//
//	回访 (callback)   the citizen is called back: reached, with what they said;
//	                  or not reached, which may be tried again — after
//	                  hall.followup.call_attempts calls that do not reach them
//	                  it counts as done with 未接通 and the follow-up goes on;
//	整改 (rectify)    the measures taken;
//	反馈 (feedback)   the reply to the citizen;
//	评价 (rating)     the citizen's own rating of the rectification: 满意 or
//	                  基本满意 closes it; 不满意 sends it back to 整改 (then
//	                  反馈, 评价 again) until hall.followup.rectify_rounds
//	                  rounds are done, then it closes marked 不满意; calls
//	                  that do not reach them count as for 回访, then it closes
//	                  marked 未接通.
//
// 回访, 整改 and 反馈 of the first round are also due no later than
// hall.followup_days after the 差评 (FollowUp.Deadline, the hall's promise),
// unless that is past already when the step begins.
// Staff may appeal (申诉) once, at any step before it closes: the step awaited
// pauses and the appeal is due for 复核 within review_days; upheld closes it
// and excludes the rating from statistics; rejected resumes the step it
// interrupted with a fresh deadline. A step past its deadline raises one alert
// (followup-overdue-{id}-{step}) cleared when the step is done, and is marked
// on the record (OverdueSteps) and in the statistics. Closing (or an upheld
// appeal) clears the 差评's bad-rating alert.
const (
	TypeFollowUpOpened  = "followup.opened"
	TypeFollowUpUpdated = "followup.updated"
	TypeFollowUpOverdue = "followup.overdue"
)

// Follow-up stages: the steps recorded (FollowUpStep.Stage, StageEntry.Stage)
// and FollowUp.Stage, the last one done.
const (
	StageOpen     = "open"
	StageCallback = "callback" // 回访
	StageRectify  = "rectify"  // 整改
	StageFeedback = "feedback" // 反馈
	StageRating   = "rating"   // the citizen's rating of the rectification
	StageAppealed = "appealed" // 申诉, awaiting review
	StageUpheld   = "upheld"   // 申诉成立: the rating is excluded, closed
	StageRejected = "rejected" // 申诉不成立: back to where it was
)

// DueReview is FollowUp.Due while an appeal awaits its 复核 (the other steps
// awaited are named by their stage).
const DueReview = "review"

// Call results (StageEntry.Result of a call, FollowUp.Callback).
const (
	CallReached    = "reached"
	CallNotReached = "not_reached" // one call that did not get through; the step stays due
	CallUnreached  = "unreached"   // call_attempts calls did not get through: the step counts as done, 未接通
)

// The citizen's rating of the rectification (FollowUp.Satisfaction).
const (
	Satisfied         = "满意"
	FairlySatisfied   = "基本满意"
	Dissatisfied      = "不满意"
	SatisfactionNoAns = "未接通" // the citizen could not be reached for it
)

// SatisfactionLevels are the ratings a citizen gives the rectification.
var SatisfactionLevels = []string{Satisfied, FairlySatisfied, Dissatisfied}

// StepNames are the steps in Chinese, for messages and pages.
var StepNames = map[string]string{StageOpen: "差评", StageCallback: "回访", StageRectify: "整改", StageFeedback: "反馈",
	StageRating: "群众评价", StageAppealed: "申诉", DueReview: "申诉复核", StageUpheld: "申诉成立", StageRejected: "申诉不成立"}

// FollowUp is a 差评's follow-up record.
type FollowUp struct {
	ID       string   `json:"followup_id"`
	Visit    uint32   `json:"visit"`
	TicketID string   `json:"ticket_id"`
	Number   string   `json:"number"`
	Window   string   `json:"window"`
	Staff    string   `json:"staff,omitempty"`
	Service  string   `json:"service"`
	Level    string   `json:"level"`
	Reasons  []string `json:"reasons,omitempty"`
	Comment  string   `json:"comment,omitempty"`
	Deadline Stamp    `json:"deadline"` // 回访 → 反馈 of the first round, hall.followup_days after the 差评
	Stage    string   `json:"stage"`    // the last step done
	Overdue  bool     `json:"overdue"`  // some step went past its deadline
	Closed   bool     `json:"closed"`
	Excluded bool     `json:"excluded"` // appeal upheld: not counted
	// Due is the step awaited (callback, rectify, feedback, rating, review),
	// DueBy its deadline and DueSince when it began; "" and nil once closed
	// (and in records from before steps had deadlines: see due).
	Due        string `json:"due,omitempty"`
	DueBy      *Stamp `json:"due_by,omitempty"`
	DueSince   *Stamp `json:"due_since,omitempty"`
	DueOverdue bool   `json:"due_overdue,omitempty"` // the step awaited is past DueBy (its alert is raised)
	// Attempts counts the calls of the step awaited that did not reach the citizen.
	Attempts     int          `json:"attempts,omitempty"`
	Callback     string       `json:"callback_result,omitempty"` // reached | unreached (未接通)
	Rounds       int          `json:"rounds,omitempty"`          // 整改 rounds done
	Unsatisfied  int          `json:"dissatisfied,omitempty"`    // 不满意 ratings of the rectification so far
	Satisfaction string       `json:"satisfaction,omitempty"`    // how it closed: 满意, 基本满意, 不满意, 未接通
	OverdueSteps []string     `json:"overdue_steps,omitempty"`   // steps that went past their deadline, in order
	Appeals      int          `json:"appeals,omitempty"`
	History      []StageEntry `json:"history"`
	// Before is the stage an appeal interrupted, DueBefore the step then
	// awaited: a rejected appeal returns to them.
	Before    string `json:"stage_before_appeal,omitempty"`
	DueBefore string `json:"due_before_appeal,omitempty"`
}

// StageEntry is one step of a follow-up.
type StageEntry struct {
	Stage   string `json:"stage"`
	Result  string `json:"result,omitempty"`  // a call's result; the citizen's rating
	Attempt int    `json:"attempt,omitempty"` // the call's number, for calls that did not reach the citizen
	Note    string `json:"note,omitempty"`
	By      string `json:"by,omitempty"`      // who recorded it: the token's name (or the signed-in staff id)
	Handler string `json:"handler,omitempty"` // who did it (经办人), as the page names them
	At      Stamp  `json:"at"`
}

// OpenedAt is when the 差评 opened the follow-up.
func (f *FollowUp) OpenedAt() time.Time {
	if len(f.History) == 0 {
		return time.Time{}
	}
	return time.Time(f.History[0].At)
}

// FollowUpUpdate: a follow-up moved to a stage. Decide computes what follows
// (Due, DueBy, Closed), so the fold needs no calendar. An update with neither
// DueBy nor Closed was recorded before steps had deadlines (see applyLegacy).
type FollowUpUpdate struct {
	ID      string `json:"followup_id"`
	Stage   string `json:"stage"`
	Result  string `json:"result,omitempty"`
	Attempt int    `json:"attempt,omitempty"`
	Note    string `json:"note,omitempty"`
	By      string `json:"by,omitempty"`
	Handler string `json:"handler,omitempty"`
	Due     string `json:"due,omitempty"`
	DueBy   *Stamp `json:"due_by,omitempty"`
	Closed  bool   `json:"closed,omitempty"`
}

// A follow-up's step and its lateness, each its own type of FollowUpUpdate's
// shape.
type (
	FollowUpUpdated FollowUpUpdate // followup.updated
	FollowUpOverdue FollowUpUpdate // followup.overdue: Due names the step
)

// FollowUpStep moves a follow-up along (API: 回访, 整改, 反馈, 评价, 申诉, 复核).
// Reached (nil: reached) is a call's result, for 回访 and the rating; Level
// is the citizen's rating of the rectification. By is who records it (the
// caller), Handler who did it (经办人), when the page names them.
type FollowUpStep struct {
	ID, Stage, Note, By, Handler string
	Reached                      *bool
	Level                        string
}

func followUpID(visit uint32) string { return "fu-" + strconv.FormatUint(uint64(visit), 10) }

// openFollowUp is emitted with a 差评.
func openFollowUp(cfg *config.Config, r *RatingSubmitted, now time.Time) Emit {
	f := &FollowUp{ID: followUpID(r.Visit), Visit: r.Visit, TicketID: r.TicketID, Number: r.Number,
		Window: r.Window, Staff: r.Staff, Service: r.Service, Level: r.Level, Reasons: r.Reasons, Comment: r.Comment,
		Deadline: Stamp(cfg.AddWorkdays(now, cfg.FollowUpWorkdays())), Stage: StageOpen, Due: StageCallback}
	by := f.dueBy(cfg, StageCallback, now)
	f.DueBy = &by
	return Emit{TypeFollowUpOpened, f}
}

// dueBy is the deadline of step begun at now.
func (f *FollowUp) dueBy(cfg *config.Config, step string, now time.Time) Stamp {
	r := cfg.FollowUpSteps()
	days := map[string]int{StageCallback: r.CallbackDays, StageRectify: r.RectifyDays, StageFeedback: r.FeedbackDays,
		StageRating: r.RatingDays, DueReview: r.ReviewDays}[step]
	d := cfg.AddWorkdays(now, days)
	firstRound := f.Unsatisfied == 0 && f.Appeals == 0
	// Past the promise already (a late step before): the step has its own days.
	if dl := time.Time(f.Deadline); firstRound && dl.After(now) && d.After(dl) &&
		(step == StageCallback || step == StageRectify || step == StageFeedback) {
		d = dl
	}
	return Stamp(d)
}

// due is the step awaited and its deadline. A record from before steps had
// deadlines awaits the step after its stage, by its one Deadline.
func (f *FollowUp) due() (string, time.Time) {
	if f.Closed {
		return "", time.Time{}
	}
	if f.DueBy != nil {
		return f.Due, time.Time(*f.DueBy)
	}
	if f.Stage == StageAppealed {
		return DueReview, time.Time(f.Deadline)
	}
	return nextOf(f.Stage), time.Time(f.Deadline)
}

// nextOf is the step after stage in a record from before steps had deadlines.
func nextOf(stage string) string {
	switch stage {
	case StageCallback:
		return StageRectify
	case StageRectify:
		return StageFeedback
	case StageFeedback:
		return StageRating
	}
	return StageCallback
}

// overdueKey names the step awaited for its alert: one per follow-up and step
// (and round of 整改, after a 不满意).
func (f *FollowUp) overdueKey(step string) string {
	if f.Unsatisfied > 0 && (step == StageRectify || step == StageFeedback || step == StageRating) {
		return step + "-" + strconv.Itoa(f.Unsatisfied+1)
	}
	return step
}

// FollowUpAlertID is the id of the alert raised when step of follow-up id is
// overdue (key as overdueKey gives it).
func FollowUpAlertID(id, key string) string { return "followup-overdue-" + id + "-" + key }

func decideFollowUp(cfg *config.Config, st *State, c FollowUpStep, now time.Time) ([]Emit, error) {
	f, ok := st.FollowUps[c.ID]
	if !ok {
		return nil, refuse(404, "unknown_followup", "没有这条差评整改记录："+clip(c.ID, 32))
	}
	if err := tooLong("note_too_long", "办理情况", c.Note, MaxNote); err != nil {
		return nil, err
	}
	if err := badID("bad_by", "办理人", c.By); err != nil {
		return nil, err
	}
	if err := badID("bad_handler", "经办人", c.Handler); err != nil {
		return nil, err
	}
	if f.Closed {
		return nil, refuse(409, "followup_closed", "该记录已办结")
	}
	rules := cfg.FollowUpSteps()
	due, _ := f.due()
	u := &FollowUpUpdate{ID: f.ID, Stage: c.Stage, Note: c.Note, By: c.By, Handler: c.Handler}
	next := func(step string) {
		by := f.dueBy(cfg, step, now)
		u.Due, u.DueBy = step, &by
	}
	stay := func() { // the step stays due, by the same deadline
		_, by := f.due()
		s := Stamp(by)
		u.Due, u.DueBy = due, &s
	}
	inOrder := func() error {
		switch {
		case due == DueReview:
			return refuse(409, "under_appeal", "申诉复核中，请等待复核结果")
		case c.Stage != due:
			return refuse(409, "bad_stage", "现在应办理："+StepNames[due]+"（顺序：回访 → 整改 → 反馈 → 群众评价）")
		}
		return nil
	}
	// call records a call of 回访 or the rating: false when it did not reach
	// the citizen (recorded as an attempt; done as 未接通 after the last).
	call := func() (reached bool) {
		if c.Reached == nil || *c.Reached {
			return true
		}
		u.Attempt = f.Attempts + 1
		u.Result = CallNotReached
		if u.Note == "" {
			u.Note = "未接通"
		}
		if u.Attempt >= rules.CallAttempts {
			u.Result = CallUnreached
		}
		return false
	}
	switch c.Stage {
	case StageCallback:
		if err := inOrder(); err != nil {
			return nil, err
		}
		if call() {
			if c.Note == "" {
				return nil, refuse(400, "note_required", "请填写回访情况（群众反映的问题）")
			}
			u.Result = CallReached
			next(StageRectify)
		} else if u.Result == CallUnreached {
			next(StageRectify)
		} else {
			stay()
		}
	case StageRectify:
		if err := inOrder(); err != nil {
			return nil, err
		}
		if c.Note == "" {
			return nil, refuse(400, "note_required", "请填写整改措施")
		}
		next(StageFeedback)
	case StageFeedback:
		if err := inOrder(); err != nil {
			return nil, err
		}
		if c.Note == "" {
			return nil, refuse(400, "note_required", "请填写向群众反馈的内容")
		}
		next(StageRating)
	case StageRating:
		if err := inOrder(); err != nil {
			return nil, err
		}
		if !call() {
			if u.Result == CallUnreached {
				u.Closed = true
			} else {
				stay()
			}
			break
		}
		if !oneOf(c.Level, SatisfactionLevels) {
			return nil, refuse(400, "bad_level", "请选择群众对整改的评价：满意、基本满意或不满意")
		}
		u.Result = c.Level
		if c.Level == Dissatisfied && f.Rounds < rules.RectifyRounds {
			next(StageRectify) // once more
		} else {
			u.Closed = true
		}
	case StageAppealed:
		switch {
		case due == DueReview:
			return nil, refuse(409, "already_appealed", "已提交申诉")
		case f.Appeals > 0:
			return nil, refuse(409, "appeal_used", "每条差评只能申诉一次")
		case c.Note == "":
			return nil, refuse(400, "note_required", "请填写申诉理由")
		}
		next(DueReview)
	case StageUpheld, StageRejected:
		if due != DueReview {
			return nil, refuse(409, "not_appealed", "没有待复核的申诉")
		}
		if c.Note == "" {
			return nil, refuse(400, "note_required", "请填写复核意见")
		}
		if c.Stage == StageUpheld {
			u.Closed = true
			break
		}
		back := f.DueBefore
		if back == "" {
			back = nextOf(f.Before)
		}
		next(back)
	default:
		return nil, refuse(400, "bad_stage", "未知的办理环节："+clip(c.Stage, 32))
	}
	out := []Emit{{TypeFollowUpUpdated, (*FollowUpUpdated)(u)}}
	// The step awaited is done (or paused by an appeal): its overdue alert
	// goes; closing also clears the 差评's own alert.
	if u.Due != due || u.Closed {
		out = append(out, clearIfOpen(st, FollowUpAlertID(f.ID, f.overdueKey(due)), c.Stage)...)
	}
	if u.Closed {
		out = append(out, clearIfOpen(st, "followup-overdue-"+f.ID, c.Stage)...) // raised before steps had deadlines
		out = append(out, clearIfOpen(st, "bad-rating-"+strconv.FormatUint(uint64(f.Visit), 10), "followup_"+c.Stage)...)
	}
	return out, nil
}

func clearIfOpen(st *State, id, reason string) []Emit {
	if _, open := st.Alerts[id]; !open {
		return nil
	}
	return []Emit{{TypeAlertCleared, &AlertCleared{AlertID: id, Reason: reason}}}
}

// overdueFollowUps raises each step awaited past its deadline, once.
func overdueFollowUps(cfg *config.Config, st *State, now time.Time) []Emit {
	var out []Emit
	for _, id := range sortedKeys(st.FollowUps) {
		f := st.FollowUps[id]
		step, by := f.due()
		if f.Closed || f.DueOverdue || !now.After(by) {
			continue
		}
		if f.DueBy == nil && f.Overdue { // raised once before steps had deadlines
			continue
		}
		out = append(out, Emit{TypeFollowUpOverdue, &FollowUpOverdue{ID: f.ID, Stage: f.Stage, Due: step}},
			Emit{TypeAlertRaised, &Alert{AlertID: FollowUpAlertID(f.ID, f.overdueKey(step)), Kind: "followup_overdue", Severity: "warning",
				Window: f.Window, TicketID: f.TicketID,
				Message: f.Number + " 号差评（" + f.Level + "）" + StepNames[step] + "已超过期限（" +
					by.In(cfg.Location).Format("01-02 15:04") + "），请尽快办理"}})
	}
	return out
}

func applyFollowUpOpened(st *State, ts time.Time, e *FollowUp) {
	f := *e
	f.History = []StageEntry{{Stage: StageOpen, At: Stamp(ts)}}
	if f.DueBy != nil {
		s := Stamp(ts)
		f.DueSince = &s
	}
	st.FollowUps[f.ID] = &f
}

func applyFollowUpUpdated(st *State, ts time.Time, e *FollowUpUpdate) {
	f, ok := st.FollowUps[e.ID]
	if !ok {
		return
	}
	c := *f // copy on write: the engine's scratch state shares records
	c.History = append(append([]StageEntry(nil), f.History...),
		StageEntry{Stage: e.Stage, Result: e.Result, Attempt: e.Attempt, Note: e.Note, By: e.By, Handler: e.Handler, At: Stamp(ts)})
	if e.DueBy == nil && !e.Closed {
		applyLegacy(&c, f, e)
	} else {
		applyStep(&c, f, e, ts)
	}
	st.FollowUps[e.ID] = &c
}

func applyFollowUpOverdue(st *State, e *FollowUpUpdate) {
	if f, ok := st.FollowUps[e.ID]; ok {
		c := *f
		c.Overdue = true
		if e.Due != "" {
			c.DueOverdue = true
			c.OverdueSteps = append(append([]string(nil), f.OverdueSteps...), e.Due)
		}
		st.FollowUps[e.ID] = &c
	}
}

// applyStep folds an update recorded with its deadlines into c (a copy of f).
func applyStep(c, f *FollowUp, e *FollowUpUpdate, ts time.Time) {
	attempt := e.Result == CallNotReached
	switch e.Stage {
	case StageCallback:
		if !attempt {
			c.Stage, c.Callback = StageCallback, e.Result
		}
	case StageRectify:
		c.Stage, c.Rounds = StageRectify, f.Rounds+1
	case StageFeedback:
		c.Stage = StageFeedback
	case StageRating:
		if attempt {
			break
		}
		c.Stage = StageRating
		if e.Result == Dissatisfied {
			c.Unsatisfied = f.Unsatisfied + 1
		}
		if e.Closed {
			c.Satisfaction = e.Result
			if e.Result == CallUnreached {
				c.Satisfaction = SatisfactionNoAns
			}
		}
	case StageAppealed:
		c.Before, c.DueBefore, c.Stage, c.Appeals = f.Stage, f.Due, StageAppealed, f.Appeals+1
	case StageRejected:
		c.Stage = f.Before
	case StageUpheld:
		c.Stage, c.Excluded = StageUpheld, true
	}
	if e.Closed {
		c.Closed, c.Due, c.DueBy, c.DueSince, c.DueOverdue, c.Attempts = true, "", nil, nil, false, 0
		return
	}
	if e.Due != f.Due || f.DueBy == nil || !time.Time(*e.DueBy).Equal(time.Time(*f.DueBy)) {
		by, since := *e.DueBy, Stamp(ts)
		c.Due, c.DueBy, c.DueSince, c.DueOverdue, c.Attempts = e.Due, &by, &since, false, 0
	}
	if attempt {
		c.Attempts = e.Attempt
	}
}

// applyLegacy folds an update recorded before steps had deadlines, as it was
// folded then: 反馈 closed the follow-up.
func applyLegacy(c, f *FollowUp, e *FollowUpUpdate) {
	switch e.Stage {
	case StageAppealed:
		c.Before, c.Stage = f.Stage, StageAppealed
	case StageRejected:
		c.Stage = f.Before
	case StageUpheld:
		c.Stage, c.Closed, c.Excluded = StageUpheld, true, true
	default:
		c.Stage = e.Stage
		c.Closed = e.Stage == StageFeedback
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
