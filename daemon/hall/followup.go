package hall

import (
	"sort"
	"strconv"
	"time"

	"halld/daemon/config"
)

// A 差评 opens a follow-up (差评问题就近从快处置): 回访 (call the citizen back),
// 整改 (rectify), 反馈 (report back), within a deadline in working days. Staff
// may appeal (申诉) a mistaken or malicious rating; an upheld appeal excludes
// it from statistics.
const (
	TypeFollowUpOpened  = "followup.opened"
	TypeFollowUpUpdated = "followup.updated"
	TypeFollowUpOverdue = "followup.overdue"
)

// Follow-up stages, in order.
const (
	StageOpen     = "open"
	StageCallback = "callback" // 回访
	StageRectify  = "rectify"  // 整改
	StageFeedback = "feedback" // 反馈 (closes it)
	StageAppealed = "appealed" // 申诉, awaiting review
	StageUpheld   = "upheld"   // 申诉成立: the rating is excluded
	StageRejected = "rejected" // 申诉不成立: back to where it was
)

var stageOrder = map[string]int{StageOpen: 0, StageCallback: 1, StageRectify: 2, StageFeedback: 3}

// FollowUp is a 差评's follow-up record.
type FollowUp struct {
	ID       string       `json:"followup_id"`
	Visit    uint32       `json:"visit"`
	TicketID string       `json:"ticket_id"`
	Number   string       `json:"number"`
	Window   string       `json:"window"`
	Staff    string       `json:"staff,omitempty"`
	Service  string       `json:"service"`
	Level    string       `json:"level"`
	Reasons  []string     `json:"reasons,omitempty"`
	Deadline Stamp        `json:"deadline"`
	Stage    string       `json:"stage"`
	Overdue  bool         `json:"overdue"`
	Closed   bool         `json:"closed"`
	Excluded bool         `json:"excluded"` // appeal upheld: not counted
	History  []StageEntry `json:"history"`
	// Before is the stage an appeal interrupted, to return to if rejected.
	Before string `json:"stage_before_appeal,omitempty"`
}

// StageEntry is one step of a follow-up.
type StageEntry struct {
	Stage string `json:"stage"`
	Note  string `json:"note,omitempty"`
	By    string `json:"by,omitempty"`
	At    Stamp  `json:"at"`
}

// FollowUpUpdate: a follow-up moved to a stage.
type FollowUpUpdate struct {
	ID    string `json:"followup_id"`
	Stage string `json:"stage"`
	Note  string `json:"note,omitempty"`
	By    string `json:"by,omitempty"`
}

// FollowUpStep moves a follow-up along (API: 回访, 整改, 反馈, 申诉, 复核).
type FollowUpStep struct {
	ID, Stage, Note, By string
}

func followUpID(visit uint32) string { return "fu-" + strconv.FormatUint(uint64(visit), 10) }

// openFollowUp is emitted with a 差评.
func openFollowUp(cfg *config.Config, r *RatingSubmitted, now time.Time) Emit {
	return Emit{TypeFollowUpOpened, &FollowUp{ID: followUpID(r.Visit), Visit: r.Visit, TicketID: r.TicketID, Number: r.Number,
		Window: r.Window, Staff: r.Staff, Service: r.Service, Level: r.Level, Reasons: r.Reasons,
		Deadline: Stamp(cfg.AddWorkdays(now, cfg.FollowUpWorkdays())), Stage: StageOpen}}
}

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
	if f.Closed {
		return nil, refuse(409, "followup_closed", "该记录已办结")
	}
	switch c.Stage {
	case StageCallback, StageRectify, StageFeedback:
		if f.Stage == StageAppealed {
			return nil, refuse(409, "under_appeal", "申诉复核中，请等待复核结果")
		}
		if stageOrder[c.Stage] != stageOrder[f.Stage]+1 {
			return nil, refuse(409, "bad_stage", "请按 回访 → 整改 → 反馈 的顺序办理")
		}
		if c.Note == "" {
			return nil, refuse(400, "note_required", "请填写办理情况")
		}
	case StageAppealed:
		if f.Stage == StageAppealed {
			return nil, refuse(409, "already_appealed", "已提交申诉")
		}
		if c.Note == "" {
			return nil, refuse(400, "note_required", "请填写申诉理由")
		}
	case StageUpheld, StageRejected:
		if f.Stage != StageAppealed {
			return nil, refuse(409, "not_appealed", "没有待复核的申诉")
		}
	default:
		return nil, refuse(400, "bad_stage", "未知的办理环节："+c.Stage)
	}
	out := []Emit{{TypeFollowUpUpdated, &FollowUpUpdate{ID: f.ID, Stage: c.Stage, Note: c.Note, By: c.By}}}
	if (c.Stage == StageFeedback || c.Stage == StageUpheld) && f.Overdue {
		out = append(out, Emit{TypeAlertCleared, &AlertCleared{AlertID: "followup-overdue-" + f.ID, Reason: c.Stage}})
	}
	return out, nil
}

// overdueFollowUps raises each late follow-up once.
func overdueFollowUps(cfg *config.Config, st *State, now time.Time) []Emit {
	var out []Emit
	for _, id := range sortedKeys(st.FollowUps) {
		f := st.FollowUps[id]
		if f.Closed || f.Overdue || !now.After(time.Time(f.Deadline)) {
			continue
		}
		out = append(out, Emit{TypeFollowUpOverdue, &FollowUpUpdate{ID: f.ID, Stage: f.Stage}},
			Emit{TypeAlertRaised, &Alert{AlertID: "followup-overdue-" + f.ID, Kind: "followup_overdue", Severity: "warning",
				Window: f.Window, TicketID: f.TicketID,
				Message: f.Number + " 号差评（" + f.Level + "）整改已超过 " + strconv.Itoa(cfg.FollowUpWorkdays()) + " 个工作日期限"}})
	}
	return out
}

func applyFollowUp(st *State, typ string, ts time.Time, data any) {
	switch typ {
	case TypeFollowUpOpened:
		f := *data.(*FollowUp)
		f.History = []StageEntry{{Stage: StageOpen, At: Stamp(ts)}}
		st.FollowUps[f.ID] = &f
	case TypeFollowUpUpdated:
		e := data.(*FollowUpUpdate)
		f, ok := st.FollowUps[e.ID]
		if !ok {
			return
		}
		c := *f // copy on write: the engine's scratch state shares records
		c.History = append(append([]StageEntry(nil), f.History...), StageEntry{Stage: e.Stage, Note: e.Note, By: e.By, At: Stamp(ts)})
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
		st.FollowUps[e.ID] = &c
	case TypeFollowUpOverdue:
		e := data.(*FollowUpUpdate)
		if f, ok := st.FollowUps[e.ID]; ok {
			c := *f
			c.Overdue = true
			st.FollowUps[e.ID] = &c
		}
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
