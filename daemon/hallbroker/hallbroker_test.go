package hallbroker

import (
	"testing"

	"halld/daemon/hall"
	"halld/drivers/hpad/mqttpads"
)

// The networked pads' transport drops event ids the hall's rules would
// refuse; it keeps its own bound (a driver knows nothing of the hall), so
// the two must stay equal.
func TestPadEventIDBoundIsTheHalls(t *testing.T) {
	if mqttpads.MaxEventID != hall.MaxID {
		t.Fatalf("mqttpads.MaxEventID %d, hall.MaxID %d", mqttpads.MaxEventID, hall.MaxID)
	}
}
