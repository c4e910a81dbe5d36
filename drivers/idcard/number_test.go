package idcard

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidNumber(t *testing.T) {
	tests := []struct {
		s  string
		ok bool
	}{
		{"11010519491231002X", true}, // the example of GB 11643-1999
		{"440524188001010014", true}, // its other example
		{"11010519491231002x", true}, // typed in lower case
		{"430104199003071237", true},
		{"810000198802150033", true}, // Hong Kong residence permit
		{"91184019850620004X", true}, // 2023 foreigner card
		{"110105194912310021", false},
		{"110105194912310020", false},
		{"430104199003071238", false},
		{"110105194913310021", false}, // check digit right (1), month 13
		{"1101051949123100X2", false},
		{"11010519491231002", false},
		{"11010519491231002X0", false},
		{"", false},
		{"１１０１０５１９４９１２３１００２Ｘ", false}, // full-width digits
		{"11010519491231002Y", false},
	}
	for _, tt := range tests {
		if got := ValidNumber(tt.s); got != tt.ok {
			t.Errorf("ValidNumber(%q) = %v", tt.s, got)
		}
	}
	if c, ok := CheckChar("11010519491231002"); !ok || c != 'X' {
		t.Errorf("CheckChar = %c %v", c, ok)
	}
	if _, ok := CheckChar("1101051949123100A"); ok {
		t.Error("CheckChar of a letter")
	}
	if b, ok := NumberBirth("11010519491231002X"); !ok || !b.Equal(Date(1949, 12, 31)) {
		t.Errorf("NumberBirth = %v %v", b, ok)
	}
}

func TestValidate(t *testing.T) {
	j := Card{Kind: KindHKMOTW, Name: "陈大文", Sex: SexMale, Birth: Date(1988, 2, 15), Number: "810000198802150033",
		ValidFrom: Date(2019, 9, 1), ValidTo: Date(2024, 9, 1)}
	y := Card{Kind: KindForeigner2023, NameEn: "MARIA", Sex: SexFemale, Birth: Date(1985, 6, 20), Number: "91184019850620004X",
		ValidFrom: Date(2023, 6, 15), ValidTo: Date(2033, 6, 15)}
	i := Card{Kind: KindForeigner2017, NameEn: "SMITH JOHN", Sex: SexMale, Birth: Date(1985, 6, 15), Number: "CAN110085061501",
		ValidFrom: Date(2017, 3, 1), ValidTo: Date(2027, 3, 1)}
	with := func(c Card, f func(*Card)) Card { f(&c); return c }
	tests := []struct {
		name   string
		c      Card
		reason string // "" = valid
	}{
		{"resident", residentCard, ""},
		{"resident 长期", with(residentCard, func(c *Card) { c.ValidTo, c.Permanent = time.Time{}, true }), ""},
		{"sex 9 is not checked against the number", with(residentCard, func(c *Card) { c.Sex = SexUnspecified }), ""},
		{"J", j, ""},
		{"Y", y, ""},
		{"I", i, ""},
		{"check digit", with(residentCard, func(c *Card) { c.Number = "430104199003071238" }), "GB 11643"},
		{"lower-case x on a card", with(y, func(c *Card) { c.Number = "91184019850620004x" }), "GB 11643"},
		{"15-digit number on a resident card", with(residentCard, func(c *Card) { c.Number = "430104900307123" }), "GB 11643"},
		{"birth", with(residentCard, func(c *Card) { c.Birth = Date(1990, 3, 8) }), "birth date differs"},
		{"sex", with(residentCard, func(c *Card) { c.Sex = SexFemale }), "sex differs"},
		{"sex code 5", with(residentCard, func(c *Card) { c.Sex = 5 }), "bad sex code"},
		{"J with a mainland number", with(j, func(c *Card) {
			c.Number, c.Birth = residentCard.Number, residentCard.Birth
		}), "81, 82 or 83"},
		{"Y with a mainland number", with(y, func(c *Card) {
			c.Number, c.Birth, c.Sex = residentCard.Number, residentCard.Birth, SexMale
		}), "start with 9"},
		{"I with a short PR number", with(i, func(c *Card) { c.Number = "CAN11008506150" }), "15 letters"},
		{"I with lower case", with(i, func(c *Card) { c.Number = "can110085061501" }), "15 letters"},
		{"I without birth", with(i, func(c *Card) { c.Birth = time.Time{} }), "no birth"},
		{"no name", with(residentCard, func(c *Card) { c.Name = "" }), "no name"},
		{"no valid-from", with(residentCard, func(c *Card) { c.ValidFrom = time.Time{} }), "no valid-from"},
		{"valid from before birth", with(residentCard, func(c *Card) { c.ValidFrom = Date(1980, 1, 1) }), "before birth"},
		{"valid to before valid from", with(residentCard, func(c *Card) { c.ValidTo = Date(2015, 5, 31) }), "not after"},
		{"unknown kind", with(residentCard, func(c *Card) { c.Kind = "passport" }), "unknown kind"},
	}
	for _, tt := range tests {
		err := tt.c.Validate()
		if tt.reason == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.reason)
			continue
		}
		for _, secret := range []string{tt.c.Number, tt.c.Name} {
			if secret != "" && strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error %q shows card data", tt.name, err)
			}
		}
	}
}
