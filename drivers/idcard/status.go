package idcard

import (
	"errors"
	"fmt"
)

// Status is a reply's SW3, docs/protocols.md §2.3 (SW1 = SW2 = 00). Every code
// but OK and FindOK is an error, so a driver can return it as is and callers
// can test errors.Is(err, idcard.NoCard). Error() is English, for logs;
// Message() is Chinese, for the kiosk screen.
//
// Codes 01, 02, 03 and 05 of the vendor DLLs (sdtapi.dll) are host-side
// codes, never sent on the wire, and have no constant here.
type Status byte

const (
	OK              Status = 0x90 // done
	FindOK          Status = 0x9F // find card: a card is in the field
	NoContent       Status = 0x91 // the card has no content for this item
	BadHostChecksum Status = 0x10 // the host's frame failed the XOR
	BadHostLength   Status = 0x11 // the host's frame had a wrong length
	BadCommand      Status = 0x21 // bad value or logic combination
	UnauthorisedOp  Status = 0x23 // operation not allowed
	UnknownError    Status = 0x24
	CardAuthFailed  Status = 0x31 // card→SAM authentication
	SAMAuthFailed   Status = 0x32 // SAM→card authentication
	VerifyFailed    Status = 0x33 // information verification
	UnknownCardType Status = 0x40
	ReadFailed      Status = 0x41
	RandomFailed    Status = 0x47 // get random number
	SelfTestFailed  Status = 0x60 // the SAM cannot take commands
	SAMUnauthorised Status = 0x66 // the SAM is not authorised, unusable
	NoCard          Status = 0x80 // find card failed: no card
	SelectFailed    Status = 0x81
)

type statusText struct{ en, zh string }

var statusTexts = map[Status]statusText{
	OK:              {"OK", "操作成功"},
	FindOK:          {"card found", "找到证件"},
	NoContent:       {"the card has no content for this item", "证件无此项信息"},
	BadHostChecksum: {"checksum error in the host's frame", "读卡器通信校验错误，请稍候重试"},
	BadHostLength:   {"length error in the host's frame", "读卡器通信长度错误，请稍候重试"},
	BadCommand:      {"command error", "读卡器命令错误，请联系工作人员"},
	UnauthorisedOp:  {"unauthorised operation", "读卡器拒绝越权操作，请联系工作人员"},
	UnknownError:    {"unknown error", "读卡器未知错误，请联系工作人员"},
	CardAuthFailed:  {"card-to-SAM authentication failed", "证件认证失败，请重新放置证件"},
	SAMAuthFailed:   {"SAM-to-card authentication failed", "证件认证失败，请重新放置证件"},
	VerifyFailed:    {"information verification failed", "证件信息验证失败，请重新放置证件"},
	UnknownCardType: {"unrecognised card type", "无法识别的证件类型"},
	ReadFailed:      {"read card failed", "读卡失败，请重新放置证件"},
	RandomFailed:    {"get random number failed", "读卡失败，请重新放置证件"},
	SelfTestFailed:  {"SAM self-test failed", "读卡器自检失败，请联系工作人员"},
	SAMUnauthorised: {"SAM not authorised", "读卡器未授权，请联系工作人员"},
	NoCard:          {"no card", "请将证件放在读卡区"},
	SelectFailed:    {"select card failed", "选卡失败，请重新放置证件"},
}

// Known reports whether s is a code of docs/protocols.md §2.3.
func (s Status) Known() bool { _, ok := statusTexts[s]; return ok }

// Error is the English text for logs: "idcard: SW3 41: read card failed".
func (s Status) Error() string {
	if t, ok := statusTexts[s]; ok {
		return fmt.Sprintf("idcard: SW3 %02X: %s", byte(s), t.en)
	}
	return fmt.Sprintf("idcard: SW3 %02X: unknown status", byte(s))
}

// Message is the Chinese text for the kiosk screen.
func (s Status) Message() string {
	if t, ok := statusTexts[s]; ok {
		return t.zh
	}
	return "读卡器返回未知状态，请联系工作人员"
}

// Success reports a good reply: OK, or FindOK (only find card returns it).
func (s Status) Success() bool { return s == OK || s == FindOK }

// IsNoCard reports the no-card reply of find card.
func (s Status) IsNoCard() bool { return s == NoCard }

// SAMFault reports a code that says the SAM itself is unusable (self-test
// failed, not authorised): no card can be read until hall IT acts.
func (s Status) SAMFault() bool { return s == SelfTestFailed || s == SAMUnauthorised }

// HostFrameError reports a code that blames the host's frame (checksum,
// length): line noise, worth sending the same command again.
func (s Status) HostFrameError() bool { return s == BadHostChecksum || s == BadHostLength }

// IsNoCard reports whether err is (or wraps) the no-card status.
func IsNoCard(err error) bool {
	var s Status
	return errors.As(err, &s) && s.IsNoCard()
}
