package idcard

import (
	"bytes"
	"encoding/hex"
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

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// The full frames of docs/protocols.md §2.2, byte for byte.
func TestCommandFrames(t *testing.T) {
	tests := []struct {
		cmd  Command
		want string
		name string
	}{
		{ResetSAM(), "AA AA AA 96 69 00 03 10 FF EC", "reset SAM (10 FF)"},
		{SAMStatus(), "AA AA AA 96 69 00 03 11 FF ED", "SAM status (11 FF)"},
		{ReadSAMID(), "AA AA AA 96 69 00 03 12 FF EE", "read SAM id (12 FF)"},
		{FindCard(), "AA AA AA 96 69 00 03 20 01 22", "find card (20 01)"},
		{SelectCard(), "AA AA AA 96 69 00 03 20 02 21", "select card (20 02)"},
		{ReadCard(), "AA AA AA 96 69 00 03 30 01 32", "read card (30 01)"},
		{ReadExtraAddress(), "AA AA AA 96 69 00 03 30 03 30", "read extra address (30 03)"},
		{ReadMID(), "AA AA AA 96 69 00 03 30 05 36", "read card MID (30 05)"},
		{ReadCardFingerprint(), "AA AA AA 96 69 00 03 30 10 23", "read card with fingerprint (30 10)"},
		{SetMaxRFFrame(DefaultRFFrame), "AA AA AA 96 69 00 04 61 FF 50 CA", "set max RF frame (61 FF)"},
	}
	for _, tt := range tests {
		if got := tt.cmd.Encode(); !bytes.Equal(got, unhex(t, tt.want)) {
			t.Errorf("%s: % X, want %s", tt.name, got, tt.want)
		}
		if got := Encode(tt.cmd.Cmd, tt.cmd.Para, tt.cmd.Data); !bytes.Equal(got, unhex(t, tt.want)) {
			t.Errorf("Encode %s: % X", tt.name, got)
		}
		if got := tt.cmd.String(); got != tt.name {
			t.Errorf("String() = %q, want %q", got, tt.name)
		}
	}
	if got := (Command{Cmd: 0x7A, Para: 0x01}).String(); got != "command (7A 01)" {
		t.Errorf("unknown command named %q", got)
	}
	if !FindCard().Is(Command{Cmd: 0x20, Para: 0x01, Data: []byte{1}}) || FindCard().Is(SelectCard()) {
		t.Error("Is compares CMD and PARA")
	}
}

// The replies docs/protocols.md spells out in full or by their last bytes.
func TestResponseFrames(t *testing.T) {
	tests := []struct {
		name string
		r    Response
		want string
	}{
		{"find card OK", Response{SW3: 0x9F, Data: make([]byte, 4)}, "AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97"},
		{"no card", Response{SW3: 0x80}, "AA AA AA 96 69 00 04 00 00 80 84"},
		{"select failed", Response{SW3: 0x81}, "AA AA AA 96 69 00 04 00 00 81 85"},
		{"read failed", Response{SW3: 0x41}, "AA AA AA 96 69 00 04 00 00 41 45"},
	}
	for _, tt := range tests {
		if got := EncodeResponse(tt.r); !bytes.Equal(got, unhex(t, tt.want)) {
			t.Errorf("%s: % X, want %s", tt.name, got, tt.want)
		}
	}
	// The select reply is 19 bytes, the read reply 1295 with LEN 05 08.
	if n := len(EncodeResponse(Response{SW3: 0x90, Data: make([]byte, 8)})); n != 19 {
		t.Errorf("select reply of %d bytes", n)
	}
	read := EncodeResponse(Response{SW3: 0x90, Data: make([]byte, ReadDataLen)})
	if len(read) != 1295 || read[5] != 0x05 || read[6] != 0x08 {
		t.Errorf("read reply of %d bytes, LEN % X", len(read), read[5:7])
	}
}

func TestEncodeTooLongPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Encode(0x30, 0x01, make([]byte, MaxLen))
}

func TestChecksum(t *testing.T) {
	// XOR from LEN1 to the last data byte; the preamble is not included.
	if got := Checksum(unhex(t, "00 04 61 FF 50")); got != 0xCA {
		t.Fatalf("checksum %02X", got)
	}
}

// Replies that came late must not pass for the answer to the next command.
func TestAccepts(t *testing.T) {
	ok := func(n int) Response { return Response{SW3: 0x90, Data: make([]byte, n)} }
	st := func(s Status) Response { return Response{SW3: byte(s)} }
	found := Response{SW3: 0x9F, Data: make([]byte, 4)}
	read := ok(ReadDataLen)
	tests := []struct {
		cmd  Command
		r    Response
		want bool
	}{
		{SAMStatus(), ok(0), true},
		{SAMStatus(), st(SAMUnauthorised), true},
		{SAMStatus(), st(BadHostChecksum), true},
		{SAMStatus(), st(NoCard), false}, // a late find reply
		{SAMStatus(), found, false},
		{SAMStatus(), ok(8), false}, // a late select reply
		{SAMStatus(), st(0x42), true},
		{ReadSAMID(), ok(16), true},
		{ReadSAMID(), ok(0), false},
		{SetMaxRFFrame(0x50), ok(0), true},
		{SetMaxRFFrame(0x50), read, false},
		{ResetSAM(), ok(0), true},
		{FindCard(), found, true},
		{FindCard(), st(NoCard), true},
		{FindCard(), st(CardAuthFailed), true},
		{FindCard(), ok(0), false}, // find never answers 90
		{FindCard(), read, false},
		{SelectCard(), ok(8), true},
		{SelectCard(), ok(0), true},
		{SelectCard(), st(SelectFailed), true},
		{SelectCard(), found, false},
		{ReadCard(), read, true},
		{ReadCard(), st(ReadFailed), true},
		{ReadCard(), ok(8), false}, // a late select reply
		{ReadCard(), ok(0), false},
		{ReadCard(), found, false},
		{ReadCardFingerprint(), ok(ReadDataLen + 2 + FingerprintLen), true},
		{ReadExtraAddress(), st(NoContent), true},
		{ReadExtraAddress(), ok(140), true},
		{ReadMID(), ok(24), true},
		{Command{Cmd: 0x7A}, ok(0), true},
		{Command{Cmd: 0x7A}, found, false},
	}
	for _, tt := range tests {
		if got := tt.cmd.Accepts(tt.r); got != tt.want {
			t.Errorf("%v accepts SW3 %02X with %d bytes: %v", tt.cmd, tt.r.SW3, len(tt.r.Data), got)
		}
	}
}
