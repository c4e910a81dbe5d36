package escpos

import (
	"reflect"
	"testing"
)

func TestValidReplyAndASB(t *testing.T) {
	tests := []struct {
		b          byte
		valid, asb bool
	}{
		{0x12, true, false}, // idle
		{0x1A, true, false}, // offline
		{0x1E, true, false}, // near-end
		{0x32, true, false}, // stopped by paper end
		{0x72, true, false}, // paper end
		{0x7E, true, false}, // near-end and end
		{0x10, false, true}, // ASB byte 1, nothing set
		{0x18, false, true}, // ASB offline
		{0x38, false, true}, // ASB offline + cover open
		{0x00, false, false},
		{0xFF, false, false},
		{0x92, false, false}, // b7 must be 0
		{0x02, false, false}, // b4 must be 1
		{0x13, false, false}, // b0 must be 0
	}
	for _, tt := range tests {
		if got := ValidReply(tt.b); got != tt.valid {
			t.Errorf("ValidReply(%#02x) = %v", tt.b, got)
		}
		if got := IsASB(tt.b); got != tt.asb {
			t.Errorf("IsASB(%#02x) = %v", tt.b, got)
		}
	}
}

func TestDecodeStatus(t *testing.T) {
	none := [4]int{-1, -1, -1, -1}
	with := func(i, b int) [4]int { r := none; r[i] = b; return r }
	tests := []struct {
		name     string
		replies  [4]int
		want     Status
		problems []string
	}{
		{"no replies: unknown, not offline", none,
			Status{Paper: PaperUnknown}, nil},
		{"idle", [4]int{0x12, 0x12, 0x12, 0x12},
			Status{Known: true, Online: true, Paper: PaperOK, Raw: [4]byte{0x12, 0x12, 0x12, 0x12}, Valid: [4]bool{true, true, true, true}}, nil},
		{"worked example: 1 → 0x1A offline", with(0, 0x1A),
			Status{Known: true, Paper: PaperUnknown, Raw: [4]byte{0x1A}, Valid: [4]bool{true}}, []string{"offline"}},
		{"1: waiting for recovery, feed button", with(0, 0x72),
			Status{Known: true, Online: true, WaitingRecovery: true, FeedButton: true, Paper: PaperUnknown, Raw: [4]byte{0x72}, Valid: [4]bool{true}}, nil},
		{"worked example: 2 → 0x32 stopped by paper end", with(1, 0x32),
			Status{Known: true, PaperEndStop: true, Paper: PaperUnknown, Raw: [4]byte{0, 0x32}, Valid: [4]bool{false, true}}, []string{"paper_end"}},
		{"2: cover open", with(1, 0x16),
			Status{Known: true, CoverOpen: true, Paper: PaperUnknown, Raw: [4]byte{0, 0x16}, Valid: [4]bool{false, true}}, []string{"cover_open"}},
		{"3: autocutter error", with(2, 0x1A),
			Status{Known: true, CutterError: true, Paper: PaperUnknown, Raw: [4]byte{0, 0, 0x1A}, Valid: [4]bool{false, false, true}}, []string{"cutter_error"}},
		{"3: unrecoverable", with(2, 0x32),
			Status{Known: true, Unrecoverable: true, Paper: PaperUnknown, Raw: [4]byte{0, 0, 0x32}, Valid: [4]bool{false, false, true}}, []string{"unrecoverable"}},
		{"3: auto-recoverable", with(2, 0x52),
			Status{Known: true, AutoRecoverable: true, Paper: PaperUnknown, Raw: [4]byte{0, 0, 0x52}, Valid: [4]bool{false, false, true}}, []string{"auto_recoverable"}},
		{"3: b2 is model-dependent, ignored", with(2, 0x16),
			Status{Known: true, Paper: PaperUnknown, Raw: [4]byte{0, 0, 0x16}, Valid: [4]bool{false, false, true}}, nil},
		{"worked example: 4 → 0x7E near-end and end", with(3, 0x7E),
			Status{Known: true, Paper: PaperEnd, Raw: [4]byte{0, 0, 0, 0x7E}, Valid: [4]bool{false, false, false, true}}, []string{"paper_end"}},
		{"worked example: 4 → 0x72 end only", with(3, 0x72),
			Status{Known: true, Paper: PaperEnd, Raw: [4]byte{0, 0, 0, 0x72}, Valid: [4]bool{false, false, false, true}}, []string{"paper_end"}},
		{"worked example: 4 → 0x1E near-end only", with(3, 0x1E),
			Status{Known: true, Paper: PaperNearEnd, Raw: [4]byte{0, 0, 0, 0x1E}, Valid: [4]bool{false, false, false, true}}, []string{"paper_near_end"}},
		{"4: one sensor bit of a pair is enough", with(3, 0x16),
			Status{Known: true, Paper: PaperNearEnd, Raw: [4]byte{0, 0, 0, 0x16}, Valid: [4]bool{false, false, false, true}}, []string{"paper_near_end"}},
		{"4: ok", with(3, 0x12),
			Status{Known: true, Paper: PaperOK, Raw: [4]byte{0, 0, 0, 0x12}, Valid: [4]bool{false, false, false, true}}, nil},
		{"invalid bytes count as missing but are kept in Raw", [4]int{0xFF, 0x00, 300, -7},
			Status{Paper: PaperUnknown, Raw: [4]byte{0xFF}}, nil},
		{"paper out, all four answered", [4]int{0x1A, 0x32, 0x12, 0x72},
			Status{Known: true, PaperEndStop: true, Paper: PaperEnd, Raw: [4]byte{0x1A, 0x32, 0x12, 0x72}, Valid: [4]bool{true, true, true, true}},
			[]string{"offline", "paper_end"}},
		{"everything wrong", [4]int{0x1A, 0x36, 0x7A, 0x7E},
			Status{Known: true, CoverOpen: true, PaperEndStop: true, CutterError: true, Unrecoverable: true, AutoRecoverable: true,
				Paper: PaperEnd, Raw: [4]byte{0x1A, 0x36, 0x7A, 0x7E}, Valid: [4]bool{true, true, true, true}},
			[]string{"offline", "cover_open", "paper_end", "cutter_error", "unrecoverable", "auto_recoverable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DecodeStatus(tt.replies)
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if p := got.Problems(); !reflect.DeepEqual(p, tt.problems) {
				t.Errorf("Problems() = %q, want %q", p, tt.problems)
			}
		})
	}
}

func FuzzDecodeStatus(f *testing.F) {
	f.Add(0x12, 0x12, 0x12, 0x12)
	f.Add(0x1A, 0x32, 0x12, 0x7E)
	f.Add(-1, -1, -1, -1)
	f.Add(0xFF, 0x100, -2, 0x1E)
	f.Fuzz(func(t *testing.T, a, b, c, d int) {
		r := [4]int{a, b, c, d}
		s := DecodeStatus(r)
		known := false
		for i, v := range r {
			valid := v >= 0 && v <= 0xFF && ValidReply(byte(v))
			if s.Valid[i] != valid {
				t.Fatalf("Valid[%d] = %v for %d", i, s.Valid[i], v)
			}
			known = known || valid
		}
		if s.Known != known {
			t.Fatalf("Known = %v", s.Known)
		}
		if (s.Paper == PaperUnknown) != !s.Valid[3] {
			t.Fatalf("Paper %q with Valid[3] %v", s.Paper, s.Valid[3])
		}
		if s.Online && !s.Valid[0] {
			t.Fatal("online without a reply 1")
		}
		if !s.Known && (s.Problems() != nil || s.Online) {
			t.Fatalf("unknown printer has problems %q", s.Problems())
		}
		seen := map[string]bool{}
		for _, p := range s.Problems() {
			if seen[p] {
				t.Fatalf("duplicate problem %q", p)
			}
			seen[p] = true
		}
	})
}
