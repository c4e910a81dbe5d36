package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const reloadYAML = `
hall:
  id: reload-hall
  name: 测试大厅
  timezone: Asia/Shanghai
  always_open: true
  opening_hours: [{days: [mon, tue, wed, thu, fri, sat, sun], open: "00:00", close: "23:59"}]
http:
  listen: %s
storage:
  dir: %s
services:
  - {id: s1, prefix: A, name: 综合业务}
windows:
  - {id: w1, number: 1, services: [{service: s1}]}
staff:
  - {id: p1, name: 张敏, windows: [w1]}
`

// A supervisor changed p1 at run time; then devices.yaml is edited for p1
// and halld gets SIGHUP. The reload says so — a log line naming p1 and an
// alert for the supervisors — instead of dropping either silently.
func TestReloadReportsARosterConflict(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real halld")
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	cfgPath := filepath.Join(dir, "devices.yaml")
	yaml := fmt.Sprintf(reloadYAML, addr, filepath.Join(dir, "data"))
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "halld.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := startBinary(t, cfgPath, addr, logf)
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	base := "http://" + addr

	resp, err := http.Post(base+"/api/v1/staff", "application/json",
		strings.NewReader(`{"id":"p1","name":"张敏","title":"首席受理员","windows":["w1"]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("edit p1: %d", resp.StatusCode)
	}
	alerts := func() string {
		resp, err := http.Get(base + "/api/v1/alerts")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	// A reload of the same file reports nothing.
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, logPath, "config reloaded")
	if a := alerts(); strings.Contains(a, "roster-conflict") {
		t.Fatalf("a conflict alert without an edit: %s", a)
	}

	edited := strings.Replace(yaml, "{id: p1, name: 张敏, windows: [w1]}", "{id: p1, name: 张敏, title: 窗口负责人, windows: [w1]}", 1)
	if err := os.WriteFile(cfgPath, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	line := waitLog(t, logPath, "overtaken by devices.yaml")
	if !strings.Contains(line, "staff=p1") || !strings.Contains(line, "reload=true") {
		t.Fatalf("the log line does not name p1 on reload: %s", line)
	}
	deadline := time.Now().Add(5 * time.Second)
	for a := alerts(); !strings.Contains(a, "roster-conflict") || !strings.Contains(a, "重新加载的 devices.yaml") || !strings.Contains(a, "p1"); a = alerts() {
		if time.Now().After(deadline) {
			t.Fatalf("no roster-conflict alert after the reload: %s", a)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitLog waits for a line of the log holding s and returns it.
func waitLog(t *testing.T, path, s string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, s) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log:\n%s", s, tail(b, 3000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
