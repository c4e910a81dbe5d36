package watcher_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"halld/drivers/terminal/termsim"
	"halld/drivers/terminal/watcher"
	"halld/internal/testmqtt"
)

// startMosquitto starts an external broker (anonymous, no ACL) on a free
// loopback port; it skips without mosquitto, except on CI.
func startMosquitto(t *testing.T) string {
	t.Helper()
	return testmqtt.Start(t).URL
}

// TestMosquitto: the same watcher and simulator against an external
// mosquitto 2.0.
func TestMosquitto(t *testing.T) {
	url := startMosquitto(t)
	ids := []string{termID(0), termID(1), termID(2)}
	rec := newRecorder()
	w := startWatcher(t, url, "halld", "x", ids, 100*time.Millisecond, rec)
	ts := startTerminals(t, url, ids, termsim.Options{Heartbeat: 100 * time.Millisecond, RebootDelay: 50 * time.Millisecond})
	for _, id := range ids {
		rec.waitState(t, id, watcher.Ready, 15*time.Second)
	}
	res, err := w.Command(context.Background(), ids[0], "reboot", nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reboot via mosquitto: %s", res)
	silenced := time.Now()
	ts[2].Silence(true)
	killed := time.Now()
	ts[1].Kill()
	c := rec.waitState(t, ids[1], watcher.Offline, 15*time.Second)
	t.Logf("killed: offline after %v (%s)", c.at.Sub(killed), c.reason)
	if !strings.Contains(c.reason, "lost") {
		t.Fatalf("reason %q", c.reason)
	}
	c = rec.waitState(t, ids[2], watcher.Offline, 15*time.Second)
	t.Logf("silenced: offline after %v (%s)", c.at.Sub(silenced), c.reason)
}
