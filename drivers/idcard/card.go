package idcard

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is the card type, told apart by the text block's offset 248.
type Kind string

const (
	KindResident      Kind = "resident"       // 居民身份证 (GA/T 490)
	KindHKMOTW        Kind = "hkmo_tw"        // 港澳台居民居住证, 'J'
	KindForeigner2017 Kind = "foreigner_2017" // 外国人永久居留证 (2017), 'I'
	KindForeigner2023 Kind = "foreigner_2023" // 外国人永久居留身份证 (2023), 'Y'
)

// Label is the card's Chinese name, for the kiosk.
func (k Kind) Label() string {
	switch k {
	case KindResident:
		return "居民身份证"
	case KindHKMOTW:
		return "港澳台居民居住证"
	case KindForeigner2017:
		return "外国人永久居留证"
	case KindForeigner2023:
		return "外国人永久居留身份证"
	}
	return "证件"
}

// Sex is a GB/T 2261.1-2003 sex code. Cards carry 1 or 2.
type Sex byte

const (
	SexUnknown     Sex = 0 // 未知的性别
	SexMale        Sex = 1
	SexFemale      Sex = 2
	SexUnspecified Sex = 9 // 未说明的性别
)

// Valid reports whether s is one of the four codes.
func (s Sex) Valid() bool { return s <= SexFemale || s == SexUnspecified }

// String is the Chinese label: 男, 女, 未知, 未说明.
func (s Sex) String() string {
	switch s {
	case SexMale:
		return "男"
	case SexFemale:
		return "女"
	case SexUnspecified:
		return "未说明"
	}
	return "未知"
}

// zone is the time zone of every date on a card.
var zone = loadZone()

func loadZone() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	// No zone database: China has kept UTC+8 without DST since 1991, and a
	// card date is a day, so midnight UTC+8 names the same day.
	return time.FixedZone("CST", 8*60*60)
}

// Zone is Asia/Shanghai, the zone card dates are in.
func Zone() *time.Location { return zone }

// Date is a card date: midnight in Asia/Shanghai.
func Date(year int, month time.Month, day int) time.Time {
	return time.Date(year, month, day, 0, 0, 0, 0, zone)
}

// Card is what a reader read from one card. It holds personal data (name,
// number, address, photo): it prints (fmt, any verb), logs (log/slog) and
// goes to text only as its kind and masked number, and refuses to marshal
// to JSON or text at all, so it cannot leave the machine by accident. Use
// Public for what the kiosk may show, and Wipe once the card is handled.
//
// Fields a layout does not carry are left zero.
type Card struct {
	Kind      Kind
	Name      string // Chinese name (on a 2017 foreigner card it may be empty)
	NameEn    string // English name: foreigner cards; inner spaces kept
	Sex       Sex
	Nation    Nation // resident cards only
	Birth     time.Time
	Address   string // resident and HK/Macao/Taiwan cards
	Number    string // 18-char ID number; 15-char PR number on a 2017 foreigner card
	Authority string // issuing authority: resident and HK/Macao/Taiwan cards
	ValidFrom time.Time
	ValidTo   time.Time // zero when Permanent
	Permanent bool      // valid to "长期"

	PassNumber    string // HK/Macao/Taiwan: 通行证号码
	IssueCount    int    // HK/Macao/Taiwan: 签发次数; 2023 foreigner: 换证次数
	Nationality   string // foreigner cards: GB/T 2659 alpha-3 code, e.g. "CAN"
	CardVersion   string // 2017 foreigner card: 证件版本号
	AuthorityCode string // 2017 foreigner card: 受理机关代码
	PrevCardLink  []byte // 2023 foreigner card: offset 250, 6 bytes, meaning unverified: kept raw

	PhotoWLT    []byte // WLT photo as read (1024 bytes); never decoded here
	Fingerprint []byte // fingerprint data, when read with 30 10
}

// MaskNumber keeps the last 4 characters of an id number and stars the
// rest: "**************123X". Numbers of 4 characters or fewer are all stars.
func MaskNumber(number string) string {
	n := utf8.RuneCountInString(number)
	if n <= 4 {
		return strings.Repeat("*", n)
	}
	r := []rune(number)
	return strings.Repeat("*", n-4) + string(r[n-4:])
}

// Masked is the card number with all but the last 4 characters starred.
func (c Card) Masked() string { return MaskNumber(c.Number) }

// String shows the kind and the masked number only.
func (c Card) String() string { return fmt.Sprintf("idcard.Card(%s %s)", c.Kind, c.Masked()) }

// GoString shows the kind and the masked number only.
func (c Card) GoString() string {
	return fmt.Sprintf("idcard.Card{Kind:%q, Number:%q}", string(c.Kind), c.Masked())
}

// Format makes every fmt verb (%d and %x too, which would otherwise print
// the fields) show String, or GoString for %#v.
func (c Card) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, c.GoString())
		return
	}
	fmt.Fprint(f, c.String())
}

// LogValue is what log/slog records: the kind and the masked number.
func (c Card) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", string(c.Kind)), slog.String("number", c.Masked()))
}

// ErrPersonalData is returned by the marshalers of Card.
var ErrPersonalData = errors.New("idcard: a Card holds personal data and is never marshalled; use Card.Public")

// MarshalJSON refuses: a Card must not be sent anywhere in clear by accident.
func (Card) MarshalJSON() ([]byte, error) { return nil, ErrPersonalData }

// MarshalText refuses too (it covers YAML, XML and most other encoders).
func (Card) MarshalText() ([]byte, error) { return nil, ErrPersonalData }

// Wipe zeroes the card's byte slices (photo, fingerprint) in place and
// clears every field. Strings are immutable in Go: clearing drops the
// card's references, and the memory goes with the garbage collector.
func (c *Card) Wipe() {
	clear(c.PhotoWLT)
	clear(c.Fingerprint)
	clear(c.PrevCardLink)
	*c = Card{}
}

// Age is the holder's age in full years (周岁) on now's date in
// Asia/Shanghai. Someone born on 29 February comes of age on 1 March in
// other years.
func (c Card) Age(now time.Time) int {
	if c.Birth.IsZero() {
		return 0
	}
	ny, nm, nd := now.In(zone).Date()
	by, bm, bd := c.Birth.In(zone).Date()
	age := ny - by
	if nm < bm || nm == bm && nd < bd {
		age--
	}
	return max(age, 0)
}

// Expired reports whether the card's validity ended before now's date
// (Asia/Shanghai): the valid-to date is the last day the card is valid.
// A 长期 card never expires.
func (c Card) Expired(now time.Time) bool {
	if c.Permanent {
		return false
	}
	return day(now) > day(c.ValidTo)
}

// day numbers a date in Asia/Shanghai, for comparing days.
func day(t time.Time) int {
	y, m, d := t.In(zone).Date()
	return y*10000 + int(m)*100 + d
}

// PublicView is what the kiosk may show of a card: enough to greet the
// citizen and apply age rules, nothing that identifies them.
type PublicView struct {
	Kind    Kind   `json:"kind"`
	Number  string `json:"number"` // masked: "**************123X"
	Name    string `json:"name"`   // first character and a star: "张*"
	Age     int    `json:"age"`
	Expired bool   `json:"expired"`
}

// Public is the card's public view on now's date.
func (c Card) Public(now time.Time) PublicView {
	name := c.Name
	if name == "" {
		name = c.NameEn
	}
	if r, size := utf8.DecodeRuneInString(name); size > 0 {
		name = string(r) + "*"
	}
	return PublicView{Kind: c.Kind, Number: c.Masked(), Name: name, Age: c.Age(now), Expired: c.Expired(now)}
}
