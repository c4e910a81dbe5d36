package serialport

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Trace writes a per-port hex trace, as ser2net does: one line per chunk with
// a timestamp, the direction, hex and printable ASCII. Hall IT switches it on
// for one device at run time (API or config) and reads <dir>/<device>.trace.
// A nil *Trace traces nothing.
type Trace struct {
	dir string

	mu     sync.Mutex
	on     map[string]bool
	files  map[string]*os.File
	forbid map[string]string // device → why it may never be traced
}

// NewTrace traces into dir.
func NewTrace(dir string) *Trace {
	return &Trace{dir: dir, on: map[string]bool{}, files: map[string]*os.File{}, forbid: map[string]string{}}
}

// Forbid makes a device untraceable (its bytes are personal data).
func (t *Trace) Forbid(dev, why string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.forbid[dev] = why
	t.on[dev] = false
}

// Set switches tracing of one device on or off.
func (t *Trace) Set(dev string, on bool) error {
	if t == nil {
		return fmt.Errorf("trace: not configured")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if why, ok := t.forbid[dev]; ok && on {
		return fmt.Errorf("trace %s: %s", dev, why)
	}
	t.on[dev] = on
	if !on {
		if f := t.files[dev]; f != nil {
			f.Close()
			delete(t.files, dev)
		}
		return nil
	}
	if err := os.MkdirAll(t.dir, 0o750); err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	return nil
}

// On tells whether a device is traced.
func (t *Trace) On(dev string) bool {
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.on[dev]
}

// File is where a device's trace goes.
func (t *Trace) File(dev string) string {
	if t == nil {
		return ""
	}
	return filepath.Join(t.dir, dev+".trace")
}

// Bytes records a chunk moving in direction dir ("rx" or "tx").
func (t *Trace) Bytes(dev, dir string, b []byte) {
	if t == nil || !t.On(dev) {
		return
	}
	t.write(dev, fmt.Sprintf("%s %s %4d  %s |%s|\n", stamp(), dir, len(b), Hex(b), printable(b)))
}

// Note records a link event (open, loss).
func (t *Trace) Note(dev, msg string) {
	if t == nil || !t.On(dev) {
		return
	}
	t.write(dev, fmt.Sprintf("%s -- %s\n", stamp(), msg))
}

func (t *Trace) write(dev, line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.files[dev]
	if f == nil {
		var err error
		f, err = os.OpenFile(t.File(dev), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
		if err != nil {
			return
		}
		t.files[dev] = f
	}
	_, _ = f.WriteString(line)
}

// Close closes every trace file.
func (t *Trace) Close() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, f := range t.files {
		f.Close()
		delete(t.files, k)
	}
}

func stamp() string { return time.Now().Format("2006-01-02T15:04:05.000000") }

// Hex renders bytes as "1B 40 1C 26".
func Hex(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02X", c)
	}
	return sb.String()
}

func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 0x20 && c < 0x7f {
			out[i] = c
		} else {
			out[i] = '.'
		}
	}
	return string(out)
}
