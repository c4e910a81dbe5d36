// Command halld is the edge daemon of a government service hall: it drives the
// hall's ticket printers and other devices, keeps every ticket and event in a
// durable journal, and serves the kiosk, board, window and monitor pages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // only served when HALLD_PPROF is set
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"sync"
	"syscall"

	"halld/daemon/app"
	"halld/daemon/config"
	"halld/daemon/journal"
	"halld/drivers/serialport"
)

const usage = `halld — 政务服务大厅设备守护进程 (government service hall device daemon)

Usage:
  halld [run] [-config FILE] [-listen ADDR] [-log-level LEVEL]
                             run the hall described by FILE (default devices.yaml)
  halld check FILE           validate a devices.yaml; every error with file:line:column
  halld schema               print the JSON Schema of devices.yaml (for editors)
  halld ports                list serial devices by /dev/serial/by-id
  halld backup [-config FILE] DEST
                             write a consistent copy of the journal to DEST while
                             halld runs. Restore: stop halld, put the copy in place
                             of <storage.dir>/journal.db. Back up pii.key on its
                             own: it is a secret.
  halld version              print the version

Run flags:
  -config FILE      hall configuration (default "devices.yaml")
  -listen ADDR      override http.listen, e.g. 127.0.0.1:8080
  -log-level LEVEL  debug, info, warn or error (default info)

Signals: SIGTERM/SIGINT stop cleanly (a ticket being printed finishes first;
devices get 5 s); a second SIGTERM/SIGINT exits at once (code 128+signal);
SIGHUP re-reads the config: per-port hex trace switches (serial.trace) take
effect at once; an invalid file is refused and the running config kept; other
changes are reported in the log and need a restart.

Pages: /kiosk/ /board/ /window/{id}/ /monitor/ /reports/
API: /api/v1/...    Health: /healthz /readyz /metrics
Docs: README.md in the source tree.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runHall(args, stderr)
	case "check":
		if len(args) != 1 {
			fmt.Fprint(stderr, "usage: halld check FILE\n")
			return 2
		}
		cfg, err := config.Load(args[0])
		if err == nil {
			err = app.Check(cfg)
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: ok (hall %s, %d services, %d windows, %d devices)\n",
			args[0], cfg.Hall.ID, len(cfg.Services), len(cfg.Windows), len(cfg.Devices))
		checkWarnings(cfg, stderr) // check_warnings.go
		return 0
	case "schema":
		stdout.Write(config.Schema())
		return 0
	case "ports":
		for _, p := range serialport.ByIDLinks() {
			target, _ := os.Readlink(p)
			fmt.Fprintf(stdout, "%s -> %s\n", p, target)
		}
		return 0
	case "backup":
		return backup(args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "halld", app.Version())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "halld: unknown command %q\n\n%s", cmd, usage)
	return 2
}

// backup copies the journal of the hall FILE describes, safely while it runs.
func backup(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("halld backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "devices.yaml", "hall configuration file")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprint(stderr, "usage: halld backup [-config FILE] DEST\n")
		return 2
	}
	// A backup needs only storage.dir: a token file that is wrong today must
	// not stand between hall IT and a copy of the journal.
	cfg, err := config.LoadWithOptions(*cfgPath, config.ParseOptions{SkipFiles: true})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	src, dest := filepath.Join(cfg.Storage.Dir, "journal.db"), fs.Arg(0)
	if err := journal.Backup(context.Background(), src, dest); err != nil {
		fmt.Fprintln(stderr, "halld backup:", err)
		return 1
	}
	fi, _ := os.Stat(dest)
	fmt.Fprintf(stdout, "%s: journal of hall %s backed up (%.1f MB)\n", dest, cfg.Hall.ID, float64(fi.Size())/1e6)
	return 0
}

func runHall(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("halld", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	cfgPath := fs.String("config", "devices.yaml", "hall configuration file")
	listen := fs.String("listen", "", "override http.listen")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var lv slog.LevelVar
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "halld: bad -log-level %q\n", *level)
		return 2
	}
	// logfmt on stderr: journald stamps and stores it; no timestamps of our
	// own when running under it.
	hopts := &slog.HandlerOptions{Level: &lv}
	if os.Getenv("JOURNAL_STREAM") != "" {
		hopts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, hopts))
	slog.SetDefault(log)

	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		fmt.Fprintln(stderr, "halld: refusing to start with an invalid configuration")
		return 1
	}
	// HALLD_PPROF=127.0.0.1:6060 serves Go's profiler for a performance
	// investigation; loopback only, off by default.
	if addr := os.Getenv("HALLD_PPROF"); addr != "" {
		if host, _, err := net.SplitHostPort(addr); err != nil || (host != "127.0.0.1" && host != "localhost" && host != "::1") {
			fmt.Fprintf(stderr, "halld: HALLD_PPROF must be a loopback host:port, got %q\n", addr)
			return 2
		}
		go func() { log.Warn("pprof", "err", http.ListenAndServe(addr, nil)) }()
	}
	ctx, stop := stopOnSignal(context.Background(), log, os.Exit, syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	var running *app.App
	ready := make(chan struct{})
	go reloadOnHUP(ctx, *cfgPath, cfg, log, ready, func() *app.App { return running })
	err = app.Run(ctx, cfg, app.Options{Log: log, Listen: *listen, OnReady: func(a *app.App) {
		running = a
		close(ready)
	}})
	if err != nil {
		log.Error("halld failed", "err", err)
		return 1
	}
	return 0
}

// stopOnSignal returns a context cancelled by the first of sigs: halld then
// stops cleanly. A second one while it stops exits at once with 128+signal
// (after logging it), whatever the stop is waiting for; before this, a
// second Ctrl-C did nothing. exit is os.Exit outside tests. stop releases
// the signals.
func stopOnSignal(parent context.Context, log *slog.Logger, exit func(int), sigs ...os.Signal) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, sigs...)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			log.Info("signal received: stopping cleanly; send it again to exit at once", "signal", sig.String())
			cancel()
		case <-done:
			return
		}
		select {
		case sig := <-ch:
			code := 1
			if n, ok := sig.(syscall.Signal); ok {
				code = 128 + int(n)
			}
			log.Error("second signal: exiting at once, without finishing the stop", "signal", sig.String(), "exit_code", code)
			exit(code)
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			cancel()
		})
	}
}

// reloadOnHUP applies what can change safely while running and says plainly
// what needs a restart.
func reloadOnHUP(ctx context.Context, path string, cur *config.Config, log *slog.Logger, ready <-chan struct{}, get func() *app.App) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	select {
	case <-ready:
	case <-ctx.Done():
		return
	}
	a := get()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		next, err := config.Load(path)
		if err != nil {
			log.Error("reload refused: config invalid; still running the previous one", "err", err)
			continue
		}
		for _, d := range next.Devices {
			if d.Serial != nil {
				if err := a.Trace.Set(d.ID, d.Serial.Trace); err != nil {
					log.Warn("trace refused", "device", d.ID, "err", err)
				}
			}
		}
		restart := []string{}
		if !reflect.DeepEqual(cur.Services, next.Services) {
			restart = append(restart, "services")
		}
		if !reflect.DeepEqual(cur.Windows, next.Windows) {
			restart = append(restart, "windows")
		}
		if !reflect.DeepEqual(cur.HTTP, next.HTTP) {
			restart = append(restart, "http")
		}
		if !reflect.DeepEqual(cur.Hall, next.Hall) {
			restart = append(restart, "hall")
		}
		if len(cur.Devices) != len(next.Devices) {
			restart = append(restart, "devices")
		}
		if !reflect.DeepEqual(cur.Staff, next.Staff) {
			restart = append(restart, "staff")
		}
		a.ReportRosterConflicts(ctx, next, true, log) // runtime roster changes the new file overtakes
		log.Info("config reloaded: trace switches applied", "needs_restart", restart)
	}
}
