package engine

import (
	"context"

	"halld/daemon/hall"
)

// OnLoop runs fn on the command loop, as a ping does, and waits for it:
// tests hold the loop with it.
func (e *Engine) OnLoop(ctx context.Context, fn func(*hall.State)) error {
	r := request{ctx: ctx, query: func(st *hall.State) any { fn(st); return nil }, reply: make(chan reply, 1)}
	select {
	case e.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-r.reply:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
