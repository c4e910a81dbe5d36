package uplink

import (
	"bufio"
	"net"
)

// bufConn buffers what paho reads: paho reads each packet's fixed header a
// byte at a time straight from the connection, so every 4-byte PUBACK cost
// three read(2) calls; through a buffer the acks that arrived together cost
// one. Writes, deadlines and Close go to the connection itself.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func newBufConn(c net.Conn) *bufConn { return &bufConn{Conn: c, r: bufio.NewReaderSize(c, 16<<10)} }

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }
