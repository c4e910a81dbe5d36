package uplink

import (
	"bytes"
	"net"
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// countingConn is a connection whose reads come from a buffer, counted.
type countingConn struct {
	net.Conn
	src   *bytes.Reader
	reads int
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.reads++
	return c.src.Read(p)
}

// 100 PUBACKs that arrived together are read by paho's packet reader in
// one read of the connection, not three each.
func TestBufConnReadsAcksTogether(t *testing.T) {
	var wire bytes.Buffer
	for id := uint16(1); id <= 100; id++ {
		ack := packets.NewControlPacket(packets.Puback).(*packets.PubackPacket)
		ack.MessageID = id
		if err := ack.Write(&wire); err != nil {
			t.Fatal(err)
		}
	}
	cc := &countingConn{src: bytes.NewReader(wire.Bytes())}
	c := newBufConn(cc)
	for id := uint16(1); id <= 100; id++ {
		p, err := packets.ReadPacket(c)
		if err != nil {
			t.Fatal(err)
		}
		if ack, ok := p.(*packets.PubackPacket); !ok || ack.MessageID != id {
			t.Fatalf("packet %d: %v", id, p)
		}
	}
	if cc.reads > 2 {
		t.Errorf("100 PUBACKs took %d reads of the connection, want 1", cc.reads)
	}
}
