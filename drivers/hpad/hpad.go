// Package hpad is the HPAD-1 codec for window evaluation pads (好差评评价器),
// our own design in docs/protocols.md §3: binary frames on an RS-485 line where
// the daemon is the only master. It is pure code, no I/O: frames, the
// CRC-16/MODBUS check, a streaming decoder that resyncs after garbage, and
// typed payloads for every command and reply. The pads' side (a simulator)
// is hpad/hpadsim.
//
// Frame: STX 02 | ADDR | SEQ | CMD | LEN u16 LE | PAYLOAD | CRC u16 LE | ETX 03.
// The CRC covers ADDR…PAYLOAD. Integers are little-endian; strings are a u8
// length and UTF-8.
package hpad

import (
	"encoding/binary"
	"fmt"
)

// Framing.
const (
	STX        byte = 0x02
	ETX        byte = 0x03
	MaxPayload      = 1024 // longest LEN a receiver accepts
	MaxString       = 255  // longest string, in bytes (its length is a u8)
	MaxEvents       = 16   // most events in one POLL reply
	Overhead        = 9    // frame bytes besides the payload
	headerLen       = 6    // STX ADDR SEQ CMD LEN
)

// ProtoVersion is the protocol version a HELLO reply carries for HPAD-1.
const ProtoVersion = 1

// Addresses.
const (
	AddrBroadcast byte = 0x00 // every pad executes, none replies
	AddrMin       byte = 0x01
	AddrMax       byte = 0xF7
	AddrAny       byte = 0xFE // "whoever is attached": point-to-point links only, never on a shared bus
)

// Commands. A reply carries CMD|ReplyFlag; an error reply carries CmdError.
const (
	CmdHello     byte = 0x01
	CmdPoll      byte = 0x02
	CmdAckEvt    byte = 0x03
	CmdSetState  byte = 0x10
	CmdSetStaff  byte = 0x11
	CmdSetTicket byte = 0x12
	CmdPrompt    byte = 0x13
	CmdSetTime   byte = 0x14
	CmdError     byte = 0xFF
	ReplyFlag    byte = 0x80
)

// ReplyCmd is the CMD byte of a successful reply to cmd.
func ReplyCmd(cmd byte) byte { return cmd | ReplyFlag }

// IsReply tells a device's reply (or error reply) from a master's request.
// On a shared bus every node hears every frame, so a pad must ignore
// replies (another pad's, or an echo of its own) and a master must ignore
// requests (an echo of its own).
func IsReply(cmd byte) bool { return cmd&ReplyFlag != 0 }

var cmdNames = map[byte]string{
	CmdHello: "HELLO", CmdPoll: "POLL", CmdAckEvt: "ACK_EVT", CmdSetState: "SET_STATE",
	CmdSetStaff: "SET_STAFF", CmdSetTicket: "SET_TICKET", CmdPrompt: "PROMPT", CmdSetTime: "SET_TIME",
}

// CmdName names a CMD byte for logs: "POLL", "POLL reply", "ERROR", "CMD 7A".
func CmdName(cmd byte) string {
	if cmd == CmdError {
		return "ERROR"
	}
	if n, ok := cmdNames[cmd&^ReplyFlag]; ok {
		if IsReply(cmd) {
			return n + " reply"
		}
		return n
	}
	return fmt.Sprintf("CMD %02X", cmd)
}

// State is what a pad shows (SET_STATE).
type State byte

const (
	StateIdle    State = 0 // 欢迎光临
	StateServing State = 1 // staff and ticket
	StateRate    State = 2 // 请评价
	StatePaused  State = 3 // 暂停服务 / 临时外出
	StateThanks  State = 4 // 谢谢评价, entered by the pad itself after a rating
	StateOff     State = 5 // screen off
)

var stateNames = [...]string{"IDLE", "SERVING", "RATE", "PAUSED", "THANKS", "OFF"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", byte(s))
}

// Valid reports whether s is a defined state.
func (s State) Valid() bool { return s <= StateOff }

// EventType is the kind of a pad event.
type EventType byte

const (
	EventRating  EventType = 1 // Value is the rating, Reasons a bitmap
	EventTimeout EventType = 2 // RATE timed out without a press; Value 0
	EventKey     EventType = 3 // Value is a key code
	EventFault   EventType = 4 // Value is a vendor fault code
)

func (t EventType) String() string {
	switch t {
	case EventRating:
		return "RATING"
	case EventTimeout:
		return "TIMEOUT"
	case EventKey:
		return "KEY"
	case EventFault:
		return "FAULT"
	}
	return fmt.Sprintf("EventType(%d)", byte(t))
}

// Key codes (the Value of a KEY event). Codes ≥ KeyVendor are vendor keys.
const (
	KeyCallNext  = 1 // 叫号
	KeyRecall    = 2 // 重呼
	KeyPause     = 3 // 暂停
	KeyResume    = 4 // 恢复
	KeyFinish    = 5 // 办结
	KeyNoShow    = 6 // 过号
	KeyTransfer  = 7 // 转移
	KeySignInOut = 8 // 签到/签退
	KeyVendor    = 0x80
)

// Rating values (the Value of a RATING event), the national five levels.
const (
	RatingVerySatisfied    = 5 // 非常满意
	RatingSatisfied        = 4 // 满意
	RatingBasicSatisfied   = 3 // 基本满意
	RatingDissatisfied     = 2 // 不满意
	RatingVeryDissatisfied = 1 // 非常不满意
)

// ReasonsRequired reports whether a rating must carry reasons (a 差评:
// 不满意 or 非常不满意).
func ReasonsRequired(value byte) bool { return value <= RatingDissatisfied }

var ratingLabels = [...]string{"", "非常不满意", "不满意", "基本满意", "满意", "非常满意"}

// RatingLabel is the Chinese label of a rating value, "" if out of range.
func RatingLabel(v byte) string {
	if v >= 1 && int(v) < len(ratingLabels) {
		return ratingLabels[v]
	}
	return ""
}

// Capability bits of the HELLO reply.
const (
	CapScreen  uint16 = 1 << 0
	CapPhoto   uint16 = 1 << 1
	CapVoice   uint16 = 1 << 2
	CapReasons uint16 = 1 << 3
)

// ErrorCode is the code of an error reply (CMD FF). It is an error, so a
// master can return it as is and callers can test errors.Is(err, ErrBusy).
type ErrorCode byte

const (
	ErrUnknownCmd ErrorCode = 1 // the pad does not know CMD
	ErrBadPayload ErrorCode = 2 // the payload does not parse
	ErrBusy       ErrorCode = 3 // retry later
	ErrNotAllowed ErrorCode = 4 // not in the current state (RATE without a ticket)
)

func (c ErrorCode) Error() string {
	switch c {
	case ErrUnknownCmd:
		return "hpad: pad error 1: unknown command"
	case ErrBadPayload:
		return "hpad: pad error 2: bad payload"
	case ErrBusy:
		return "hpad: pad error 3: busy"
	case ErrNotAllowed:
		return "hpad: pad error 4: not allowed in the current state"
	}
	return fmt.Sprintf("hpad: pad error %d", byte(c))
}

// Frame is one HPAD-1 frame, request or reply.
type Frame struct {
	Addr, Seq, Cmd byte
	Payload        []byte
}

func (f Frame) String() string {
	return fmt.Sprintf("addr=%02X seq=%02X %s len=%d % X", f.Addr, f.Seq, CmdName(f.Cmd), len(f.Payload), f.Payload)
}

// Encode returns the frame's bytes on the wire. It panics if the payload is
// longer than MaxPayload, a programming error: the typed payloads' encoders
// and NewFrame never produce one.
func Encode(f Frame) []byte {
	if len(f.Payload) > MaxPayload {
		panic(fmt.Sprintf("hpad: %s payload of %d bytes exceeds %d", CmdName(f.Cmd), len(f.Payload), MaxPayload))
	}
	b := make([]byte, 0, Overhead+len(f.Payload))
	b = append(b, STX, f.Addr, f.Seq, f.Cmd)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(f.Payload)))
	b = append(b, f.Payload...)
	b = binary.LittleEndian.AppendUint16(b, CRC16(b[1:]))
	return append(b, ETX)
}

// CRC16 is CRC-16/MODBUS: polynomial 0x8005 reflected (0xA001), initial
// value 0xFFFF, no final XOR. Its check value ("123456789") is 0x4B37. On the
// wire it goes low byte first.
func CRC16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}
