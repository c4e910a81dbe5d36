package hall

import (
	"halld/daemon/config"
	"time"
)

// Staff cards: a staff member's ID card placed on their window's desk reader
// (windows[].reader) signs them in there, a second way besides the PIN. A
// supervisor registers the card: the web hashes the number with the hall's
// PII key at once (daemon/pii), so only the keyed hash is recorded — in the
// staff.card event and RosterState.Cards — never the number.

// TypeStaffCard records a card registered for a staff member or removed.
const TypeStaffCard = "staff.card"

// StaffCard is that record. IDHash is set on "set" only.
type StaffCard struct {
	Staff  string `json:"staff"`
	Action string `json:"action"` // set, removed
	IDHash string `json:"id_hash,omitempty"`
	By     string `json:"by,omitempty"`
}

// Commands.
type (
	// SetStaffCard registers IDHash as Staff's card (replacing one they
	// had), or with Remove takes theirs off.
	SetStaffCard struct {
		Staff, IDHash string
		Remove        bool
		By            string
	}
	// CardSignIn: a card was placed on Reader, the desk reader of Window.
	CardSignIn struct{ Window, Reader, IDHash string }
)

func init() { extraDecoders[TypeStaffCard] = func() any { return &StaffCard{} } }

// CardOf is the hash of a staff member's registered card ("" when none).
func (st *State) CardOf(staff string) string {
	if st.Roster == nil {
		return ""
	}
	for h, s := range st.Roster.Cards {
		if s == staff {
			return h
		}
	}
	return ""
}

func decideStaffCard(cfg *config.Config, st *State, cmd any, now time.Time) ([]Emit, error) {
	switch c := cmd.(type) {
	case SetStaffCard:
		if err := badID("bad_by", "操作人", c.By); err != nil {
			return nil, err
		}
		if _, ok := cfg.StaffMember(c.Staff); !ok && !(c.Remove && st.CardOf(c.Staff) != "") {
			return nil, refuse(404, "unknown_staff", "没有这个工号："+clip(c.Staff, 32))
		}
		if c.Remove {
			if st.CardOf(c.Staff) == "" {
				return nil, refuse(404, "no_card", "该工作人员未登记证件")
			}
			return []Emit{{TypeStaffCard, &StaffCard{Staff: c.Staff, Action: "removed", By: c.By}}}, nil
		}
		if c.IDHash == "" {
			return nil, refuse(400, "id_number_required", "请刷证件或填写证件号码")
		}
		if err := badID("bad_card", "证件", c.IDHash); err != nil {
			return nil, err
		}
		if other, taken := st.Roster.cardStaff(c.IDHash); taken && other != c.Staff {
			return nil, refuse(409, "card_taken", "该证件已登记给工号 "+other)
		}
		return []Emit{{TypeStaffCard, &StaffCard{Staff: c.Staff, Action: "set", IDHash: c.IDHash, By: c.By}}}, nil
	case CardSignIn:
		staff, ok := st.Roster.cardStaff(c.IDHash)
		if c.IDHash == "" || !ok {
			return nil, refuse(404, "unknown_card", "该证件未登记为工作人员证件，请用工号和密码签到")
		}
		// The card is the proof a PIN would be; the person moves here from
		// where they were (placing one's own card is asking).
		return decideWindow(cfg, st, SignIn{Window: c.Window, Staff: staff, PINChecked: true, By: "card/" + c.Reader}, now)
	}
	return nil, nil
}

func (r *RosterState) cardStaff(hash string) (string, bool) {
	if r == nil {
		return "", false
	}
	s, ok := r.Cards[hash]
	return s, ok
}

func applyStaffCard(st *State, e *StaffCard) {
	old := st.CardOf(e.Staff)
	if old == "" && e.Action != "set" {
		return
	}
	r := st.rosterW()
	delete(r.Cards, old)
	if e.Action == "set" {
		r.Cards[e.IDHash] = e.Staff
	}
}
