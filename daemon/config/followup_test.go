package config

import "testing"

// TestFollowUpRules: hall.followup's defaults (what the hall promises: 回访 in
// 1 working day, 整改 3, 反馈 1 — the 5 of followup_days), and check refusing
// values out of range or a 回访 due after the whole follow-up, naming the field.
func TestFollowUpRules(t *testing.T) {
	cfg := wantErrs(t, hallHead)
	want := FollowUpRules{CallbackDays: 1, RectifyDays: 3, FeedbackDays: 1, RatingDays: 2, ReviewDays: 5, CallAttempts: 3, RectifyRounds: 2}
	if cfg != nil && (cfg.Hall.FollowUp != want || cfg.FollowUpSteps() != want) {
		t.Errorf("defaults %+v, want %+v", cfg.Hall.FollowUp, want)
	}
	if got := (&Config{}).FollowUpSteps(); got != want {
		t.Errorf("a Config built in Go gets %+v", got)
	}
	cfg = wantErrs(t, hallHead+"  followup: {callback_days: 2, rectify_days: 10, rating_days: 5, call_attempts: 5}\n")
	if cfg != nil && (cfg.Hall.FollowUp != FollowUpRules{CallbackDays: 2, RectifyDays: 10, FeedbackDays: 1, RatingDays: 5, ReviewDays: 5, CallAttempts: 5, RectifyRounds: 2}) {
		t.Errorf("set: %+v", cfg.Hall.FollowUp)
	}
	wantErrs(t, hallHead+"  followup: {rectify_days: 0, call_attempts: 11, rectify_rounds: 9}\n",
		`t.yaml:6:14: hall.followup.rectify_days: must be an integer from 1 to 30, got 0`,
		`t.yaml:6:31: hall.followup.call_attempts: must be an integer from 1 to 10, got 11`,
		`t.yaml:6:50: hall.followup.rectify_rounds: must be an integer from 1 to 5, got 9`)
	wantErrs(t, hallHead+"  followup_days: 2\n  followup: {callback_days: 3}\n",
		`t.yaml:7:14: hall.followup.callback_days: must not exceed hall.followup_days (2), got 3: the 回访 would be due after the whole follow-up`)
}
