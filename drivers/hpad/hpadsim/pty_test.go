package hpadsim

import (
	"context"
	"testing"
	"time"

	"halld/drivers/hpad"
	"halld/drivers/serialport"
	"halld/internal/ptytest"
)

// A Bus behind a real pty, opened as the daemon opens a port; the pads keep
// their events across an unplug.
func TestOverPty(t *testing.T) {
	b := NewBus()
	p := b.AddPad(3, info)
	vp := ptytest.Device(t, "rs485-0", b.Serve)

	seq := byte(0)
	ask := func(port *serialport.Port, cmd byte) hpad.Frame {
		t.Helper()
		seq++
		if _, err := port.Write(hpad.Encode(hpad.Frame{Addr: 3, Seq: seq, Cmd: cmd})); err != nil {
			t.Fatal(err)
		}
		var d hpad.Decoder
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			chunk, err := port.Read(time.Until(deadline))
			if err != nil {
				t.Fatalf("%s: %v", hpad.CmdName(cmd), err)
			}
			for _, f := range d.Feed(chunk) {
				if f.Seq == seq && f.Cmd == hpad.ReplyCmd(cmd) {
					return f
				}
			}
		}
		t.Fatalf("%s: no reply", hpad.CmdName(cmd))
		return hpad.Frame{}
	}
	open := func() *serialport.Port {
		t.Helper()
		port, err := serialport.Open(context.Background(), "pads", serialport.Spec{Path: vp.Path(), Baud: 115200}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return port
	}

	port := open()
	if r := ask(port, hpad.CmdHello); r.Addr != 3 {
		t.Fatalf("HELLO reply %v", r)
	}
	p.Key(hpad.KeyCallNext)
	vp.Unplug()
	port.Close()
	if err := vp.Replug(); err != nil {
		t.Fatal(err)
	}
	port = open()
	defer port.Close()
	var pr hpad.PollReply
	if err := pr.UnmarshalBinary(ask(port, hpad.CmdPoll).Payload); err != nil || len(pr.Events) != 1 {
		t.Fatalf("POLL after replug: %+v %v", pr, err)
	}
}
