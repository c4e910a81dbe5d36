package idcard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestMaskNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"430104199003071237", "**************1237"},
		{"11010519491231002X", "**************002X"},
		{"CAN110085061501", "***********1501"},
		{"12345", "*2345"},
		{"1234", "****"},
		{"12", "**"},
		{"", ""},
		{"号码一二三四五", "***二三四五"},
	}
	for _, tt := range tests {
		if got := MaskNumber(tt.in); got != tt.want {
			t.Errorf("MaskNumber(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if residentCard.Masked() != "**************1237" {
		t.Fatal(residentCard.Masked())
	}
}

// secretCard carries a photo and an address, so a leak of any field shows.
func secretCard() Card {
	c := residentCard
	c.PhotoWLT = bytes.Repeat([]byte("PHOTO"), 4)
	c.Fingerprint = []byte("FINGER")
	return c
}

// leaks lists the personal data found in s.
func leaks(s string) []string {
	var found []string
	for _, secret := range []string{"张三", "湖南", "岳麓", "430104", "19900307", "1990-03-07", "PHOTO", "FINGER", "50 48 4f", "50484f"} {
		if strings.Contains(strings.ToLower(s), strings.ToLower(secret)) {
			found = append(found, secret)
		}
	}
	return found
}

func TestCardPrintsMasked(t *testing.T) {
	c := secretCard()
	type holder struct {
		Card  Card
		Ptr   *Card
		Cards []Card
	}
	h := holder{Card: c, Ptr: &c, Cards: []Card{c}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q", "%T %v"} {
		for _, arg := range []any{c, &c, h, &h, []any{c}} {
			s := fmt.Sprintf(verb, arg)
			if l := leaks(s); len(l) > 0 {
				t.Errorf("Sprintf(%q, %T) = %q shows %q", verb, arg, s, l)
			}
		}
	}
	if s := fmt.Sprint(c); s != "idcard.Card(resident **************1237)" {
		t.Errorf("String: %q", s)
	}
	if s := fmt.Sprintf("%#v", c); s != `idcard.Card{Kind:"resident", Number:"**************1237"}` {
		t.Errorf("GoString: %q", s)
	}
	if err := fmt.Errorf("read %v", c); len(leaks(err.Error())) > 0 {
		t.Errorf("error: %v", err)
	}
}

func TestCardLogsMasked(t *testing.T) {
	c := secretCard()
	var text, js bytes.Buffer
	for _, log := range []*slog.Logger{slog.New(slog.NewTextHandler(&text, nil)), slog.New(slog.NewJSONHandler(&js, nil))} {
		log.Info("card read", "card", c, "ptr", &c, slog.Any("any", c), "nested", struct{ Card Card }{c})
	}
	for _, out := range []string{text.String(), js.String()} {
		if l := leaks(out); len(l) > 0 {
			t.Errorf("log shows %q:\n%s", l, out)
		}
	}
	if !strings.Contains(text.String(), "card.kind=resident card.number=**************1237") {
		t.Errorf("text log: %s", text.String())
	}
	if !strings.Contains(js.String(), `"card":{"kind":"resident","number":"**************1237"}`) {
		t.Errorf("JSON log: %s", js.String())
	}
}

func TestCardRefusesToMarshal(t *testing.T) {
	c := secretCard()
	for _, v := range []any{c, &c, struct{ C Card }{c}, []Card{c}, map[string]any{"c": c}} {
		b, err := json.Marshal(v)
		if !errors.Is(err, ErrPersonalData) || b != nil {
			t.Errorf("json.Marshal(%T) = %q, %v", v, b, err)
		}
	}
	if _, err := c.MarshalText(); !errors.Is(err, ErrPersonalData) {
		t.Error("MarshalText")
	}
}

func TestWipe(t *testing.T) {
	c := secretCard()
	photo, fp := c.PhotoWLT, c.Fingerprint
	c.PrevCardLink = []byte{1, 2, 3}
	link := c.PrevCardLink
	c.Wipe()
	for _, b := range [][]byte{photo, fp, link} {
		if !bytes.Equal(b, make([]byte, len(b))) {
			t.Fatalf("not zeroed: % X", b)
		}
	}
	if c.Name != "" || c.Number != "" || c.Address != "" || c.PhotoWLT != nil || !c.Birth.IsZero() || c.Kind != "" {
		t.Fatalf("fields left: %s", dump(c))
	}
}

func TestAgeAndExpired(t *testing.T) {
	shanghai := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, Zone()) }
	leap := Card{Birth: Date(2000, 2, 29), ValidFrom: Date(2016, 3, 1), ValidTo: Date(2026, 3, 1)}
	ages := []struct {
		c    Card
		now  time.Time
		want int
	}{
		{residentCard, shanghai(2026, 3, 6, 23), 35},
		{residentCard, shanghai(2026, 3, 7, 0), 36},
		// 16:30 UTC on 6 March is 00:30 on 7 March in the hall.
		{residentCard, time.Date(2026, 3, 6, 16, 30, 0, 0, time.UTC), 36},
		{residentCard, time.Date(2026, 3, 6, 15, 30, 0, 0, time.UTC), 35},
		{leap, shanghai(2018, 2, 28, 12), 17},
		{leap, shanghai(2018, 3, 1, 0), 18},
		{leap, shanghai(2020, 2, 29, 0), 20},
		{residentCard, shanghai(1980, 1, 1, 0), 0}, // before birth
		{Card{}, shanghai(2026, 1, 1, 0), 0},
	}
	for _, tt := range ages {
		if got := tt.c.Age(tt.now); got != tt.want {
			t.Errorf("Age(born %v, at %v) = %d, want %d", tt.c.Birth.Format(time.DateOnly), tt.now, got, tt.want)
		}
	}
	permanent := residentCard
	permanent.ValidTo, permanent.Permanent = time.Time{}, true
	expiry := []struct {
		c    Card
		now  time.Time
		want bool
	}{
		{residentCard, shanghai(2035, 6, 1, 23), false}, // the valid-to day is still valid
		{residentCard, shanghai(2035, 6, 2, 0), true},
		{residentCard, time.Date(2035, 6, 1, 16, 0, 0, 0, time.UTC), true}, // 2 June 00:00 in the hall
		{residentCard, shanghai(2020, 1, 1, 0), false},
		{permanent, shanghai(2099, 1, 1, 0), false},
		{leap, shanghai(2026, 3, 2, 0), true},
	}
	for _, tt := range expiry {
		if got := tt.c.Expired(tt.now); got != tt.want {
			t.Errorf("Expired(to %v, at %v) = %v", tt.c.ValidTo.Format(time.DateOnly), tt.now, got)
		}
	}
}

func TestPublic(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 30, 0, 0, Zone())
	b, err := json.Marshal(secretCard().Public(now))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"kind":"resident","number":"**************1237","name":"张*","age":36,"expired":false}`; string(b) != want {
		t.Fatalf("public view %s, want %s", b, want)
	}
	foreigner := Card{Kind: KindForeigner2017, NameEn: "SMITH JOHN", Number: "CAN110085061501", Birth: Date(1985, 6, 15),
		ValidTo: Date(2025, 3, 1)}
	if p := foreigner.Public(now); p.Name != "S*" || p.Number != "***********1501" || p.Age != 41 || !p.Expired {
		t.Fatalf("foreigner: %+v", p)
	}
	if p := (Card{}).Public(now); p.Name != "" || p.Number != "" {
		t.Fatalf("empty card: %+v", p)
	}
}

func TestLabels(t *testing.T) {
	if KindHKMOTW.Label() != "港澳台居民居住证" || Kind("x").Label() != "证件" {
		t.Error("Kind.Label")
	}
	if SexMale.String() != "男" || SexFemale.String() != "女" || SexUnknown.String() != "未知" || SexUnspecified.String() != "未说明" {
		t.Error("Sex.String")
	}
	if Sex(3).Valid() || !SexUnspecified.Valid() {
		t.Error("Sex.Valid")
	}
	names := map[Nation]string{1: "汉", 2: "蒙古", 46: "德昂", 56: "基诺", 97: "其他", 98: "外国血统中国籍人士", 57: "", 0: ""}
	for n, want := range names {
		if n.Name() != want || n.Valid() != (want != "") {
			t.Errorf("Nation(%d) = %q valid %v", n, n.Name(), n.Valid())
		}
	}
	if len(nations) != 58 || Nation(57).String() != "Nation(57)" {
		t.Errorf("%d nations, %s", len(nations), Nation(57))
	}
}
