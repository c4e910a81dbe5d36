package escpos

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestBuiltinProfiles(t *testing.T) {
	names := ProfileNames()
	want := []string{"birch-bp002", "generic-58mm", "generic-80mm", "hprt-pptii-a", "zj-5870"}
	if !slices.Equal(names, want) {
		t.Fatalf("ProfileNames() = %q, want %q", names, want)
	}
	for _, n := range names {
		p, ok := LookupProfile(n)
		if !ok || p.Name != n {
			t.Fatalf("LookupProfile(%q) = %+v, %v", n, p, ok)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	if _, ok := LookupProfile("nope"); ok {
		t.Error("unknown profile found")
	}
}

func TestValidateReportsEverything(t *testing.T) {
	err := Profile{Dots: 500, Columns: 48, Charset: "big5", Cutter: "saw", MaxCharMag: 9, QRMaxModule: 0, QRMaxData: 8000}.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"name", "paper width", "dots 500", "columns 48", "charset", "cutter", "magnification", "module", "QR max data"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 9 {
		t.Errorf("want 9 joined errors: %v", err)
	}
}
