package hall

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"halld/daemon/config"
)

// Bounds on what a command may carry. A request (or a device) that sends
// more is refused with a Chinese message, so that no number overflows, no
// text outgrows the screens that show it, and no state grows without end.
const (
	// MaxPauseReason is the longest pause reason, in characters: a pad's
	// screen line "暂停服务 · <reason> · 预计 15:04 回来" must fit HPAD-1's
	// 255-byte string even when every character takes four bytes.
	MaxPauseReason = 50
	// MaxPauseMinutes is the longest announced pause (a working day).
	MaxPauseMinutes = 480
	// MaxRatingReasons and MaxRatingReason bound a rating's reasons (the
	// hall's list has at most 8, HPAD-1's bitmap too); MaxComment its comment.
	MaxRatingReasons = 8
	MaxRatingReason  = 50
	MaxComment       = 500
	// MaxNote bounds a follow-up step's note; MaxNoticeText a board notice.
	MaxNote       = 1000
	MaxNoticeText = 200
	// MaxID bounds identifiers a caller chooses: request ids, booking codes,
	// notice ids, staff ids without a roster, masked ID numbers, who did a step.
	MaxID = 128
	// MaxSlot is the longest appointment slot; MaxBookAhead how far from now
	// (either way) a slot may lie.
	MaxSlot      = 24 * time.Hour
	MaxBookAhead = 366 * 24 * time.Hour
)

// Ticket channels: how a number was taken.
var TicketChannels = []string{"kiosk", "appointment", "window", "api"}

// Rating channels (the export maps them to GB/T 39046's 评价渠道).
var RatingChannels = []string{"pad", "mqtt", "api", "qr"}

func chars(s string) int { return utf8.RuneCountInString(s) }

// tooLong refuses a text of more than max characters.
func tooLong(code, what, s string, max int) error {
	if chars(s) > max {
		return refuse(400, code, fmt.Sprintf("%s最多 %d 个字（现有 %d 个）", what, max, chars(s)))
	}
	return nil
}

// badID refuses an identifier that is too long or holds control characters.
func badID(code, what, s string) error {
	if len(s) > MaxID {
		return refuse(400, code, fmt.Sprintf("%s过长（最多 %d 个字符）", what, MaxID))
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == utf8.RuneError }) {
		return refuse(400, code, what+"含有无效字符")
	}
	return nil
}

// clip cuts text from a device or the hall itself (not a person's request:
// that is refused) to max characters, marking the cut.
func clip(s string, max int) string {
	if chars(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

func oneOf(s string, set []string) bool {
	for _, v := range set {
		if v == s {
			return true
		}
	}
	return false
}

// Numbering overflow modes (hall.numbering.overflow).
const (
	OverflowGrow = "grow" // A999 → A1000 (default)
	OverflowWrap = "wrap" // A999 → A001, skipping numbers still in use that day
	OverflowStop = "stop" // no more tickets that day
)

// MaxDailyTickets bounds a service's tickets in a day when numbers grow or
// wrap (config.MaxDailyTickets).
const MaxDailyTickets = 99999

// numbering reads hall.numbering: the least digits of a number and what
// follows max_number. It reads the fields by name so the rules build with
// a config that does not have them yet (then: 3 digits, grow).
func numbering(cfg *config.Config) (digits int, overflow string) {
	digits, overflow = 3, OverflowGrow
	n := cfg.Hall.Numbering
	if n.Digits > 0 && n.Digits <= 9 {
		digits = n.Digits
	}
	switch n.Overflow {
	case OverflowWrap, OverflowStop:
		overflow = n.Overflow
	}
	return
}

// numberWidth is how many digits a service's numbers are padded to: the
// hall's digits, or as many as its max_number has.
func numberWidth(cfg *config.Config, svc *config.Service) int {
	d, _ := numbering(cfg)
	return max(d, len(strconv.Itoa(maxNumber(svc))))
}

func maxNumber(svc *config.Service) int {
	if svc.MaxNumber > 0 {
		return svc.MaxNumber
	}
	return config.DefaultMaxNumber
}

func formatNumber(prefix string, width, n int) string {
	return prefix + fmt.Sprintf("%0*d", width, n)
}

// rateBounds refuses a rating that carries more than a rating can: more
// reasons than the hall offers, long reasons or comment, an unknown channel.
func rateBounds(c Rate) error {
	if len(c.Reasons) > MaxRatingReasons {
		return refuse(400, "bad_reasons", fmt.Sprintf("评价原因最多选 %d 项", MaxRatingReasons))
	}
	for _, r := range c.Reasons {
		if r == "" {
			return refuse(400, "bad_reasons", "评价原因不能为空")
		}
		if err := tooLong("bad_reasons", "每项评价原因", r, MaxRatingReason); err != nil {
			return err
		}
	}
	if err := tooLong("comment_too_long", "评价意见", c.Comment, MaxComment); err != nil {
		return err
	}
	if c.Channel != "" && !oneOf(c.Channel, RatingChannels) {
		return refuse(400, "bad_channel", "评价渠道不正确："+clip(c.Channel, 32)+"（可选 pad、mqtt、api、qr）")
	}
	return badID("bad_device", "评价设备", c.Device)
}
