package hpad

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// unmarshaler is the decoding half of every typed payload.
type unmarshaler interface{ UnmarshalBinary([]byte) error }

// fresh returns a new zero value of p's type, to decode into.
func fresh(p Payload) unmarshaler {
	return reflect.New(reflect.TypeOf(p)).Interface().(unmarshaler)
}

func roundTrip(t *testing.T, p Payload) {
	t.Helper()
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatalf("%T: %v", p, err)
	}
	got := fresh(p)
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatalf("%T: %v", p, err)
	}
	if v := reflect.ValueOf(got).Elem().Interface(); !reflect.DeepEqual(v, p) {
		t.Fatalf("round trip: %+v, want %+v", v, p)
	}
	// Every proper prefix is short and a trailing byte is long.
	for n := range len(b) {
		if err := fresh(p).UnmarshalBinary(b[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%T cut to %d of %d bytes: err %v", p, n, len(b), err)
		}
	}
	if err := fresh(p).UnmarshalBinary(append(b, 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("%T with a trailing byte: err %v", p, err)
	}
}

func events(n int) []Event {
	var es []Event
	for i := range n {
		es = append(es, Event{Type: EventType(i%4 + 1), EvtSeq: uint16(65530 + i), Visit: uint32(i) << 20, Value: byte(i), Reasons: byte(i * 17)})
	}
	return es
}

func TestPayloadRoundTrips(t *testing.T) {
	long := strings.Repeat("政", 85) // 255 bytes
	for _, p := range []Payload{
		HelloReply{Proto: ProtoVersion, Model: "HP-8", FW: "1.4.2", Serial: "SN0001", Caps: CapScreen | CapVoice | CapReasons},
		HelloReply{},
		HelloReply{Proto: 0xFF, Model: long, FW: long, Serial: long, Caps: 0xFFFF},
		PollReply{},
		PollReply{Events: events(1)},
		PollReply{Events: events(MaxEvents)},
		AckEvt{},
		AckEvt{EvtSeq: 0xFFFF},
		SetState{State: StateRate, TimeoutS: 30},
		SetState{State: StateOff},
		SetStaff{StaffID: "0731-0042", Name: "李娜", Title: "综合窗口受理员", Window: "12号窗口", Stars: 48, PhotoRef: "https://hall.example/p/42.jpg"},
		SetStaff{},
		SetStaff{StaffID: long, Name: long, Title: long, Window: "12号窗口", Stars: MaxStars, PhotoRef: strings.Repeat("p", 242)}, // 1024 bytes
		SetTicket{TicketNo: "A001", Business: "社保卡补办", Visit: 0x12345678},
		SetTicket{},
		Prompt{VoiceID: 3, Text: "暂停服务，14:30 回来"},
		Prompt{},
		SetTime{Unix: 1795570201, TzMin: 480},
		SetTime{Unix: 0xFFFFFFFF, TzMin: -720},
		ErrorReply{Code: ErrNotAllowed},
		ErrorReply{Code: 0xEE},
	} {
		t.Run(reflect.TypeOf(p).Name(), func(t *testing.T) { roundTrip(t, p) })
	}
}

func TestPayloadBytes(t *testing.T) {
	for _, c := range []struct {
		p    Payload
		wire string
	}{
		{HelloReply{Proto: 1, Model: "M", FW: "", Serial: "S1", Caps: 0x0105}, "01 01 4D 00 02 53 31 05 01"},
		{SetStaff{StaffID: "7", Name: "王", Title: "", Window: "3", Stars: 45, PhotoRef: "p"}, "01 37 03 E7 8E 8B 00 01 33 2D 01 70"},
		{SetTicket{TicketNo: "A1", Business: "", Visit: 0x01020304}, "02 41 31 00 04 03 02 01"},
		{Prompt{VoiceID: 9, Text: "好"}, "09 03 E5 A5 BD"},
		{SetTime{Unix: 0x6A000000, TzMin: 480}, "00 00 00 6A E0 01"},
		{SetTime{TzMin: -60}, "00 00 00 00 C4 FF"},
		{ErrorReply{Code: ErrBusy}, "03"},
	} {
		b, err := c.p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if want := unhex(t, c.wire); !reflect.DeepEqual(b, want) {
			t.Errorf("%T: % X, want % X", c.p, b, want)
		}
	}
}

func TestMarshalErrors(t *testing.T) {
	for _, c := range []struct {
		p    Payload
		want string
	}{
		{PollReply{Events: events(MaxEvents + 1)}, "17 events"},
		{SetState{State: 6}, "unknown state 6"},
		{SetStaff{Stars: 51}, "stars 51"},
	} {
		b, err := c.p.MarshalBinary()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) || b != nil {
			t.Errorf("%T: %v, want an error with %q", c.p, err, c.want)
		}
		if _, err := NewFrame(1, 1, c.p); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewFrame %T: %v", c.p, err)
		}
	}
}

func TestUnmarshalErrors(t *testing.T) {
	for _, c := range []struct {
		p    Payload
		in   string
		want string
	}{
		{PollReply{}, "", "n: short payload"},
		{PollReply{}, "11" + strings.Repeat(" 00", 17*9), "n = 17, at most 16"},
		{PollReply{}, "02 01 2A 00 78 56 34 12 05 00", "n = 2 needs 19 bytes, have 10"},
		{PollReply{}, "00 00", "n = 0 needs 1 bytes, have 2"},
		{SetState{}, "06 00", "unknown state 6"},
		{SetState{}, "02", "timeout_s: short payload"},
		{SetStaff{}, "00 00 00 00 33 00", "stars 51"},
		{SetStaff{}, "01 41 03 E7 8E", "name: short payload"},
		{SetTicket{}, "02 C0 AF 00 00 00 00 00", "ticketNo is not valid UTF-8"},
		{Prompt{}, "01 02 41", "text: short payload"},
		{HelloReply{}, "01 00 00 00 00 00 00", "long payload: 1 trailing bytes"},
		{AckEvt{}, "2A", "evtSeq: short payload"},
		{ErrorReply{}, "", "code: short payload"},
		{SetTime{}, "00 00 00 00 E0", "tz_min: short payload"},
	} {
		dst := fresh(c.p)
		err := dst.UnmarshalBinary(unhex(t, c.in))
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%T % s: %v, want an error with %q", c.p, c.in, err, c.want)
		}
	}
	// A failed decode leaves the target as it was.
	s := SetState{State: StatePaused, TimeoutS: 9}
	if err := s.UnmarshalBinary([]byte{9, 9}); err == nil || s != (SetState{State: StatePaused, TimeoutS: 9}) {
		t.Fatalf("target changed to %+v (err %v)", s, err)
	}
}

// Text longer than the protocol carries is cut on a character boundary and
// named, never refused: a screen that cannot be encoded stopped the pad being
// polled at all.
func TestMarshalTruncates(t *testing.T) {
	reason := strings.Repeat("因系统升级暂停服务", 20) // 540 bytes
	for _, c := range []struct {
		p    Payload
		cut  string
		want func(Payload) bool
	}{
		{Prompt{Text: strings.Repeat("a", 256)}, "text", func(p Payload) bool {
			return p.(Prompt).Text == strings.Repeat("a", MaxString-len(Ellipsis))+Ellipsis
		}},
		{Prompt{Text: "暂停服务 · " + reason}, "text", func(p Payload) bool {
			s := p.(Prompt).Text
			return len(s) <= MaxString && strings.HasPrefix("暂停服务 · "+reason, strings.TrimSuffix(s, Ellipsis)) && strings.HasSuffix(s, Ellipsis)
		}},
		{SetTicket{TicketNo: "A\xff"}, "ticketNo", func(p Payload) bool { return p.(SetTicket).TicketNo == "A\uFFFD" }},
		{HelloReply{Serial: strings.Repeat("x", 300)}, "serial", func(p Payload) bool { return len(p.(HelloReply).Serial) == MaxString }},
		{SetStaff{StaffID: strings.Repeat("a", 255), Name: strings.Repeat("李", 85), Title: strings.Repeat("c", 255),
			Window: strings.Repeat("d", 255), PhotoRef: "12345"}, "", func(p Payload) bool {
			s := p.(SetStaff)
			return s.PhotoRef == "12345" && utf8.ValidString(s.Name) && strings.HasPrefix(strings.Repeat("李", 85), strings.TrimSuffix(s.Name, Ellipsis))
		}},
	} {
		b, cut, err := Marshal(c.p)
		if err != nil || len(b) > MaxPayload || len(cut) == 0 {
			t.Fatalf("%T: %d bytes, cut %v, err %v", c.p, len(b), cut, err)
		}
		if c.cut != "" && !slices.Contains(cut, c.cut) {
			t.Errorf("%T: cut %v, want %s named", c.p, cut, c.cut)
		}
		if bb, err := c.p.MarshalBinary(); err != nil || !bytes.Equal(bb, b) {
			t.Errorf("%T: MarshalBinary % X %v, Marshal % X", c.p, bb, err, b)
		}
		if _, err := NewFrame(1, 1, c.p); err != nil {
			t.Errorf("NewFrame %T: %v", c.p, err)
		}
		got := fresh(c.p)
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("%T: the cut payload does not decode: %v", c.p, err)
		}
		v := reflect.ValueOf(got).Elem().Interface().(Payload)
		if !c.want(v) {
			t.Errorf("%T cut to %+v", c.p, v)
		}
		if f, fcut := FitPayload(c.p); !reflect.DeepEqual(any(f), any(v)) || !slices.Equal(fcut, cut) {
			t.Errorf("FitPayload %T = %+v %v, want %+v %v", c.p, f, fcut, v, cut)
		}
	}
	// What fits is untouched and not reported.
	p := Prompt{Text: strings.Repeat("政", 85)}
	if _, cut, err := Marshal(p); err != nil || cut != nil {
		t.Fatalf("a 255-byte text: cut %v, err %v", cut, err)
	}
	if f, cut := FitPayload(p); f != p || cut != nil {
		t.Fatalf("FitPayload changed a text that fits: %+v %v", f, cut)
	}
}

func TestFit(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"暂停服务", 12, "暂停服务"},
		{"暂停服务", 11, "暂停…"},
		{"暂停服务", 9, "暂停…"},
		{"暂停服务", 8, "暂…"},
		{"暂停服务", 5, "暂"[:0] + "…"},
		{"暂停服务", 3, "暂"},
		{"暂停服务", 2, ""},
		{"ab", 1, "a"},
		{"a\xffb", 10, "a\uFFFDb"},
		{"", 0, ""},
	} {
		got, changed := Fit(c.in, c.max)
		if got != c.want || len(got) > c.max || !utf8.ValidString(got) || changed != (got != c.in) {
			t.Errorf("Fit(%q, %d) = %q %v, want %q", c.in, c.max, got, changed, c.want)
		}
	}
}
