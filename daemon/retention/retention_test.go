package retention

import "testing"

func TestLimit(t *testing.T) {
	for _, c := range []struct {
		due    uint64
		holds  []Hold
		upTo   uint64
		heldBy string
	}{
		{100, nil, 100, ""},
		{100, []Hold{{"state", 500}, {"stats", 200}}, 100, ""},
		{100, []Hold{{"state", 500}, {"central", 40}, {"stats", 60}}, 40, "central"},
		{100, []Hold{{"state", 0}}, 0, "state"},
		{0, []Hold{{"central", 40}}, 0, ""},
	} {
		upTo, by := Limit(c.due, c.holds)
		if upTo != c.upTo || by != c.heldBy {
			t.Errorf("Limit(%d, %v) = %d %q, want %d %q", c.due, c.holds, upTo, by, c.upTo, c.heldBy)
		}
	}
}
