// Package leakcheck tells tests whether goroutines were left behind.
package leakcheck

import (
	"runtime"
	"testing"
	"time"
)

// Settle fails t unless the number of goroutines comes back to at most
// before within `within` (goroutines told to end may take a moment to be
// gone); the failure lists every goroutine's stack.
func Settle(t testing.TB, before int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}
