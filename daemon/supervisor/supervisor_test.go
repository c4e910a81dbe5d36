package supervisor_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"halld/daemon/supervisor"
	"halld/drivers/device"
	"halld/drivers/serialport"
	"halld/internal/ptytest"
	"halld/internal/syncbuf"
)

// deaf is a device that never reads: once the pty's buffer is full, a write
// to it makes no progress, as to a printer holding flow control.
func deaf(ctx context.Context, rw io.ReadWriter) error {
	<-ctx.Done()
	return nil
}

type syncBuf = syncbuf.Buffer

// flooder writes more than the device takes, over and over.
type flooder struct{}

func (flooder) Run(ctx context.Context, port device.Port, report func(device.Report)) error {
	report(device.Report{State: device.StateReady, Seen: true})
	for ctx.Err() == nil {
		if _, err := port.Write(make([]byte, 64<<10)); err != nil {
			return err
		}
	}
	return nil
}

// ignoring is a driver that does not honour its context.
type ignoring struct{ never chan struct{} }

func (d ignoring) Run(ctx context.Context, port device.Port, report func(device.Report)) error {
	report(device.Report{State: device.StateReady})
	<-d.never
	return nil
}

func waitInfo(t *testing.T, s *supervisor.Supervisor, id string, ok func(supervisor.Info) bool) supervisor.Info {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		i, _ := s.Info(id)
		if ok(i) {
			return i
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: condition not met; info %+v", id, i)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A device that takes no data: the write times out, the device is offline
// with the write_timeout reason and its Chinese message, the timeout is
// counted, and the port is reopened with backoff.
func TestWriteTimeoutMarksOfflineAndReopens(t *testing.T) {
	vp := ptytest.Device(t, "deaf", deaf)
	var states []string
	var smu sync.Mutex
	s := supervisor.New(slog.New(slog.NewTextHandler(io.Discard, nil)), nil, func(id, kind string, r device.Report) {
		smu.Lock()
		states = append(states, r.State+"/"+r.Reason)
		smu.Unlock()
	}, supervisor.Backoff{Min: 50 * time.Millisecond, Max: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	s.Start(ctx, supervisor.Device{ID: "dev-1", Kind: "line", Spec: serialport.Spec{Path: vp.Path(), WriteTimeout: 200 * time.Millisecond}, Driver: flooder{}})
	start := time.Now()
	i := waitInfo(t, s, "dev-1", func(i supervisor.Info) bool { return i.Reason == supervisor.ReasonWriteTimeout })
	t.Logf("offline for a write timeout %v after start; info %+v", time.Since(start), i)
	if i.State != device.StateOffline || i.Detail["message"] != supervisor.WriteTimeoutMessage || i.Counters.WriteTimeouts == 0 {
		t.Fatalf("after a write timeout: %+v", i)
	}
	if !strings.Contains(i.LastError, "write timeout") {
		t.Fatalf("last error %q", i.LastError)
	}
	waitInfo(t, s, "dev-1", func(i supervisor.Info) bool { return i.Counters.Connects >= 3 && i.Counters.WriteTimeouts >= 2 })
	cancel()
	if left := s.WaitFor(2 * time.Second); left != nil {
		t.Fatalf("abandoned %v", left)
	}
	smu.Lock()
	defer smu.Unlock()
	if !strings.Contains(strings.Join(states, " "), "offline/write_timeout") {
		t.Fatalf("observer heard %v", states)
	}
}

// Stopping returns within the bound whatever a device does: a driver that
// ignores its context is logged and abandoned; one stuck writing to a
// device that takes nothing stops within the write timeout.
func TestStopIsBounded(t *testing.T) {
	logs := &syncBuf{}
	s := supervisor.New(slog.New(slog.NewTextHandler(logs, nil)), nil, nil, supervisor.Backoff{})
	s.StopWait = 400 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	stuck := ignoring{never: make(chan struct{})}
	defer close(stuck.never)
	s.Start(ctx, supervisor.Device{ID: "stuck-1", Kind: "line", Spec: serialport.Spec{Path: ptytest.Device(t, "a", deaf).Path()}, Driver: stuck})
	s.Start(ctx, supervisor.Device{ID: "flood-1", Kind: "line", Spec: serialport.Spec{Path: ptytest.Device(t, "b", deaf).Path(), WriteTimeout: 5 * time.Second}, Driver: flooder{}})
	waitInfo(t, s, "stuck-1", func(i supervisor.Info) bool { return i.Connected })
	waitInfo(t, s, "flood-1", func(i supervisor.Info) bool { return i.Connected })
	time.Sleep(100 * time.Millisecond) // flood-1 is now stuck in its write
	cancel()
	start := time.Now()
	done := make(chan struct{})
	go func() { s.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Wait did not return within 3 s of the stop")
	}
	took := time.Since(start)
	t.Logf("stop took %v (bound %v)", took, s.StopWait)
	if took > s.StopWait+200*time.Millisecond {
		t.Fatalf("stop took %v, bound %v", took, s.StopWait)
	}
	if !strings.Contains(logs.String(), "abandoned") || !strings.Contains(logs.String(), "device=stuck-1") {
		t.Fatalf("abandoned device not logged:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "device=flood-1 waited") {
		t.Fatalf("flood-1 must have stopped (Close wakes its write):\n%s", logs.String())
	}
}

// echo answers every byte it gets, as a polled device answers its polls.
func echo(ctx context.Context, rw io.ReadWriter) error {
	b := make([]byte, 64)
	for ctx.Err() == nil {
		n, err := rw.Read(b)
		if err != nil {
			return err
		}
		if _, err := rw.Write(b[:n]); err != nil {
			return err
		}
	}
	return nil
}

// poller polls its device and reports only once, at the start, as a bus
// master does while nothing changes on its line.
type poller struct{}

func (poller) Run(ctx context.Context, port device.Port, report func(device.Report)) error {
	report(device.Report{State: device.StateReady, Seen: true})
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-port.Dead():
			return port.Err()
		case <-t.C:
			if _, err := port.Write([]byte{0x05}); err != nil {
				return err
			}
			port.Read(50 * time.Millisecond)
		}
	}
}

// A device's last contact comes from its traffic, not from its driver's
// state reports: a polled device that answers stays fresh while its state
// never changes; one that stops answering goes stale.
func TestLastSeenFollowsTraffic(t *testing.T) {
	s := supervisor.New(slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil, supervisor.Backoff{})
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); s.WaitFor(2 * time.Second) }()
	s.Start(ctx, supervisor.Device{ID: "bus-1", Kind: "bus", Spec: serialport.Spec{Path: ptytest.Device(t, "echo", echo).Path()}, Driver: poller{}})
	first := waitInfo(t, s, "bus-1", func(i supervisor.Info) bool { return i.LastSeen != nil }).LastSeen
	time.Sleep(2500 * time.Millisecond)
	i, _ := s.Info("bus-1")
	if age := time.Since(*i.LastSeen); age > 1200*time.Millisecond || !i.LastSeen.After(*first) {
		t.Fatalf("polled and answering for 2.5 s: last seen %v ago (first contact %v ago)", age.Round(time.Millisecond), time.Since(*first).Round(time.Millisecond))
	}
	if i.State != device.StateReady || i.Counters.RxBytes == 0 {
		t.Fatalf("info %+v", i)
	}

	// A device that says nothing is not made fresh by being asked about.
	s.Start(ctx, supervisor.Device{ID: "mute-1", Kind: "bus", Spec: serialport.Spec{Path: ptytest.Device(t, "mute", deaf).Path()}, Driver: poller{}})
	first = waitInfo(t, s, "mute-1", func(i supervisor.Info) bool { return i.LastSeen != nil }).LastSeen
	time.Sleep(1500 * time.Millisecond)
	if i, _ := s.Info("mute-1"); !i.LastSeen.Equal(*first) {
		t.Fatalf("a device that never answered was seen again at %v", i.LastSeen)
	}

	// Seen (MQTT devices' heartbeats) moves it forward only.
	s.Register("term-1", "terminal", "self-24h", "mqtt", false)
	now := time.Now()
	s.Seen("term-1", now)
	s.Seen("term-1", now.Add(-time.Minute))
	if i, _ := s.Info("term-1"); i.LastSeen == nil || !i.LastSeen.Equal(now) {
		t.Fatalf("term-1 last seen %v, want %v", i.LastSeen, now)
	}
}
