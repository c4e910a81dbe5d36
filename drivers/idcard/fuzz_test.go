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
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		var whole Decoder
		want := whole.Feed(data)
		var split Decoder
		got := feedSplit(&split, data, rand.New(rand.NewPCG(seed, seed)))
		if !reflect.DeepEqual(got, want) || split.Stats() != whole.Stats() || split.Buffered() != whole.Buffered() {
			t.Fatalf("split feed differs:\n got %v %+v\nwant %v %+v", got, split.Stats(), want, whole.Stats())
		}
		want = append(want, whole.Flush()...)
		if whole.Buffered() != 0 {
			t.Fatalf("%d bytes buffered after Flush", whole.Buffered())
		}
		// Every response is in the input, in order, without overlap, and
		// every byte is accounted for.
		at, used := 0, 0
		for _, r := range want {
			if len(r.Data) > MaxLen {
				t.Fatalf("data of %d bytes", len(r.Data))
			}
			enc := EncodeResponse(r)
			i := bytes.Index(data[at:], enc)
			if i < 0 {
				t.Fatalf("response %v (% X) is not in the input after offset %d", r, enc, at)
			}
			at += i + len(enc)
			used += len(enc)
		}
		s := whole.Stats()
		if s.Frames != uint64(len(want)) || uint64(used)+s.JunkBytes != uint64(len(data)) {
			t.Fatalf("%d bytes in, %d in %d frames, stats %+v", len(data), used, len(want), s)
		}

		// The reader's side: the same split invariance, and every good
		// request re-encodes to bytes of the input.
		var rw, rs RequestDecoder
		reqs := rw.Feed(data)
		var reqs2 []Request
		r := rand.New(rand.NewPCG(seed, 1))
		for rest := data; len(rest) > 0; {
			n := r.IntN(min(len(rest), 64) + 1)
			reqs2 = append(reqs2, rs.Feed(rest[:n])...)
			rest = rest[n:]
		}
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
