// Package serialport is the port handling every serial driver shares: finding
// the device (a path, a /dev/serial/by-id link, or a USB VID/PID/serial
// match), opening it with go.bug.st/serial, a reader goroutine that notices an
// unplug at once, and a hex trace that can be switched on at run time.
//
// A Port lives for one connection. When the link is lost, Dead() closes and
// the owner opens a new Port (the supervisor does, with backoff).
package serialport

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"
)

// USB matches a USB serial adapter; it survives re-enumeration (ttyUSB0 →
// ttyUSB1) where a /dev/ttyUSBn path does not.
type USB struct {
	VID, PID, Serial string
}

// Spec says which port to open and how.
type Spec struct {
	Path string // /dev/ttyS0, /dev/serial/by-id/…, or a pty link
	USB  *USB
	Baud int
}

func (s Spec) String() string {
	if s.USB != nil {
		str := "usb:" + s.USB.VID + ":" + s.USB.PID
		if s.USB.Serial != "" {
			str += ":" + s.USB.Serial
		}
		return str
	}
	return s.Path
}

// ErrNotFound means the device is not attached (now).
var ErrNotFound = errors.New("serial device not found")

// Resolve finds the device node for a spec.
func Resolve(spec Spec) (string, error) {
	if spec.USB == nil {
		if _, err := os.Stat(spec.Path); err != nil {
			return "", fmt.Errorf("%s: %w", spec.Path, ErrNotFound)
		}
		return spec.Path, nil
	}
	ports, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return "", fmt.Errorf("list serial ports: %w", err)
	}
	for _, p := range ports {
		if p.IsUSB && strings.EqualFold(p.VID, spec.USB.VID) && strings.EqualFold(p.PID, spec.USB.PID) &&
			(spec.USB.Serial == "" || p.SerialNumber == spec.USB.Serial) {
			return p.Name, nil
		}
	}
	return "", fmt.Errorf("%s: %w", spec, ErrNotFound)
}

// Port is one open connection to a serial device.
type Port struct {
	name  string
	path  string
	p     serial.Port
	trace *Trace

	in       chan []byte
	dead     chan struct{}
	deadOnce sync.Once
	closing  atomic.Bool
	err      atomic.Value // error that killed the link

	rxBytes, txBytes atomic.Uint64

	mu      sync.Mutex // serialises writes: one command is never split by another
	pending []byte     // bytes received but not yet consumed by NextByte
}

// Open opens the port. name labels traces and errors (the device id).
func Open(ctx context.Context, name string, spec Spec, trace *Trace) (*Port, error) {
	path, err := Resolve(spec)
	if err != nil {
		return nil, err
	}
	baud := spec.Baud
	if baud == 0 {
		baud = 115200
	}
	sp, err := serial.Open(path, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("%s: open %s: %w", name, path, err)
	}
	// A short read timeout lets the reader notice a vanished device node on
	// links that report an unplug as endless timeouts.
	if err := sp.SetReadTimeout(200 * time.Millisecond); err != nil {
		sp.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// Stale bytes from before this connection would break framing.
	_ = sp.ResetInputBuffer()
	p := &Port{name: name, path: path, p: sp, trace: trace, in: make(chan []byte, 64), dead: make(chan struct{})}
	p.trace.Note(name, "open "+path)
	go p.readLoop()
	return p, nil
}

// Path is the device node that was opened.
func (p *Port) Path() string { return p.path }

// Dead is closed when the link is lost or the port is closed.
func (p *Port) Dead() <-chan struct{} { return p.dead }

// Err is why the link died (nil while alive or after a plain Close).
func (p *Port) Err() error {
	if e, ok := p.err.Load().(error); ok {
		return e
	}
	return nil
}

func (p *Port) kill(err error) {
	p.deadOnce.Do(func() {
		if err != nil && !p.closing.Load() {
			p.err.Store(err)
			p.trace.Note(p.name, "link lost: "+err.Error())
		}
		close(p.dead)
		_ = p.p.Close()
	})
}

func (p *Port) readLoop() {
	defer func() {
		// go.bug.st/serial panics in Read when the fd is >= 1024 (select's
		// fixed FdSet). halld keeps its fds below that (see fdlimit), but a
		// panic here must cost one connection, never the daemon.
		if r := recover(); r != nil {
			p.kill(fmt.Errorf("serial read panicked: %v", r))
		}
	}()
	buf := make([]byte, 4096)
	idle := time.Now()
	for {
		n, err := p.p.Read(buf)
		if n > 0 {
			idle = time.Now()
			chunk := append([]byte(nil), buf[:n]...)
			p.rxBytes.Add(uint64(n))
			p.trace.Bytes(p.name, "rx", chunk)
			select {
			case p.in <- chunk:
			case <-p.dead:
				return
			}
		}
		if err != nil {
			var pe *serial.PortError
			if errors.As(err, &pe) && pe.Code() == serial.PortClosed && p.closing.Load() {
				p.kill(nil)
			} else {
				p.kill(fmt.Errorf("%s: read: %w", p.name, err))
			}
			return
		}
		if n == 0 && time.Since(idle) > time.Second {
			// Some USB adapters report removal as silence: check the node.
			idle = time.Now()
			if _, err := os.Stat(p.path); err != nil {
				p.kill(fmt.Errorf("%s: device node gone: %w", p.name, err))
				return
			}
		}
	}
}

// Write sends b whole; concurrent writers are serialised.
func (p *Port) Write(b []byte) (int, error) {
	select {
	case <-p.dead:
		return 0, p.deadErr()
	default:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.trace.Bytes(p.name, "tx", b)
	n, err := p.p.Write(b)
	p.txBytes.Add(uint64(n))
	if err != nil {
		p.kill(fmt.Errorf("%s: write: %w", p.name, err))
		return n, p.deadErr()
	}
	return n, nil
}

func (p *Port) deadErr() error {
	if err := p.Err(); err != nil {
		return err
	}
	return fmt.Errorf("%s: port closed", p.name)
}

// ErrTimeout means no (complete) reply arrived in time.
var ErrTimeout = errors.New("timeout")

// Read returns the next bytes received, waiting at most timeout.
func (p *Port) Read(timeout time.Duration) ([]byte, error) {
	if len(p.pending) > 0 {
		b := p.pending
		p.pending = nil
		return b, nil
	}
	// Bytes that arrived before the link died are still delivered: select
	// picks at random among ready cases, so check the queue first.
	select {
	case b := <-p.in:
		return b, nil
	default:
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case b := <-p.in:
		return b, nil
	case <-p.dead:
		select {
		case b := <-p.in:
			return b, nil
		default:
			return nil, p.deadErr()
		}
	case <-t.C:
		return nil, ErrTimeout
	}
}

// NextByte returns one byte, waiting at most timeout.
func (p *Port) NextByte(timeout time.Duration) (byte, error) {
	b, err := p.Read(timeout)
	if err != nil {
		return 0, err
	}
	if len(b) > 1 {
		p.pending = b[1:]
	}
	return b[0], nil
}

// Unread puts bytes back to be read first (a codec that over-read).
func (p *Port) Unread(b []byte) {
	if len(b) > 0 {
		p.pending = append(append([]byte(nil), b...), p.pending...)
	}
}

// Discard drops whatever has been received and not read: stale replies after
// a timeout must not be taken for the answer to the next request.
func (p *Port) Discard() int {
	n := len(p.pending)
	p.pending = nil
	for {
		select {
		case b := <-p.in:
			n += len(b)
		default:
			return n
		}
	}
}

// Counters are bytes moved on this connection.
func (p *Port) Counters() (rx, tx uint64) { return p.rxBytes.Load(), p.txBytes.Load() }

// Close closes the port; Dead() closes too.
func (p *Port) Close() error {
	p.closing.Store(true)
	p.kill(nil)
	return nil
}

// ByIDLinks lists /dev/serial/by-id, for `halld ports` and error hints.
func ByIDLinks() []string {
	m, _ := filepath.Glob("/dev/serial/by-id/*")
	return m
}
