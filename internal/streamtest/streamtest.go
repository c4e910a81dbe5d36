// Package streamtest checks the decoders of the drivers' wire codecs the same
// way: a decoder takes bytes as the port hands them over (any split) and
// gives whole frames, resyncing past junk, with counters. The properties are
// the same for every codec (HPAD-1, the SAM ID-card protocol), so they are
// written once here and each codec's tests give their cases and fuzz seeds.
package streamtest

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"
)

// Decoder is a codec's stream decoder: F its frames, S its counters.
type Decoder[F any, S comparable] interface {
	Feed(b []byte) []F
	Flush() []F
	Stats() S
	Buffered() int
}

// FeedAll feeds the chunks in order, then flushes if flush.
func FeedAll[F any, S comparable](d Decoder[F, S], flush bool, chunks ...[]byte) []F {
	var out []F
	for _, c := range chunks {
		out = append(out, d.Feed(c)...)
	}
	if flush {
		out = append(out, d.Flush()...)
	}
	return out
}

// FeedSplit feeds data in random pieces of at most max bytes (some empty).
func FeedSplit[F any, S comparable](d Decoder[F, S], data []byte, max int, r *rand.Rand) []F {
	var out []F
	for len(data) > 0 {
		n := r.IntN(min(len(data), max) + 1)
		out = append(out, d.Feed(data[:n])...)
		data = data[n:]
	}
	return out
}

// Case is one input and what decoding it must give.
type Case[F any, S comparable] struct {
	In       []byte
	Flush    bool // flush at the end
	Want     []F
	Stats    S
	Buffered int
}

// Splits decodes c.In whole, split at every boundary, and byte by byte, with
// a fresh decoder from fresh each time, and fails unless each gives c's
// frames, counters and buffered bytes.
func Splits[F any, S comparable](t *testing.T, fresh func() Decoder[F, S], c Case[F, S]) {
	t.Helper()
	check := func(how string, d Decoder[F, S], got []F) {
		t.Helper()
		if !reflect.DeepEqual(got, c.Want) {
			t.Fatalf("%s: decoded\n got %v\nwant %v", how, got, c.Want)
		}
		if d.Stats() != c.Stats || d.Buffered() != c.Buffered {
			t.Fatalf("%s: stats %+v buffered %d, want %+v %d", how, d.Stats(), d.Buffered(), c.Stats, c.Buffered)
		}
	}
	d := fresh()
	check("whole", d, FeedAll(d, c.Flush, c.In))
	for i := range len(c.In) + 1 {
		d := fresh()
		check("split", d, FeedAll(d, c.Flush, c.In[:i], c.In[i:]))
	}
	var chunks [][]byte
	for i := range c.In {
		chunks = append(chunks, c.In[i:i+1])
	}
	d = fresh()
	check("bytewise", d, FeedAll(d, c.Flush, chunks...))
}

// Codec is what Resync needs of a codec besides its decoder.
type Codec[F any, S comparable] struct {
	Fresh  func() Decoder[F, S]
	Encode func(F) []byte // a decoded frame's wire bytes
	// Counts are the counters' frames and junk bytes.
	Counts func(S) (frames, junk uint64)
	// Check is a codec's own property of a decoded frame ("" when it holds).
	Check func(F) string
}

// Resync is the fuzz property of a stream decoder over any input: random
// splits (from seed) decode as the whole does; Flush leaves nothing
// buffered; every frame is in the input, in order, without overlap; and
// every input byte is in a frame or counted as junk. It returns the frames.
func Resync[F any, S comparable](t *testing.T, c Codec[F, S], data []byte, seed uint64) []F {
	t.Helper()
	whole := c.Fresh()
	want := whole.Feed(data)
	split := c.Fresh()
	got := FeedSplit(split, data, 64, rand.New(rand.NewPCG(seed, seed)))
	if !reflect.DeepEqual(got, want) || split.Stats() != whole.Stats() || split.Buffered() != whole.Buffered() {
		t.Fatalf("split feed differs:\n got %v %+v\nwant %v %+v", got, split.Stats(), want, whole.Stats())
	}
	want = append(want, whole.Flush()...)
	if whole.Buffered() != 0 {
		t.Fatalf("%d bytes buffered after Flush", whole.Buffered())
	}
	at, used := 0, 0
	for _, fr := range want {
		if c.Check != nil {
			if why := c.Check(fr); why != "" {
				t.Fatalf("frame %v: %s", fr, why)
			}
		}
		enc := c.Encode(fr)
		i := bytes.Index(data[at:], enc)
		if i < 0 {
			t.Fatalf("frame %v (% X) is not in the input after offset %d", fr, enc, at)
		}
		at += i + len(enc)
		used += len(enc)
	}
	frames, junk := c.Counts(whole.Stats())
	if frames != uint64(len(want)) || uint64(used)+junk != uint64(len(data)) {
		t.Fatalf("%d bytes in, %d in %d frames, stats %+v", len(data), used, len(want), whole.Stats())
	}
	return want
}
