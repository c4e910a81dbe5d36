package web

import (
	"encoding/json"
	"net/http"

	"halld/daemon/hall"
	"time"
)

type deviceView struct {
	ID        string         `json:"id"`
	Kind      string         `json:"kind"`
	Area      string         `json:"area"`
	AreaName  string         `json:"area_name,omitempty"`
	State     string         `json:"state"`
	Reason    string         `json:"reason,omitempty"`
	Since     time.Time      `json:"since"`
	LastSeen  *time.Time     `json:"last_seen"`
	Detail    map[string]any `json:"detail,omitempty"`
	Counters  any            `json:"counters"`
	LastError string         `json:"last_error,omitempty"`
	Simulated bool           `json:"simulated"`
	Port      string         `json:"port"`
	Trace     bool           `json:"trace"`
	TraceFile string         `json:"trace_file,omitempty"`
	// TraceStopped says why a trace switched itself off (its caps, a disk
	// running low); "" when it did not.
	TraceStopped string `json:"trace_stopped,omitempty"`
}

// contactSource is implemented by what knows when a device without a port
// of its own was last heard from (the app: MQTT terminals' heartbeats).
type contactSource interface {
	LastContact(id string) (time.Time, bool)
}

func (s *Server) devices(w http.ResponseWriter, r *http.Request) {
	out := []deviceView{}
	cs, _ := s.d.Commander.(contactSource)
	for _, i := range s.d.Supervisor.Infos() {
		if cs != nil {
			if t, ok := cs.LastContact(i.ID); ok && !t.IsZero() && (i.LastSeen == nil || t.After(*i.LastSeen)) {
				i.LastSeen = &t
			}
		}
		v := deviceView{ID: i.ID, Kind: i.Kind, Area: i.Area, AreaName: hall.AreaName(s.d.Config, i.Area), State: i.State, Reason: i.Reason, Since: i.Since,
			LastSeen: i.LastSeen, Detail: i.Detail, Counters: i.Counters, LastError: i.LastError,
			Simulated: i.Simulated, Port: i.Port, Trace: i.Trace, TraceStopped: i.TraceStopped}
		if i.Trace {
			v.TraceFile = s.traceFile(i.ID)
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": out})
}

func (s *Server) traceFile(id string) string {
	if f, ok := s.d.Tracer.(interface{ File(string) string }); ok {
		return f.File(id)
	}
	return ""
}

func (s *Server) simulate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Action string `json:"action"`
		Text   string `json:"text"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if s.d.Simulators == nil {
		writeError(w, http.StatusNotFound, "not_simulated", "没有模拟设备")
		return
	}
	if err := s.d.Simulators.Simulate(r.PathValue("id"), req.Action, req.Text); err != nil {
		writeError(w, http.StatusBadRequest, "bad_simulation", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) trace(w http.ResponseWriter, r *http.Request) {
	var req struct {
		On bool `json:"on"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	id := r.PathValue("id")
	if _, ok := s.d.Supervisor.Info(id); !ok {
		writeError(w, http.StatusNotFound, "unknown_device", "没有这个串口设备："+id)
		return
	}
	if err := s.d.Tracer.Set(id, req.On); err != nil {
		writeError(w, http.StatusForbidden, "trace_refused", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "trace": req.On, "file": s.traceFile(id)})
}

// sendLine sends one outbound line (a command) to a line device.
func (s *Server) sendLine(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Line string `json:"line"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if s.d.Lines == nil {
		writeError(w, http.StatusNotFound, "unknown_device", "没有可发送的行设备")
		return
	}
	if err := s.d.Lines.SendLine(r.Context(), r.PathValue("id"), req.Line); err != nil {
		writeError(w, http.StatusConflict, "send_failed", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// deviceCommand sends a command to a terminal (reboot, lock_screen,
// show_notice) and answers with its result, or a timeout.
func (s *Server) deviceCommand(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string          `json:"name"`
		Args json.RawMessage `json:"args"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Name == "" || s.d.Commander == nil {
		writeError(w, http.StatusBadRequest, "bad_command", "请给出命令名称（name）")
		return
	}
	var args any
	if len(req.Args) > 0 {
		args = req.Args
	}
	res, err := s.d.Commander.DeviceCommand(r.Context(), r.PathValue("id"), req.Name, args)
	if err != nil {
		writeError(w, http.StatusBadGateway, "command_failed", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "result": json.RawMessage(res)})
}
