// Package abuse holds the abuse suite: real attacks against a real halld
// process (floods from a network namespace, spoofed Host/Origin headers,
// off-loopback reads, a printer that never drains, trace and TTS growth, an
// alert flood, a YAML alias bomb), each asserting that halld refuses the
// attack and recovers, and logging what it cost in one fixed format:
//
//	go test ./daemon/abuse/ -v -run Abuse | grep RELIABILITY:
//
// RELIABILITY.md at the repository root holds the table built from a run.
// The floods need root (ip netns); without it they skip, except under
// CI=true or HALLD_REQUIRE_NETNS=1, where they fail.
// HALLD_ABUSE_BIN=/path/to/halld tests a prebuilt binary instead of
// building this tree's.
package abuse
