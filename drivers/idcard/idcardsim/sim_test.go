package idcardsim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"halld/drivers/idcard"
)

// host is the daemon's end of an in-memory line to a Reader, built on the
// codec only.
type host struct {
	w      io.Writer
	chunks chan []byte
	dec    idcard.Decoder
	got    []idcard.Response
	done   chan error
	stop   func() // ends Serve and waits for it
}

type rw struct {
	io.Reader
	io.Writer
}

func start(t *testing.T, r *Reader) *host {
	t.Helper()
	simIn, hostOut := io.Pipe()
	hostIn, simOut := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	h := &host{w: hostOut, chunks: make(chan []byte, 64), done: make(chan error, 1)}
	go func() { h.done <- r.Serve(ctx, rw{simIn, simOut}) }()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := hostIn.Read(buf)
			if err != nil {
				return
			}
			h.chunks <- append([]byte(nil), buf[:n]...)
		}
	}()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			hostOut.Close()
			hostIn.Close()
			simIn.Close()
			simOut.Close()
			<-h.done
		})
	}
	t.Cleanup(h.stop)
	return h
}

func (h *host) send(t *testing.T, b []byte) {
	t.Helper()
	if _, err := h.w.Write(b); err != nil {
		t.Fatal(err)
	}
}

// next waits for one response; ok is false after within without one.
func (h *host) next(within time.Duration) (idcard.Response, bool) {
	deadline := time.After(within)
	for len(h.got) == 0 {
		select {
		case c := <-h.chunks:
			h.got = append(h.got, h.dec.Feed(c)...)
		case <-deadline:
			return idcard.Response{}, false
		}
	}
	r := h.got[0]
	h.got = h.got[1:]
	return r, true
}

func (h *host) ask(t *testing.T, cmd idcard.Command) idcard.Response {
	t.Helper()
	h.send(t, cmd.Encode())
	r, ok := h.next(time.Second)
	if !ok {
		t.Fatalf("%v: no reply", cmd)
	}
	if r.SW1 != 0 || r.SW2 != 0 {
		t.Fatalf("%v: SW1 SW2 %02X %02X", cmd, r.SW1, r.SW2)
	}
	return r
}

func (h *host) expect(t *testing.T, cmd idcard.Command, want idcard.Status) idcard.Response {
	t.Helper()
	r := h.ask(t, cmd)
	if r.Status() != want {
		t.Fatalf("%v: %v, want %v", cmd, r.Status(), want)
	}
	return r
}

// A card of each kind goes through text block, frame, decoder and parser
// and comes out as it went in.
func TestRoundTrip(t *testing.T) {
	r := New()
	h := start(t, r)
	h.expect(t, idcard.SAMStatus(), idcard.OK)
	for _, c := range Samples() {
		t.Run(string(c.Kind), func(t *testing.T) {
			if err := c.Validate(); err != nil {
				t.Fatalf("sample: %v", err)
			}
			if err := r.Place(c); err != nil {
				t.Fatal(err)
			}
			h.expect(t, idcard.FindCard(), idcard.FindOK)
			h.expect(t, idcard.SelectCard(), idcard.OK)
			rsp := h.expect(t, idcard.ReadCard(), idcard.OK)
			if len(idcard.EncodeResponse(rsp)) != 1295 {
				t.Fatalf("read reply of %d bytes", len(idcard.EncodeResponse(rsp)))
			}
			got, err := idcard.ParseRead(rsp.Data)
			if err != nil {
				t.Fatal(err)
			}
			want := c
			want.PhotoWLT = Photo(c)
			if !reflect.DeepEqual(got, want) {
				type plain idcard.Card
				t.Fatalf("\n got %+v\nwant %+v", plain(got), plain(want))
			}
			if err := got.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The §2.2 card rules: found until read; after a read, find says no card
// but select says it is still there; taken off, both fail; placed again,
// found again.
func TestCardRules(t *testing.T) {
	r := New()
	h := start(t, r)
	c := Samples()[0]
	h.expect(t, idcard.FindCard(), idcard.NoCard)
	h.expect(t, idcard.SelectCard(), idcard.SelectFailed)
	h.expect(t, idcard.ReadCard(), idcard.ReadFailed)
	if err := r.Place(c); err != nil {
		t.Fatal(err)
	}
	h.expect(t, idcard.SelectCard(), idcard.SelectFailed) // not found yet
	h.expect(t, idcard.ReadCard(), idcard.ReadFailed)     // not selected
	h.expect(t, idcard.FindCard(), idcard.FindOK)
	h.expect(t, idcard.FindCard(), idcard.FindOK) // found, not read: still found
	if rsp := h.expect(t, idcard.SelectCard(), idcard.OK); len(rsp.Data) != 8 {
		t.Fatalf("select data % X", rsp.Data)
	}
	h.expect(t, idcard.ReadCard(), idcard.OK)
	h.expect(t, idcard.FindCard(), idcard.NoCard) // read: must be taken off first
	h.expect(t, idcard.SelectCard(), idcard.OK)   // … but it is still there
	h.expect(t, idcard.ReadCard(), idcard.OK)     // and can be read again without find
	r.Remove()
	h.expect(t, idcard.FindCard(), idcard.NoCard)
	h.expect(t, idcard.SelectCard(), idcard.SelectFailed)
	if err := r.Place(c); err != nil {
		t.Fatal(err)
	}
	h.expect(t, idcard.FindCard(), idcard.FindOK)

	// A reader that finds a read card again.
	r.SetRefind(true)
	h.expect(t, idcard.SelectCard(), idcard.OK)
	h.expect(t, idcard.ReadCard(), idcard.OK)
	h.expect(t, idcard.FindCard(), idcard.FindOK)
	if n := r.Count(idcard.ReadCard()); n != 5 {
		t.Fatalf("Count(read) = %d", n)
	}
}

func TestOtherCommands(t *testing.T) {
	r := New()
	h := start(t, r)
	rsp := h.expect(t, idcard.ReadSAMID(), idcard.OK)
	if id, err := idcard.FormatSAMID(rsp.Data); err != nil || id != "05.01-20240101-000012345-678901234" {
		t.Fatalf("SAM id %q %v", id, err)
	}
	h.expect(t, idcard.SetMaxRFFrame(idcard.DefaultRFFrame), idcard.OK)
	if r.RFFrame() != 0x50 {
		t.Fatalf("RF frame %02X", r.RFFrame())
	}
	h.expect(t, idcard.Command{Cmd: idcard.CmdSetRF, Para: idcard.ParaNone}, idcard.BadCommand) // no size
	h.expect(t, idcard.Command{Cmd: 0x20, Para: 0x03}, idcard.BadCommand)
	h.expect(t, idcard.Command{Cmd: 0x7A, Para: 0x00}, idcard.BadCommand)
	h.expect(t, idcard.ResetSAM(), idcard.OK)

	c := Samples()[0]
	c.Fingerprint = bytes.Repeat([]byte{0x46}, idcard.FingerprintLen)
	if err := r.SetExtraAddress("x"); err == nil {
		t.Fatal("extra address without a card")
	}
	if err := r.Place(c); err != nil {
		t.Fatal(err)
	}
	h.expect(t, idcard.FindCard(), idcard.FindOK)
	h.expect(t, idcard.SelectCard(), idcard.OK)
	h.expect(t, idcard.ReadExtraAddress(), idcard.NoContent)
	if err := r.SetExtraAddress("湖南省长沙市岳麓区新址1号", "湖南省长沙市雨花区新址2号"); err != nil {
		t.Fatal(err)
	}
	rsp = h.expect(t, idcard.ReadExtraAddress(), idcard.OK)
	if a, err := idcard.ParseExtraAddress(rsp.Data); err != nil || len(a) != 2 || a[1] != "湖南省长沙市雨花区新址2号" {
		t.Fatalf("extra address %q %v", a, err)
	}
	if rsp := h.expect(t, idcard.ReadMID(), idcard.OK); len(rsp.Data) != 24 {
		t.Fatalf("MID of %d bytes", len(rsp.Data))
	}
	rsp = h.expect(t, idcard.ReadCardFingerprint(), idcard.OK)
	got, err := idcard.ParseReadFingerprint(rsp.Data)
	if err != nil || !bytes.Equal(got.Fingerprint, c.Fingerprint) || got.Number != c.Number {
		t.Fatalf("fingerprint read: %v", err)
	}
	if err := r.SetExtraAddress("1", "2", "3", "4", "5"); err == nil {
		t.Fatal("5 extra addresses")
	}
}

func TestBrokenHostFrames(t *testing.T) {
	r := New()
	h := start(t, r)
	bad := idcard.FindCard().Encode()
	bad[len(bad)-1] ^= 0x01
	h.send(t, bad)
	if rsp, ok := h.next(time.Second); !ok || rsp.Status() != idcard.BadHostChecksum {
		t.Fatalf("bad checksum: %v %v", rsp, ok)
	}
	h.send(t, []byte{0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x02, 0x20, 0x22})
	if rsp, ok := h.next(time.Second); !ok || rsp.Status() != idcard.BadHostLength {
		t.Fatalf("LEN 2: %v %v", rsp, ok)
	}
	// A frame cut short gets no reply, and does not hold up the next one.
	h.send(t, idcard.FindCard().Encode()[:8])
	if _, ok := h.next(3 * Gap); ok {
		t.Fatal("reply to half a frame")
	}
	h.expect(t, idcard.FindCard(), idcard.NoCard)
	if s := r.Stats(); s.BadChecksum != 1 || s.Undersize != 1 || s.Truncated != 1 || s.Frames != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestSAMStates(t *testing.T) {
	r := New()
	h := start(t, r)
	if err := r.Place(Samples()[0]); err != nil {
		t.Fatal(err)
	}
	r.SetSAM(SAMSelfTestFailed)
	h.expect(t, idcard.SAMStatus(), idcard.SelfTestFailed)
	h.expect(t, idcard.ReadSAMID(), idcard.SelfTestFailed)
	h.expect(t, idcard.FindCard(), idcard.SelfTestFailed)
	r.SetSAM(SAMUnauthorised)
	h.expect(t, idcard.SAMStatus(), idcard.SAMUnauthorised)
	h.expect(t, idcard.ReadSAMID(), idcard.OK)
	h.expect(t, idcard.FindCard(), idcard.SAMUnauthorised)
	r.SetSAM(SAMReady)
	h.expect(t, idcard.SAMStatus(), idcard.OK)
	h.expect(t, idcard.FindCard(), idcard.FindOK)
}

func TestInjectedFaults(t *testing.T) {
	r := New()
	h := start(t, r)
	if err := r.Place(Samples()[1]); err != nil {
		t.Fatal(err)
	}
	// FailNext tells find from select, and queues.
	r.FailNext(idcard.SelectCard(), idcard.SelectFailed)
	r.FailNext(idcard.ReadCard(), idcard.ReadFailed)
	r.FailNext(idcard.ReadCard(), idcard.VerifyFailed)
	h.expect(t, idcard.FindCard(), idcard.FindOK)
	h.expect(t, idcard.SelectCard(), idcard.SelectFailed)
	h.expect(t, idcard.SelectCard(), idcard.OK)
	h.expect(t, idcard.ReadCard(), idcard.ReadFailed)
	h.expect(t, idcard.ReadCard(), idcard.VerifyFailed)
	h.expect(t, idcard.FindCard(), idcard.FindOK) // the failed reads did not count
	h.expect(t, idcard.SelectCard(), idcard.OK)

	// Garbage before the next reply: the host resyncs.
	r.SetGarbage(37)
	h.expect(t, idcard.ReadCard(), idcard.OK)
	if s := h.dec.Stats(); s.JunkBytes != 37 {
		t.Fatalf("junk %d", s.JunkBytes)
	}

	// A damaged reply is dropped by the host; the command was executed.
	r.BadChecksumNext()
	h.send(t, idcard.FindCard().Encode())
	if rsp, ok := h.next(200 * time.Millisecond); ok {
		t.Fatalf("damaged reply decoded: %v", rsp)
	}
	if s := h.dec.Stats(); s.BadChecksum != 1 {
		t.Fatalf("stats %+v", s)
	}
	h.expect(t, idcard.FindCard(), idcard.NoCard)

	// DamageNext picks its command.
	r.DamageNext(idcard.ReadCard())
	h.expect(t, idcard.SelectCard(), idcard.OK)
	h.send(t, idcard.ReadCard().Encode())
	if rsp, ok := h.next(200 * time.Millisecond); ok {
		t.Fatalf("damaged read reply decoded: %v", rsp.Status())
	}
	h.expect(t, idcard.ReadCard(), idcard.OK)

	r.SetSlow(100 * time.Millisecond)
	start := time.Now()
	h.expect(t, idcard.SAMStatus(), idcard.OK)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("slow reply after %v", d)
	}
}

func TestNewServeIsPowerUp(t *testing.T) {
	r := New()
	h := start(t, r)
	if err := r.Place(Samples()[0]); err != nil {
		t.Fatal(err)
	}
	h.expect(t, idcard.FindCard(), idcard.FindOK)
	h.expect(t, idcard.SelectCard(), idcard.OK)
	h.expect(t, idcard.ReadCard(), idcard.OK)
	h.expect(t, idcard.FindCard(), idcard.NoCard)
	h.stop()
	h2 := start(t, r)
	h2.expect(t, idcard.FindCard(), idcard.FindOK)
}

func TestEncodeTextErrors(t *testing.T) {
	base := Samples()
	with := func(c idcard.Card, f func(*idcard.Card)) idcard.Card { f(&c); return c }
	tests := []struct {
		name  string
		c     idcard.Card
		field string
	}{
		{"name too long", with(base[0], func(c *idcard.Card) { c.Name = strings.Repeat("张", 16) }), "name"},
		{"address too long", with(base[0], func(c *idcard.Card) { c.Address = strings.Repeat("路", 36) }), "address"},
		{"sex 4", with(base[0], func(c *idcard.Card) { c.Sex = 4 }), "sex"},
		{"nation 100", with(base[0], func(c *idcard.Card) { c.Nation = 100 }), "nation"},
		{"no birth", with(base[0], func(c *idcard.Card) { c.Birth = time.Time{} }), "birth"},
		{"no valid to", with(base[0], func(c *idcard.Card) { c.ValidTo = time.Time{} }), "valid to"},
		{"issue count 100", with(base[1], func(c *idcard.Card) { c.IssueCount = 100 }), "issue count"},
		{"pass number too long", with(base[1], func(c *idcard.Card) { c.PassNumber = "H123456789" }), "pass number"},
		{"English name too long (I)", with(base[2], func(c *idcard.Card) { c.NameEn = strings.Repeat("A", 61) }), "English name"},
		{"English name too long (Y)", with(base[3], func(c *idcard.Card) { c.NameEn = strings.Repeat("A", 47) }), "English name"},
		{"link not 6 bytes", with(base[3], func(c *idcard.Card) { c.PrevCardLink = []byte{1} }), "previous card link"},
	}
	for _, tt := range tests {
		_, err := EncodeText(tt.c)
		var fe *idcard.FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%s: %v, want field %s", tt.name, err, tt.field)
		}
		if err := New().Place(tt.c); err == nil {
			t.Errorf("%s: placed", tt.name)
		}
	}
	if _, err := EncodeText(idcard.Card{Kind: "passport"}); err == nil {
		t.Error("unknown kind encoded")
	}
	// 46 characters is the longest Y English name, and it round-trips.
	c := with(base[3], func(c *idcard.Card) { c.NameEn = strings.Repeat("B", 35) + " " + strings.Repeat("C", 10) })
	b, err := EncodeText(c)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := idcard.ParseText(b); err != nil || got.NameEn != c.NameEn {
		t.Fatalf("%q %v", got.NameEn, err)
	}
}

func TestPhoto(t *testing.T) {
	s := Samples()
	p0, p1 := Photo(s[0]), Photo(s[1])
	if len(p0) != idcard.PhotoLen || bytes.Equal(p0, p1) || !bytes.Equal(p0, Photo(s[0])) {
		t.Fatal("photos are not 1024 deterministic bytes per card")
	}
	own := s[0]
	own.PhotoWLT = []byte("WLT")
	if !bytes.Equal(Photo(own), []byte("WLT")) {
		t.Fatal("a card's own photo is not used")
	}
}
