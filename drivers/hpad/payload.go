package hpad

import (
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Payload errors. Every error from MarshalBinary wraps ErrInvalid; every
// error from UnmarshalBinary wraps ErrMalformed.
var (
	ErrInvalid   = errors.New("value cannot be encoded")
	ErrMalformed = errors.New("malformed payload")
)

// Payload is a typed payload: the request of a command that has one, or a
// reply that has one. HELLO and POLL requests, and the replies of ACK_EVT
// and 10–14, are empty and have no type.
type Payload interface {
	Cmd() byte // the CMD byte of the frame that carries it
	encoding.BinaryMarshaler
}

// NewFrame encodes p into a frame for addr with seq.
func NewFrame(addr, seq byte, p Payload) (Frame, error) {
	b, err := p.MarshalBinary()
	if err != nil {
		return Frame{}, err
	}
	return Frame{Addr: addr, Seq: seq, Cmd: p.Cmd(), Payload: b}, nil
}

// HelloReply answers HELLO: who the pad is and what it can do.
type HelloReply struct {
	Proto             byte // ProtoVersion
	Model, FW, Serial string
	Caps              uint16 // Cap* bits
}

// Event is one thing that happened on a pad, kept until acknowledged.
// Decoding does not judge Type or Value: vendor keys, vendor faults and
// event types of later versions must still reach the master, or they could
// never be acknowledged.
type Event struct {
	Type    EventType
	EvtSeq  uint16 // per pad, +1 per event, wraps
	Visit   uint32 // the ticket shown when it happened (SET_TICKET), 0 if none
	Value   byte   // rating 1–5, key code or fault code; 0 for TIMEOUT
	Reasons byte   // bitmap of the hall's reason list (ratings)
}

const eventLen = 9 // type u8, evtSeq u16, visit u32, value u8, reasons u8

// PollReply answers POLL: up to MaxEvents unacknowledged events, oldest first.
type PollReply struct {
	Events []Event
}

// AckEvt acknowledges every event up to EvtSeq (serial-number order, so it
// survives wrap-around).
type AckEvt struct {
	EvtSeq uint16
}

// SetState switches what the pad shows. TimeoutS bounds RATE (0 = none);
// other states ignore it.
type SetState struct {
	State    State
	TimeoutS byte
}

// SetStaff is the window's staff card.
type SetStaff struct {
	StaffID, Name, Title, Window string
	Stars                        byte // 0–50 = 0.0–5.0 stars
	PhotoRef                     string
}

// MaxStars is the largest SetStaff.Stars (5.0 stars).
const MaxStars = 50

// SetTicket is the case being served; Visit binds the events to it.
type SetTicket struct {
	TicketNo, Business string
	Visit              uint32
}

// Prompt shows a text and plays a voice prompt.
type Prompt struct {
	VoiceID byte
	Text    string
}

// SetTime sets the pad's clock: Unix seconds and the UTC offset in minutes
// (480 for Asia/Shanghai).
type SetTime struct {
	Unix  uint32
	TzMin int16
}

// ErrorReply is the payload of an error reply (CMD FF). Codes outside 1–4
// decode as they are; the master treats them as failures.
type ErrorReply struct {
	Code ErrorCode
}

func (HelloReply) Cmd() byte { return ReplyCmd(CmdHello) }
func (PollReply) Cmd() byte  { return ReplyCmd(CmdPoll) }
func (AckEvt) Cmd() byte     { return CmdAckEvt }
func (SetState) Cmd() byte   { return CmdSetState }
func (SetStaff) Cmd() byte   { return CmdSetStaff }
func (SetTicket) Cmd() byte  { return CmdSetTicket }
func (Prompt) Cmd() byte     { return CmdPrompt }
func (SetTime) Cmd() byte    { return CmdSetTime }
func (ErrorReply) Cmd() byte { return CmdError }

// MarshalBinary encodes the payload.
func (h HelloReply) MarshalBinary() ([]byte, error) {
	w := writer{what: "HELLO reply"}
	w.u8(h.Proto)
	w.str("model", h.Model)
	w.str("fw", h.FW)
	w.str("serial", h.Serial)
	w.u16(h.Caps)
	return w.done()
}

// UnmarshalBinary decodes the payload.
func (h *HelloReply) UnmarshalBinary(b []byte) error {
	r := reader{what: "HELLO reply", b: b}
	v := HelloReply{Proto: r.u8("proto"), Model: r.str("model"), FW: r.str("fw"), Serial: r.str("serial"), Caps: r.u16("caps")}
	return r.end(func() { *h = v })
}

// MarshalBinary encodes the payload.
func (p PollReply) MarshalBinary() ([]byte, error) {
	w := writer{what: "POLL reply"}
	if len(p.Events) > MaxEvents {
		w.fail("%d events, at most %d", len(p.Events), MaxEvents)
	}
	w.u8(byte(len(p.Events)))
	for _, e := range p.Events {
		w.u8(byte(e.Type))
		w.u16(e.EvtSeq)
		w.u32(e.Visit)
		w.u8(e.Value)
		w.u8(e.Reasons)
	}
	return w.done()
}

// UnmarshalBinary decodes the payload.
func (p *PollReply) UnmarshalBinary(b []byte) error {
	r := reader{what: "POLL reply", b: b}
	n := int(r.u8("n"))
	if r.err == nil && n > MaxEvents {
		r.fail("n = %d, at most %d", n, MaxEvents)
	}
	if r.err == nil && len(b) != 1+n*eventLen {
		r.fail("n = %d needs %d bytes, have %d", n, 1+n*eventLen, len(b))
	}
	var v PollReply
	if r.err == nil && n > 0 {
		v.Events = make([]Event, n)
		for i := range v.Events {
			v.Events[i] = Event{
				Type: EventType(r.u8("type")), EvtSeq: r.u16("evtSeq"), Visit: r.u32("visit"),
				Value: r.u8("value"), Reasons: r.u8("reasons"),
			}
		}
	}
	return r.end(func() { *p = v })
}

// MarshalBinary encodes the payload.
func (a AckEvt) MarshalBinary() ([]byte, error) {
	return binary.LittleEndian.AppendUint16(nil, a.EvtSeq), nil
}

// UnmarshalBinary decodes the payload.
func (a *AckEvt) UnmarshalBinary(b []byte) error {
	r := reader{what: "ACK_EVT", b: b}
	v := AckEvt{EvtSeq: r.u16("evtSeq")}
	return r.end(func() { *a = v })
}

// MarshalBinary encodes the payload.
func (s SetState) MarshalBinary() ([]byte, error) {
	w := writer{what: "SET_STATE"}
	if !s.State.Valid() {
		w.fail("unknown state %d", byte(s.State))
	}
	w.u8(byte(s.State))
	w.u8(s.TimeoutS)
	return w.done()
}

// UnmarshalBinary decodes the payload. An unknown state is malformed, so a
// pad answers it with ErrBadPayload.
func (s *SetState) UnmarshalBinary(b []byte) error {
	r := reader{what: "SET_STATE", b: b}
	v := SetState{State: State(r.u8("state")), TimeoutS: r.u8("timeout_s")}
	if r.err == nil && !v.State.Valid() {
		r.fail("unknown state %d", byte(v.State))
	}
	return r.end(func() { *s = v })
}

// MarshalBinary encodes the payload.
func (s SetStaff) MarshalBinary() ([]byte, error) {
	w := writer{what: "SET_STAFF"}
	w.str("staffId", s.StaffID)
	w.str("name", s.Name)
	w.str("title", s.Title)
	w.str("window", s.Window)
	if s.Stars > MaxStars {
		w.fail("stars %d, at most %d", s.Stars, MaxStars)
	}
	w.u8(s.Stars)
	w.str("photoRef", s.PhotoRef)
	return w.done()
}

// UnmarshalBinary decodes the payload.
func (s *SetStaff) UnmarshalBinary(b []byte) error {
	r := reader{what: "SET_STAFF", b: b}
	v := SetStaff{StaffID: r.str("staffId"), Name: r.str("name"), Title: r.str("title"), Window: r.str("window"), Stars: r.u8("stars")}
	if r.err == nil && v.Stars > MaxStars {
		r.fail("stars %d, at most %d", v.Stars, MaxStars)
	}
	v.PhotoRef = r.str("photoRef")
	return r.end(func() { *s = v })
}

// MarshalBinary encodes the payload.
func (t SetTicket) MarshalBinary() ([]byte, error) {
	w := writer{what: "SET_TICKET"}
	w.str("ticketNo", t.TicketNo)
	w.str("business", t.Business)
	w.u32(t.Visit)
	return w.done()
}

// UnmarshalBinary decodes the payload.
func (t *SetTicket) UnmarshalBinary(b []byte) error {
	r := reader{what: "SET_TICKET", b: b}
	v := SetTicket{TicketNo: r.str("ticketNo"), Business: r.str("business"), Visit: r.u32("visit")}
	return r.end(func() { *t = v })
}

// MarshalBinary encodes the payload.
func (p Prompt) MarshalBinary() ([]byte, error) {
	w := writer{what: "PROMPT"}
	w.u8(p.VoiceID)
	w.str("text", p.Text)
	return w.done()
}

// UnmarshalBinary decodes the payload.
func (p *Prompt) UnmarshalBinary(b []byte) error {
	r := reader{what: "PROMPT", b: b}
	v := Prompt{VoiceID: r.u8("voiceId"), Text: r.str("text")}
	return r.end(func() { *p = v })
}

// MarshalBinary encodes the payload.
func (t SetTime) MarshalBinary() ([]byte, error) {
	w := writer{what: "SET_TIME"}
	w.u32(t.Unix)
	w.u16(uint16(t.TzMin))
	return w.done()
}

// UnmarshalBinary decodes the payload.
func (t *SetTime) UnmarshalBinary(b []byte) error {
	r := reader{what: "SET_TIME", b: b}
	v := SetTime{Unix: r.u32("unix"), TzMin: int16(r.u16("tz_min"))}
	return r.end(func() { *t = v })
}

// MarshalBinary encodes the payload.
func (e ErrorReply) MarshalBinary() ([]byte, error) { return []byte{byte(e.Code)}, nil }

// UnmarshalBinary decodes the payload.
func (e *ErrorReply) UnmarshalBinary(b []byte) error {
	r := reader{what: "error reply", b: b}
	v := ErrorReply{Code: ErrorCode(r.u8("code"))}
	return r.end(func() { *e = v })
}

// writer appends fields; the first error sticks and later fields are skipped.
type writer struct {
	what string
	b    []byte
	err  error
}

func (w *writer) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf("hpad: encode %s: %s: %w", w.what, fmt.Sprintf(format, args...), ErrInvalid)
	}
}

func (w *writer) u8(v byte)    { w.b = append(w.b, v) }
func (w *writer) u16(v uint16) { w.b = binary.LittleEndian.AppendUint16(w.b, v) }
func (w *writer) u32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }

// str writes a u8 length and the UTF-8 bytes. Too long or invalid text is an
// error rather than silently cut: what a citizen reads must be what the
// daemon meant.
func (w *writer) str(field, s string) {
	switch {
	case len(s) > MaxString:
		w.fail("%s is %d bytes, at most %d", field, len(s), MaxString)
	case !utf8.ValidString(s):
		w.fail("%s is not valid UTF-8", field)
	}
	w.u8(byte(len(s)))
	w.b = append(w.b, s...)
}

func (w *writer) done() ([]byte, error) {
	if w.err == nil && len(w.b) > MaxPayload {
		w.fail("payload is %d bytes, at most %d", len(w.b), MaxPayload)
	}
	if w.err != nil {
		return nil, w.err
	}
	return w.b, nil
}

// reader takes fields off a payload; after the first error every read
// returns zero and the error sticks.
type reader struct {
	what string
	b    []byte
	off  int
	err  error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("hpad: decode %s: %s: %w", r.what, fmt.Sprintf(format, args...), ErrMalformed)
	}
}

func (r *reader) take(field string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b)-r.off < n {
		r.fail("%s: short payload: %d bytes, need %d at offset %d", field, len(r.b), n, r.off)
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *reader) u8(field string) byte {
	if p := r.take(field, 1); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) u16(field string) uint16 {
	if p := r.take(field, 2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (r *reader) u32(field string) uint32 {
	if p := r.take(field, 4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *reader) str(field string) string {
	n := int(r.u8(field))
	p := r.take(field, n)
	if r.err != nil {
		return ""
	}
	if !utf8.Valid(p) {
		r.fail("%s is not valid UTF-8", field)
		return ""
	}
	return string(p)
}

// end checks that the payload was used up and, if all went well, stores the
// value (a failed decode leaves the target untouched).
func (r *reader) end(store func()) error {
	if len(r.b) > MaxPayload {
		r.err = nil // the length says it all
		r.fail("long payload: %d bytes, at most %d", len(r.b), MaxPayload)
	}
	if r.err == nil && r.off != len(r.b) {
		r.fail("long payload: %d trailing bytes", len(r.b)-r.off)
	}
	if r.err != nil {
		return r.err
	}
	store()
	return nil
}
