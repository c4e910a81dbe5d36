package vport

import (
	"context"
	"io"
	"time"
)

// Baud makes a simulator as slow as a real serial line: every byte it reads
// or writes takes the 10 bit times (8N1) it would take at baud. A pty moves
// bytes instantly, so without this a benchmark would measure no wire time.
// Half-duplex, like RS-485: the device receives, then answers.
func Baud(baud int, serve ServeFunc) ServeFunc {
	if baud <= 0 {
		return serve
	}
	perByte := time.Duration(float64(10*time.Second) / float64(baud))
	return func(ctx context.Context, rw io.ReadWriter) error {
		return serve(ctx, &slowLine{rw: rw, perByte: perByte})
	}
}

type slowLine struct {
	rw      io.ReadWriter
	perByte time.Duration
}

// Read returns what arrived, after the time those bytes took on the wire.
func (s *slowLine) Read(p []byte) (int, error) {
	n, err := s.rw.Read(p)
	if n > 0 {
		time.Sleep(time.Duration(n) * s.perByte)
	}
	return n, err
}

// Write sends bytes at line speed.
func (s *slowLine) Write(p []byte) (int, error) {
	time.Sleep(time.Duration(len(p)) * s.perByte)
	return s.rw.Write(p)
}
