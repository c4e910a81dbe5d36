package serialport

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Trace writes a per-port hex trace, as ser2net does: one line per chunk with
// a timestamp, the direction, hex and printable ASCII. Hall IT switches it on
// for one device at run time (API or config) and reads <dir>/<device>.trace.
// A nil *Trace traces nothing.
//
// A trace never fills the disk the journal lives on: each device's file is
// rotated at TraceOptions.MaxFileBytes (one previous file, <device>.trace.1,
// is kept), all trace files together are held to MaxTotalBytes (the oldest
// rotated files are deleted first, then tracing stops), and tracing stops
// before the disk holding dir runs low. A trace that stops by itself says so
// once in its file, is switched off, and Stopped tells why.
type Trace struct {
	dir  string
	opts TraceOptions

	mu        sync.Mutex
	on        map[string]bool
	files     map[string]*traceFile
	forbid    map[string]string // device → why it may never be traced
	stopped   map[string]string // device → why tracing stopped by itself
	total     int64             // bytes in dir's trace files
	lastCheck time.Time         // of free disk space
	sinceChk  int64             // bytes written since
}

type traceFile struct {
	f    *os.File
	size int64
}

// TraceOptions bound a trace; zero values take the defaults.
type TraceOptions struct {
	MaxFileBytes  int64 // one device's file, then it is rotated (default 8 MiB)
	MaxTotalBytes int64 // every trace file in the directory together (default 64 MiB)
	// Tracing stops when the disk holding the directory has less than
	// MinFreeBytes (default 64 MiB) or less than MinFreePercent of its size
	// (default 5) free.
	MinFreeBytes   uint64
	MinFreePercent float64
	// DiskFree reports the free and total bytes of the disk holding dir
	// (statfs by default; tests inject a low disk).
	DiskFree func(dir string) (free, size uint64, err error)
	// OnStop, if set, is told once when a device's trace stops by itself
	// (called without the trace's lock held).
	OnStop func(dev, why string)
}

// Trace defaults.
const (
	DefaultTraceFileBytes   = 8 << 20
	DefaultTraceTotalBytes  = 64 << 20
	DefaultTraceMinFree     = 64 << 20
	DefaultTraceMinFreePerc = 5
)

// Free space is checked at most this often, or after this many bytes.
const (
	diskCheckEvery = time.Second
	diskCheckBytes = 256 << 10
)

// NewTrace traces into dir with the default bounds.
func NewTrace(dir string) *Trace { return NewTraceWithOptions(dir, TraceOptions{}) }

// NewTraceWithOptions traces into dir within o's bounds.
func NewTraceWithOptions(dir string, o TraceOptions) *Trace {
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = DefaultTraceFileBytes
	}
	if o.MaxTotalBytes <= 0 {
		o.MaxTotalBytes = DefaultTraceTotalBytes
	}
	if o.MinFreeBytes == 0 {
		o.MinFreeBytes = DefaultTraceMinFree
	}
	if o.MinFreePercent <= 0 {
		o.MinFreePercent = DefaultTraceMinFreePerc
	}
	if o.DiskFree == nil {
		o.DiskFree = statfsFree
	}
	return &Trace{dir: dir, opts: o, on: map[string]bool{}, files: map[string]*traceFile{},
		forbid: map[string]string{}, stopped: map[string]string{}}
}

func statfsFree(dir string) (free, size uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	return st.Bavail * uint64(st.Bsize), st.Blocks * uint64(st.Bsize), nil
}

// Forbid makes a device untraceable (its bytes are personal data).
func (t *Trace) Forbid(dev, why string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.forbid[dev] = why
	t.closeLocked(dev)
	t.on[dev] = false
}

// Set switches tracing of one device on or off. Switching on is refused
// while the disk is low or the trace files are at their total bound; it
// clears a previous automatic stop.
func (t *Trace) Set(dev string, on bool) error {
	if t == nil {
		return fmt.Errorf("trace: not configured")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if why, ok := t.forbid[dev]; ok && on {
		return fmt.Errorf("trace %s: %s", dev, why)
	}
	if !on {
		if t.on[dev] {
			delete(t.stopped, dev)
		}
		t.on[dev] = false
		t.closeLocked(dev)
		return nil
	}
	if err := os.MkdirAll(t.dir, 0o750); err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	if why := t.diskLowLocked(); why != "" {
		return fmt.Errorf("trace %s: %s", dev, why)
	}
	t.lastCheck = time.Now()
	t.rescanLocked()
	if t.total >= t.opts.MaxTotalBytes {
		t.deleteRotatedLocked(1)
		if t.total >= t.opts.MaxTotalBytes {
			return fmt.Errorf("trace %s: %s", dev, t.totalReason())
		}
	}
	delete(t.stopped, dev)
	t.on[dev] = true
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

// Stopped tells why a device's trace stopped by itself (the disk ran low,
// or the trace files reached their total bound); "" when it did not, or
// after it was switched on or off again.
func (t *Trace) Stopped(dev string) string {
	if t == nil {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stopped[dev]
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

type stopNote struct{ dev, why string }

func (t *Trace) write(dev, line string) {
	t.mu.Lock()
	stops := t.writeLocked(dev, line)
	t.mu.Unlock()
	if t.opts.OnStop != nil {
		for _, s := range stops {
			t.opts.OnStop(s.dev, s.why)
		}
	}
}

func (t *Trace) writeLocked(dev, line string) []stopNote {
	if !t.on[dev] {
		return nil
	}
	n := int64(len(line))
	if t.sinceChk+n >= diskCheckBytes || time.Since(t.lastCheck) >= diskCheckEvery {
		t.lastCheck, t.sinceChk = time.Now(), 0
		if why := t.diskLowLocked(); why != "" {
			// The disk is shared: every trace stops.
			var stops []stopNote
			for d, on := range t.on {
				if on {
					t.stopLocked(d, why)
					stops = append(stops, stopNote{d, why})
				}
			}
			return stops
		}
	}
	tf := t.files[dev]
	if tf == nil {
		if len(t.files) == 0 {
			t.rescanLocked() // files may have been removed by hand
		}
		f, err := os.OpenFile(t.File(dev), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return nil
		}
		_ = f.Chmod(0o600) // a file from an older halld was 0640
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil
		}
		tf = &traceFile{f: f, size: fi.Size()}
		t.files[dev] = tf
	}
	if tf.size > 0 && tf.size+n > t.opts.MaxFileBytes {
		if tf = t.rotateLocked(dev); tf == nil {
			return nil
		}
	}
	if t.total+n > t.opts.MaxTotalBytes {
		t.deleteRotatedLocked(n)
		if t.total+n > t.opts.MaxTotalBytes {
			why := t.totalReason()
			t.stopLocked(dev, why)
			return []stopNote{{dev, why}}
		}
	}
	w, _ := tf.f.WriteString(line)
	tf.size += int64(w)
	t.total += int64(w)
	t.sinceChk += int64(w)
	return nil
}

// rotateLocked moves dev's file to <dev>.trace.1 (replacing the previous
// one) and opens a fresh one.
func (t *Trace) rotateLocked(dev string) *traceFile {
	tf := t.files[dev]
	tf.f.Close()
	delete(t.files, dev)
	cur, prev := t.File(dev), t.File(dev)+".1"
	if fi, err := os.Stat(prev); err == nil {
		t.total -= fi.Size()
	}
	if err := os.Rename(cur, prev); err != nil {
		return nil
	}
	f, err := os.OpenFile(cur, os.O_CREATE|os.O_TRUNC|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil
	}
	tf = &traceFile{f: f}
	t.files[dev] = tf
	return tf
}

// deleteRotatedLocked deletes rotated files, oldest first, until need more
// bytes fit within the total bound.
func (t *Trace) deleteRotatedLocked(need int64) {
	type old struct {
		path string
		size int64
		mod  time.Time
	}
	var olds []old
	ents, _ := os.ReadDir(t.dir)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".trace.1") {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			olds = append(olds, old{filepath.Join(t.dir, e.Name()), fi.Size(), fi.ModTime()})
		}
	}
	sort.Slice(olds, func(a, b int) bool { return olds[a].mod.Before(olds[b].mod) })
	for _, o := range olds {
		if t.total+need <= t.opts.MaxTotalBytes {
			return
		}
		if err := os.Remove(o.path); err == nil || errors.Is(err, os.ErrNotExist) {
			t.total -= o.size
		}
	}
}

// rescanLocked recounts the bytes of every trace file in dir.
func (t *Trace) rescanLocked() {
	var total int64
	ents, _ := os.ReadDir(t.dir)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".trace") && !strings.HasSuffix(e.Name(), ".trace.1") {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			total += fi.Size()
		}
	}
	t.total = total
}

// stopLocked notes why in dev's file, switches tracing off and remembers why.
func (t *Trace) stopLocked(dev, why string) {
	if tf := t.files[dev]; tf != nil {
		w, _ := fmt.Fprintf(tf.f, "%s -- trace stopped: %s\n", stamp(), why)
		tf.size += int64(w)
		t.total += int64(w)
	}
	t.closeLocked(dev)
	t.on[dev] = false
	t.stopped[dev] = why
}

func (t *Trace) closeLocked(dev string) {
	if tf := t.files[dev]; tf != nil {
		tf.f.Close()
		delete(t.files, dev)
	}
}

// diskLowLocked says why the disk is too low to trace, or "".
func (t *Trace) diskLowLocked() string {
	free, size, err := t.opts.DiskFree(t.dir)
	if err != nil {
		return "" // cannot tell (e.g. dir not made yet): the total bound still holds
	}
	floor := t.opts.MinFreeBytes
	if pc := uint64(float64(size) * t.opts.MinFreePercent / 100); pc > floor {
		floor = pc
	}
	if free < floor {
		return fmt.Sprintf("存储磁盘剩余空间不足（剩余 %s，低于 %s），已停止 hex 跟踪", mib(free), mib(floor))
	}
	return ""
}

func (t *Trace) totalReason() string {
	return fmt.Sprintf("跟踪文件总量达到上限 %s，已停止 hex 跟踪（可删除 %s 下的旧跟踪文件）", mib(uint64(t.opts.MaxTotalBytes)), t.dir)
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// Close closes every trace file.
func (t *Trace) Close() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.files {
		t.closeLocked(k)
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
