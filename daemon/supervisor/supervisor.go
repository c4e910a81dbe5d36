// Package supervisor runs every serial device the hall declares: it opens the
// port, runs the driver until the link dies, marks the device offline at once,
// and reopens with capped, jittered backoff — never a restart of halld, never
// a busy loop. It keeps per-device state and counters for the API and metrics.
package supervisor

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"halld/daemon/internal/backoff"
	"halld/drivers/device"
	"halld/drivers/serialport"
)

// The port the supervisor opens is the one every driver is written against.
var _ device.Port = (*serialport.Port)(nil)

// Device is one device to supervise.
type Device struct {
	ID, Kind, Area string
	Spec           serialport.Spec
	Driver         device.Driver
	Simulated      bool
}

// Info is a device's live bookkeeping.
type Info struct {
	ID        string         `json:"id"`
	Kind      string         `json:"kind"`
	Area      string         `json:"area"`
	State     string         `json:"state"`
	Reason    string         `json:"reason,omitempty"`
	Detail    map[string]any `json:"detail,omitempty"`
	Since     time.Time      `json:"since"`
	LastSeen  *time.Time     `json:"last_seen"`
	Port      string         `json:"port"`
	Simulated bool           `json:"simulated"`
	Trace     bool           `json:"trace"`
	// TraceStopped is why the device's hex trace stopped by itself (disk
	// low, trace files at their bound); empty otherwise.
	TraceStopped string        `json:"trace_stopped,omitempty"`
	LastError    string        `json:"last_error,omitempty"`
	Counters     Counters      `json:"counters"`
	Connected    bool          `json:"connected"`
	RetryDelay   time.Duration `json:"-"`

	port   *serialport.Port // while connected, for live byte counters
	driver device.Driver
	seenRx uint64 // the connection's rx count when contact was last noted
}

// withLive adds the open connection's byte counts.
func (i Info) withLive() Info {
	if jc, ok := i.driver.(jobCounter); ok {
		i.Counters.Jobs = jc.Jobs()
	}
	i.driver = nil
	if i.port != nil {
		rx, tx := i.port.Counters()
		i.Counters.RxBytes += rx
		i.Counters.TxBytes += tx
		i.port = nil
	}
	return i
}

// Counters count what happened to a device since halld started.
type Counters struct {
	Connects   uint64 `json:"connects"`
	Reconnects uint64 `json:"reconnects"`
	Errors     uint64 `json:"errors"`
	OpenFails  uint64 `json:"open_fails"`
	// WriteTimeouts counts links dropped because the device took no data
	// for the write timeout (flow control held, or the cable).
	WriteTimeouts uint64 `json:"write_timeouts"`
	RxBytes       uint64 `json:"rx_bytes"`
	TxBytes       uint64 `json:"tx_bytes"`
	Jobs          uint64 `json:"jobs,omitempty"` // work done, for drivers that count it (printers: jobs printed)
}

// jobCounter is implemented by drivers that count their work.
type jobCounter interface{ Jobs() uint64 }

// Observer hears every state change, in order per device.
type Observer func(id, kind string, r device.Report)

// Backoff bounds the reconnect delay (full jitter, doubling from Min to Max,
// reset after a link that lasted Stable): the same policy as the uplink's.
type Backoff = backoff.Policy

// Supervisor runs devices.
type Supervisor struct {
	log     *slog.Logger
	trace   *serialport.Trace
	observe Observer
	backoff Backoff

	// StopWait bounds Wait (default 5 s): past it, device loops still
	// running are logged and abandoned, so a stop never hangs on a device.
	StopWait time.Duration

	mu      sync.Mutex
	infos   map[string]*Info
	running map[string]int // device loops not yet ended, by id
	wg      sync.WaitGroup
}

// Reason a link was dropped for a write timeout, and what the hall is told.
const (
	ReasonWriteTimeout  = "write_timeout"
	WriteTimeoutMessage = "写入超时：设备不接收数据（流控或线缆）"
)

// New makes a supervisor. observe may be nil.
func New(log *slog.Logger, trace *serialport.Trace, observe Observer, b Backoff) *Supervisor {
	if b.Min <= 0 {
		b.Min = 250 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 5 * time.Second
	}
	if b.Stable <= 0 {
		b.Stable = 10 * time.Second
	}
	return &Supervisor{log: log, trace: trace, observe: observe, backoff: b, StopWait: 5 * time.Second,
		infos: map[string]*Info{}, running: map[string]int{}}
}

// Start runs d until ctx ends.
func (s *Supervisor) Start(ctx context.Context, d Device) {
	s.mu.Lock()
	s.infos[d.ID] = &Info{ID: d.ID, Kind: d.Kind, Area: d.Area, State: device.StateOffline, Since: time.Now(),
		Port: d.Spec.String(), Simulated: d.Simulated, driver: d.Driver}
	s.running[d.ID]++
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			if s.running[d.ID]--; s.running[d.ID] <= 0 {
				delete(s.running, d.ID)
			}
			s.mu.Unlock()
		}()
		s.run(ctx, d)
	}()
}

// Register adds a device that another device's driver runs — a pad on an
// RS-485 line — so it has its own state and counters. Its state is set
// with Report.
func (s *Supervisor) Register(id, kind, area, port string, simulated bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.infos[id] = &Info{ID: id, Kind: kind, Area: area, State: device.StateOffline, Since: time.Now(),
		Port: port, Simulated: simulated}
}

// Report sets the state of a registered sub-device.
func (s *Supervisor) Report(id string, r device.Report) {
	s.mu.Lock()
	i, ok := s.infos[id]
	s.mu.Unlock()
	if ok {
		s.report(Device{ID: id, Kind: i.Kind}, r)
	}
}

// CountError counts an error against a device (bad frames, retries).
func (s *Supervisor) CountError(id, msg string) {
	s.update(id, func(i *Info) {
		i.Counters.Errors++
		i.LastError = msg
	})
}

// Wait waits for every device loop to end (after ctx is cancelled), for at
// most StopWait; then it logs the devices it abandons and returns.
func (s *Supervisor) Wait() {
	d := s.StopWait
	if d <= 0 {
		d = 5 * time.Second
	}
	s.WaitFor(d)
}

// WaitFor waits at most d for every device loop to end and returns the ids
// of those still running (logged as abandoned), sorted; nil when all ended.
// An abandoned loop is one whose driver ignores its context; it is left to
// end with the process.
func (s *Supervisor) WaitFor(d time.Duration) []string {
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
	}
	s.mu.Lock()
	var ids []string
	for id := range s.running {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		args := []any{"device", id, "waited", d}
		if i := s.infos[id]; i != nil {
			args = append(args, "kind", i.Kind, "state", i.State, "connected", i.Connected, "port", i.Port)
			if i.port != nil {
				if st := i.port.WriteStalled(); st > 0 {
					args = append(args, "write_stalled_for", st.Round(time.Millisecond))
				}
			}
		}
		s.log.Error("device did not stop in time; abandoned", args...)
	}
	s.mu.Unlock()
	return ids
}

// seenEvery is how often a connection's received bytes are looked at for
// contact: a device whose rx counter moved was heard from (a poll answered,
// a pad's reply on its bus, a scan), whatever its driver reports.
const seenEvery = time.Second

// heard notes contact from i's open connection when its rx counter moved.
// Caller holds s.mu.
func heard(i *Info, now time.Time) {
	if i.port == nil {
		return
	}
	rx, _ := i.port.Counters()
	if rx != i.seenRx {
		i.seenRx = rx
		i.LastSeen = &now
	}
}

// watchRx notes contact while a connection runs (see seenEvery).
func (s *Supervisor) watchRx(id string, runDone <-chan struct{}) {
	t := time.NewTicker(seenEvery)
	defer t.Stop()
	for {
		select {
		case <-runDone:
			return
		case <-t.C:
			s.update(id, func(i *Info) { heard(i, time.Now()) })
		}
	}
}

// Seen records contact with a device now (a heartbeat or message from a
// device that has no serial port of its own: MQTT terminals and pads).
func (s *Supervisor) Seen(id string, at time.Time) {
	s.update(id, func(i *Info) {
		if i.LastSeen == nil || at.After(*i.LastSeen) {
			i.LastSeen = &at
		}
	})
}

func (s *Supervisor) run(ctx context.Context, d Device) {
	log := s.log.With("device", d.ID, "kind", d.Kind)
	retry := backoff.New(s.backoff)
	s.report(d, device.Report{State: device.StateOffline, Reason: "connecting"})
	first := true
	for ctx.Err() == nil {
		port, err := serialport.Open(ctx, d.ID, d.Spec, s.trace)
		if err != nil {
			s.update(d.ID, func(i *Info) {
				i.Counters.OpenFails++
				i.LastError = err.Error()
				i.RetryDelay = retry.Delay()
			})
			if first || !errors.Is(err, serialport.ErrNotFound) {
				log.Warn("cannot open port; will retry", "port", d.Spec.String(), "err", err, "retry_in", retry.Delay())
			}
			first = false
			s.report(d, device.Report{State: device.StateOffline, Reason: "not_attached"})
			if !retry.Wait(ctx) {
				return
			}
			continue
		}
		first = true
		s.update(d.ID, func(i *Info) {
			if i.Counters.Connects > 0 {
				i.Counters.Reconnects++
			}
			i.Counters.Connects++
			i.Connected = true
			i.Port = port.Path()
			i.port = port
			i.seenRx = 0
		})
		log.Info("port open", "path", port.Path())
		started := time.Now()
		runDone := make(chan struct{})
		go s.closeOnStop(ctx, log, port, runDone)
		go s.watchRx(d.ID, runDone)
		runErr := d.Driver.Run(ctx, port, func(r device.Report) { s.report(d, r) })
		close(runDone)
		port.Close()
		if runErr == nil {
			runErr = port.Err()
		}
		writeTimeout := errors.Is(runErr, serialport.ErrWriteTimeout) || errors.Is(port.Err(), serialport.ErrWriteTimeout)
		rx, tx := port.Counters()
		s.update(d.ID, func(i *Info) {
			heard(i, time.Now())
			i.Connected = false
			i.port = nil
			i.Counters.RxBytes += rx
			i.Counters.TxBytes += tx
			if runErr != nil {
				i.Counters.Errors++
				i.LastError = runErr.Error()
			}
			if writeTimeout {
				i.Counters.WriteTimeouts++
			}
		})
		if ctx.Err() != nil {
			return
		}
		if writeTimeout {
			// The device takes nothing: offline with a reason hall IT can
			// act on (flow control, cable), then reopened with backoff.
			log.Warn("device takes no data; link dropped, will reopen", "err", runErr, "retry_in", retry.Delay())
			s.report(d, device.Report{State: device.StateOffline, Reason: ReasonWriteTimeout,
				Detail: map[string]any{"message": WriteTimeoutMessage}})
		} else {
			log.Warn("device link lost", "err", runErr)
			s.report(d, device.Report{State: device.StateOffline, Reason: "link_lost"})
		}
		retry.Ended(time.Since(started))
		if !retry.Wait(ctx) {
			return
		}
	}
}

// closeOnStop closes the port of a driver that has not returned a moment
// after the stop: that wakes a read or write it is stuck in (a device that
// takes nothing), so the driver can return before Wait gives up on it.
func (s *Supervisor) closeOnStop(ctx context.Context, log *slog.Logger, port *serialport.Port, runDone <-chan struct{}) {
	select {
	case <-runDone:
		return
	case <-ctx.Done():
	}
	grace := s.StopWait / 5
	if grace <= 0 {
		grace = time.Second
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-runDone:
	case <-t.C:
		log.Warn("driver still running after the stop; closing its port", "waited", grace, "write_stalled_for", port.WriteStalled().Round(time.Millisecond))
		port.Close()
	}
}

func (s *Supervisor) report(d Device, r device.Report) {
	changed := false
	s.mu.Lock()
	i := s.infos[d.ID]
	if r.Seen {
		now := time.Now()
		i.LastSeen = &now
	}
	if i.State != r.State || i.Reason != r.Reason || !sameDetail(i.Detail, r.Detail) {
		changed = true
		if i.State != r.State {
			i.Since = time.Now()
		}
		i.State, i.Reason, i.Detail = r.State, r.Reason, r.Detail
	}
	s.mu.Unlock()
	if changed && s.observe != nil {
		s.observe(d.ID, d.Kind, r)
	}
}

func sameDetail(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok {
			return false
		}
		switch vv := v.(type) {
		case []string:
			ww, ok := w.([]string)
			if !ok || len(vv) != len(ww) {
				return false
			}
			for i := range vv {
				if vv[i] != ww[i] {
					return false
				}
			}
		default:
			if v != w {
				return false
			}
		}
	}
	return true
}

func (s *Supervisor) update(id string, fn func(*Info)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.infos[id]; ok {
		fn(i)
	}
}

// Infos returns every device's bookkeeping, sorted by id.
func (s *Supervisor) Infos() []Info {
	s.mu.Lock()
	out := make([]Info, 0, len(s.infos))
	now := time.Now()
	for _, i := range s.infos {
		heard(i, now)
		c := i.withLive()
		c.Trace = s.trace.On(i.ID)
		c.TraceStopped = s.trace.Stopped(i.ID)
		out = append(out, c)
	}
	s.mu.Unlock()
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}

// Info returns one device's bookkeeping.
func (s *Supervisor) Info(id string) (Info, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.infos[id]
	if !ok {
		return Info{}, false
	}
	heard(i, time.Now())
	c := i.withLive()
	c.Trace = s.trace.On(id)
	c.TraceStopped = s.trace.Stopped(id)
	return c, true
}
