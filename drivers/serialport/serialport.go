// Package serialport is the port handling every serial driver shares: finding
// the device (a path, a /dev/serial/by-id link, or a USB VID/PID/serial
// match), opening it with go.bug.st/serial, I/O on Go's network poller (no
// thread per port, no descriptor ceiling) where every write has a deadline, a
// reader goroutine that notices an unplug at once, and a bounded hex trace
// that can be switched on at run time.
//
// A Port lives for one connection. When the link is lost, Dead() closes and
// the owner opens a new Port (the supervisor does, with backoff).
package serialport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"
	"golang.org/x/sys/unix"
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
	// WriteTimeout is how long a write may go without the device taking a
	// byte (default DefaultWriteTimeout, 2 s).
	WriteTimeout time.Duration
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

// DefaultWriteTimeout is how long a Write may go without the device taking a
// single byte before it fails with ErrWriteTimeout (Spec.WriteTimeout).
const DefaultWriteTimeout = 2 * time.Second

// ErrWriteTimeout means the device took no data for the write deadline: it
// holds flow control, or the cable or adapter is broken. The Write that hits
// it kills the link (the supervisor reopens it with backoff), so a stuck
// device never keeps a driver, a print job or a shutdown waiting.
var ErrWriteTimeout = errors.New("write timeout: the device takes no data (flow control held, or the cable)")

// closeDrain bounds how long a plain Close waits for bytes already written
// to leave the port before they are discarded. A tty's close(2) would wait
// for them itself, for up to the driver's closing_wait (30 s by default).
const closeDrain = 2 * time.Second

// Port is one open connection to a serial device.
//
// go.bug.st/serial opens, configures (raw mode, baud, exclusive access) and
// closes the port, but its Read uses select(2), whose fixed 1024-bit FdSet
// panics for descriptors >= 1024, and its Write is a plain blocking write(2)
// with no deadline. So the I/O is done here, on an *os.File over a duplicate
// of the library's descriptor (see portFD), set non-blocking: the file is on
// Go's network poller (epoll), so a waiting port holds no thread and costs no
// poll(2) per read (issue 15: a thread per port, woken by poll(2) then read(2)
// for every line, was a fifth of the line path's CPU), every wait has a
// deadline, and Close wakes them all.
type Port struct {
	name  string
	path  string
	p     serial.Port
	trace *Trace

	fd           int      // the library's descriptor, for ioctls; valid until released
	f            *os.File // a duplicate of fd on the network poller: all reads and writes
	baud         int
	writeTimeout time.Duration

	// ioMu guards fd's lifetime: every use of fd holds it for reading; the
	// reader goroutine takes it for writing at its end to close the port,
	// so fd is never used after close (when its number may be reused).
	ioMu     sync.RWMutex
	released bool          // under ioMu: fd is closed
	closed   chan struct{} // closed once fd is released

	in       chan []byte
	dead     chan struct{}
	deadOnce sync.Once
	closing  atomic.Bool
	err      atomic.Value // error that killed the link

	rxBytes, txBytes atomic.Uint64
	writing          atomic.Int64 // unix ns of the write in progress's last progress; 0 when none

	mu      sync.Mutex // serialises writes: one command is never split by another
	pending []byte     // bytes received but not yet consumed by NextByte
}

// errLayout means go.bug.st/serial no longer keeps its descriptor where
// portFD reads it; TestLibraryLayout fails on it.
var errLayout = errors.New("go.bug.st/serial: cannot find the port's file descriptor (library layout changed; see serialport.portFD)")

// portFD reads the descriptor go.bug.st/serial opened. The library does not
// export it: it is the unexported field `handle int` of its *unixPort
// (v1.8.0). Reading it with reflect is the least intrusive way to do our own
// I/O (on the network poller) on the port the library opened and configured;
// we only read the field, never write it. Open checks that the descriptor is the
// device it opened before using it, and TestLibraryLayout fails loudly when a
// new library version moves or renames the field.
func portFD(sp serial.Port) (fd int, err error) {
	defer func() {
		if r := recover(); r != nil {
			fd, err = -1, fmt.Errorf("%w: %v", errLayout, r)
		}
	}()
	v := reflect.ValueOf(sp)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return -1, fmt.Errorf("%w: port is a %T", errLayout, sp)
	}
	f := v.Elem().FieldByName("handle")
	if !f.IsValid() || f.Kind() != reflect.Int {
		return -1, fmt.Errorf("%w: %T has no int field handle", errLayout, sp)
	}
	return int(f.Int()), nil
}

// sameDevice checks that fd is the device node at path (a character device
// with the same device number), so a wrong descriptor is never written to.
func sameDevice(fd int, path string) error {
	var a, b unix.Stat_t
	if err := unix.Fstat(fd, &a); err != nil {
		return fmt.Errorf("%w: fstat %d: %v", errLayout, fd, err)
	}
	if err := unix.Stat(path, &b); err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if a.Mode&unix.S_IFMT != unix.S_IFCHR || a.Rdev != b.Rdev {
		return fmt.Errorf("%w: descriptor %d is not %s", errLayout, fd, path)
	}
	return nil
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
	wt := spec.WriteTimeout
	if wt <= 0 {
		wt = DefaultWriteTimeout
	}
	if free := FreeFDs(); free >= 0 && free < PortReserve {
		return nil, fmt.Errorf("%s: open %s: %w (only %d descriptors left; %d are kept for the API and the journal)",
			name, path, syscall.EMFILE, free, PortReserve)
	}
	defer forgetFree()
	sp, err := serial.Open(path, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("%s: open %s: %w", name, path, err)
	}
	fd, err := portFD(sp)
	if err == nil {
		err = sameDevice(fd, path)
	}
	if err == nil {
		// Non-blocking (a flag of the open file, so the duplicate shares it):
		// os.NewFile then puts the duplicate on the network poller.
		err = unix.SetNonblock(fd, true)
	}
	var f *os.File
	if err == nil {
		f, err = pollFile(fd, path)
	}
	if err != nil {
		sp.Close()
		return nil, fmt.Errorf("%s: open %s: %w", name, path, err)
	}
	// Stale bytes from before this connection would break framing.
	_ = sp.ResetInputBuffer()
	p := &Port{name: name, path: path, p: sp, trace: trace, fd: fd, f: f, baud: baud, writeTimeout: wt,
		in: make(chan []byte, 64), dead: make(chan struct{}), closed: make(chan struct{})}
	p.trace.Note(name, "open "+path)
	p.ioMu.RLock() // the reader's hold on fd, released by release()
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

// pollFile duplicates the library's descriptor as an *os.File on the network
// poller. Closing the duplicate wakes every read and write waiting on it and
// leaves the library's descriptor (and the line) alone.
func pollFile(fd int, path string) (*os.File, error) {
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("dup: %w", err)
	}
	f := os.NewFile(uintptr(dup), path)
	// Deadlines work only on a file the poller took: a device epoll refuses
	// would block a thread per wait, with no deadline, so it is refused here.
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		f.Close()
		return nil, fmt.Errorf("the port cannot be polled (epoll): %w", err)
	}
	return f, nil
}

// kill marks the link dead and wakes every read and write waiting on the
// port (closing the poller's duplicate); the reader goroutine then closes the
// port itself (release).
func (p *Port) kill(err error) {
	p.deadOnce.Do(func() {
		if err != nil && !p.closing.Load() {
			p.err.Store(err)
			p.trace.Note(p.name, "link lost: "+err.Error())
		}
		close(p.dead)
		_ = p.f.Close()
	})
}

// release closes the port once nothing uses fd any more. Bytes still queued
// for output are given a short while to leave on a plain Close, and dropped
// at once on a dead link, so close(2) never waits on a stuck device.
func (p *Port) release() {
	p.ioMu.RUnlock()
	p.ioMu.Lock()
	if p.Err() == nil {
		p.drain(closeDrain)
	}
	_ = p.p.ResetOutputBuffer()
	_ = p.p.Close()
	_ = p.f.Close() // kill closed it already; a second Close only says so
	p.released = true
	p.ioMu.Unlock()
	close(p.closed)
}

// drain waits up to max for the output queue to empty (TIOCOUTQ; a pty
// reports 0).
func (p *Port) drain(max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		n, err := unix.IoctlGetInt(p.fd, unix.TIOCOUTQ)
		if err != nil || n <= 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// errWoken means the port is dying (kill closed the poller's file).
var errWoken = errors.New("port closing")

// errGone is a read of zero bytes from a readable tty: Linux leaves a
// disconnected port that way (go.bug.st/serial treats it alike).
var errGone = errors.New("device disconnected")

// errQuiet is a read whose deadline passed without a byte.
var errQuiet = errors.New("no bytes before the deadline")

// readSome reads what the port has, waiting until the read deadline.
func (p *Port) readSome(buf []byte) (int, error) {
	n, err := p.f.Read(buf)
	switch {
	case n > 0:
		return n, nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, errQuiet
	case errors.Is(err, os.ErrClosed):
		return 0, errWoken
	case err == io.EOF:
		return 0, errGone
	case err != nil:
		return 0, err
	}
	return 0, nil
}

// nodeCheckEvery is how often a silent port's device node is checked for
// an unplug that the link itself does not report.
const nodeCheckEvery = time.Second

func (p *Port) readLoop() {
	defer p.release()
	defer func() {
		// The reader must cost one connection at most, never the daemon.
		if r := recover(); r != nil {
			p.kill(fmt.Errorf("%s: serial read panicked: %v", p.name, r))
		}
	}()
	buf := make([]byte, 4096)
	idle := time.Now()
	// The wait ends with bytes, a hang-up (a pty or most USB adapters
	// unplugged: readable, then a zero read or EIO), or kill closing the
	// file (Close, a failed write); nothing else needs a timer. The deadline
	// is only for links that report an unplug as endless silence: it falls
	// when the device node is due to be checked, after a second of silence.
	// A busy port moves it once a second, not once a read.
	_ = p.f.SetReadDeadline(idle.Add(nodeCheckEvery))
	for {
		n, err := p.readSome(buf)
		if errors.Is(err, errQuiet) {
			err = nil
			if quiet := time.Since(idle); quiet < nodeCheckEvery {
				_ = p.f.SetReadDeadline(idle.Add(nodeCheckEvery))
				continue
			}
		}
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
		if errors.Is(err, errWoken) {
			return // killed: by Close, a write that failed, or a read here
		}
		if err != nil {
			p.kill(fmt.Errorf("%s: read: %w", p.name, err))
			return
		}
		if n == 0 && time.Since(idle) >= nodeCheckEvery {
			// Some USB adapters report removal as silence: check the node.
			idle = time.Now()
			if _, err := os.Stat(p.path); err != nil {
				p.kill(fmt.Errorf("%s: device node gone: %w", p.name, err))
				return
			}
			_ = p.f.SetReadDeadline(idle.Add(nodeCheckEvery))
		}
	}
}

// Write sends b whole; concurrent writers are serialised. It fails with
// ErrWriteTimeout, and kills the link, when the device takes no byte for the
// write timeout (Spec.WriteTimeout), or when b is not all taken within the
// write timeout plus twice its time on the wire at the port's baud rate.
func (p *Port) Write(b []byte) (int, error) {
	select {
	case <-p.dead:
		return 0, p.deadErr()
	default:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ioMu.RLock()
	defer p.ioMu.RUnlock()
	if p.released {
		return 0, p.deadErr()
	}
	p.trace.Bytes(p.name, "tx", b)
	n, err := p.writeAll(b)
	p.txBytes.Add(uint64(n))
	if err != nil {
		if !errors.Is(err, errWoken) {
			p.kill(err)
		}
		return n, p.deadErr()
	}
	return n, nil
}

// wireTime is how long n bytes take on the line (8N1: 10 bits a byte).
func (p *Port) wireTime(n int) time.Duration {
	return time.Duration(n) * 10 * time.Second / time.Duration(p.baud)
}

func (p *Port) writeAll(b []byte) (int, error) {
	start := time.Now()
	last := start
	overall := start.Add(p.writeTimeout + 2*p.wireTime(len(b)))
	p.writing.Store(start.UnixNano())
	defer p.writing.Store(0)
	defer p.f.SetWriteDeadline(time.Time{})
	off := 0
	for off < len(b) {
		deadline := last.Add(p.writeTimeout)
		if overall.Before(deadline) {
			deadline = overall
		}
		left := time.Until(deadline)
		if left <= 0 {
			return off, fmt.Errorf("%s: write: %w: %d of %d bytes taken in %v, none for %v",
				p.name, ErrWriteTimeout, off, len(b), time.Since(start).Round(time.Millisecond),
				time.Since(last).Round(time.Millisecond))
		}
		// Short slices: a pty frees room without waking the poller, so try
		// the write again now and then rather than trust the wake-up alone.
		_ = p.f.SetWriteDeadline(time.Now().Add(min(left, 50*time.Millisecond)))
		n, err := p.f.Write(b[off:])
		if n > 0 {
			off += n
			last = time.Now()
			p.writing.Store(last.UnixNano())
		}
		switch {
		case err == nil, errors.Is(err, os.ErrDeadlineExceeded):
		case errors.Is(err, os.ErrClosed):
			return off, errWoken
		default:
			return off, fmt.Errorf("%s: write: %w", p.name, err)
		}
	}
	return off, nil
}

// WriteStalled is how long the write in progress has gone without the device
// taking a byte; 0 when no write is in progress. A driver uses it to stop
// offering a device that is not taking data before the write times out.
func (p *Port) WriteStalled() time.Duration {
	t := p.writing.Load()
	if t == 0 {
		return 0
	}
	return time.Since(time.Unix(0, t))
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
	if timeout <= 0 {
		// A look, not a wait (a driver taking what else is queued after a
		// chunk, once a line): no timer.
		select {
		case <-p.dead:
			return nil, p.deadErr()
		default:
			return nil, ErrTimeout
		}
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

// Close closes the port; Dead() closes too. It returns once the port's
// descriptor is closed (after at most a short drain of queued output).
func (p *Port) Close() error {
	p.closing.Store(true)
	p.kill(nil)
	<-p.closed
	return nil
}

// ByIDLinks lists /dev/serial/by-id, for `halld ports` and error hints.
func ByIDLinks() []string {
	m, _ := filepath.Glob("/dev/serial/by-id/*")
	return m
}
