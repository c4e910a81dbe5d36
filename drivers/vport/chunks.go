package vport

import (
	"io"
	"time"
)

// Chunk is what one Read of a port returned, and when.
type Chunk struct {
	B   []byte
	At  time.Time
	Err error
}

// ReadChunks reads r on its own goroutine and hands over each read, so a
// simulator's Serve can select on the port together with ctx and its
// timers. The goroutine ends after a read error, or at stop (a Read blocked
// then returns when the caller closes r). Every simulator's Serve loop
// starts with it.
func ReadChunks(r io.Reader) (chunks <-chan Chunk, stop func()) {
	ch := make(chan Chunk)
	done := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			select {
			case ch <- Chunk{append([]byte(nil), buf[:n]...), time.Now(), err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ch, func() { close(done) }
}
