package app

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"halld/daemon/config"
	"halld/daemon/hall"
)

// ReportRosterConflicts says which runtime roster changes devices.yaml (cfg:
// the running file at start-up, the new one on SIGHUP) no longer agrees with:
// a log line each and one alert for the supervisors (GET /api/v1/roster lists
// them too). Never silently: the file's entry is what applies (at once at
// start-up; at the next restart after a reload).
func (a *App) ReportRosterConflicts(ctx context.Context, cfg *config.Config, reload bool, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, err := a.Engine.Query(ctx, func(st *hall.State) any { return hall.RosterConflicts(cfg, st) })
	if err != nil {
		log.Warn("roster conflicts: cannot read the state", "err", err)
		return
	}
	conflicts := v.([]hall.RosterConflict)
	if len(conflicts) == 0 {
		return
	}
	staff := make([]string, 0, len(conflicts))
	for _, c := range conflicts {
		log.Warn("runtime roster change overtaken by devices.yaml", "staff", c.Staff, "reload", reload, "detail", c.Message)
		staff = append(staff, c.Staff)
	}
	msg := "devices.yaml 与运行中修改的人员不一致（" + strings.Join(staff, "、") + "），按 devices.yaml 执行，请在「人员与窗口」核对"
	if reload {
		msg = "重新加载的 devices.yaml 与运行中修改的人员不一致（" + strings.Join(staff, "、") + "），重启后按 devices.yaml 执行，请在「人员与窗口」核对"
	}
	if _, err := a.Engine.Submit(ctx, hall.RaiseAlert{Alert: hall.Alert{AlertID: "roster-conflict", Kind: "roster_conflict",
		Severity: "warning", Message: msg}}); err != nil {
		log.Warn("roster conflicts: alert not recorded", "err", err)
	}
}
