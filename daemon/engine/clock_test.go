package engine_test

import (
	"sync"
	"time"
)

// testClock is a clock a test moves while the engine's goroutine reads it
// (every Decide and checkpoint asks for the time): a plain time.Time shared
// between the two is a data race (go test -race).
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock(t time.Time) *testClock { return &testClock{t: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d and returns the new time.
func (c *testClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}
