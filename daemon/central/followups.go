package central

import (
	"fmt"

	"halld/daemon/hall"
)

// followUpCommand maps followup.step to the hall command the monitoring
// room's API gives (POST /api/v1/followups/{id}/{stage}), under the central
// server's name. Args: {"id", "stage" (callback, rectify, feedback, rating,
// appeal, uphold, reject), "note", "reached" (callback: the call got
// through), "level" (rating: 满意, 基本满意, 不满意), "handler" (经办人;
// default: by), "by" (optional: the central operator, recorded as
// "central/<by>")}. The rules check the rest: the stage's order, the
// note's length, deadlines, escalation.
func followUpCommand(args []byte) (any, error) {
	var a struct {
		ID      string `json:"id"`
		Stage   string `json:"stage"`
		Note    string `json:"note"`
		Reached *bool  `json:"reached"`
		Level   string `json:"level"`
		Handler string `json:"handler"`
		By      string `json:"by"`
	}
	if err := strict(args, &a); err != nil {
		return nil, err
	}
	if a.ID == "" {
		return nil, fmt.Errorf("bad args: id required")
	}
	stage, ok := hall.FollowUpVerbs[a.Stage]
	if !ok {
		return nil, fmt.Errorf("bad args: stage must be one of %s", hall.FollowUpVerbList)
	}
	by := Name
	if a.By != "" {
		by += "/" + a.By // the rules bound its length and characters
	}
	if a.Handler == "" {
		a.Handler = a.By
	}
	return hall.FollowUpStep{ID: a.ID, Stage: stage, Note: a.Note, By: by, Handler: a.Handler,
		Reached: a.Reached, Level: a.Level}, nil
}
