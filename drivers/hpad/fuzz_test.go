package hpad

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"halld/internal/streamtest"
)

func FuzzDecoder(f *testing.F) {
	vectors := []string{
		"02 01 07 10 02 00 02 1E 4B 64 03",
		"02 01 08 02 00 00 BA 60 03",
		"02 01 08 82 0A 00 01 01 2A 00 78 56 34 12 05 00 59 CF 03",
		"02 01 09 03 02 00 2A 00 51 81 03",
	}
	var all []byte
	for i, v := range vectors {
		b := unhex(f, v)
		f.Add(b, uint64(i))
		all = append(all, b...)
	}
	f.Add(all, uint64(9))
	f.Add(cat([]byte{0x02, 0x00}, all[:15], all), uint64(10))
	f.Add(unhex(f, "02 01 09 03 02 00 02 01 08 02 00 00 BA 60 03"), uint64(11))
	f.Add(unhex(f, "02 01 01 01 01 04 02 FF"), uint64(12))
	codec := streamtest.Codec[Frame, Stats]{
		Fresh:  newDecoder,
		Encode: Encode,
		Counts: func(s Stats) (uint64, uint64) { return s.Frames, s.JunkBytes },
		Check: func(fr Frame) string {
			if len(fr.Payload) > MaxPayload {
				return fmt.Sprintf("payload of %d bytes", len(fr.Payload))
			}
			return ""
		},
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		streamtest.Resync(t, codec, data, seed)
	})
}

// FuzzPayloads: no decoder panics, and whatever decodes re-encodes to the
// same bytes (one encoding per value, so a pad and the master agree).
func FuzzPayloads(f *testing.F) {
	for _, p := range []Payload{
		HelloReply{Proto: 1, Model: "HP-8", FW: "1.0", Serial: "S", Caps: 15},
		PollReply{Events: events(3)},
		AckEvt{EvtSeq: 42},
		SetState{State: StateRate, TimeoutS: 30},
		SetStaff{StaffID: "1", Name: "李娜", Title: "受理员", Window: "3", Stars: 45, PhotoRef: "x"},
		SetTicket{TicketNo: "A001", Business: "社保", Visit: 7},
		Prompt{VoiceID: 1, Text: "请稍候"},
		SetTime{Unix: 1795570201, TzMin: 480},
		ErrorReply{Code: ErrBusy},
	} {
		b, err := p.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range []Payload{HelloReply{}, PollReply{}, AckEvt{}, SetState{}, SetStaff{}, SetTicket{}, Prompt{}, SetTime{}, ErrorReply{}} {
			dst := fresh(p)
			if err := dst.UnmarshalBinary(data); err != nil {
				continue
			}
			b, err := reflect.ValueOf(dst).Elem().Interface().(Payload).MarshalBinary()
			if err != nil {
				t.Fatalf("%T decoded % X but does not encode: %v", p, data, err)
			}
			if !bytes.Equal(b, data) {
				t.Fatalf("%T: decoded % X, re-encoded % X", p, data, b)
			}
		}
	})
}

// FuzzMarshalFits: whatever text the hall hands the codec, the screen
// encodes (a screen that cannot be encoded stops the pad being polled), fits
// the protocol, decodes, and every string is what was meant or a cut of it
// on a character boundary, named in the cut list.
func FuzzMarshalFits(f *testing.F) {
	f.Add("李娜", "综合窗口受理员", "暂停服务 · 临时外出", "A1000", uint16(300))
	f.Add("\xff\xfe", "", "政", "", uint16(0))
	f.Fuzz(func(t *testing.T, a, b, c, d string, rep uint16) {
		long := strings.Repeat(c, int(rep%400))
		for _, p := range []Payload{
			SetStaff{StaffID: a, Name: b + long, Title: long, Window: d + long, PhotoRef: a + long},
			SetTicket{TicketNo: d + long, Business: b + long},
			Prompt{Text: long + a},
			HelloReply{Model: a, FW: b, Serial: long},
		} {
			wire, cut, err := Marshal(p)
			if err != nil {
				t.Fatalf("%T: %v", p, err)
			}
			if len(wire) > MaxPayload {
				t.Fatalf("%T: %d bytes", p, len(wire))
			}
			got := fresh(p)
			if err := got.UnmarshalBinary(wire); err != nil {
				t.Fatalf("%T: does not decode: %v", p, err)
			}
			want, gotv := reflect.ValueOf(p), reflect.ValueOf(got).Elem()
			for i := range want.NumField() {
				if want.Field(i).Kind() != reflect.String {
					continue
				}
				name, in, out := want.Type().Field(i).Name, want.Field(i).String(), gotv.Field(i).String()
				valid := strings.ToValidUTF8(in, "\uFFFD")
				if out == in {
					continue
				}
				if len(cut) == 0 {
					t.Fatalf("%T.%s changed from %q to %q but nothing was reported", p, name, in, out)
				}
				if out != valid && !(strings.HasPrefix(valid, strings.TrimSuffix(out, Ellipsis)) && len(out) < len(valid)+len(Ellipsis)) {
					t.Fatalf("%T.%s: %q is not a cut of %q", p, name, out, in)
				}
			}
		}
	})
}
