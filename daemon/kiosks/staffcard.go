package kiosks

import (
	"context"
	"errors"

	"halld/daemon/hall"
)

// staffCard handles a card placed on a window's desk reader
// (windows[].reader): a registered staff card signs its holder in at that
// window (hall.CardSignIn). The number is hashed at once and dropped; the
// outcome reaches the window page through the journal's staff.signed_in.
func (m *Manager) staffCard(ctx context.Context, window, reader string, p Person) {
	hash := m.key.Hash(p.Number)
	p.Number = ""
	_, err := m.eng.Submit(ctx, hall.CardSignIn{Window: window, Reader: reader, IDHash: hash})
	var re *hall.RuleError
	switch {
	case err == nil:
		m.log.Info("staff signed in by card", "window", window, "reader", reader)
	case errors.As(err, &re):
		m.log.Warn("staff card sign-in refused", "window", window, "reader", reader, "code", re.Code)
	default:
		m.log.Warn("staff card sign-in not recorded", "window", window, "reader", reader, "err", err)
	}
}
