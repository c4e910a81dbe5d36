package hall

import (
	"encoding/json"
	"fmt"
)

// StateVersion names the shape of State in a checkpoint. Bump it when a
// change to the rules would fold the same events into a different State:
// an older checkpoint is then ignored and the state is rebuilt from the
// journal (see engine.Replay).
//
// 2: alerts count recurrences (AlertRecord.Count, LastSeen, alert.updated);
// a device's reason is part of its recorded state (a new reason is a
// device.state, Since kept while the state stays); Counters count the day's
// tickets (TicketIssued.Serial), which differs from the last number once
// numbers wrap.
//
// 3: a transfer renames the ticket after its new service
// (to_service_name); a finished ticket has Outcome served; a visit rated
// during its service is not awaited after the finish; a late rating
// replaces the visit's 未评价 (TimedOut cleared); ticket.closed and
// day.closed (State.ClosedDay) record the day's end; tickets carry their
// Estimate.
//
// 4: an ended alert (alert.cleared, alert.closed) moves to
// State.ClosedAlerts with its history instead of vanishing; alerts keep
// their history, acknowledgement and assignee. Runtime changes fold
// (State.Roster: staff added/updated/removed, a window's services for today,
// services closed for today, who has a PIN; notice.expired removes a notice).
// A checkpoint of version 3 is still read (MinStateVersion): what 4 adds
// starts empty — no closed alerts yet, histories from now on, no runtime
// changes — and rebuilding from the journal instead would
// lose the follow-ups and bookings older than storage.retention, which only
// checkpoints hold.
//
// (Not bumped for follow-up step deadlines: the events recorded before them
// fold as they did — applyLegacy — and the new fields come only from new
// events.)
const StateVersion = 4

// MinStateVersion is the oldest checkpoint version that folds on correctly
// under these rules (see StateVersion 4).
const MinStateVersion = 3

type checkpoint struct {
	Version int    `json:"version"`
	State   *State `json:"state"`
}

// EncodeState serialises st for a checkpoint. Every field of State and of
// what it holds is exported, so JSON carries all of it (a test walks the
// types to keep it so).
func EncodeState(st *State) ([]byte, error) {
	return json.Marshal(checkpoint{Version: StateVersion, State: st})
}

// ErrStateVersion means a checkpoint was written by rules of another version.
var ErrStateVersion = fmt.Errorf("hall: checkpoint of another state version (want %d)", StateVersion)

// DecodeState reads a checkpoint written by EncodeState.
func DecodeState(b []byte) (*State, error) {
	var c checkpoint
	c.State = NewState()
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("hall: checkpoint: %w", err)
	}
	if c.Version < MinStateVersion || c.Version > StateVersion {
		return nil, fmt.Errorf("%w: have %d", ErrStateVersion, c.Version)
	}
	st := c.State
	// JSON null (a nil map) decodes to nil; Apply writes into these.
	orEmpty(&st.Counters)
	orEmpty(&st.Tickets)
	orEmpty(&st.Requests)
	orEmpty(&st.Devices)
	orEmpty(&st.Windows)
	orEmpty(&st.Visits)
	orEmpty(&st.VisitInfo)
	orEmpty(&st.Rated)
	orEmpty(&st.Finished)
	orEmpty(&st.TimedOut)
	orEmpty(&st.Alerts)
	orEmpty(&st.DeviceSeq)
	orEmpty(&st.DeviceEventIDs)
	orEmpty(&st.FollowUps)
	orEmpty(&st.Appointments)
	orEmpty(&st.Notices)
	orEmpty(&st.ClosedServices)
	return st, nil
}

func orEmpty[M ~map[K]V, K comparable, V any](m *M) {
	if *m == nil {
		*m = M{}
	}
}
