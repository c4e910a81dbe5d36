package backoff

import (
	"context"
	"testing"
	"time"
)

func TestDoublesToTheCapAndResets(t *testing.T) {
	b := New(Policy{Min: 100 * time.Millisecond, Max: 1500 * time.Millisecond, Stable: 10 * time.Second})
	want := []time.Duration{100, 200, 400, 800, 1500, 1500}
	for i, w := range want {
		if got := b.Delay(); got != w*time.Millisecond {
			t.Fatalf("bound %d = %v, want %v", i, got, w*time.Millisecond)
		}
		bound := b.Delay()
		if d := b.Next(); d < 0 || d > bound {
			t.Fatalf("wait %v outside [0, %v]", d, bound)
		}
	}
	b.Ended(9 * time.Second) // not stable: the delay stays
	if b.Delay() != 1500*time.Millisecond {
		t.Fatalf("a short connection reset the delay to %v", b.Delay())
	}
	b.Ended(10 * time.Second)
	if b.Delay() != 100*time.Millisecond {
		t.Fatalf("a stable connection left the delay at %v", b.Delay())
	}
	b.Next()
	b.Reset()
	if b.Delay() != 100*time.Millisecond {
		t.Fatalf("Reset left %v", b.Delay())
	}
}

func TestMaxBelowMinAndZero(t *testing.T) {
	b := New(Policy{Min: time.Second, Max: time.Millisecond})
	b.Next()
	if b.Delay() != time.Second {
		t.Fatalf("Max below Min: bound %v, want Min", b.Delay())
	}
	z := New(Policy{})
	if d := z.Next(); d != 0 {
		t.Fatalf("zero policy waited %v", d)
	}
	z.Ended(time.Hour) // Stable 0: never resets by itself, and does not panic
}

// Full jitter: the waits spread over the whole of [0, d], not a band near d
// (the supervisor's old 60–100 % would fail the low end).
func TestFullJitterSpreadsOverTheWholeRange(t *testing.T) {
	const n = 4000
	lo, hi := 0, 0
	for range n {
		b := New(Policy{Min: time.Second, Max: time.Second})
		d := b.Next()
		if d < 0 || d > time.Second {
			t.Fatalf("wait %v outside [0, 1s]", d)
		}
		if d < 100*time.Millisecond {
			lo++
		}
		if d > 900*time.Millisecond {
			hi++
		}
	}
	// Each tenth holds ~400 of 4000; under 250 is beyond chance.
	if lo < 250 || hi < 250 {
		t.Fatalf("waits not spread: %d under 100 ms, %d over 900 ms of %d", lo, hi, n)
	}
}

func TestWaitEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := New(Policy{Min: time.Hour, Max: time.Hour})
	start := time.Now()
	if b.Wait(ctx) {
		t.Fatal("Wait on a cancelled context returned true")
	}
	if time.Since(start) > time.Second {
		t.Fatal("Wait on a cancelled context slept")
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if Sleep(ctx2, time.Hour) {
		t.Fatal("Sleep outlived its context")
	}
	if !Sleep(context.Background(), time.Millisecond) || !Sleep(context.Background(), 0) {
		t.Fatal("Sleep of a short wait reported a cancel")
	}
}
