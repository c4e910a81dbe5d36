package uplink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// command is one request from …/cmd/{name} or …/dev/{dev}/cmd/{name}.
type command struct {
	client    mqtt.Client // the connection it came on; the result goes back on it
	topic     string
	dev, name string
	payload   []byte
}

// request is the command payload: {"id","args":{…},"deadline":…}.
type request struct {
	ID       string          `json:"id"`
	Args     json.RawMessage `json:"args"`
	Deadline json.RawMessage `json:"deadline"`
}

// response goes to the command topic + "/result": {"id","ok","error"}, plus
// "result" when the handler returned one.
type response struct {
	ID     string  `json:"id"`
	OK     bool    `json:"ok"`
	Error  *string `json:"error"`
	Result any     `json:"result,omitempty"`
}

func failed(id string, format string, a ...any) response {
	msg := fmt.Sprintf(format, a...)
	return response{ID: id, Error: &msg}
}

// onMessage is paho's default handler: it must not block, so it only queues.
func (u *Uplink) onMessage(client mqtt.Client, m mqtt.Message) {
	rest, ok := strings.CutPrefix(m.Topic(), u.root+"/")
	if !ok {
		return
	}
	cmd := command{client: client, topic: m.Topic(), payload: append([]byte(nil), m.Payload()...)}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 2 && parts[0] == "cmd":
		cmd.name = parts[1]
	case len(parts) == 4 && parts[0] == "dev" && parts[2] == "cmd":
		cmd.dev, cmd.name = parts[1], parts[3]
	default:
		u.log.Debug("uplink ignored a message", "topic", m.Topic())
		return
	}
	select {
	case u.cmds <- cmd:
	default:
		var req request
		_ = json.Unmarshal(cmd.payload, &req)
		go u.publishResult(cmd, failed(req.ID, "busy: too many commands queued"))
	}
}

func (u *Uplink) commandWorker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case cmd := <-u.cmds:
			u.publishResult(cmd, u.execute(ctx, cmd))
		}
	}
}

// execute answers one command; nothing in the payload can make it panic or
// return without an answer.
func (u *Uplink) execute(ctx context.Context, cmd command) (resp response) {
	var req request
	dec := json.NewDecoder(bytes.NewReader(cmd.payload))
	if err := dec.Decode(&req); err != nil {
		return failed("", "malformed command: %v", err)
	}
	if dec.More() || bytes.Equal(bytes.TrimSpace(cmd.payload), []byte("null")) {
		return failed(req.ID, "malformed command: want one JSON object")
	}
	if req.ID == "" {
		return failed("", "malformed command: no id")
	}
	key := cmd.topic + "\x00" + req.ID
	if r, ok := u.recentResult(key); ok {
		return r // a QoS 1 redelivery: answer again, do not run it twice
	}
	stopping := false
	defer func() {
		if !stopping {
			u.rememberResult(key, resp)
		}
	}()

	if dl, err := parseDeadline(req.Deadline); err != nil {
		return failed(req.ID, "malformed command: deadline: %v", err)
	} else if !dl.IsZero() && time.Now().After(dl) {
		return failed(req.ID, "deadline passed at %s", dl.Format(time.RFC3339Nano))
	}

	u.mu.Lock()
	fn := u.cmdFn
	u.mu.Unlock()
	if fn == nil {
		return failed(req.ID, "unknown command %q", cmd.name)
	}
	args := []byte(req.Args)
	if len(args) == 0 {
		args = []byte("null")
	}
	type outcome struct {
		res any
		err error
	}
	ch := make(chan outcome, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				u.log.Error("uplink command handler panicked", "dev", cmd.dev, "name", cmd.name, "panic", r)
				ch <- outcome{err: fmt.Errorf("command failed: %v", r)}
			}
		}()
		res, err := fn(cmd.dev, cmd.name, args)
		ch <- outcome{res, err}
	}()
	t := time.NewTimer(u.cmdTimeout)
	defer t.Stop()
	var out outcome
	select {
	case out = <-ch:
	case <-t.C:
		return failed(req.ID, "command timed out after %v", u.cmdTimeout)
	case <-ctx.Done():
		stopping = true
		return failed(req.ID, "stopping")
	}
	switch {
	case errors.Is(out.err, ErrUnknownCommand):
		return failed(req.ID, "unknown command %q", cmd.name)
	case out.err != nil:
		return failed(req.ID, "%s", out.err.Error())
	}
	if out.res != nil {
		if _, err := json.Marshal(out.res); err != nil {
			return failed(req.ID, "result is not JSON: %v", err)
		}
	}
	return response{ID: req.ID, OK: true, Result: out.res}
}

// parseDeadline accepts an RFC 3339 string or a Unix time in milliseconds
// (seconds when it is below 1e11).
func parseDeadline(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return time.Parse(time.RFC3339Nano, s)
	}
	var n float64
	if err := json.Unmarshal(raw, &n); err != nil {
		return time.Time{}, errors.New("want an RFC 3339 string or Unix milliseconds")
	}
	if n < 1e11 {
		return time.Unix(0, int64(n*1e9)), nil
	}
	return time.UnixMilli(int64(n)), nil
}

func (u *Uplink) publishResult(cmd command, r response) {
	b, err := json.Marshal(r)
	if err != nil { // Result checked in execute; keep the answer anyway
		b, _ = json.Marshal(failed(r.ID, "result is not JSON: %v", err))
	}
	if !r.OK {
		u.log.Info("uplink command refused", "topic", cmd.topic, "error", *r.Error)
	}
	// Commands queued by the broker while we were away arrive right after
	// CONNACK, before Run has even noted the connection: answer on the
	// connection the command came on.
	if cmd.client == nil || !cmd.client.IsConnectionOpen() {
		u.log.Warn("uplink command result dropped: the connection it came on is gone", "topic", cmd.topic, "id", r.ID)
		return
	}
	cmd.client.Publish(cmd.topic+"/result", 1, false, b)
}

// recentResults remembers the last answers by topic and id, so a QoS 1
// redelivery of a command is answered without running it again.
type recentResults struct {
	m    map[string]response
	keys []string
	next int
}

const recentMax = 256

func (u *Uplink) recentResult(key string) (response, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	r, ok := u.recent.m[key]
	return r, ok
}

func (u *Uplink) rememberResult(key string, r response) {
	u.mu.Lock()
	defer u.mu.Unlock()
	rr := &u.recent
	if rr.m == nil {
		rr.m = make(map[string]response, recentMax)
	}
	if _, ok := rr.m[key]; ok {
		return
	}
	if len(rr.keys) < recentMax {
		rr.keys = append(rr.keys, key)
	} else {
		delete(rr.m, rr.keys[rr.next])
		rr.keys[rr.next] = key
		rr.next = (rr.next + 1) % recentMax
	}
	rr.m[key] = r
}
