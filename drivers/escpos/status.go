package escpos

// Paper is the roll paper state from DLE EOT 4.
type Paper string

const (
	PaperOK      Paper = "ok"
	PaperNearEnd Paper = "near_end"
	PaperEnd     Paper = "end"
	PaperUnknown Paper = "unknown" // no valid DLE EOT 4 reply
)

// Status is one poll cycle's view of a printer. A field whose reply is
// missing stays at its zero value (Paper: unknown): no reply means unknown,
// not offline (docs/protocols.md §1.4).
type Status struct {
	Known           bool // at least one valid reply
	Online          bool // reply 1 valid and b3 (offline) clear
	CoverOpen       bool // 2:b2
	Paper           Paper
	CutterError     bool // 3:b3
	Unrecoverable   bool // 3:b5
	AutoRecoverable bool // 3:b6, e.g. head overheat
	FeedButton      bool // 1:b6
	WaitingRecovery bool // 1:b5
	PaperEndStop    bool // 2:b5, printing stopped by paper end
	Raw             [4]byte
	Valid           [4]bool // reply per DLE EOT 1..4
}

// ValidReply reports whether b can be a DLE EOT reply: pattern 0xx1xx10.
func ValidReply(b byte) bool { return b&0x93 == 0x12 }

// IsASB reports whether b can start an automatic status back (GS a) block:
// pattern 0xx1xx00, which differs from DLE EOT replies in b1.
func IsASB(b byte) bool { return b&0x93 == 0x10 }

// DecodeStatus decodes the replies to DLE EOT 1..4; replies[i] is the byte
// for DLE EOT i+1, or -1 when there was none. Bytes that fail ValidReply
// count as missing, as python-escpos does: a stray byte is not a status.
func DecodeStatus(replies [4]int) Status {
	s := Status{Paper: PaperUnknown}
	var r [4]byte
	for i, v := range replies {
		if v < 0 || v > 0xFF {
			continue
		}
		s.Raw[i] = byte(v)
		if ValidReply(byte(v)) {
			s.Valid[i], r[i], s.Known = true, byte(v), true
		}
	}
	bit := func(i, n int) bool { return s.Valid[i] && r[i]&(1<<n) != 0 }
	// 1: printer. b2 (drawer) is not ours to report.
	s.Online = s.Valid[0] && !bit(0, 3)
	s.WaitingRecovery = bit(0, 5)
	s.FeedButton = bit(0, 6)
	// 2: offline cause. b3 (fed by button) and b6 (error occurred) repeat
	// what replies 1 and 3 say in more detail.
	s.CoverOpen = bit(1, 2)
	s.PaperEndStop = bit(1, 5)
	// 3: error cause. b2 is model-dependent, so it is ignored.
	s.CutterError = bit(2, 3)
	s.Unrecoverable = bit(2, 5)
	s.AutoRecoverable = bit(2, 6)
	// 4: roll paper. Either sensor bit of a pair counts.
	if s.Valid[3] {
		switch {
		case bit(3, 5) || bit(3, 6):
			s.Paper = PaperEnd
		case bit(3, 2) || bit(3, 3):
			s.Paper = PaperNearEnd
		default:
			s.Paper = PaperOK
		}
	}
	return s
}

// Problems lists what needs a person, as stable codes in a fixed order:
// offline, cover_open, paper_near_end, paper_end, cutter_error,
// unrecoverable, auto_recoverable. "offline" needs a valid reply 1 saying
// so; a printer that did not answer is unknown, not offline. paper_end is
// also reported when reply 2 says printing stopped for paper end, even if
// reply 4 is missing.
func (s Status) Problems() []string {
	var p []string
	add := func(cond bool, code string) {
		if cond {
			p = append(p, code)
		}
	}
	add(s.Valid[0] && !s.Online, "offline")
	add(s.CoverOpen, "cover_open")
	add(s.Paper == PaperNearEnd, "paper_near_end")
	add(s.Paper == PaperEnd || s.PaperEndStop, "paper_end")
	add(s.CutterError, "cutter_error")
	add(s.Unrecoverable, "unrecoverable")
	add(s.AutoRecoverable, "auto_recoverable")
	return p
}
