// Package central answers the central server's commands over the uplink:
// each becomes a hall command, so it is recorded and checked by the same
// rules as everything else. A malformed or unknown command gets an error
// result; it never crashes or reconnects anything.
package central

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"halld/daemon/engine"
	"halld/daemon/hall"
	"halld/daemon/uplink"
)

// Hasher turns an ID number into its keyed hash (package pii).
type Hasher interface {
	Hash(string) string
}

// Last4 gives an ID number's last four characters.
type Last4 func(string) string

// Handler returns the uplink's command handler. Node-level commands:
// appointment.add, appointment.cancel, notice.post, service.open,
// service.close, alert.ack, alert.assign, alert.close (alerts.go),
// followup.step (followups.go), resync
// (publish every event again from the start).
//
// resync rewinds the uplink and returns the seq range it will publish again:
// the journal keeps storage.retention, so a resync starts at the oldest
// event held, and the result says so.
func Handler(eng *engine.Engine, key Hasher, last4 Last4, resync func() (from, to uint64, err error)) uplink.CommandFunc {
	return func(dev, name string, args []byte) (any, error) {
		if dev != "" {
			return nil, fmt.Errorf("%w: %s on device %s", uplink.ErrUnknownCommand, name, dev)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var cmd any
		switch name {
		case "appointment.add":
			var a struct {
				Code      string    `json:"code"`
				Service   string    `json:"service"`
				SlotStart time.Time `json:"slot_start"`
				SlotEnd   time.Time `json:"slot_end"`
				IDNumber  string    `json:"id_number"`
			}
			if err := strict(args, &a); err != nil {
				return nil, err
			}
			ap := hall.Appointment{Code: a.Code, Service: a.Service, SlotStart: hall.Stamp(a.SlotStart),
				SlotEnd: hall.Stamp(a.SlotEnd), Source: "central"}
			if a.IDNumber != "" {
				ap.IDHash, ap.Last4 = key.Hash(a.IDNumber), last4(a.IDNumber)
			}
			cmd = hall.Book{Appointment: ap}
		case "appointment.cancel":
			var a struct {
				Code string `json:"code"`
			}
			if err := strict(args, &a); err != nil {
				return nil, err
			}
			cmd = hall.CancelAppointment{Code: a.Code}
		case "notice.post":
			var n hall.Notice
			if err := strict(args, &n); err != nil {
				return nil, err
			}
			if n.By == "" {
				n.By = "central"
			}
			cmd = hall.PostNotice{Notice: n}
		case "service.open", "service.close":
			var a struct {
				Service string `json:"service"`
				Reason  string `json:"reason"`
			}
			if err := strict(args, &a); err != nil {
				return nil, err
			}
			cmd = hall.SetServiceOpen{Service: a.Service, Open: name == "service.open", Reason: a.Reason, By: "central"}
		case "alert.ack", "alert.assign", "alert.close":
			c, err := alertCommand(name, args)
			if err != nil {
				return nil, err
			}
			cmd = c
		case "followup.step":
			c, err := followUpCommand(args)
			if err != nil {
				return nil, err
			}
			cmd = c
		case "resync":
			from, to, err := resync()
			if err != nil {
				return nil, err
			}
			return map[string]any{"resync": true, "from_seq": from, "to_seq": to}, nil
		default:
			return nil, fmt.Errorf("%w: %s", uplink.ErrUnknownCommand, name)
		}
		res, err := eng.Submit(ctx, cmd)
		var re *hall.RuleError
		if errors.As(err, &re) {
			return nil, fmt.Errorf("%s: %s", re.Code, re.Message)
		}
		if err != nil {
			return nil, err
		}
		return map[string]any{"events": len(res.Events)}, nil
	}
}

// strict decodes args, refusing unknown fields: a typo in a field name must
// be an error the sender sees, not a silently ignored value.
func strict(args []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad args: %w", err)
	}
	return nil
}
