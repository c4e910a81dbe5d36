package app

import (
	"fmt"
	"time"

	"halld/daemon/hall"
	"halld/daemon/uplink"
)

// The uplink backlog alert (issue 16): events the central server has not
// acknowledged for a long while, whether the link is down (uplink-down says
// that too, after 5 minutes) or up but not keeping up (a slow 4G link, a
// central broker refusing publishes). Raised when the oldest unsent event
// has waited backlogRaise, cleared below backlogClear (hysteresis: a link
// catching up does not flap it).
const (
	backlogRaise    = 10 * time.Minute
	backlogCritical = time.Hour
	backlogClear    = time.Minute
	backlogAlertID  = "uplink-backlog"
)

// backlogCommand is the hall command the uplink's status calls for (nil:
// none; a raise while one is open records nothing).
func backlogCommand(st uplink.Status) any {
	switch {
	case st.Lag > 0 && st.OldestUnsent >= backlogRaise:
		sev, link := "warning", "连接正常但未能及时发出"
		if st.OldestUnsent >= backlogCritical {
			sev = "critical"
		}
		if !st.Connected {
			link = "连接已中断"
		}
		return hall.RaiseAlert{Alert: hall.Alert{AlertID: backlogAlertID, Kind: "uplink_backlog", Severity: sev,
			Message: fmt.Sprintf("待发往中心的事件积压 %d 条，最早一条已等待 %d 分钟（%s）；事件已保存在本机，恢复后自动补发",
				st.Lag, int(st.OldestUnsent.Minutes()), link)}}
	case st.Lag == 0 || st.OldestUnsent < backlogClear:
		return hall.ClearAlert{AlertID: backlogAlertID, Reason: "caught_up"}
	}
	return nil
}
