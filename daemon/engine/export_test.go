package engine

import (
	"context"

	"halld/daemon/hall"
)

// OnLoop runs fn on the command loop and waits for it: tests hold the
// loop with it.
func (e *Engine) OnLoop(ctx context.Context, fn func(*hall.State)) error { return e.onLoop(ctx, fn) }
