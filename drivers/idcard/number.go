package idcard

import (
	"errors"
	"fmt"
	"time"
)

// GB 11643-1999 check digit: weights of the first 17 digits, and the check
// character for the weighted sum mod 11.
var (
	weights    = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	checkChars = "10X98765432"
)

// CheckChar computes the GB 11643 check character of the first 17 digits
// of a number; ok is false unless they are 17 ASCII digits.
func CheckChar(first17 string) (c byte, ok bool) {
	if len(first17) != 17 {
		return 0, false
	}
	sum := 0
	for i := range 17 {
		d := first17[i]
		if d < '0' || d > '9' {
			return 0, false
		}
		sum += int(d-'0') * weights[i]
	}
	return checkChars[sum%11], true
}

// ValidNumber reports whether s is a well-formed 18-character citizen
// identity number (GB 11643-1999; also the number on HK/Macao/Taiwan
// residence permits and 2023 foreigner cards): 17 digits and the right check
// character, and digits 7–14 a real date (YYYYMMDD). A lower-case x is
// accepted as the check character, as people type it; cards carry X.
func ValidNumber(s string) bool {
	if len(s) != 18 {
		return false
	}
	want, ok := CheckChar(s[:17])
	if !ok {
		return false
	}
	got := s[17]
	if got == 'x' {
		got = 'X'
	}
	if got != want {
		return false
	}
	_, ok = NumberBirth(s)
	return ok
}

// NumberBirth is the birth date written in an 18-digit number (digits
// 7–14), midnight in Asia/Shanghai.
func NumberBirth(number string) (time.Time, bool) {
	if len(number) != 18 {
		return time.Time{}, false
	}
	return parseDate(number[6:14])
}

// ErrInvalid is wrapped by Validate's errors.
var ErrInvalid = errors.New("idcard: card data do not agree")

// Validate checks that a card's data agree with each other: the number is
// well formed for the card's kind (GB 11643 check character; 81/82/83 for
// HK/Macao/Taiwan, 9 for 2023 foreigner cards), the birth date and sex match
// the ones coded in it, and the dates are in order. The SAM has already
// authenticated the card, so a failure here means the block was not parsed
// as written (an unknown layout), not a forgery. Errors never carry the
// card's contents.
func (c Card) Validate() error {
	bad := func(reason string) error { return fmt.Errorf("%w: %s card: %s", ErrInvalid, c.Kind, reason) }
	if c.Name == "" && c.NameEn == "" {
		return bad("no name")
	}
	if !c.Sex.Valid() {
		return bad("bad sex code")
	}
	switch c.Kind {
	case KindResident, KindHKMOTW, KindForeigner2023:
		if !ValidNumber(c.Number) || c.Number[17] == 'x' {
			return bad("number fails the GB 11643 check")
		}
		if b, _ := NumberBirth(c.Number); !b.Equal(c.Birth) {
			return bad("birth date differs from the number's")
		}
		// The 17th digit is odd for men, even for women.
		odd := (c.Number[16]-'0')%2 == 1
		if c.Sex == SexMale && !odd || c.Sex == SexFemale && odd {
			return bad("sex differs from the number's")
		}
		if c.Kind == KindHKMOTW && (c.Number[0] != '8' || c.Number[1] < '1' || c.Number[1] > '3') {
			return bad("number does not start with 81, 82 or 83")
		}
		if c.Kind == KindForeigner2023 && c.Number[0] != '9' {
			return bad("number does not start with 9")
		}
	case KindForeigner2017:
		if len(c.Number) != 15 || !alnum(c.Number) {
			return bad("PR number is not 15 letters and digits")
		}
		if c.Birth.IsZero() {
			return bad("no birth date")
		}
	default:
		return bad("unknown kind")
	}
	if c.ValidFrom.IsZero() {
		return bad("no valid-from date")
	}
	if c.ValidFrom.Before(c.Birth) {
		return bad("valid-from date before birth")
	}
	if !c.Permanent && !c.ValidTo.After(c.ValidFrom) {
		return bad("valid-to date not after valid-from")
	}
	return nil
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
