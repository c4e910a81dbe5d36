package hall

// FollowUpVerbs maps the words the API (POST /api/v1/followups/{id}/{verb})
// and the central server's followup.step command use to follow-up stages.
var FollowUpVerbs = map[string]string{
	"callback": StageCallback, "rectify": StageRectify, "feedback": StageFeedback,
	"rating": StageRating, "rate": StageRating,
	"appeal": StageAppealed, "uphold": StageUpheld, "reject": StageRejected,
}

// FollowUpVerbList names them for an error message, in the loop's order.
const FollowUpVerbList = "callback, rectify, feedback, rating, appeal, uphold, reject"
