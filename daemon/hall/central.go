package hall

import (
	"time"

	"halld/daemon/config"
)

// What the central server may ask of a hall besides appointments: a notice
// on the board, a service closed (or reopened) for ticketing.
const (
	TypeNoticePosted  = "notice.posted"
	TypeServiceOpened = "service.opened"
	TypeServiceClosed = "service.closed"
)

// PostNotice shows a notice on the board until a time.
type PostNotice struct{ Notice }

// SetServiceOpen closes a service for new tickets, or reopens it.
type SetServiceOpen struct {
	Service string `json:"service"`
	Open    bool   `json:"open"`
	Reason  string `json:"reason,omitempty"`
	// ForToday closes the service for the hall day only (Day is then that day):
	// it reopens by itself when the day ends.
	ForToday bool   `json:"-"`
	Day      string `json:"day,omitempty"`
	By       string `json:"by,omitempty"`
}

// What SetServiceOpen records: each its own type of the command's shape.
type (
	ServiceOpened SetServiceOpen // service.opened
	ServiceClosed SetServiceOpen // service.closed: Reason, Day when for the day only
)

func decideCentral(cfg *config.Config, st *State, cmd any, now time.Time) ([]Emit, error) {
	switch c := cmd.(type) {
	case PostNotice:
		if c.Text == "" || c.ID == "" {
			return nil, refuse(400, "bad_notice", "公告需要 id 和内容")
		}
		if err := badID("bad_notice", "公告编号", c.ID); err != nil {
			return nil, err
		}
		if err := tooLong("notice_too_long", "公告", c.Text, MaxNoticeText); err != nil {
			return nil, err
		}
		if c.Until != nil && (time.Time(*c.Until).Sub(now) > MaxBookAhead || now.Sub(time.Time(*c.Until)) > MaxBookAhead) {
			return nil, refuse(400, "bad_notice", "公告截止时间须在一年之内")
		}
		for _, w := range c.Where {
			if !oneOf(w, NoticePlaces) {
				return nil, refuse(400, "bad_notice", "公告显示位置不正确："+clip(w, 16)+"（可选 board、kiosk、phone）")
			}
		}
		if len(c.Where) > len(NoticePlaces) {
			return nil, refuse(400, "bad_notice", "公告显示位置重复")
		}
		if err := tooLong("bad_notice", "发布人", c.By, MaxID); err != nil {
			return nil, err
		}
		n := c.Notice
		if n.PostedAt == nil {
			at := Stamp(now.In(cfg.Location))
			n.PostedAt = &at
		}
		return []Emit{{TypeNoticePosted, &n}}, nil
	case SetServiceOpen:
		if _, ok := cfg.Service(c.Service); !ok {
			return nil, refuse(404, "unknown_service", "没有这项业务："+clip(c.Service, 32))
		}
		if err := tooLong("reason_too_long", "暂停取号原因", c.Reason, MaxNoticeText); err != nil {
			return nil, err
		}
		if c.Open {
			e := ServiceOpened(c)
			return []Emit{{TypeServiceOpened, &e}}, nil
		}
		e := ServiceClosed(c)
		if c.ForToday {
			e.Day = st.Today(cfg, now)
		}
		return []Emit{{TypeServiceClosed, &e}}, nil
	}
	return nil, errNotWindowCommand
}

// applyServiceOpen folds service.opened and service.closed: the closed
// services, and a closing for the day only (the roster's, which the day's end
// undoes).
func applyServiceOpen(st *State, e *SetServiceOpen, open bool) {
	if open {
		delete(st.ClosedServices, e.Service)
		if st.Roster != nil && st.Roster.ClosedFor[e.Service] != "" {
			delete(st.rosterW().ClosedFor, e.Service)
		}
		return
	}
	st.ClosedServices[e.Service] = e.Reason
	if e.Day != "" {
		st.rosterW().ClosedFor[e.Service] = e.Day
	} else if st.Roster != nil && st.Roster.ClosedFor[e.Service] != "" {
		delete(st.rosterW().ClosedFor, e.Service) // closed until reopened
	}
}
