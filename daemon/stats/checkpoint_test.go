package stats

import (
	"reflect"
	"testing"
)

// An Aggregator restored from a checkpoint at any seq and folded forward is
// the one a fold of the whole journal gives, down to every fact and every
// pairing it still waits to close (open pauses, sessions across midnight,
// follow-ups awaiting an appeal's outcome).
func TestCheckpointFoldsToTheSameNumbers(t *testing.T) {
	s := scriptedDay(t)
	full := fold(t, s.cfg, s.recs)
	if len(s.recs) < 50 {
		t.Fatalf("only %d records", len(s.recs))
	}
	for k := 0; k <= len(s.recs); k++ {
		part := fold(t, s.cfg, s.recs[:k])
		b, err := part.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		got := New(s.cfg)
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("at %d: %v", k, err)
		}
		for _, r := range s.recs[k:] {
			if err := got.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		if !reflect.DeepEqual(got, full) {
			t.Fatalf("checkpoint after %d of %d records folds to other numbers:\ngot  %+v\nwant %+v", k, len(s.recs), *got, *full)
		}
	}
	// A new field in Aggregator (or what it holds) must be carried by the
	// checkpoint: this count makes adding one a decision.
	if n := reflect.TypeOf(Aggregator{}).NumField(); n != 16 {
		t.Fatalf("Aggregator has %d fields, the checkpoint knows 16: update checkpoint.go and this count", n)
	}
	for ty, n := range map[reflect.Type]int{reflect.TypeOf(ticketState{}): 6, reflect.TypeOf(visitState{}): 5,
		reflect.TypeOf(windowState{}): 3, reflect.TypeOf(session{}): 2, reflect.TypeOf(fuRef{}): 2, reflect.TypeOf(fact{}): 9} {
		if ty.NumField() != n {
			t.Fatalf("%s has %d fields, the checkpoint knows %d", ty, ty.NumField(), n)
		}
	}
}

func TestCheckpointRefusesOthers(t *testing.T) {
	s := scriptedDay(t)
	a := New(s.cfg)
	for _, bad := range [][]byte{nil, []byte("not gob"), {0xff, 0x00}} {
		if err := a.UnmarshalBinary(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}
