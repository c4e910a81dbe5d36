// Package testhall gives tests a real hall: a config parsed from YAML, an
// on-disk journal in the test's temp dir and a running engine on it, all
// stopped and closed when the test ends.
package testhall

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"halld/daemon/config"
	"halld/daemon/engine"
	"halld/daemon/journal"
)

// Hall is what a test gets.
type Hall struct {
	Config  *config.Config
	Journal *journal.Journal
	Engine  *engine.Engine
	Log     *slog.Logger
}

// Config parses yaml or fails the test.
func Config(t testing.TB, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Journal opens a journal in a new temp dir.
func Journal(t testing.TB) *journal.Journal {
	t.Helper()
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// Start runs an engine for cfg on j (what the journal holds is replayed).
func Start(t testing.TB, cfg *config.Config, j *journal.Journal) *Hall {
	t.Helper()
	return StartAt(t, cfg, j, nil)
}

// StartAt is Start with the hall's clock (nil: the real one).
func StartAt(t testing.TB, cfg *config.Config, j *journal.Journal, now func() time.Time) *Hall {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := engine.New(context.Background(), cfg, j, log, now)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go eng.Run(ctx)
	t.Cleanup(func() { cancel(); <-eng.Done() })
	return &Hall{Config: cfg, Journal: j, Engine: eng, Log: log}
}

// New is Config, Journal and Start in one.
func New(t testing.TB, yaml string) *Hall {
	t.Helper()
	return Start(t, Config(t, yaml), Journal(t))
}
