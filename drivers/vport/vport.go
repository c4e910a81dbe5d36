// Package vport gives a device simulator a real serial port: a pseudo-terminal
// whose slave side is reachable at a stable link (as /dev/serial/by-id would
// be), so drivers open it through go.bug.st/serial exactly as they would open
// hardware. Unplug closes the master and removes the link, as pulling a USB
// cable does; Replug makes a new pty behind the same link.
package vport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ServeFunc is the device side: it talks over rw until rw fails or ctx ends.
type ServeFunc func(ctx context.Context, rw io.ReadWriter) error

// Port is one virtual serial device.
type Port struct {
	link  string
	serve ServeFunc

	mu      sync.Mutex
	master  *os.File
	slave   *os.File // held open so the master never sees EIO between host opens
	cancel  context.CancelFunc
	done    chan struct{}
	plugged bool
}

// New creates the device at link and plugs it in.
func New(link string, serve ServeFunc) (*Port, error) {
	p := &Port{link: link, serve: serve}
	if err := p.Replug(); err != nil {
		return nil, err
	}
	return p, nil
}

// Path is the stable link the host opens.
func (p *Port) Path() string { return p.link }

// Plugged tells whether the device is attached.
func (p *Port) Plugged() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.plugged
}

// Replug attaches the device (a new pty behind the link). No-op if plugged.
func (p *Port) Replug() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.plugged {
		return nil
	}
	master, slave, err := pty.Open()
	if err != nil {
		return fmt.Errorf("vport: open pty: %w", err)
	}
	if err := makeRaw(slave); err != nil {
		master.Close()
		slave.Close()
		return fmt.Errorf("vport: raw mode: %w", err)
	}
	if master, err = pollable(master); err != nil {
		slave.Close()
		return fmt.Errorf("vport: %w", err)
	}
	_ = os.Remove(p.link)
	if err := os.Symlink(slave.Name(), p.link); err != nil {
		master.Close()
		slave.Close()
		return fmt.Errorf("vport: link %s: %w", p.link, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	p.master, p.slave, p.cancel, p.done, p.plugged = master, slave, cancel, done, true
	go func() {
		defer close(done)
		_ = p.serve(ctx, master)
	}()
	return nil
}

// Unplug detaches the device: the host's reads fail at once and the link is
// gone until Replug.
func (p *Port) Unplug() {
	p.mu.Lock()
	if !p.plugged {
		p.mu.Unlock()
		return
	}
	_ = os.Remove(p.link)
	p.cancel()
	p.master.Close()
	p.slave.Close()
	done := p.done
	p.plugged = false
	p.mu.Unlock()
	<-done
}

// Close unplugs for good.
func (p *Port) Close() error {
	p.Unplug()
	return nil
}

// pollable re-wraps the pty master as a non-blocking file under Go's poller,
// so that Close interrupts a Read in progress (Unplug must be immediate).
func pollable(f *os.File) (*os.File, error) {
	sc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	var fd int
	var derr error
	sc.Control(func(raw uintptr) { fd, derr = unix.Dup(int(raw)) })
	f.Close()
	if derr != nil {
		return nil, derr
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), nil
}

// makeRaw puts the pty in raw mode: no echo, no line editing, no CR/LF
// translation, so bytes pass unchanged before the host sets its own mode.
func makeRaw(f *os.File) error {
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// IsClosed reports whether err means the other side went away (the normal
// end of a Serve loop on unplug).
func IsClosed(err error) bool {
	return errors.Is(err, os.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, unix.EIO)
}
