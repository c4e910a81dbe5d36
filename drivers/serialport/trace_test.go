package serialport_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"halld/drivers/serialport"
)

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size()
}

func dirBytes(t *testing.T, dir string) (total int64, names []string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		fi, _ := e.Info()
		total += fi.Size()
		names = append(names, e.Name())
	}
	return total, names
}

// plenty is a disk with room to spare.
func plenty(string) (uint64, uint64, error) { return 100 << 30, 200 << 30, nil }

func TestTraceRotatesPerDeviceFile(t *testing.T) {
	dir := t.TempDir()
	tr := serialport.NewTraceWithOptions(dir, serialport.TraceOptions{MaxFileBytes: 16 << 10, MaxTotalBytes: 1 << 30, DiskFree: plenty})
	defer tr.Close()
	if err := tr.Set("bus-1", true); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 100)
	for range 2000 { // ~0.7 MB of trace lines
		tr.Bytes("bus-1", "rx", chunk)
	}
	cur, prev := tr.File("bus-1"), tr.File("bus-1")+".1"
	if s := fileSize(t, cur); s <= 0 || s > 16<<10 {
		t.Fatalf("%s is %d bytes, bound 16 KiB", cur, s)
	}
	if s := fileSize(t, prev); s <= 0 || s > 16<<10 {
		t.Fatalf("%s is %d bytes, bound 16 KiB", prev, s)
	}
	if total, names := dirBytes(t, dir); total > 32<<10 || len(names) != 2 {
		t.Fatalf("trace dir holds %d bytes in %v; want the file and one previous", total, names)
	}
	for _, p := range []string{cur, prev} {
		fi, _ := os.Stat(p)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	if !tr.On("bus-1") || tr.Stopped("bus-1") != "" {
		t.Fatalf("rotation must not stop the trace (stopped %q)", tr.Stopped("bus-1"))
	}
}

func TestTraceTotalBoundDeletesOldestRotatedThenStops(t *testing.T) {
	dir := t.TempDir()
	var stops []string
	var smu sync.Mutex
	const bound = 40 << 10
	tr := serialport.NewTraceWithOptions(dir, serialport.TraceOptions{MaxFileBytes: 16 << 10, MaxTotalBytes: bound, DiskFree: plenty,
		OnStop: func(dev, why string) { smu.Lock(); stops = append(stops, dev+": "+why); smu.Unlock() }})
	defer tr.Close()
	chunk := make([]byte, 100)
	// An old device leaves a rotated file behind and is switched off.
	tr.Set("old", true)
	for range 60 {
		tr.Bytes("old", "tx", chunk)
	}
	tr.Set("old", false)
	if fileSize(t, tr.File("old")+".1") <= 0 {
		t.Fatal("old device has no rotated file")
	}
	// Three busy buses then write on: rotated files go, oldest first, and
	// when the current files alone fill the bound, tracing stops.
	buses := []string{"bus-1", "bus-2", "bus-3"}
	for _, b := range buses {
		tr.Set(b, true)
	}
	oldGoneFirst := true
	for range 300 {
		for _, b := range buses {
			tr.Bytes(b, "rx", chunk)
			if fileSize(t, tr.File("old")+".1") > 0 {
				for _, b2 := range buses {
					if fileSize(t, tr.File(b2)+".1") < 0 && fileSize(t, tr.File(b2)) > 15<<10 {
						// b2 rotated and its rotated file is gone while old's is not
						oldGoneFirst = false
					}
				}
			}
		}
	}
	total, names := dirBytes(t, dir)
	t.Logf("dir: %d bytes in %v", total, names)
	if total > bound+3*512 { // + the stop notes
		t.Fatalf("trace dir holds %d bytes, bound %d", total, bound)
	}
	if fileSize(t, tr.File("old")+".1") >= 0 || !oldGoneFirst {
		t.Fatal("the oldest rotated file must go first")
	}
	stopped := ""
	for _, b := range buses {
		if !tr.On(b) {
			stopped = b
		}
	}
	if stopped == "" {
		t.Fatal("tracing went on past the total bound")
	}
	why := tr.Stopped(stopped)
	if !strings.Contains(why, "上限") {
		t.Fatalf("Stopped(%s) = %q", stopped, why)
	}
	b, _ := os.ReadFile(tr.File(stopped))
	if n := strings.Count(string(b), "trace stopped"); n != 1 {
		t.Fatalf("the trace file notes the stop %d times, want once", n)
	}
	size := fileSize(t, tr.File(stopped))
	tr.Bytes(stopped, "rx", chunk)
	if fileSize(t, tr.File(stopped)) != size {
		t.Fatal("a stopped trace still writes")
	}
	smu.Lock()
	if len(stops) == 0 || !strings.Contains(strings.Join(stops, "\n"), stopped+": ") {
		t.Fatalf("OnStop heard %q", stops)
	}
	smu.Unlock()
	// A reload that says "off" keeps the reason visible; only switching on
	// again clears it.
	tr.Set(stopped, false)
	if tr.Stopped(stopped) == "" {
		t.Fatal("switching an already stopped trace off must keep why it stopped")
	}
}

func TestTraceStopsWhenDiskLow(t *testing.T) {
	dir := t.TempDir()
	var free atomic.Uint64
	free.Store(10 << 30)
	disk := func(string) (uint64, uint64, error) { return free.Load(), 20 << 30, nil }
	var stops atomic.Int32
	tr := serialport.NewTraceWithOptions(dir, serialport.TraceOptions{MinFreeBytes: 64 << 20, MinFreePercent: 5, DiskFree: disk,
		OnStop: func(dev, why string) { stops.Add(1) }})
	defer tr.Close()
	for _, d := range []string{"pad-bus", "printer-1"} {
		if err := tr.Set(d, true); err != nil {
			t.Fatal(err)
		}
	}
	chunk := make([]byte, 64)
	for range 100 {
		tr.Bytes("pad-bus", "rx", chunk)
		tr.Bytes("printer-1", "tx", chunk)
	}
	free.Store(900 << 20) // under 5 % of 20 GiB
	for range 20000 {     // well past the bytes between free-space checks
		tr.Bytes("pad-bus", "rx", chunk)
	}
	for _, d := range []string{"pad-bus", "printer-1"} {
		if tr.On(d) {
			t.Fatalf("%s still traced on a low disk", d)
		}
		if why := tr.Stopped(d); !strings.Contains(why, "剩余空间不足") {
			t.Fatalf("Stopped(%s) = %q", d, why)
		}
	}
	if n := stops.Load(); n != 2 {
		t.Fatalf("OnStop told %d times, want once per device", n)
	}
	size := fileSize(t, tr.File("pad-bus"))
	tr.Bytes("pad-bus", "rx", chunk)
	if fileSize(t, tr.File("pad-bus")) != size {
		t.Fatal("a stopped trace still writes")
	}
	b, _ := os.ReadFile(tr.File("printer-1"))
	if strings.Count(string(b), "trace stopped") != 1 {
		t.Fatalf("printer-1's file does not note the stop once:\n%.300s", b)
	}
	if err := tr.Set("pad-bus", true); err == nil || !strings.Contains(err.Error(), "剩余空间不足") {
		t.Fatalf("switching on while the disk is low: %v", err)
	}
	free.Store(10 << 30)
	if err := tr.Set("pad-bus", true); err != nil {
		t.Fatal(err)
	}
	if tr.Stopped("pad-bus") != "" || !tr.On("pad-bus") {
		t.Fatal("switched on again, the trace must run and the stop be cleared")
	}
	if tr.Stopped("printer-1") == "" {
		t.Fatal("printer-1's stop must stay visible until it is switched again")
	}
	// An absolute floor too: 5 % of a small disk is not enough.
	free.Store(32 << 20)
	small := func(string) (uint64, uint64, error) { return free.Load(), 100 << 20, nil }
	tr2 := serialport.NewTraceWithOptions(filepath.Join(dir, "2"), serialport.TraceOptions{DiskFree: small})
	if err := tr2.Set("x", true); err == nil {
		t.Fatal("tracing switched on with 32 MiB free (default floor 64 MiB)")
	}
}

// A file left by an older halld (0640) is made 0600.
func TestTraceFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	tr := serialport.NewTraceWithOptions(dir, serialport.TraceOptions{DiskFree: plenty})
	defer tr.Close()
	os.WriteFile(tr.File("p"), []byte("old\n"), 0o640)
	tr.Set("p", true)
	tr.Note("p", "open")
	fi, _ := os.Stat(tr.File("p"))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("trace file mode %v", fi.Mode().Perm())
	}
}
