// Package app wires halld together: config → journal → replay → engine →
// device supervisor → printing → web, and takes it down in the reverse order
// so that a print in flight finishes and the journal closes cleanly.
package app

import (
	"context"
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
	"halld/daemon/issuer"
	"halld/daemon/journal"
	"halld/daemon/kiosks"
	"halld/daemon/netlimit"
	"halld/daemon/pads"
	"halld/daemon/phonetoken"
	"halld/daemon/pii"
	"halld/daemon/printing"
	"halld/daemon/retention"
	"halld/daemon/stats"
	"halld/daemon/supervisor"
	"halld/daemon/uplink"
	"halld/daemon/web"
	"halld/drivers/device"
	"halld/drivers/escpos"
	"halld/drivers/hpad/padbus"
	"halld/drivers/idcard"
	"halld/drivers/idcard/reader"
	"halld/drivers/linedev"
	"halld/drivers/linedev/lineport"
	"halld/drivers/serialport"
	"halld/drivers/ticketprinter"
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
	Printers   map[string]*ticketprinter.Printer
	Lines      map[string]*padbus.Bus
	Sims       *Sims
	Trace      *serialport.Trace
	Addr       string
	PII        *pii.Key
	Kiosks     *kiosks.Manager
	LineDevs   map[string]*lineport.Device
	Stats      *stats.Live
	Pruner     *retention.Pruner
	Uplink     *uplink.Uplink
	Terminals  *Terminals

	httpLimit *netlimit.Listener
	pads      *pads.Service

	upMu sync.Mutex // the supervisor's observer reads Uplink from device goroutines
}

// uplinkStatus is the uplink's status; ok is false when none is configured.
func (a *App) uplinkStatus() (uplink.Status, bool) {
	if u := a.uplink(); u != nil {
		return u.Status(), true
	}
	return uplink.Status{}, false
}

func (a *App) uplink() *uplink.Uplink {
	a.upMu.Lock()
	defer a.upMu.Unlock()
	return a.Uplink
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

// newUplink builds the central uplink from the config; credentials come
// from their own files, never from devices.yaml.
func newUplink(cfg *config.Config, j *journal.Journal, sup *supervisor.Supervisor, log *slog.Logger) (*uplink.Uplink, error) {
	uc := cfg.MQTT.Uplink
	read := func(path string) (string, error) {
		if path == "" {
			return "", nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("uplink: %w", err)
		}
		return string(trimSpace(b)), nil
	}
	user, err := read(uc.UsernameFile)
	if err != nil {
		return nil, err
	}
	pass, err := read(uc.PasswordFile)
	if err != nil {
		return nil, err
	}
	node := uc.Node
	if node == "" {
		node = "halld"
	}
	clientID := uc.ClientID
	if clientID == "" {
		clientID = cfg.Hall.ID + "-" + node
	}
	boot := time.Now()
	return uplink.New(j, uplink.Options{URL: uc.URL, ClientID: clientID, Hall: cfg.Hall.ID, Node: node,
		Username: user, Password: pass, CAFile: uc.CAFile, CertFile: uc.CertFile, KeyFile: uc.KeyFile,
		MaxRate: uc.MaxRate, Batch: uc.MaxInflight, LiveFirst: uc.LiveFirstOn(), Heartbeat: uc.HeartbeatDuration(),
		ReconnectMin: uc.ReconnectMinDuration(), ReconnectMax: uc.ReconnectMaxDuration(), MaxConnectsPerMinute: uc.MaxConnectsPerMinute, Log: log,
		Info: func() any {
			var devs []string
			for _, d := range cfg.Devices {
				devs = append(devs, d.ID)
			}
			return map[string]any{"fw": Version(), "model": "halld", "bootTs": boot.UnixMilli(), "hall": cfg.Hall.Name, "devices": devs}
		}})
}

// anyFault tells whether some device is in fault: the node's $state is
// then "alert" (docs/protocols.md §4.2).
func anyFault(sup *supervisor.Supervisor) bool {
	if sup == nil {
		return false
	}
	for _, i := range sup.Infos() {
		if i.State == device.StateFault {
			return true
		}
	}
	return false
}

// deviceStatus is a device's retained status payload (docs/protocols.md §4.2).
func deviceStatus(kind, state, reason string, detail map[string]any) map[string]any {
	out := map[string]any{"kind": kind, "state": state, "ts": time.Now().UnixMilli()}
	if reason != "" {
		out["reason"] = reason
	}
	for k, v := range detail {
		if _, taken := out[k]; !taken {
			out[k] = v
		}
	}
	return out
}

// heartbeat republishes every device's status each minute, so the central
// side can tell a quiet device from a stale one (3 missed = stale).
func heartbeat(ctx context.Context, u *uplink.Uplink, sup *supervisor.Supervisor) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, i := range sup.Infos() {
				u.PublishDeviceStatus(i.ID, deviceStatus(i.Kind, i.State, i.Reason, i.Detail))
			}
		}
	}
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

// personOf is what a kiosk may keep of a card for one interaction.
func personOf(c idcard.Card) kiosks.Person {
	greet := ""
	if r := []rune(c.Name); len(r) > 0 {
		greet = string(r[0]) + "*"
	} else if len(c.NameEn) > 0 {
		greet = c.NameEn[:1] + "*"
	}
	p := kiosks.Person{Kind: string(c.Kind), Greeting: greet, Number: c.Number, Birth: c.Birth}
	if !c.Permanent {
		p.ValidTo = c.ValidTo
	}
	return p
}

// lineOptions turns a device's framing block into driver options.
func lineOptions(d *config.Device) lineport.Options {
	var o lineport.Options
	if f := d.Framing; f != nil {
		o.Terminator, o.MaxLen, o.Charset = linedev.Terminator(f.Terminator), f.MaxLen, linedev.Charset(f.Charset)
		if t, err := time.ParseDuration(f.PartialTimeout); err == nil {
			o.PartialTimeout = t
		}
	}
	return o
}

// Run runs halld until ctx ends.
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
	a := &App{Config: cfg, Printers: map[string]*ticketprinter.Printer{}, Lines: map[string]*padbus.Bus{}}

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
	httpDone := make(chan error, 1)
	go func() { httpDone <- hs.Serve(ln) }()
	defer hs.Close()

	dir := cfg.Storage.Dir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("storage dir: %w", err)
	}
	j, err := journal.Open(filepath.Join(dir, "journal.db"), journal.Options{})
	if err != nil {
		return err
	}
	defer j.Close()
	a.Journal = j

	phase.Store("replaying journal")
	eng, err := engine.New(ctx, cfg, j, log, opts.Now)
	if err != nil {
		return fmt.Errorf("replay journal: %w", err)
	}
	a.Engine = eng
	engCtx, stopEngine := context.WithCancel(context.Background())
	go eng.Run(engCtx)
	defer func() { stopEngine(); <-eng.Done() }()
	log.Info("journal replayed", "head", j.Head(), "took", time.Since(start).Round(time.Millisecond))

	// Prints that were in flight when halld last stopped become reprintable.
	if _, err := eng.Submit(ctx, hall.ResolveInterrupted{}); err != nil {
		return fmt.Errorf("resolve interrupted prints: %w", err)
	}

	phase.Store("starting devices")
	// Device state changes are recorded in order, off the drivers' goroutines.
	observed := make(chan hall.ObserveDevice, 1024)
	// A device's goroutine may still report after shutdown closed the
	// channel (an MQTT callback paho dispatched before the watcher stopped):
	// such a late report is dropped, never a send on a closed channel.
	var obsMu sync.Mutex
	obsClosed := false
	obsDone := make(chan struct{})
	go func() {
		defer close(obsDone)
		// What has piled up goes in together (in order), so a storm of
		// changes shares commits instead of taking one fsync each.
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
	// A trace that stops by itself (its caps, a disk running low) says so
	// where hall IT looks: an alert, and trace_stopped on the device.
	a.Trace = serialport.NewTraceWithOptions(filepath.Join(dir, "trace"), serialport.TraceOptions{
		OnStop: func(dev, why string) {
			log.Warn("hex trace stopped", "device", dev, "why", why)
			go submit(context.Background(), eng, log, hall.RaiseAlert{Alert: hall.Alert{AlertID: "trace-stopped-" + dev,
				Kind: "trace_stopped", Severity: "warning", Message: "设备 " + dev + " 的十六进制跟踪已自动停止：" + why}})
		}})
	defer a.Trace.Close()
	sup := supervisor.New(log, a.Trace, func(id, kind string, r device.Report) {
		obsMu.Lock()
		if !obsClosed {
			observed <- hall.ObserveDevice{Device: id, Kind: kind, State: r.State, Detail: r.Detail, Reason: r.Reason}
		}
		obsMu.Unlock()
		if u := a.uplink(); u != nil {
			u.PublishDeviceStatus(id, deviceStatus(kind, r.State, r.Reason, r.Detail))
			u.SetAlert(anyFault(a.Supervisor))
		}
	}, opts.Backoff)
	a.Supervisor = sup

	a.Sims = &Sims{}
	defer a.Sims.Close()
	devCtx, stopDevices := context.WithCancel(context.Background())
	var printers []printing.Printer
	// Devices start once everything their events reach exists (kiosk sessions).
	var starts []supervisor.Device
	for i := range cfg.Devices {
		d := &cfg.Devices[i]
		if d.Kind == config.KindIDReader || d.Kind == config.KindScanner {
			// Their bytes are names, ID numbers, photos, booking codes: a hex
			// trace on disk would be a copy of personal data.
			a.Trace.Forbid(d.ID, "设备数据含个人信息（身份证、扫码内容），不允许 hex 跟踪")
		}
		if d.Serial != nil && d.Serial.Trace {
			if err := a.Trace.Set(d.ID, true); err != nil {
				log.Warn("trace refused", "device", d.ID, "err", err)
			}
		}
		switch d.Kind {
		case "ticket_printer":
			prof, err := printerProfile(d)
			if err != nil {
				stopDevices()
				return err
			}
			spec, err := a.Sims.printer(d, dir, prof)
			if err != nil {
				stopDevices()
				return err
			}
			p := ticketprinter.New(d.ID, prof, ticketprinter.Options{PollInterval: d.Printer.PollIntervalDuration()})
			a.Printers[d.ID] = p
			printers = append(printers, p)
			starts = append(starts, supervisor.Device{ID: d.ID, Kind: d.Kind, Area: d.Area, Spec: spec, Driver: p, Simulated: d.Simulate})
		}
	}
	padSvc := pads.New(cfg, eng, j, log)
	a.pads = padSvc
	// RS-485 lines with their pads, and pads on their own serial link (a line of one).
	lineDevs := cfg.DevicesOfKind(config.KindBus)
	for _, d := range cfg.DevicesOfKind(config.KindEvalPad) {
		if d.Serial != nil && d.Bus == "" {
			lineDevs = append(lineDevs, d)
		}
	}
	for _, d := range lineDevs {
		linePads := padSvc.Pads(d.ID)
		spec, err := a.Sims.line(d, dir, linePads)
		if err != nil {
			stopDevices()
			return err
		}
		if d.Kind == config.KindBus {
			for _, p := range linePads {
				pd, _ := cfg.Device(p.ID)
				sup.Register(p.ID, pd.Kind, pd.Area, pads.Label(d.ID, int(p.Addr)), d.Simulate)
			}
		}
		bus := padbus.New(d.ID, linePads, padSvc.Handle, func(id string, r device.Report) { sup.Report(id, r) }, padbus.Options{})
		padSvc.Attach(d.ID, bus)
		a.Lines[d.ID] = bus
		starts = append(starts, supervisor.Device{ID: d.ID, Kind: d.Kind, Area: d.Area, Spec: spec, Driver: bus, Simulated: d.Simulate})
	}
	a.LineDevs = map[string]*lineport.Device{}
	for i := range cfg.Devices {
		d := &cfg.Devices[i]
		if d.Kind != config.KindScanner && d.Kind != config.KindLine {
			continue
		}
		opts := lineOptions(d)
		spec, err := a.Sims.lineDevice(d, dir, opts.Options)
		if err != nil {
			stopDevices()
			return err
		}
		id := d.ID
		// Every line read together shares one group commit (SubmitAll).
		handle := func(lines []string) []error {
			cmds := make([]any, len(lines))
			for i, l := range lines {
				cmds[i] = hall.RecordLine{DeviceLine: hall.DeviceLine{Device: id, Text: l}}
			}
			return eng.SubmitAll(context.Background(), cmds)
		}
		if d.Kind == config.KindScanner {
			// A scan may carry personal data: it goes to its kiosk, not the journal.
			handle = func(lines []string) []error {
				for _, l := range lines {
					a.Kiosks.Scan(context.Background(), id, l)
				}
				return nil
			}
		}
		ld, err := lineport.NewBatch(id, opts, handle)
		if err != nil {
			stopDevices()
			return fmt.Errorf("device %s: %w", id, err)
		}
		a.LineDevs[id] = ld
		starts = append(starts, supervisor.Device{ID: id, Kind: d.Kind, Area: d.Area, Spec: spec, Driver: ld, Simulated: d.Simulate})
	}
	for _, d := range cfg.DevicesOfKind(config.KindIDReader) {
		spec, err := a.Sims.idReader(d, dir)
		if err != nil {
			stopDevices()
			return err
		}
		id := d.ID
		// onCard runs on the reader's goroutine: derive what the kiosk may
		// know, wipe the card, and let the kiosk session do the rest.
		r := reader.New(id, reader.Options{}, func(c idcard.Card) {
			p := personOf(c)
			c.Wipe()
			go a.Kiosks.CardPlaced(context.Background(), id, p)
		}, func() { a.Kiosks.CardRemoved(id) })
		starts = append(starts, supervisor.Device{ID: id, Kind: d.Kind, Area: d.Area, Spec: spec, Driver: r, Simulated: d.Simulate})
	}
	disp := printing.New(cfg, printers)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(newCollector(a), newConnCollector(a))

	key, err := pii.LoadOrCreate(filepath.Join(dir, "pii.key"))
	if err != nil {
		stopDevices()
		return err
	}
	a.PII = key
	// The citizen's phone page: ticket links are tokens under this key.
	phoneKey, err := phonetoken.LoadOrCreate(filepath.Join(dir, "phone.key"))
	if err != nil {
		stopDevices()
		return err
	}
	disp.PhoneKey = phoneKey
	tokens, err := readTokens(cfg)
	if err != nil {
		stopDevices()
		return err
	}
	a.Stats = stats.NewLive(j, cfg)
	a.Stats.SetLogger(log)
	statsDone := make(chan struct{})
	go func() {
		defer close(statsDone)
		if err := a.Stats.Run(devCtx); err != nil {
			log.Error("statistics stopped following the journal", "err", err)
		}
	}()
	iss := issuer.New(eng, disp, reg)
	a.Kiosks = kiosks.New(cfg, eng, iss, key, log)
	upCtx, stopUplink := context.WithCancel(context.Background())
	var centralCmds uplink.CommandFunc
	relayDone := make(chan struct{}) // the phone relay (below, once the web server is made)
	upDone := make(chan struct{})
	if cfg.MQTT.Uplink.URL != "" {
		u, err := newUplink(cfg, j, sup, log)
		if err != nil {
			stopDevices()
			stopUplink()
			return err
		}
		centralCmds = central.Handler(eng, key, pii.Last4, func() (uint64, uint64, error) {
			u.Rewind(0)
			return j.Oldest(), j.Head(), nil
		})
		u.OnCommand(centralCmds)
		a.upMu.Lock()
		a.Uplink = u
		a.upMu.Unlock()
		go func() {
			defer close(upDone)
			if err := u.Run(upCtx); err != nil {
				log.Error("uplink stopped", "err", err)
			}
		}()
		go heartbeat(upCtx, u, sup)
	} else {
		close(upDone)
	}
	for _, d := range starts {
		sup.Start(devCtx, d)
	}
	term, err := startTerminals(devCtx, cfg, eng, sup, padSvc, log)
	if err != nil {
		stopDevices()
		stopUplink()
		return err
	}
	a.Terminals = term
	a.Sims.terms = term
	go padSvc.Run(devCtx) // every pad transport is attached by now
	defer term.Close()
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
	if u := a.uplink(); u != nil {
		// The phone relay through the central server (docs/phone-relay.md).
		u.OnCommand(srv.PhoneRelayCommands(centralCmds))
		go func() {
			defer close(relayDone)
			srv.RunPhoneRelay(upCtx, u.PublishRetained, web.PhoneRelayEvery)
		}()
	} else {
		close(relayDone)
	}

	sddaemon.SdNotify(false, "READY=1\nSTATUS=serving on "+a.Addr)
	log.Info("halld ready", "addr", a.Addr, "hall", cfg.Hall.ID, "devices", len(cfg.Devices),
		"journal_head", j.Head(), "startup", time.Since(start).Round(time.Millisecond))
	a.ReportRosterConflicts(ctx, cfg, false, log) // roster.go
	if opts.OnReady != nil {
		opts.OnReady(a)
	}
	go watchdog(ctx, eng, log)
	go tick(ctx, eng, log)
	go watchHealth(ctx, a, eng, dir, log)
	go a.Pruner.Run(devCtx, pruneEvery)

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-httpDone:
		runErr = fmt.Errorf("http server: %w", err)
	}

	// Shutdown: stop taking requests but let in-flight ones (a ticket being
	// printed) finish, then stop devices, then the engine, then the journal.
	sddaemon.SdNotify(false, "STOPPING=1")
	log.Info("halld stopping")
	shCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	srv.Close()
	if err := hs.Shutdown(shCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	stopDevices()
	<-statsDone  // its last checkpoint goes in before the journal closes
	term.Close() // its watcher reports through the supervisor too
	sup.Wait()
	obsMu.Lock()
	obsClosed = true
	close(observed)
	obsMu.Unlock()
	<-obsDone
	// Last: the uplink sends what the stop recorded, then "disconnected".
	stopUplink()
	<-relayDone
	<-upDone
	log.Info("halld stopped", "journal_head", j.Head())
	return runErr
}

// tick lets the time-based rules run (pause overdue, rating timeouts). Every
// 5 s is well within their minute-scale limits.
func tick(ctx context.Context, eng *engine.Engine, log *slog.Logger) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := eng.Submit(ctx, hall.Tick{}); err != nil && ctx.Err() == nil {
				log.Warn("tick", "err", err)
			}
		}
	}
}

// swapHandler serves the start-up handler, then the real one.
type swapHandler struct{ h atomic.Value }

func (s *swapHandler) Store(h http.Handler) { s.h.Store(&h) }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load().(*http.Handler)).ServeHTTP(w, r)
}

func startingHandler(phase *atomic.Value) http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	starting := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(body))
	}
	m.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		starting(w, `{"ready":false,"reasons":["`+phase.Load().(string)+`"]}`+"\n")
	})
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		starting(w, `{"error":{"code":"starting","message":"系统正在启动，请稍候"}}`+"\n")
	})
	return m
}

// printerProfile is the device's profile with its overrides (config.Load
// always fills in the printer block of a ticket_printer).
func printerProfile(d *config.Device) (escpos.Profile, error) {
	p := d.Printer
	prof, ok := escpos.LookupProfile(p.Profile)
	if !ok {
		return prof, fmt.Errorf("device %s: unknown printer profile %q", d.ID, p.Profile)
	}
	if p.Charset != "" {
		prof.Charset = p.Charset
	}
	if p.Cutter != "" {
		prof.Cutter = escpos.Cutter(p.Cutter)
	}
	if p.MaxCharMag > 0 {
		prof.MaxCharMag = p.MaxCharMag
	}
	if p.PaperWidthMM == 58 && prof.PaperWidthMM != 58 {
		prof.PaperWidthMM, prof.Dots, prof.Columns = 58, 384, 32
	}
	return prof, prof.Validate()
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

// fdBudget is the descriptors this hall may need at most: four a serial
// device, every listener's bounds, and a margin for the journal, logs and
// outgoing connections.
func fdBudget(cfg *config.Config) uint64 {
	n := 256 + cfg.HTTP.MaxConnections + 512 // LAN, loopback's reserve (netlimit)
	if cfg.MQTT.Broker.Embedded {
		n += 2 * cfg.MQTT.Broker.MaxClients
	}
	for i := range cfg.Devices {
		if cfg.Devices[i].Serial != nil || cfg.Devices[i].Simulate {
			n += 4
		}
	}
	return uint64(n)
}

// refusalLog logs refused connections, at most one line a minute per
// listener with the count since the last, so a flood does not flood the log.
func refusalLog(log *slog.Logger, listener string) func(net.Addr, string) {
	var mu sync.Mutex
	var last time.Time
	var n int
	return func(remote net.Addr, why string) {
		mu.Lock()
		defer mu.Unlock()
		n++
		if time.Since(last) < time.Minute {
			return
		}
		log.Warn("connections refused over the limit", "listener", listener, "count", n, "last_remote", remote.String(), "limit", why)
		last, n = time.Now(), 0
	}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// watchdog pets systemd only while the engine still answers: a wedged core
// gets halld restarted instead of silently serving nothing.
func watchdog(ctx context.Context, eng *engine.Engine, log *slog.Logger) {
	interval, err := sddaemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return
	}
	t := time.NewTicker(interval / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			qctx, cancel := context.WithTimeout(ctx, interval/3)
			_, err := eng.Query(qctx, func(*hall.State) any { return nil })
			cancel()
			if err != nil {
				log.Error("engine not answering; withholding watchdog", "err", err)
				continue
			}
			sddaemon.SdNotify(false, "WATCHDOG=1")
		}
	}
}
