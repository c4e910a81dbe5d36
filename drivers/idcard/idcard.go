// Package idcard is the codec for second-generation resident ID card readers
// (二代身份证阅读器) that speak the SAM serial protocol (GA 467; text layouts
// GA/T 490), docs/protocols.md §2. It is pure code, no I/O: frames and their XOR
// check, a streaming decoder that resyncs after garbage, every command of
// §2.2, the SW3 status codes, and the 256-byte text block in its four
// layouts (resident card, HK/Macao/Taiwan residence permit, the 2017 and
// 2023 foreigner permanent residence cards). The reader's side (a
// simulator) is idcard/idcardsim; the I/O driver is idcard/reader.
//
// Frame: AA AA AA 96 69 | LEN u16 BE | body | CHK. LEN counts the bytes
// after itself, CHK included. CHK is the XOR of LEN1 through the last body
// byte. A command's body is CMD PARA DATA; a response's is SW1 SW2 SW3 DATA.
//
// A Card holds personal data: it prints, logs and marshals only its kind and
// masked number (see Card).
package idcard

import (
	"encoding/binary"
	"fmt"
)

// Framing.
const (
	HeaderLen = 7    // preamble and LEN
	MaxLen    = 4096 // largest LEN a receiver accepts; the longest known reply (30 10) has 2314
	MinCmdLen = 3    // LEN of a command without data: CMD PARA CHK
	MinRspLen = 4    // LEN of a response without data: SW1 SW2 SW3 CHK
)

// preamble starts every frame in both directions.
var preamble = [5]byte{0xAA, 0xAA, 0xAA, 0x96, 0x69}

// Command codes (CMD) and parameters (PARA), docs/protocols.md §2.2.
const (
	CmdResetSAM  byte = 0x10
	CmdSAMStatus byte = 0x11
	CmdSAMID     byte = 0x12
	CmdCard      byte = 0x20 // PARA ParaFind or ParaSelect
	CmdRead      byte = 0x30 // PARA ParaText, ParaExtraAddress, ParaMID, ParaFingerprint
	CmdSetRF     byte = 0x61

	ParaNone         byte = 0xFF
	ParaFind         byte = 0x01
	ParaSelect       byte = 0x02
	ParaText         byte = 0x01 // text and photo
	ParaExtraAddress byte = 0x03
	ParaMID          byte = 0x05
	ParaFingerprint  byte = 0x10 // text, photo and fingerprints

	// DefaultRFFrame is the RF frame size HEV sets at open (61 FF 50).
	DefaultRFFrame byte = 0x50
)

// Command is one host→SAM request.
type Command struct {
	Cmd, Para byte
	Data      []byte
}

// Encode returns the command's frame.
func (c Command) Encode() []byte { return Encode(c.Cmd, c.Para, c.Data) }

// Is reports whether c is the same request as o (CMD and PARA; data aside).
func (c Command) Is(o Command) bool { return c.Cmd == o.Cmd && c.Para == o.Para }

var commandNames = map[[2]byte]string{
	{CmdResetSAM, ParaNone}:     "reset SAM",
	{CmdSAMStatus, ParaNone}:    "SAM status",
	{CmdSAMID, ParaNone}:        "read SAM id",
	{CmdCard, ParaFind}:         "find card",
	{CmdCard, ParaSelect}:       "select card",
	{CmdRead, ParaText}:         "read card",
	{CmdRead, ParaExtraAddress}: "read extra address",
	{CmdRead, ParaMID}:          "read card MID",
	{CmdRead, ParaFingerprint}:  "read card with fingerprint",
	{CmdSetRF, ParaNone}:        "set max RF frame",
}

// String names the command for logs and errors: "find card (20 01)".
func (c Command) String() string {
	name, ok := commandNames[[2]byte{c.Cmd, c.Para}]
	if !ok {
		name = "command"
	}
	return fmt.Sprintf("%s (%02X %02X)", name, c.Cmd, c.Para)
}

// The commands of docs/protocols.md §2.2.

// ResetSAM resets the SAM (10 FF → 90). BearPi lists 01 FF instead; 10 is
// the canonical code (open question in docs/protocols.md §5).
func ResetSAM() Command { return Command{Cmd: CmdResetSAM, Para: ParaNone} }

// SAMStatus asks for the SAM's state (11 FF → 90; 60 self-test failed, 66
// not authorised). It is also the probe that tells a reader is attached.
func SAMStatus() Command { return Command{Cmd: CmdSAMStatus, Para: ParaNone} }

// ReadSAMID asks for the SAM's id (12 FF → 90 + 16 bytes, see FormatSAMID).
func ReadSAMID() Command { return Command{Cmd: CmdSAMID, Para: ParaNone} }

// FindCard looks for a card in the field (20 01 → 9F found, 80 none).
func FindCard() Command { return Command{Cmd: CmdCard, Para: ParaFind} }

// SelectCard selects the card found (20 02 → 90 + 8 bytes, 81 failed).
func SelectCard() Command { return Command{Cmd: CmdCard, Para: ParaSelect} }

// ReadCard reads the text and the photo (30 01 → 90 + ParseRead's layout).
func ReadCard() Command { return Command{Cmd: CmdRead, Para: ParaText} }

// ReadExtraAddress reads the 追加住址 (30 03 → 90 + up to 4×70 bytes, 91 none).
func ReadExtraAddress() Command { return Command{Cmd: CmdRead, Para: ParaExtraAddress} }

// ReadMID reads the card body management number 卡体管理号 (30 05).
func ReadMID() Command { return Command{Cmd: CmdRead, Para: ParaMID} }

// ReadCardFingerprint reads text, photo and fingerprints (30 10 → 90 +
// ParseReadFingerprint's layout).
func ReadCardFingerprint() Command { return Command{Cmd: CmdRead, Para: ParaFingerprint} }

// SetMaxRFFrame sets the largest RF frame (61 FF n → 90); HEV sends
// DefaultRFFrame once at open.
func SetMaxRFFrame(n byte) Command {
	return Command{Cmd: CmdSetRF, Para: ParaNone, Data: []byte{n}}
}

// Accepts reports whether r can be the reply to c. The protocol has no
// sequence number, so a reply that came after the host gave up on it would
// otherwise pass for the answer to the next command, and every reply after
// it would be one command late. Each command has its own set of answers:
//
//   - any command: the host-frame and command errors (10, 11, 21, 23, 24),
//     the SAM's own faults (60, 66), and codes outside the table;
//   - SAM status, reset, set RF frame: 90 without data;
//   - read SAM id: 90 with at least the 16 id bytes;
//   - find: 9F, and the card codes (80, 81, 91, 31–33, 40, 41, 47);
//   - select: 90 (with any data: sources agree on 8 bytes, none checks),
//     and the card codes;
//   - read text and photo (30 01, 30 10): 90 with at least the text block,
//     and the card codes; other reads: 90, and the card codes.
//
// 9F is an answer to find only; 90 is never one.
func (c Command) Accepts(r Response) bool {
	st := r.Status()
	switch st {
	case BadHostChecksum, BadHostLength, BadCommand, UnauthorisedOp, UnknownError, SelfTestFailed, SAMUnauthorised:
		return true
	}
	if !st.Known() {
		return true
	}
	cardCode := !st.Success()
	switch {
	case c.Is(SAMStatus()), c.Is(ResetSAM()), c.Cmd == CmdSetRF:
		return st == OK && len(r.Data) == 0
	case c.Is(ReadSAMID()):
		return st == OK && len(r.Data) >= SAMIDLen
	case c.Is(FindCard()):
		return st == FindOK || cardCode
	case c.Is(SelectCard()):
		return st == OK || cardCode
	case c.Is(ReadCard()), c.Is(ReadCardFingerprint()):
		return st == OK && len(r.Data) >= 4+TextLen || cardCode
	case c.Cmd == CmdRead:
		return st == OK || cardCode
	}
	return st != FindOK
}

// Encode returns the frame of a command. It panics when data is longer than
// a frame can carry, a programming error: no command has more than a byte.
func Encode(cmd, para byte, data []byte) []byte {
	return frame([]byte{cmd, para}, data)
}

// Response is one SAM→host reply.
type Response struct {
	SW1, SW2, SW3 byte
	Data          []byte
}

// Status is the reply's SW3.
func (r Response) Status() Status { return Status(r.SW3) }

// EncodeResponse returns the frame of a reply (the reader's side).
func EncodeResponse(r Response) []byte {
	return frame([]byte{r.SW1, r.SW2, r.SW3}, r.Data)
}

// frame wraps head and data: preamble, LEN, body, XOR.
func frame(head, data []byte) []byte {
	n := len(head) + len(data) + 1
	if n > MaxLen {
		panic(fmt.Sprintf("idcard: frame body of %d bytes exceeds LEN %d", n-1, MaxLen))
	}
	b := make([]byte, 0, HeaderLen+n)
	b = append(b, preamble[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	b = append(b, head...)
	b = append(b, data...)
	return append(b, Checksum(b[5:]))
}

// Checksum is the XOR of b: pass LEN1 through the last body byte.
func Checksum(b []byte) byte {
	var x byte
	for _, c := range b {
		x ^= c
	}
	return x
}
