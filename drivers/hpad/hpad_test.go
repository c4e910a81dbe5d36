package hpad

import (
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCRC16(t *testing.T) {
	if got := CRC16([]byte("123456789")); got != 0x4B37 {
		t.Fatalf("check value %04X, want 4B37", got)
	}
	if got := CRC16(nil); got != 0xFFFF {
		t.Fatalf("empty input %04X, want the initial FFFF", got)
	}
}

// The test vectors of docs/protocols.md §3.1, byte for byte, both ways.
func TestVectors(t *testing.T) {
	tests := []struct {
		name    string
		wire    string
		frame   Frame
		payload Payload // nil: empty payload
	}{
		{"SET_STATE RATE 30 s to addr 1", "02 01 07 10 02 00 02 1E 4B 64 03",
			Frame{Addr: 1, Seq: 7, Cmd: CmdSetState, Payload: []byte{0x02, 0x1E}},
			SetState{State: StateRate, TimeoutS: 30}},
		{"POLL", "02 01 08 02 00 00 BA 60 03",
			Frame{Addr: 1, Seq: 8, Cmd: CmdPoll}, nil},
		{"reply with one RATING", "02 01 08 82 0A 00 01 01 2A 00 78 56 34 12 05 00 59 CF 03",
			Frame{Addr: 1, Seq: 8, Cmd: 0x82, Payload: unhex(t, "01 01 2A 00 78 56 34 12 05 00")},
			PollReply{Events: []Event{{Type: EventRating, EvtSeq: 42, Visit: 0x12345678, Value: RatingVerySatisfied}}}},
		{"ACK_EVT 42", "02 01 09 03 02 00 2A 00 51 81 03",
			Frame{Addr: 1, Seq: 9, Cmd: CmdAckEvt, Payload: []byte{0x2A, 0x00}},
			AckEvt{EvtSeq: 42}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire := unhex(t, tt.wire)
			f := tt.frame
			if tt.payload != nil {
				var err error
				if f, err = NewFrame(tt.frame.Addr, tt.frame.Seq, tt.payload); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(f, tt.frame) {
					t.Fatalf("NewFrame = %v, want %v", f, tt.frame)
				}
			}
			if got := Encode(f); !reflect.DeepEqual(got, wire) {
				t.Fatalf("Encode = % X\n          want % X", got, wire)
			}
			var d Decoder
			frames := d.Feed(wire)
			if len(frames) != 1 || !reflect.DeepEqual(frames[0], tt.frame) {
				t.Fatalf("decoded %v, want %v", frames, tt.frame)
			}
			if tt.payload != nil {
				got := reflect.New(reflect.TypeOf(tt.payload))
				if err := got.Interface().(interface{ UnmarshalBinary([]byte) error }).UnmarshalBinary(frames[0].Payload); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got.Elem().Interface(), tt.payload) {
					t.Fatalf("payload %+v, want %+v", got.Elem().Interface(), tt.payload)
				}
			}
		})
	}
}

func TestEncodeOversizePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Encode(Frame{Cmd: CmdPrompt, Payload: make([]byte, MaxPayload+1)})
}

func TestNames(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{CmdName(CmdPoll), "POLL"},
		{CmdName(ReplyCmd(CmdSetState)), "SET_STATE reply"},
		{CmdName(CmdError), "ERROR"},
		{CmdName(0x7A), "CMD 7A"},
		{StateThanks.String(), "THANKS"},
		{State(9).String(), "State(9)"},
		{EventKey.String(), "KEY"},
		{RatingLabel(RatingVerySatisfied), "非常满意"},
		{RatingLabel(RatingVeryDissatisfied), "非常不满意"},
		{RatingLabel(0), ""},
		{RatingLabel(6), ""},
		{Frame{Addr: 1, Seq: 7, Cmd: CmdSetState, Payload: []byte{2, 30}}.String(), "addr=01 seq=07 SET_STATE len=2 02 1E"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	var err error = ErrBusy
	if !errors.Is(err, ErrBusy) || errors.Is(err, ErrNotAllowed) {
		t.Error("ErrorCode does not compare as an error")
	}
	if !ReasonsRequired(RatingDissatisfied) || ReasonsRequired(RatingBasicSatisfied) {
		t.Error("ReasonsRequired")
	}
	if !IsReply(0x82) || !IsReply(CmdError) || IsReply(CmdPoll) {
		t.Error("IsReply")
	}
}
