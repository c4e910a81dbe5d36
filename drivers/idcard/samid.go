package idcard

import (
	"encoding/binary"
	"fmt"
)

// SAMIDLen is the length of the data of a read SAM id reply (12 FF).
const SAMIDLen = 16

// FormatSAMID formats the data of a read SAM id reply as HSL
// ReadSafeModuleNumber does, so hall IT sees the number the vendors' tools
// print: d[0].d[2]-u32le(d[4])-u32le(d[8])%09d-u32le(d[12])%09d, e.g.
// "05.01-20240101-000012345-678901234". (HSL indexes the whole frame, where
// the data starts at offset 10.) HSL reads the three numbers as signed
// int32; they are unsigned here, as docs/protocols.md writes them, which differs
// only for values of 2³¹ and above.
func FormatSAMID(data []byte) (string, error) {
	if len(data) < SAMIDLen {
		return "", fmt.Errorf("idcard: SAM id of %d bytes, want %d", len(data), SAMIDLen)
	}
	u := func(i int) uint32 { return binary.LittleEndian.Uint32(data[i:]) }
	return fmt.Sprintf("%02d.%02d-%d-%09d-%09d", data[0], data[2], u(4), u(8), u(12)), nil
}
