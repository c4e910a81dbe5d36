package web

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The stream: each client has one writer goroutine that follows the journal
// by cursor. The journal is the queue, so a slow client only falls behind; it
// never holds up the engine or other clients. A client that cannot take a
// write within writeTimeout, or falls more than maxLag events behind, is
// dropped and resumes with ?since= when it reconnects.
const (
	writeTimeout = 5 * time.Second
	pingEvery    = 25 * time.Second
	maxLag       = 20000
	batchSize    = 256
)

type streamHub struct {
	s      *Server
	d      Deps
	m      *httpMetrics
	up     websocket.Upgrader
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newStreamHub(s *Server, m *httpMetrics) *streamHub {
	ctx, cancel := context.WithCancel(context.Background())
	h := &streamHub{s: s, d: s.d, m: m, ctx: ctx, cancel: cancel}
	h.up = websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 16 << 10,
	}
	return h
}

func (h *streamHub) close() {
	h.cancel()
	h.wg.Wait()
}

func (h *streamHub) serve(w http.ResponseWriter, r *http.Request) {
	var since uint64
	resume := false
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "since 必须是非负整数")
			return
		}
		since, resume = n, true
	}
	lv := h.s.callerOf(r).level()
	up := h.up
	up.CheckOrigin = h.s.origins.originAllowed
	up.HandshakeTimeout = 5 * time.Second
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	h.m.wsClients.Inc()
	h.wg.Add(1)
	ctx, cancel := context.WithCancel(h.ctx)
	go func() {
		// Reader: we expect nothing but control frames; a read error means
		// the client went away.
		defer cancel()
		conn.SetReadLimit(4096)
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	go func() {
		defer h.wg.Done()
		defer h.m.wsClients.Dec()
		defer conn.Close()
		defer cancel()
		reason := h.write(ctx, conn, lv, since, resume)
		if reason != "" {
			h.m.wsDropped.WithLabelValues(reason).Inc()
		}
	}()
}

func skipFrame(seq uint64) []byte {
	return append(strconv.AppendUint([]byte(`{"type":"skip","seq":`), seq, 10), '}')
}

// write runs one client's stream; it returns why it stopped ("" = normal).
// Below levelFull each event is projected (projection.go); an event the
// level may not see becomes {"type":"skip","seq":N}, so the client's seq
// stays gap-free without learning what happened.
func (h *streamHub) write(ctx context.Context, conn *websocket.Conn, lv level, since uint64, resume bool) string {
	j := h.d.Journal
	send := func(msg []byte) bool {
		conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		return conn.WriteMessage(websocket.TextMessage, msg) == nil
	}
	cursor := since
	if !resume || since+1 < j.Oldest() || since > j.Head() {
		seq, body, err := h.s.snapshotFor(ctx, lv)
		if err != nil {
			return "snapshot_failed"
		}
		msg := append([]byte(`{"type":"snapshot","seq":`+strconv.FormatUint(seq, 10)+`,"data":`), body...)
		if !send(append(msg, '}')) {
			return "write_failed"
		}
		cursor = seq
	}
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		changed := j.Changed() // take it before reading: no wake-up is lost
		recs, err := j.Read(ctx, cursor, batchSize)
		if err != nil {
			return "journal_read"
		}
		var skipped uint64 // the last of a run of events this level does not see
		for _, r := range recs {
			body, err := projectEvent(lv, r.Body)
			if err != nil || body == nil {
				skipped, cursor = r.Seq, r.Seq
				continue
			}
			if skipped != 0 {
				if !send(skipFrame(skipped)) {
					return "slow_or_gone"
				}
				skipped = 0
			}
			msg := make([]byte, 0, len(body)+48)
			msg = append(msg, `{"type":"event","seq":`...)
			msg = strconv.AppendUint(msg, r.Seq, 10)
			msg = append(msg, `,"event":`...)
			msg = append(msg, body...)
			msg = append(msg, '}')
			if !send(msg) {
				return "slow_or_gone"
			}
			cursor = r.Seq
		}
		if skipped != 0 && !send(skipFrame(skipped)) {
			return "slow_or_gone"
		}
		if len(recs) > 0 {
			if j.Head()-cursor > maxLag {
				conn.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "too far behind; resume with since"),
					time.Now().Add(time.Second))
				return "lag"
			}
			continue
		}
		select {
		case <-ctx.Done():
			conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseGoingAway, "halld stopping"), time.Now().Add(time.Second))
			return ""
		case <-changed:
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
				return "slow_or_gone"
			}
		}
	}
}
