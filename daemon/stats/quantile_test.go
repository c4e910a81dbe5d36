package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDistMatchesSort: the selection gives what sorting would, for every
// size from 1 to 300 and for data full of duplicates.
func TestDistMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ref := func(xs []float32, q float64) float64 {
		s := slices.Clone(xs)
		slices.Sort(s)
		h := float64(len(s)-1) * q
		lo := int(math.Floor(h))
		if lo+1 >= len(s) {
			return float64(s[lo])
		}
		return float64(s[lo]) + (h-float64(lo))*(float64(s[lo+1])-float64(s[lo]))
	}
	for n := 1; n <= 300; n++ {
		for _, spread := range []int{3, 1000} { // few distinct values, or many
			xs := make([]float32, n)
			for i := range xs {
				xs[i] = float32(rng.IntN(spread)) * 1.5
			}
			want := Dist{Count: n, MedianSeconds: ms(ref(xs, 0.5)), P90Seconds: ms(ref(xs, 0.9)), MaxSeconds: ms(float64(slices.Max(xs)))}
			got := dist(slices.Clone(xs))
			got.MeanSeconds = 0
			if got != want {
				t.Fatalf("n=%d spread=%d: got %+v, want %+v (%v)", n, spread, got, want, xs)
			}
		}
	}
}
