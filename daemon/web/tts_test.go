package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// text60 is the i-th distinct 60-character board-like line.
func text60(i int) string {
	r := []rune(fmt.Sprintf("请A%04d号到%d号窗口办理", i, i%9+1) + strings.Repeat("请到窗口办理业务谢谢", 10))
	return string(r[:60])
}

func ttsGet(s *Server, text string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.tts(rec, httptest.NewRequest("GET", "/api/v1/tts?text="+url.QueryEscape(text), nil))
	return rec
}

func errorCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body is not the JSON error format: %q", rec.Body.String())
	}
	if e.Error.Message == "" {
		t.Fatalf("error without a message: %q", rec.Body.String())
	}
	return e.Error.Code
}

// The cache is bounded by bytes: 256 distinct ~100 KB WAVs into a 1 MiB cache
// never hold more than 1 MiB, and the most recently used line survives.
func TestTTSCacheBoundedByBytes(t *testing.T) {
	c := newTTSCache()
	c.maxBytes = 1 << 20
	calls := 0
	c.synth = func(ctx context.Context, text string) ([]byte, error) {
		calls++
		return make([]byte, 100<<10), nil
	}
	keep := text60(-1)
	for i := 0; i < 256; i++ {
		if _, err := c.speak(context.Background(), text60(i)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.speak(context.Background(), keep); err != nil { // used all the time: stays
			t.Fatal(err)
		}
		if b, _ := c.usage(); b > c.maxBytes {
			t.Fatalf("after %d texts the cache holds %d bytes > %d", i+1, b, c.maxBytes)
		}
	}
	b, n := c.usage()
	t.Logf("cache: %d bytes in %d entries", b, n)
	if n < 5 || n > 10 {
		t.Fatalf("%d entries of 100 KB in a 1 MiB cache", n)
	}
	if _, ok := c.get(keep); !ok {
		t.Fatal("the most recently used line was evicted")
	}
	if calls != 257 {
		t.Fatalf("%d syntheses for 257 distinct texts (the hot line must come from the cache)", calls)
	}
	// A WAV too big to be worth caching is served but not kept.
	c.synth = func(ctx context.Context, text string) ([]byte, error) { return make([]byte, 512<<10), nil }
	if _, err := c.speak(context.Background(), "很长的一句"); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.get("很长的一句"); ok {
		t.Fatal("a WAV over a quarter of the cache was kept")
	}
}

func TestTTSRejectsLongAndInvalidText(t *testing.T) {
	s := &Server{ttsCache: newTTSCache()}
	s.ttsCache.synth = func(ctx context.Context, text string) ([]byte, error) {
		t.Errorf("synthesized %q", text)
		return nil, errors.New("no")
	}
	for _, text := range []string{"", strings.Repeat("长", ttsMaxRunes+1), strings.Repeat("x", 200), "请\xff号"} {
		rec := ttsGet(s, text)
		if rec.Code != 400 || errorCode(t, rec) != "bad_text" {
			t.Fatalf("text %q: %d %s", text, rec.Code, rec.Body)
		}
		if !strings.Contains(rec.Body.String(), "最多 60 字") {
			t.Fatalf("message: %s", rec.Body)
		}
	}
}

// With every slot busy a new text waits at most slotWait and gets a JSON 503;
// past maxPending it gets 503 at once. Requests for a text being made share it.
func TestTTSBusyAnswers503(t *testing.T) {
	c := newTTSCache()
	c.slotWait = 100 * time.Millisecond
	release := make(chan struct{})
	var mu sync.Mutex
	runs := map[string]int{}
	c.synth = func(ctx context.Context, text string) ([]byte, error) {
		mu.Lock()
		runs[text]++
		mu.Unlock()
		<-release
		return make([]byte, 1000), nil
	}
	s := &Server{ttsCache: c}
	var wg sync.WaitGroup
	codes := make([]int, ttsSynthesizers*2)
	for i := range codes { // two requests per busy text
		wg.Add(1)
		go func() { defer wg.Done(); codes[i] = ttsGet(s, text60(i/2)).Code }()
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(c.sem) < ttsSynthesizers {
		if time.Now().After(deadline) {
			t.Fatal("slots never filled")
		}
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	rec := ttsGet(s, text60(100))
	if rec.Code != 503 || errorCode(t, rec) != "tts_busy" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("busy: %d %s", rec.Code, rec.Body)
	}
	if d := time.Since(start); d < c.slotWait || d > c.slotWait+2*time.Second {
		t.Fatalf("busy answer after %v (slot wait %v)", d, c.slotWait)
	}
	c.maxPending = ttsSynthesizers
	start = time.Now()
	if rec := ttsGet(s, text60(101)); rec.Code != 503 || time.Since(start) > c.slotWait/2 {
		t.Fatalf("over maxPending: %d after %v", rec.Code, time.Since(start))
	}
	close(release)
	wg.Wait()
	for i, code := range codes {
		if code != 200 {
			t.Fatalf("request %d: %d", i, code)
		}
	}
	for text, n := range runs {
		if n != 1 {
			t.Fatalf("%q synthesized %d times", text, n)
		}
	}
}

// fakeEspeak puts a shell script named espeak-ng first on PATH.
func fakeEspeak(t *testing.T, script string) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "espeak-ng"), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestEspeakOutputCapped(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	fakeEspeak(t, "exec cat /dev/zero")
	start := time.Now()
	_, err := espeak(context.Background(), "请A001号")
	if !errors.Is(err, errTTSTooBig) {
		t.Fatalf("endless output: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("endless output stopped after %v", d)
	}
}

func TestEspeakRunTimeBounded(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	fakeEspeak(t, "exec sleep 60")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := espeak(ctx, "请A001号"); err == nil {
		t.Fatal("a hung espeak-ng succeeded")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("a hung espeak-ng held the request %v", d)
	}
}

// The real thing: a flood of distinct 60-character texts through the handler
// keeps the cache and the heap small (before the byte bound, 80 such texts
// held ~160 MB: 256 entries of up to 2 MB each).
func TestTTSFloodWithEspeakStaysBounded(t *testing.T) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("espeak-ng missing on CI")
		}
		t.Skip("no espeak-ng")
	}
	s := &Server{ttsCache: newTTSCache()}
	const n = 80
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, busy := 0, 0
	work := make(chan int)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				rec := ttsGet(s, text60(i))
				mu.Lock()
				switch rec.Code {
				case 200:
					ok++
					if b := rec.Body.Bytes(); len(b) < 44 || string(b[:4]) != "RIFF" {
						t.Errorf("text %d: not a WAV", i)
					}
				case 503:
					busy++
				default:
					t.Errorf("text %d: %d %s", i, rec.Code, rec.Body)
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b, entries := s.ttsCache.usage()
	t.Logf("%d ok, %d busy; cache %d bytes in %d entries; heap in use %.1f MB", ok, busy, b, entries, float64(ms.HeapInuse)/1e6)
	if ok < n/2 {
		t.Fatalf("only %d of %d texts spoken", ok, n)
	}
	if b > ttsCacheBytes {
		t.Fatalf("cache %d bytes > %d", b, ttsCacheBytes)
	}
	if ms.HeapInuse > 3*ttsCacheBytes {
		t.Fatalf("heap in use %d bytes after the flood", ms.HeapInuse)
	}
}
