package hpad

import (
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
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
func (h HelloReply) MarshalBinary() ([]byte, error) { return marshal(h, "HELLO reply") }

func (h HelloReply) encode(w *writer) {
	w.u8(h.Proto)
	w.str("model", h.Model)
	w.str("fw", h.FW)
	w.str("serial", h.Serial)
	w.u16(h.Caps)
}

// UnmarshalBinary decodes the payload.
func (h *HelloReply) UnmarshalBinary(b []byte) error {
	r := reader{what: "HELLO reply", b: b}
	v := HelloReply{Proto: r.u8("proto"), Model: r.str("model"), FW: r.str("fw"), Serial: r.str("serial"), Caps: r.u16("caps")}
	return r.end(func() { *h = v })
}

// MarshalBinary encodes the payload.
func (p PollReply) MarshalBinary() ([]byte, error) { return marshal(p, "POLL reply") }

func (p PollReply) encode(w *writer) {
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
func (s SetState) MarshalBinary() ([]byte, error) { return marshal(s, "SET_STATE") }

func (s SetState) encode(w *writer) {
	if !s.State.Valid() {
		w.fail("unknown state %d", byte(s.State))
	}
	w.u8(byte(s.State))
	w.u8(s.TimeoutS)
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
func (s SetStaff) MarshalBinary() ([]byte, error) { return marshal(s, "SET_STAFF") }

func (s SetStaff) encode(w *writer) {
	w.str("staffId", s.StaffID)
	w.str("name", s.Name)
	w.str("title", s.Title)
	w.str("window", s.Window)
	if s.Stars > MaxStars {
		w.fail("stars %d, at most %d", s.Stars, MaxStars)
	}
	w.u8(s.Stars)
	w.str("photoRef", s.PhotoRef)
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
func (t SetTicket) MarshalBinary() ([]byte, error) { return marshal(t, "SET_TICKET") }

func (t SetTicket) encode(w *writer) {
	w.str("ticketNo", t.TicketNo)
	w.str("business", t.Business)
	w.u32(t.Visit)
}

// UnmarshalBinary decodes the payload.
func (t *SetTicket) UnmarshalBinary(b []byte) error {
	r := reader{what: "SET_TICKET", b: b}
	v := SetTicket{TicketNo: r.str("ticketNo"), Business: r.str("business"), Visit: r.u32("visit")}
	return r.end(func() { *t = v })
}

// MarshalBinary encodes the payload.
func (p Prompt) MarshalBinary() ([]byte, error) { return marshal(p, "PROMPT") }

func (p Prompt) encode(w *writer) {
	w.u8(p.VoiceID)
	w.str("text", p.Text)
}

// UnmarshalBinary decodes the payload.
func (p *Prompt) UnmarshalBinary(b []byte) error {
	r := reader{what: "PROMPT", b: b}
	v := Prompt{VoiceID: r.u8("voiceId"), Text: r.str("text")}
	return r.end(func() { *p = v })
}

// MarshalBinary encodes the payload.
func (t SetTime) MarshalBinary() ([]byte, error) { return marshal(t, "SET_TIME") }

func (t SetTime) encode(w *writer) {
	w.u32(t.Unix)
	w.u16(uint16(t.TzMin))
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

// Ellipsis ends a text that was cut to fit.
const Ellipsis = "…"

// Fit returns s as HPAD-1 can carry it in at most max bytes: invalid UTF-8 is
// replaced by U+FFFD, and a longer text is cut at a character boundary (a
// UTF-8 sequence — one Chinese character, three bytes — is never split) and
// ends with Ellipsis. changed tells whether the result differs from s.
func Fit(s string, max int) (fitted string, changed bool) {
	if !utf8.ValidString(s) {
		s, changed = strings.ToValidUTF8(s, "\uFFFD"), true
	}
	if max < 0 {
		max = 0
	}
	if len(s) <= max {
		return s, changed
	}
	keep, ell := max-len(Ellipsis), Ellipsis
	if keep <= 0 {
		keep, ell = max, ""
	}
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + ell, true
}

// Marshal encodes p like MarshalBinary and names the string fields it had to
// shorten (or repair) to fit the protocol: a string is at most MaxString
// bytes, a payload at most MaxPayload (the longest strings give way first).
// A caller counts them: the screen shows less than the hall meant.
func Marshal(p Payload) (b []byte, cut []string, err error) {
	e, ok := p.(encoder)
	if !ok {
		b, err = p.MarshalBinary()
		return b, nil, err
	}
	w := writer{what: CmdName(p.Cmd())}
	e.encode(&w)
	b, err = w.done()
	if err != nil {
		return nil, nil, err
	}
	return b, w.cut, nil
}

// FitPayload returns p with its strings as the wire will carry them (what
// Marshal would shorten, shortened) and the fields that changed.
func FitPayload[P Payload](p P) (P, []string) {
	b, cut, err := Marshal(p)
	if err != nil || len(cut) == 0 {
		return p, nil
	}
	v := reflect.New(reflect.TypeOf(p)) // p's own type, also when P is an interface
	if u, ok := v.Interface().(encoding.BinaryUnmarshaler); ok && u.UnmarshalBinary(b) == nil {
		if out, ok := v.Elem().Interface().(P); ok {
			return out, cut
		}
	}
	return p, cut
}

// encoder is implemented by the typed payloads.
type encoder interface{ encode(w *writer) }

func marshal(e encoder, what string) ([]byte, error) {
	w := writer{what: what}
	e.encode(&w)
	return w.done()
}

// writer collects fields; the first error sticks and later fields are
// skipped. Strings are kept apart until done, which fits them into the
// payload.
type writer struct {
	what  string
	parts []part
	err   error
	cut   []string // fields shortened or repaired
}

// part is raw bytes, or a string field (u8 length + UTF-8).
type part struct {
	raw   []byte
	field string
	s     string
	str   bool
}

func (w *writer) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf("hpad: encode %s: %s: %w", w.what, fmt.Sprintf(format, args...), ErrInvalid)
	}
}

func (w *writer) raw(b ...byte) {
	if n := len(w.parts); n > 0 && !w.parts[n-1].str {
		w.parts[n-1].raw = append(w.parts[n-1].raw, b...)
		return
	}
	w.parts = append(w.parts, part{raw: b})
}

func (w *writer) u8(v byte)    { w.raw(v) }
func (w *writer) u16(v uint16) { w.raw(binary.LittleEndian.AppendUint16(nil, v)...) }
func (w *writer) u32(v uint32) { w.raw(binary.LittleEndian.AppendUint32(nil, v)...) }

// str writes a u8 length and the UTF-8 bytes. Text too long for the protocol
// is cut on a character boundary (Fit), never refused: a screen that cannot
// be encoded would stop the pad being polled at all. Marshal names the
// fields that were cut.
func (w *writer) str(field, s string) {
	if f, changed := Fit(s, MaxString); changed {
		s = f
		w.mark(field)
	}
	w.parts = append(w.parts, part{field: field, s: s, str: true})
}

func (w *writer) mark(field string) {
	for _, f := range w.cut {
		if f == field {
			return
		}
	}
	w.cut = append(w.cut, field)
}

func (w *writer) size() int {
	n := 0
	for _, p := range w.parts {
		if p.str {
			n += 1 + len(p.s)
		} else {
			n += len(p.raw)
		}
	}
	return n
}

func (w *writer) done() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	// Too long altogether: the longest strings give way until it fits.
	for over := w.size() - MaxPayload; over > 0; over = w.size() - MaxPayload {
		longest := -1
		for i, p := range w.parts {
			if p.str && len(p.s) > 0 && (longest < 0 || len(p.s) > len(w.parts[longest].s)) {
				longest = i
			}
		}
		if longest < 0 {
			w.fail("payload is %d bytes, at most %d", w.size(), MaxPayload)
			return nil, w.err
		}
		p := &w.parts[longest]
		p.s, _ = Fit(p.s, max(len(p.s)-over, 0))
		w.mark(p.field)
	}
	b := make([]byte, 0, w.size())
	for _, p := range w.parts {
		if p.str {
			b = append(b, byte(len(p.s)))
			b = append(b, p.s...)
		} else {
			b = append(b, p.raw...)
		}
	}
	return b, nil
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
