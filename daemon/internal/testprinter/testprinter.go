// Package testprinter is halld/internal/testprinter under the path the
// daemon's tests have always imported: the rig moved to the module's top
// internal/ so the printer driver's own tests can use it too. New tests
// import halld/internal/testprinter.
package testprinter

import (
	"testing"

	"halld/drivers/escpos/escpossim"
	"halld/drivers/ticketprinter"
	"halld/internal/testprinter"
)

// Options tune the printer; see halld/internal/testprinter.
type Options = testprinter.Options

// Start runs printer id and waits until it can print.
func Start(t testing.TB, id string, o Options) (*ticketprinter.Printer, *escpossim.Simulator) {
	t.Helper()
	return testprinter.Start(t, id, o)
}
