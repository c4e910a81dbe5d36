package idcard

import (
	"bytes"
	"reflect"
	"testing"

	"halld/internal/streamtest"
)

// readReplyData is the data of a read reply with a recognisable pattern.
func readReplyData() []byte {
	b := make([]byte, ReadDataLen)
	b[0], b[1], b[2], b[3] = 0x01, 0x00, 0x04, 0x00
	for i := 4; i < len(b); i++ {
		b[i] = byte(i * 7)
	}
	return b
}

func TestDecoderResync(t *testing.T) {
	noCard := Response{SW3: 0x80}
	noCardWire := unhex(t, "AA AA AA 96 69 00 04 00 00 80 84")
	findOK := Response{SW3: 0x9F, Data: make([]byte, 4)}
	findWire := EncodeResponse(findOK)
	sel := Response{SW3: 0x90, Data: []byte{0, 0, 0, 0, 0, 0, 0, 0}}
	read := Response{SW3: 0x90, Data: readReplyData()}
	readWire := EncodeResponse(read)
	// A photo that happens to hold a whole frame: it is data, not a frame.
	inner := Response{SW3: 0x90, Data: cat(make([]byte, 20), noCardWire, make([]byte, 3))}

	tests := []struct {
		name   string
		in     []byte
		flush  bool
		want   []Response
		stats  Stats
		buffed int
	}{
		{"garbage before a frame", cat(unhex(t, "FF 00 41 03 7E"), noCardWire), false,
			[]Response{noCard}, Stats{Frames: 1, JunkBytes: 5}, 0},
		{"garbage holding preamble pieces", cat(unhex(t, "AA AA 96 69 AA"), noCardWire), false,
			// AA AA 96 69 AA | AA AA AA 96 69 …: the preamble starts at the
			// second AA of the run of four.
			[]Response{noCard}, Stats{Frames: 1, JunkBytes: 5}, 0},
		{"bad checksum, then a good frame", cat(unhex(t, "AA AA AA 96 69 00 04 00 00 80 85"), noCardWire), false,
			[]Response{noCard}, Stats{Frames: 1, BadChecksum: 1, JunkBytes: 11}, 0},
		{"oversize LEN is dropped at once", cat(unhex(t, "AA AA AA 96 69 10 01"), noCardWire), false,
			[]Response{noCard}, Stats{Frames: 1, Oversize: 1, JunkBytes: 7}, 0},
		{"LEN MaxLen is waited for", cat(unhex(t, "AA AA AA 96 69 10 00"), noCardWire), false,
			nil, Stats{}, 18},
		{"LEN too short for SW1 SW2 SW3", cat(unhex(t, "AA AA AA 96 69 00 03 00 00 03"), noCardWire), false,
			[]Response{noCard}, Stats{Frames: 1, Undersize: 1, JunkBytes: 10}, 0},
		{"cut-off frame whose length the next frame covers", cat(findWire[:9], noCardWire), false,
			// The candidate takes 6 bytes of the next frame and fails the XOR.
			[]Response{noCard}, Stats{Frames: 1, BadChecksum: 1, JunkBytes: 9}, 0},
		{"cut-off read reply waits for its length", cat(readWire[:100], noCardWire), false,
			nil, Stats{}, 111},
		{"… which Flush resolves", cat(readWire[:100], noCardWire), true,
			[]Response{noCard}, Stats{Frames: 1, Truncated: 1, JunkBytes: 100}, 0},
		{"a frame inside data is data", EncodeResponse(inner), false,
			[]Response{inner}, Stats{Frames: 1}, 0},
		{"back to back", cat(findWire, noCardWire, EncodeResponse(sel), readWire), false,
			[]Response{findOK, noCard, sel, read}, Stats{Frames: 4}, 0},
		{"empty data is nil", noCardWire, false, []Response{noCard}, Stats{Frames: 1}, 0},
		{"preamble piece waits", unhex(t, "AA AA"), false, nil, Stats{}, 2},
		{"preamble piece flushed", unhex(t, "AA AA"), true, nil, Stats{JunkBytes: 2}, 0},
		{"header waits", unhex(t, "AA AA AA 96 69 00"), false, nil, Stats{}, 6},
		{"header flushed", unhex(t, "AA AA AA 96 69 00"), true, nil, Stats{Truncated: 1, JunkBytes: 6}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			streamtest.Splits(t, newDecoder, streamtest.Case[Response, Stats]{In: tt.in, Flush: tt.flush, Want: tt.want, Stats: tt.stats, Buffered: tt.buffed})
		})
	}
}

// newDecoder is a fresh decoder for the shared stream checks.
func newDecoder() streamtest.Decoder[Response, Stats] { return new(Decoder) }

func TestRequestDecoder(t *testing.T) {
	var d RequestDecoder
	in := cat(
		unhex(t, "00 AA"),                         // junk
		FindCard().Encode(),                       // good
		unhex(t, "AA AA AA 96 69 00 03 20 01 23"), // bad checksum
		SetMaxRFFrame(0x50).Encode(),              // good, with data
		unhex(t, "AA AA AA 96 69 00 02 20 22"),    // LEN 2: no room for CMD PARA
		unhex(t, "AA AA AA 96 69 FF FF"),          // LEN over MaxLen
		unhex(t, "AA AA AA 96 69 00 03 30 01"),    // cut short
	)
	got := d.Feed(in)
	want := []Request{
		{Command: FindCard(), Status: OK},
		{Status: BadHostChecksum},
		{Command: SetMaxRFFrame(0x50), Status: OK},
		{Status: BadHostLength},
		{Status: BadHostLength},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("requests\n got %+v\nwant %+v", got, want)
	}
	if d.Buffered() != 9 {
		t.Fatalf("buffered %d", d.Buffered())
	}
	// A frame cut short gets no answer: Flush drops it silently.
	if got := d.Flush(); got != nil {
		t.Fatalf("flush: %+v", got)
	}
	s := d.Stats()
	if s.Frames != 2 || s.BadChecksum != 1 || s.Undersize != 1 || s.Oversize != 1 || s.Truncated != 1 || s.Bad() != 4 {
		t.Fatalf("stats %+v", s)
	}
}

// A long run of noise costs no memory once dropped, and what the decoder
// is done with is zeroed: replies carry personal data.
func TestDecoderDropsAndZeroes(t *testing.T) {
	var d Decoder
	noise := bytes.Repeat(unhex(t, "AA AA AA 96 69 FF FF 55"), 20000) // every candidate is oversize
	if r := d.Feed(noise); len(r) != 0 {
		t.Fatalf("responses from noise: %v", r)
	}
	if d.Buffered() != 0 || cap(d.s.buf) > 4*(HeaderLen+MaxLen) {
		t.Fatalf("buffered %d, cap %d", d.Buffered(), cap(d.s.buf))
	}
	if s := d.Stats(); s.Oversize != 20000 || s.JunkBytes != uint64(len(noise)) {
		t.Fatalf("stats %+v", s)
	}
	read := EncodeResponse(Response{SW3: 0x90, Data: readReplyData()})
	d.Feed(read[:700])
	if r := d.Feed(read[700:]); len(r) != 1 || !bytes.Equal(r[0].Data, readReplyData()) {
		t.Fatalf("read reply: %d responses", len(r))
	}
	for i, b := range d.s.buf[:cap(d.s.buf)] {
		if b != 0 {
			t.Fatalf("byte %d of the decoder's buffer still holds %02X", i, b)
		}
	}
}
