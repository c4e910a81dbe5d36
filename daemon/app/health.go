package app

import (
	"context"
	"fmt"
	"log/slog"
	"syscall"
	"time"

	"halld/daemon/engine"
	"halld/daemon/hall"
)

// Limits below which the hall's own health raises an alert.
const (
	uplinkDownAfter = 5 * time.Minute
	diskLowPct      = 10      // free space in the storage dir, percent
	diskLowBytes    = 1 << 30 // or absolute: 1 GiB
	healthEvery     = 15 * time.Second
)

// watchHealth raises and clears the alerts about halld itself: the central
// uplink down for a while, its backlog (backlog.go), the disk under the
// journal running low.
// It returns the check that runs every healthEvery.
func watchHealth(a *App, eng *engine.Engine, dir string, log *slog.Logger) func(context.Context) {
	var downSince time.Time
	return func(ctx context.Context) {
		if st, ok := a.uplinkStatus(); ok {
			if cmd := backlogCommand(st); cmd != nil {
				submit(ctx, eng, log, cmd)
			}
			switch {
			case st.Connected:
				downSince = time.Time{}
				submit(ctx, eng, log, hall.ClearAlert{AlertID: "uplink-down", Reason: "connected"})
			case downSince.IsZero():
				downSince = time.Now()
			case time.Since(downSince) > uplinkDownAfter:
				submit(ctx, eng, log, hall.RaiseAlert{Alert: hall.Alert{AlertID: "uplink-down", Kind: "uplink_down", Severity: "critical",
					Message: fmt.Sprintf("与省/市中心的连接已中断 %d 分钟，事件已保存在本机，恢复后自动补发（待发 %d 条）",
						int(time.Since(downSince).Minutes()), st.Lag)}})
			}
		}
		free, total, err := diskFree(dir)
		if err != nil || total == 0 {
			return
		}
		if free*100/total < diskLowPct || free < diskLowBytes {
			submit(ctx, eng, log, hall.RaiseAlert{Alert: hall.Alert{AlertID: "disk-low", Kind: "disk_low", Severity: "critical",
				Message: fmt.Sprintf("存储空间不足：剩余 %.1f GB（%d%%），请清理或扩容", float64(free)/(1<<30), free*100/total)}})
		} else {
			submit(ctx, eng, log, hall.ClearAlert{AlertID: "disk-low", Reason: "space"})
		}
	}
}

func submit(ctx context.Context, eng *engine.Engine, log *slog.Logger, cmd any) {
	if _, err := eng.Submit(ctx, cmd); err != nil && ctx.Err() == nil {
		log.Warn("health alert not recorded", "err", err)
	}
}

// diskFree reports the free and total bytes of the filesystem holding dir.
func diskFree(dir string) (free, total uint64, err error) {
	var s syscall.Statfs_t
	if err := syscall.Statfs(dir, &s); err != nil {
		return 0, 0, err
	}
	return s.Bavail * uint64(s.Bsize), s.Blocks * uint64(s.Bsize), nil
}
