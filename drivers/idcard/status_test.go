package idcard

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode"
)

func TestStatusCodes(t *testing.T) {
	// Every code of docs/protocols.md §2.3, with its English text.
	tests := []struct {
		s        Status
		code     byte
		en       string
		success  bool
		samFault bool
		hostErr  bool
	}{
		{OK, 0x90, "OK", true, false, false},
		{FindOK, 0x9F, "card found", true, false, false},
		{NoContent, 0x91, "the card has no content for this item", false, false, false},
		{BadHostChecksum, 0x10, "checksum error in the host's frame", false, false, true},
		{BadHostLength, 0x11, "length error in the host's frame", false, false, true},
		{BadCommand, 0x21, "command error", false, false, false},
		{UnauthorisedOp, 0x23, "unauthorised operation", false, false, false},
		{UnknownError, 0x24, "unknown error", false, false, false},
		{CardAuthFailed, 0x31, "card-to-SAM authentication failed", false, false, false},
		{SAMAuthFailed, 0x32, "SAM-to-card authentication failed", false, false, false},
		{VerifyFailed, 0x33, "information verification failed", false, false, false},
		{UnknownCardType, 0x40, "unrecognised card type", false, false, false},
		{ReadFailed, 0x41, "read card failed", false, false, false},
		{RandomFailed, 0x47, "get random number failed", false, false, false},
		{SelfTestFailed, 0x60, "SAM self-test failed", false, true, false},
		{SAMUnauthorised, 0x66, "SAM not authorised", false, true, false},
		{NoCard, 0x80, "no card", false, false, false},
		{SelectFailed, 0x81, "select card failed", false, false, false},
	}
	for _, tt := range tests {
		if byte(tt.s) != tt.code {
			t.Errorf("%v is %02X, want %02X", tt.s, byte(tt.s), tt.code)
		}
		if want := fmt.Sprintf("idcard: SW3 %02X: %s", tt.code, tt.en); tt.s.Error() != want {
			t.Errorf("Error() = %q, want %q", tt.s.Error(), want)
		}
		if !tt.s.Known() || tt.s.Success() != tt.success || tt.s.SAMFault() != tt.samFault || tt.s.HostFrameError() != tt.hostErr {
			t.Errorf("%02X: known %v success %v SAM fault %v host error %v", tt.code, tt.s.Known(), tt.s.Success(), tt.s.SAMFault(), tt.s.HostFrameError())
		}
		if !hasHan(tt.s.Message()) {
			t.Errorf("%02X: Message() %q is not Chinese", tt.code, tt.s.Message())
		}
	}
	if len(statusTexts) != len(tests) {
		t.Errorf("%d codes have texts, %d are tested", len(statusTexts), len(tests))
	}
	// Host-DLL codes never come on the wire.
	for _, c := range []Status{0x01, 0x02, 0x03, 0x05, 0x42} {
		if c.Known() || !strings.Contains(c.Error(), "unknown status") || !hasHan(c.Message()) {
			t.Errorf("%02X: known %v, %q, %q", byte(c), c.Known(), c.Error(), c.Message())
		}
	}
}

func TestIsNoCard(t *testing.T) {
	err := fmt.Errorf("idreader-1: find card (20 01): %w", NoCard)
	if !IsNoCard(err) || !errors.Is(err, NoCard) || IsNoCard(fmt.Errorf("x: %w", SelectFailed)) || IsNoCard(nil) {
		t.Fatal("IsNoCard")
	}
	if !NoCard.IsNoCard() || OK.IsNoCard() {
		t.Fatal("Status.IsNoCard")
	}
	if (Response{SW3: 0x81}).Status() != SelectFailed {
		t.Fatal("Response.Status")
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

func TestFormatSAMID(t *testing.T) {
	data := unhex(t, "05 00 01 00 E5 D6 34 01 39 30 00 00 F2 D3 76 28")
	// 0x0134D6E5 = 20240101, 0x3039 = 12345, 0x2876D3F2 = 678876146
	got, err := FormatSAMID(data)
	if err != nil || got != "05.01-20240101-000012345-678876146" {
		t.Fatalf("FormatSAMID = %q, %v", got, err)
	}
	// Longer data (a reader that appends) is fine; shorter is not.
	if _, err := FormatSAMID(append(data, 0xFF)); err != nil {
		t.Fatal(err)
	}
	if _, err := FormatSAMID(data[:15]); err == nil {
		t.Fatal("15 bytes accepted")
	}
}
