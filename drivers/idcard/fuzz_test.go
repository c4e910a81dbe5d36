package idcard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"halld/internal/streamtest"
)

// FuzzDecoder: the decoders never panic, give the same frames however the
// input is split, and account for every byte.
func FuzzDecoder(f *testing.F) {
	vectors := []string{
		"AA AA AA 96 69 00 04 00 00 80 84",
		"AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97",
		"AA AA AA 96 69 00 04 00 00 81 85",
		"AA AA AA 96 69 00 03 20 01 22",
		"AA AA AA 96 69 00 04 61 FF 50 CA",
	}
	var all []byte
	for i, v := range vectors {
		b := unhex(f, v)
		f.Add(b, uint64(i))
		all = append(all, b...)
	}
	f.Add(all, uint64(9))
	f.Add(cat(unhex(f, "AA AA 96 69 AA"), all[:9], all), uint64(10))
	f.Add(EncodeResponse(Response{SW3: 0x90, Data: readReplyData()}), uint64(11))
	f.Add(unhex(f, "AA AA AA 96 69 10 01 AA AA AA 96 69 00 03 00 00 03"), uint64(12))
	codec := streamtest.Codec[Response, Stats]{
		Fresh:  newDecoder,
		Encode: EncodeResponse,
		Counts: func(s Stats) (uint64, uint64) { return s.Frames, s.JunkBytes },
		Check: func(r Response) string {
			if len(r.Data) > MaxLen {
				return fmt.Sprintf("data of %d bytes", len(r.Data))
			}
			return ""
		},
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		streamtest.Resync(t, codec, data, seed)

		// The reader's side: the same split invariance, and every good
		// request re-encodes to bytes of the input.
		var rw, rs RequestDecoder
		reqs := rw.Feed(data)
		reqs2 := streamtest.FeedSplit(streamtest.Decoder[Request, Stats](&rs), data, 64, rand.New(rand.NewPCG(seed, 1)))
		if !reflect.DeepEqual(reqs, reqs2) || rw.Stats() != rs.Stats() {
			t.Fatalf("split requests differ: %v vs %v", reqs, reqs2)
		}
		for _, q := range reqs {
			if q.Status == OK && !bytes.Contains(data, q.Encode()) {
				t.Fatalf("request %v is not in the input", q.Command)
			}
		}
	})
}

// FuzzText: the text parser never panics on any 256 bytes, and what it
// accepts behaves (prints masked, validates, has a public view) without
// panicking either.
func FuzzText(f *testing.F) {
	f.Add(residentBlock(f)[:])
	for _, k := range []byte{'J', 'I', 'Y'} {
		f.Add(residentBlock(f).kind(k)[:])
	}
	f.Add(make([]byte, TextLen))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < TextLen {
			b = append(b, make([]byte, TextLen-len(b))...)
		}
		b = b[:TextLen]
		c, err := ParseText(b)
		if err != nil {
			if !reflect.DeepEqual(c, Card{}) {
				t.Fatal("a failed parse returned a card")
			}
			return
		}
		if c.Kind != KindOf(b) {
			t.Fatalf("kind %s, block says %s", c.Kind, KindOf(b))
		}
		if !c.Sex.Valid() {
			t.Fatalf("sex %d", c.Sex)
		}
		_ = c.Validate()
		now := time.Date(2026, 11, 25, 9, 30, 0, 0, Zone())
		p := c.Public(now)
		if _, err := json.Marshal(p); err != nil {
			t.Fatal(err)
		}
		if s := fmt.Sprintf("%v|%+v|%d", c, c, c); s != strings.Repeat("|idcard.Card("+string(c.Kind)+" "+c.Masked()+")", 3)[1:] {
			t.Fatalf("a card prints as %q", s)
		}
		c.Wipe()
	})
}
