package hpad

import (
	"bytes"
	"reflect"
	"testing"

	"halld/internal/streamtest"
)

func frame(t testing.TB, addr, seq byte, p Payload) Frame {
	t.Helper()
	f, err := NewFrame(addr, seq, p)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestDecoderResync(t *testing.T) {
	poll := Frame{Addr: 1, Seq: 8, Cmd: CmdPoll}
	pollWire := Encode(poll)
	rating := frame(t, 1, 8, PollReply{Events: []Event{{Type: EventRating, EvtSeq: 42, Visit: 0x12345678, Value: 5}}})
	ratingWire := Encode(rating)
	rate := frame(t, 1, 7, SetState{State: StateRate, TimeoutS: 30}) // payload 02 1E
	ackWire := unhex(t, "02 01 09 03 02 00 2A 00 51 81 03")
	badCRC := unhex(t, "02 01 09 03 02 00 2A 00 51 82 03")
	wrapped := Frame{Addr: 2, Seq: 1, Cmd: CmdPrompt, Payload: pollWire} // a whole frame inside a payload

	tests := []struct {
		name   string
		in     []byte
		flush  bool
		want   []Frame
		stats  Stats
		buffed int
	}{
		{"garbage before a frame", cat(unhex(t, "FF 00 41 03 7E"), pollWire), false,
			[]Frame{poll}, Stats{Frames: 1, JunkBytes: 5}, 0},
		{"bad CRC, then a good frame", cat(badCRC, pollWire), false,
			// The bad frame's LEN byte 02 is tried too, and claims 0x8251 bytes.
			[]Frame{poll}, Stats{Frames: 1, BadCRC: 1, Oversize: 1, JunkBytes: 11}, 0},
		{"bad ETX, then a good frame", cat(ratingWire[:18], []byte{0x04}, ratingWire), false,
			[]Frame{rating}, Stats{Frames: 1, BadETX: 1, JunkBytes: 19}, 0},
		{"truncated frame, then a good one that completes its length", cat(ratingWire[:10], ratingWire), false,
			[]Frame{rating}, Stats{Frames: 1, BadETX: 1, JunkBytes: 10}, 0},
		{"truncated frame whose false candidate waits", cat(ackWire[:6], pollWire), false,
			// 02 01 09 03 02 00 | 02 01 08 02 00 00 BA 60 03: the first
			// candidate fails on ETX, the 02 at offset 4 claims 520 bytes.
			nil, Stats{BadETX: 1, JunkBytes: 4}, 11},
		{"… which Flush resolves", cat(ackWire[:6], pollWire), true,
			[]Frame{poll}, Stats{Frames: 1, BadETX: 1, Truncated: 1, JunkBytes: 6}, 0},
		{"02 inside a payload", cat(Encode(rate), Encode(wrapped)), false,
			[]Frame{rate, wrapped}, Stats{Frames: 2}, 0},
		{"a frame inside a payload is found once its outer STX is lost", Encode(wrapped)[1:], true,
			// Its ADDR 02 claims 512 bytes and waits until Flush.
			[]Frame{poll}, Stats{Frames: 1, Truncated: 1, JunkBytes: 8}, 0},
		{"oversize LEN is dropped at once", cat(unhex(t, "02 01 01 01 01 04"), pollWire), false,
			[]Frame{poll}, Stats{Frames: 1, Oversize: 1, JunkBytes: 6}, 0},
		{"LEN 1024 is waited for", cat(unhex(t, "02 01 01 01 00 04"), pollWire), false,
			nil, Stats{}, 15},
		{"empty payload is nil", pollWire, false, []Frame{poll}, Stats{Frames: 1}, 0},
		{"lone STX waits", []byte{0x02}, false, nil, Stats{}, 1},
		{"lone STX flushed", []byte{0x02}, true, nil, Stats{Truncated: 1, JunkBytes: 1}, 0},
		{"back to back", cat(Encode(rate), pollWire, ratingWire, ackWire), false,
			[]Frame{rate, poll, rating, {Addr: 1, Seq: 9, Cmd: CmdAckEvt, Payload: []byte{0x2A, 0}}}, Stats{Frames: 4}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			streamtest.Splits(t, newDecoder, streamtest.Case[Frame, Stats]{In: tt.in, Flush: tt.flush, Want: tt.want, Stats: tt.stats, Buffered: tt.buffed})
		})
	}
}

// newDecoder is a fresh decoder for the shared stream checks.
func newDecoder() streamtest.Decoder[Frame, Stats] { return new(Decoder) }

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// A long run of noise costs no memory once it is dropped.
func TestDecoderDropsJunk(t *testing.T) {
	var d Decoder
	noise := bytes.Repeat([]byte{0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0x55}, 50000) // every 02 claims an oversize LEN
	if f := d.Feed(noise); len(f) != 0 {
		t.Fatalf("frames from noise: %v", f)
	}
	if d.Buffered() != 0 || cap(d.buf) > 4*(Overhead+MaxPayload) {
		t.Fatalf("buffered %d, cap %d", d.Buffered(), cap(d.buf))
	}
	if s := d.Stats(); s.Oversize != 50000 || s.JunkBytes != uint64(len(noise)) {
		t.Fatalf("stats %+v", s)
	}
	poll := Frame{Addr: 3, Seq: 1, Cmd: CmdPoll}
	if f := d.Feed(Encode(poll)); !reflect.DeepEqual(f, []Frame{poll}) {
		t.Fatalf("after noise: %v", f)
	}
}
