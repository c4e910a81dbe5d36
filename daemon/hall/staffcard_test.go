package hall_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"halld/daemon/config"
	"halld/daemon/hall"
)

// A supervisor registers a staff member's card (its keyed hash); placed on
// a window's desk reader it signs them in there, even where PINs are needed,
// naming the reader. An unknown card, a card already someone's, a removed
// card are refused. A replay of the journal gives the same state.
func TestStaffCardSignsIn(t *testing.T) {
	cfg, err := config.Parse("r.yaml", []byte(rosterHall))
	if err != nil {
		t.Fatal(err)
	}
	st, j := hall.NewState(), &journalT{}
	now := at("2026-11-25 09:30")
	must := func(cmd any) []hall.Emit {
		t.Helper()
		emits, err := hall.Decide(cfg, st, cmd, now)
		if err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
		for _, e := range emits {
			hall.Apply(st, st.Seq+1, e.Type, now, e.Data)
			b, _ := json.Marshal(e.Data)
			j.typs, j.bodies, j.ts = append(j.typs, e.Type), append(j.bodies, b), append(j.ts, now)
		}
		return emits
	}
	refused := func(want string, cmd any) {
		t.Helper()
		if got := code(runJ(t, j, cfg, st, cmd, now)); got != want {
			t.Fatalf("%T: got %q, want %q", cmd, got, want)
		}
	}
	must(hall.SetStaff{ID: "s2", Name: "李四", Windows: []string{"w2"}, By: "sup"})
	must(hall.RecordPIN{PINEvent: hall.PINEvent{Staff: "s1", Action: "set", By: "sup"}}) // PINs are needed from now on
	refused("unknown_card", hall.CardSignIn{Window: "w1", Reader: "r1", IDHash: "h-s1"})
	refused("id_number_required", hall.SetStaffCard{Staff: "s1", By: "sup"})
	refused("unknown_staff", hall.SetStaffCard{Staff: "s9", IDHash: "h-s9", By: "sup"})
	must(hall.SetStaffCard{Staff: "s1", IDHash: "h-s1", By: "sup"})
	refused("card_taken", hall.SetStaffCard{Staff: "s2", IDHash: "h-s1", By: "sup"})
	refused("pin_required", hall.SignIn{Window: "w1", Staff: "s1", By: "desk"})

	emits := must(hall.CardSignIn{Window: "w1", Reader: "r1", IDHash: "h-s1"})
	var in *hall.StaffSignedIn
	for _, e := range emits {
		if e.Type == hall.TypeStaffSignedIn {
			in = e.Data.(*hall.StaffSignedIn)
		}
	}
	if in == nil || in.Staff != "s1" || in.Window != "w1" || in.By != "card/r1" {
		t.Fatalf("card sign-in: %+v", emits)
	}
	// A new card replaces the old one; a removed card signs nobody in.
	must(hall.SetStaffCard{Staff: "s2", IDHash: "h-s2", By: "sup"})
	must(hall.SetStaffCard{Staff: "s2", IDHash: "h-s2b", By: "sup"})
	refused("unknown_card", hall.CardSignIn{Window: "w2", Reader: "r2", IDHash: "h-s2"})
	must(hall.SetStaffCard{Staff: "s2", Remove: true, By: "sup"})
	refused("unknown_card", hall.CardSignIn{Window: "w2", Reader: "r2", IDHash: "h-s2b"})
	refused("no_card", hall.SetStaffCard{Staff: "s2", Remove: true, By: "sup"})
	if st.CardOf("s1") != "h-s1" || st.CardOf("s2") != "" {
		t.Fatalf("cards %+v", st.Roster.Cards)
	}

	// Replay: the same events from their JSON fold to the same cards.
	again := hall.NewState()
	for i, typ := range j.typs {
		data, err := hall.Decode(typ, j.bodies[i])
		if err != nil {
			t.Fatal(err)
		}
		hall.Apply(again, again.Seq+1, typ, j.ts[i], data)
	}
	if !reflect.DeepEqual(again.Roster.Cards, st.Roster.Cards) {
		t.Fatalf("replayed cards %v, want %v", again.Roster.Cards, st.Roster.Cards)
	}
}
