// Package app wires halld together: config → journal → replay → engine →
// device supervisor → printing → web. Each part registers its stop as it
// starts (internal/lifecycle), so it comes down in the reverse order: a
// print in flight finishes, the devices' last reports are recorded and sent
// up, and the journal closes cleanly — also when start-up fails half-way.
//
// The files by job: app.go the order of construction; devices.go the table
// of device kinds; uplink.go the central uplink; httpserve.go the listener
// and the start-up handler. The hall broker's side is package
// daemon/hallbroker, the demo's simulators package daemon/sims.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"halld/daemon/central"
	"halld/daemon/config"
	"halld/daemon/engine"
	"halld/daemon/hall"
	"halld/daemon/hallbroker"
	"halld/daemon/internal/lifecycle"
	"halld/daemon/issuer"
	"halld/daemon/journal"
	"halld/daemon/kiosks"
	"halld/daemon/netlimit"
	"halld/daemon/pads"
	"halld/daemon/phonetoken"
	"halld/daemon/pii"
	"halld/daemon/printing"
	"halld/daemon/retention"
	"halld/daemon/sims"
	"halld/daemon/stats"
	"halld/daemon/supervisor"
	"halld/daemon/uplink"
	"halld/daemon/web"
	"halld/drivers/device"
	"halld/drivers/escpos/printer"
	"halld/drivers/hpad/padbus"
	"halld/drivers/idcard"
	"halld/drivers/linedev/lineport"
	"halld/drivers/serialport"
	kioskui "halld/kiosk-ui"
)

// Options are run-time choices that are not part of the hall's config.
type Options struct {
	Log *slog.Logger
	// Now is the clock (tests); nil = time.Now.
	Now func() time.Time
	// Listen overrides http.listen (tests use 127.0.0.1:0).
	Listen string
	// OnReady is called once halld is ready (a.Addr is the listening address).
	OnReady func(a *App)
	// Backoff overrides the reconnect backoff (tests).
	Backoff supervisor.Backoff
}

// App is a running halld.
type App struct {
	Config     *config.Config
	Journal    *journal.Journal
	Engine     *engine.Engine
	Supervisor *supervisor.Supervisor
	Printers   map[string]*printer.Printer
	Lines      map[string]*padbus.Bus
	Sims       *sims.Set
	Trace      *serialport.Trace
	Addr       string
	PII        *pii.Key
	Kiosks     *kiosks.Manager
	LineDevs   map[string]*lineport.Device
	Stats      *stats.Live
	Pruner     *retention.Pruner
	Uplink     *uplink.Uplink
	Terminals  *hallbroker.Side

	httpLimit *netlimit.Listener
	pads      *pads.Service
}

// uplinkStatus is the uplink's status; ok is false when none is configured.
// The uplink is built before anything that reads it starts, and never
// replaced, so it needs no lock.
func (a *App) uplinkStatus() (uplink.Status, bool) {
	if u := a.Uplink; u != nil {
		return u.Status(), true
	}
	return uplink.Status{}, false
}

// DeviceCommand sends a command to an MQTT device (a terminal).
func (a *App) DeviceCommand(ctx context.Context, id, name string, args any) ([]byte, error) {
	return a.Terminals.Command(ctx, id, name, args)
}

// SendLine sends an outbound line to a line device.
func (a *App) SendLine(ctx context.Context, id, line string) error {
	d, ok := a.LineDevs[id]
	if !ok {
		return fmt.Errorf("没有这个行设备：%s", id)
	}
	return d.Send(ctx, line)
}

// stopTimeout is how long each part may take to stop (an HTTP request
// printing a ticket, the uplink sending what the stop recorded).
const stopTimeout = 15 * time.Second

// Run runs halld until ctx ends. Parts are built in the order they depend
// on each other; each registers its stop with the group as it starts, so a
// failure half-way through start-up, a failed listener or the end of ctx
// stop what had started in the reverse order.
func Run(ctx context.Context, cfg *config.Config, opts Options) error {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	start := time.Now()
	sddaemon.SdNotify(false, "STATUS=starting")
	if lim, err := serialport.RaiseFDs(); err != nil {
		log.Warn("cannot raise the open-file limit", "err", err)
	} else if need := fdBudget(cfg); lim < need {
		// Every listener is bounded; with fewer descriptors than the bounds
		// add up to, a flood could still take the ones the ports need.
		log.Warn("open-file limit below what this hall's bounds add up to: raise LimitNOFILE",
			"limit", lim, "needed", need)
	}
	a := &App{Config: cfg, Printers: map[string]*printer.Printer{}, Lines: map[string]*padbus.Bus{},
		LineDevs: map[string]*lineport.Device{}}
	g := lifecycle.New(log, stopTimeout)
	defer g.Stop() // an error return stops what had started; after a clean run, nothing is left

	if err := checkDevices(cfg); err != nil {
		return err
	}

	// Listen first: /healthz and /readyz (503 with the reason) answer while a
	// long journal is replayed; everything else says "starting" until ready.
	listen := cfg.HTTP.Listen
	if opts.Listen != "" {
		listen = opts.Listen
	}
	inner, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("http listen %s: %w", listen, err)
	}
	a.Addr = inner.Addr().String()
	ln := netlimit.Wrap(inner, netlimit.Options{MaxLAN: cfg.HTTP.MaxConnections, MaxPerIP: cfg.HTTP.MaxConnectionsPerIP,
		FreeFDs: serialport.FreeFDs, OnRefuse: refusalLog(log, "http")})
	a.httpLimit = ln
	var phase atomic.Value
	phase.Store("opening journal")
	var handler swapHandler
	handler.Store(startingHandler(&phase))
	// Every phase of a request has a deadline, so idle or slow clients on the
	// LAN give their connection back (WebSockets clear them on upgrade and
	// keep their own). The server retries accept errors (EMFILE) by itself.
	hs := &http.Server{Handler: &handler,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 2 * time.Minute,
		IdleTimeout: 30 * time.Second, MaxHeaderBytes: 32 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)}
	// Stopped last: by then the web part (below) has drained the requests.
	g.Go("http listener", func(ctx context.Context) error {
		defer context.AfterFunc(ctx, func() { hs.Close() })()
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})

	dir := cfg.Storage.Dir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("storage dir: %w", err)
	}
	j, err := journal.Open(filepath.Join(dir, "journal.db"), journal.Options{})
	if err != nil {
		return err
	}
	a.Journal = j
	var lastHead uint64
	g.Add("journal", nil, func(context.Context) error { lastHead = j.Head(); return j.Close() })

	phase.Store("replaying journal")
	eng, err := engine.New(ctx, cfg, j, log, opts.Now)
	if err != nil {
		return fmt.Errorf("replay journal: %w", err)
	}
	a.Engine = eng
	g.Go("engine", func(ctx context.Context) error { eng.Run(ctx); return nil })
	log.Info("journal replayed", "head", j.Head(), "took", time.Since(start).Round(time.Millisecond))

	// Prints that were in flight when halld last stopped become reprintable.
	if _, err := eng.Submit(ctx, hall.ResolveInterrupted{}); err != nil {
		return fmt.Errorf("resolve interrupted prints: %w", err)
	}

	// A trace that stops by itself (its caps, a disk running low) says so
	// where hall IT looks: an alert, and trace_stopped on the device.
	a.Trace = serialport.NewTraceWithOptions(filepath.Join(dir, "trace"), serialport.TraceOptions{
		OnStop: func(dev, why string) {
			log.Warn("hex trace stopped", "device", dev, "why", why)
			go submit(context.Background(), eng, log, hall.RaiseAlert{Alert: hall.Alert{AlertID: "trace-stopped-" + dev,
				Kind: "trace_stopped", Severity: "warning", Message: "设备 " + dev + " 的十六进制跟踪已自动停止：" + why}})
		}})
	g.Add("hex trace", nil, func(context.Context) error { a.Trace.Close(); return nil })
	a.Sims = &sims.Set{}
	g.Add("simulators", nil, func(context.Context) error { a.Sims.Close(); return nil })

	phase.Store("starting devices")
	key, err := pii.LoadOrCreate(filepath.Join(dir, "pii.key"))
	if err != nil {
		return err
	}
	a.PII = key
	// The citizen's phone page: ticket links are tokens under this key.
	phoneKey, err := phonetoken.LoadOrCreate(filepath.Join(dir, "phone.key"))
	if err != nil {
		return err
	}
	tokens, err := readTokens(cfg)
	if err != nil {
		return err
	}

	// The uplink is built before the device observer that publishes to it.
	// It runs from here and stops after the devices and their observer, so
	// it sends what the stop recorded, then "disconnected"; the heartbeat
	// and the phone relay (below) run under it.
	var centralCmds uplink.CommandFunc
	var underUplink sync.WaitGroup
	upCtx, stopUplink := context.WithCancel(context.Background())
	if cfg.MQTT.Uplink.URL != "" {
		u, err := newUplink(cfg, j, log)
		if err != nil {
			stopUplink()
			return err
		}
		centralCmds = central.Handler(eng, key, pii.Last4, func() (uint64, uint64, error) {
			u.Rewind(0)
			return j.Oldest(), j.Head(), nil
		})
		u.OnCommand(centralCmds)
		a.Uplink = u
		upDone := make(chan struct{})
		go func() {
			defer close(upDone)
			if err := u.Run(upCtx); err != nil {
				log.Error("uplink stopped", "err", err)
			}
		}()
		g.Add("uplink", nil, func(ctx context.Context) error {
			stopUplink()
			underUplink.Wait()
			return lifecycle.Done(ctx, upDone)
		})
	} else {
		stopUplink()
	}
	goUnderUplink := func(f func(context.Context)) {
		underUplink.Add(1)
		go func() { defer underUplink.Done(); f(upCtx) }()
	}

	observe, stopObserving := observeDevices(eng, log)
	g.Add("device observer", nil, stopObserving)
	u := a.Uplink
	var sup *supervisor.Supervisor
	sup = supervisor.New(log, a.Trace, func(id, kind string, r device.Report) {
		observe(hall.ObserveDevice{Device: id, Kind: kind, State: r.State, Detail: r.Detail, Reason: r.Reason})
		if u != nil {
			u.PublishDeviceStatus(id, deviceStatus(kind, r.State, r.Reason, r.Detail))
			u.SetAlert(anyFault(sup))
		}
	}, opts.Backoff)
	a.Supervisor = sup

	padSvc := pads.New(cfg, eng, j, log)
	a.pads = padSvc
	// Devices start once everything their events reach exists (kiosk sessions).
	b := &builder{a: a, log: log, dir: dir, eng: eng, sup: sup, pads: padSvc}
	starts, err := b.buildDevices(cfg)
	if err != nil {
		return err
	}
	disp := printing.New(cfg, b.printers)
	disp.PhoneKey = phoneKey

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(newCollector(a), newConnCollector(a))

	a.Stats = stats.NewLive(j, cfg)
	a.Stats.SetLogger(log)
	// Stopped after the devices, so its last checkpoint has their last
	// reports, and before the journal closes.
	g.Go("statistics", func(ctx context.Context) error {
		if err := a.Stats.Run(ctx); err != nil {
			log.Error("statistics stopped following the journal", "err", err)
		}
		return nil
	})
	iss := issuer.New(eng, disp, reg)
	a.Kiosks = kiosks.New(cfg, eng, iss, key, log)

	devCtx, stopDevices := context.WithCancel(context.Background())
	for _, d := range starts {
		sup.Start(devCtx, d)
	}
	g.Add("devices", nil, func(context.Context) error { stopDevices(); sup.Wait(); return nil })
	term, err := hallbroker.Start(devCtx, cfg, eng, sup, padSvc, log)
	if err != nil {
		return err
	}
	a.Terminals = term
	if term != nil {
		a.Sims.SetTerminals(term)
	}
	// Closed before the devices stop: its watcher reports through the supervisor too.
	g.Add("hall broker", nil, func(context.Context) error { term.Close(); return nil })
	g.Go("pad pages", func(ctx context.Context) error { padSvc.Run(ctx); return nil }) // every pad transport is attached by now
	a.Pruner = newPruner(cfg, j, eng, a.Stats, log)
	srv := web.New(web.Deps{Config: cfg, Engine: eng, Journal: j, Issuer: iss, Supervisor: sup, PhoneKey: phoneKey,
		Simulators: a.Sims, Tracer: a.Trace, Pages: kioskui.Pages(), Log: log, Registry: reg, Tokens: tokens, ListenAddr: a.Addr, PII: key, Kiosks: a.Kiosks, Lines: a, Stats: a.Stats, Uplink: a.uplinkStatus, Commander: a,
		Ready: func() []string {
			if err := eng.StorageErr(); err != nil {
				return []string{"journal: " + err.Error()}
			}
			return nil
		}})
	handler.Store(srv)
	// Stopped first: stop taking requests but let in-flight ones (a ticket
	// being printed) finish before the devices go.
	g.Add("web", nil, func(ctx context.Context) error {
		srv.Close()
		if err := hs.Shutdown(ctx); err != nil {
			log.Warn("http shutdown", "err", err)
		}
		return nil
	})
	if u != nil {
		// The phone relay through the central server (docs/phone-relay.md).
		u.OnCommand(srv.PhoneRelayCommands(centralCmds))
		goUnderUplink(func(ctx context.Context) { srv.RunPhoneRelay(ctx, u.PublishRetained, web.PhoneRelayEvery) })
		goUnderUplink(func(ctx context.Context) { lifecycle.Every(ctx, time.Minute, heartbeat(u, sup)) })
	}

	sddaemon.SdNotify(false, "READY=1\nSTATUS=serving on "+a.Addr)
	log.Info("halld ready", "addr", a.Addr, "hall", cfg.Hall.ID, "devices", len(cfg.Devices),
		"journal_head", j.Head(), "startup", time.Since(start).Round(time.Millisecond))
	a.ReportRosterConflicts(ctx, cfg, false, log) // roster.go
	if opts.OnReady != nil {
		opts.OnReady(a)
	}
	watchdog(g, eng, log)
	g.Every("tick", 5*time.Second, tick(eng, log))
	g.Every("health", healthEvery, watchHealth(a, eng, dir, log))
	g.Go("retention", func(ctx context.Context) error { a.Pruner.Run(ctx, pruneEvery); return nil })

	runErr := g.Wait(ctx)
	sddaemon.SdNotify(false, "STOPPING=1")
	log.Info("halld stopping")
	g.Stop()
	log.Info("halld stopped", "journal_head", lastHead)
	return runErr
}

// observeDevices records device state changes in order, off the drivers'
// goroutines: what has piled up goes in together, so a storm of changes
// shares commits instead of taking one fsync each. stop ends it once the
// devices have stopped; a report that still comes later (an MQTT callback
// paho dispatched before the watcher stopped) is dropped, never a send on a
// closed channel.
func observeDevices(eng *engine.Engine, log *slog.Logger) (observe func(hall.ObserveDevice), stop func(context.Context) error) {
	observed := make(chan hall.ObserveDevice, 1024)
	var mu sync.Mutex
	closed := false
	done := make(chan struct{})
	go func() {
		defer close(done)
		for o := range observed {
			batch := []any{o}
		more:
			for len(batch) < 256 {
				select {
				case o2, ok := <-observed:
					if !ok {
						break more
					}
					batch = append(batch, o2)
				default:
					break more
				}
			}
			for i, err := range eng.SubmitAll(context.Background(), batch) {
				if err != nil {
					log.Error("record device state", "device", batch[i].(hall.ObserveDevice).Device, "err", err)
				}
			}
		}
	}()
	observe = func(o hall.ObserveDevice) {
		mu.Lock()
		defer mu.Unlock()
		if !closed {
			observed <- o
		}
	}
	stop = func(ctx context.Context) error {
		mu.Lock()
		if !closed {
			closed = true
			close(observed)
		}
		mu.Unlock()
		return lifecycle.Done(ctx, done)
	}
	return observe, stop
}

// Version is halld's build (the VCS revision, or "dev").
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "dev"
}

// tick lets the time-based rules run (pause overdue, rating timeouts). Every
// 5 s is well within their minute-scale limits.
func tick(eng *engine.Engine, log *slog.Logger) func(context.Context) {
	return func(ctx context.Context) {
		if _, err := eng.Submit(ctx, hall.Tick{}); err != nil && ctx.Err() == nil {
			log.Warn("tick", "err", err)
		}
	}
}

func readTokens(cfg *config.Config) ([]web.Token, error) {
	var out []web.Token
	for _, t := range cfg.HTTP.Tokens {
		b, err := os.ReadFile(t.File)
		if err != nil {
			return nil, fmt.Errorf("http token %s: %w", t.Name, err)
		}
		tok := string(trimSpace(b))
		if tok == "" {
			return nil, fmt.Errorf("http token %s: %s is empty", t.Name, t.File)
		}
		wt := web.Token{Name: t.Name, Value: tok}
		for _, sc := range t.Scopes {
			wt.Scopes = append(wt.Scopes, web.Scope(sc))
		}
		out = append(out, wt)
	}
	return out, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// watchdog pets systemd only while the engine still answers: a wedged core
// gets halld restarted instead of silently serving nothing. It is a part
// of g only when systemd asks for a watchdog.
func watchdog(g *lifecycle.Group, eng *engine.Engine, log *slog.Logger) {
	interval, err := sddaemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return
	}
	g.Every("watchdog", interval/3, func(ctx context.Context) {
		qctx, cancel := context.WithTimeout(ctx, interval/3)
		err := eng.Ping(qctx)
		cancel()
		if err != nil {
			log.Error("engine not answering; withholding watchdog", "err", err)
			return
		}
		sddaemon.SdNotify(false, "WATCHDOG=1")
	})
}

// DemoCard is a made-up card for the demo and tests (sims.DemoCard).
func DemoCard(which string) (idcard.Card, bool) { return sims.DemoCard(which) }

// LastContact is when a terminal was last heard from (any message, not only
// a change of state), for the monitor's 最后通讯.
func (a *App) LastContact(id string) (time.Time, bool) {
	if a.Terminals == nil || a.Terminals.Watcher == nil {
		return time.Time{}, false
	}
	s, ok := a.Terminals.Watcher.Status(id)
	return s.LastSeen, ok && !s.LastSeen.IsZero()
}
