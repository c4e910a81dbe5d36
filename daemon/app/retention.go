package app

import (
	"log/slog"
	"strconv"
	"time"

	"halld/daemon/config"
	"halld/daemon/engine"
	"halld/daemon/journal"
	"halld/daemon/retention"
	"halld/daemon/stats"
	"halld/daemon/uplink"
)

// pruneEvery is how often the journal is pruned: an hour's events are a
// short delete, and retention is counted in days.
const pruneEvery = time.Hour

// newPruner prunes by storage.retention, holding back for the state and
// statistics checkpoints and, when a central server is configured, for its
// acknowledged cursor as stored on disk (what a restart would resume from).
func newPruner(cfg *config.Config, j *journal.Journal, eng *engine.Engine, st *stats.Live, log *slog.Logger) *retention.Pruner {
	return &retention.Pruner{J: j, Retention: cfg.Storage.RetentionDuration(), Now: eng.Now, Log: log,
		Holds: func() []retention.Hold {
			h := []retention.Hold{{Name: "state checkpoint", Seq: eng.CheckpointSeq()}, {Name: "statistics checkpoint", Seq: st.CheckpointSeq()}}
			if cfg.MQTT.Uplink.URL != "" {
				var cur uint64
				if v, ok, err := j.Meta(uplink.CursorKey); err == nil && ok {
					cur, _ = strconv.ParseUint(v, 10, 64)
				}
				h = append(h, retention.Hold{Name: "central server (not yet acknowledged)", Seq: cur})
			}
			return h
		}}
}
