// Package linesim is the device's side of a line device, for tests and the
// demo hall: a scanner that sends scans (or garbage, or half lines, or a
// line in pieces), and an LED strip or caller that records the lines the
// host sends it and may answer each with "OK <line>".
package linesim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"halld/drivers/linedev"
	"halld/drivers/vport"
)

// ErrNotConnected means no host connection is being served (unplugged).
var ErrNotConnected = errors.New("linesim: not connected")

// Device is one line device on the other end of a port. Its state (lines
// received, echo) carries over between connections.
type Device struct {
	opts linedev.Options

	wmu sync.Mutex // serialises writes: a Send is never split by an echo

	mu       sync.Mutex
	w        io.Writer // the connection being served; nil between connections
	echo     bool
	fr       *linedev.Framer // reads what the host sends
	received []string
}

// New makes a device that frames lines with o, in both directions.
func New(o linedev.Options) (*Device, error) {
	fr, err := linedev.NewFramer(o)
	if err != nil {
		return nil, err
	}
	return &Device{opts: o, fr: fr}, nil
}

// SetEcho makes the device answer each line it receives with "OK <line>",
// as LED strips and callers acknowledge a command.
func (d *Device) SetEcho(on bool) { d.mu.Lock(); d.echo = on; d.mu.Unlock() }

// Connected tells whether a host connection is being served.
func (d *Device) Connected() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.w != nil
}

// Received returns the lines the host has sent, in order.
func (d *Device) Received() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.received...)
}

// Stats are the counters of the device's reading of the host's lines:
// garbage here means the host sent a broken line.
func (d *Device) Stats() linedev.Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fr.Stats()
}

// Send writes one line with the configured terminator and charset, in one
// write, as a scanner sends a scan.
func (d *Device) Send(line string) error {
	b, err := linedev.Encode(line, d.opts)
	if err != nil {
		return err
	}
	return d.SendRaw(b)
}

// SendRaw writes b as it is, in one write: garbage, a partial line, or one
// piece of a line sent in several.
func (d *Device) SendRaw(b []byte) error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	d.mu.Lock()
	w := d.w
	d.mu.Unlock()
	if w == nil {
		return ErrNotConnected
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("linesim: write: %w", err)
	}
	return nil
}

// Serve plays the device on rw (a vport.ServeFunc): it reads the host's
// lines and answers them if echo is on, until rw fails or ctx ends. A
// partial line from an earlier connection is forgotten. Serve calls must
// not overlap.
func (d *Device) Serve(ctx context.Context, rw io.ReadWriter) error {
	d.mu.Lock()
	if d.w != nil {
		d.mu.Unlock()
		return errors.New("linesim: already serving a connection")
	}
	d.w = rw
	d.fr.Drop()
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.w = nil
		d.mu.Unlock()
	}()

	chunks, stop := vport.ReadChunks(rw)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case c := <-chunks:
			d.mu.Lock()
			lines := d.fr.Feed(c.B)
			d.received = append(d.received, lines...)
			echo := d.echo
			d.mu.Unlock()
			for _, l := range lines {
				if !echo {
					break
				}
				if err := d.Send("OK " + l); err != nil && !errors.Is(err, linedev.ErrBadLine) {
					return err // a line too long to echo is not answered
				}
			}
			if c.Err != nil {
				return c.Err
			}
		}
	}
}
