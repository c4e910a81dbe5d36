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
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"halld/daemon/voice"
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

func needEspeak(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("espeak-ng missing on CI")
		}
		t.Skip("no espeak-ng")
	}
}

// espeakPhonemes is what espeak-ng says for text with the command line halld
// uses, as phoneme mnemonics (-x) or IPA (--ipa).
func espeakPhonemes(t *testing.T, text, mode string) string {
	t.Helper()
	out, err := exec.Command("espeak-ng", espeakArgs(text, "-q", mode)...).Output()
	if err != nil {
		t.Fatalf("espeak-ng %s %q: %v", mode, text, err)
	}
	return strings.TrimSpace(string(out))
}

// toneMarks are espeak-ng's Mandarin tones in -x output: 55 (1st), 35 (2nd),
// 214, or 21 before another tone and 35 before a 3rd (3rd), 51 or 53 (4th),
// 11/22/33 (neutral). No other digit occurs in its Mandarin phonemes.
var toneMarks = regexp.MustCompile(`[0-9]+`)

var spokenTones = map[int][]string{1: {"55"}, 2: {"35"}, 3: {"214", "21", "35"}, 4: {"51", "53"}, 5: {"11", "22", "33"}}

// The call line is spoken as Mandarin: espeak-ng switches to no other
// language, speaks one syllable per syllable of the line, each with its tone
// (ticket digits one by one, the prefix as ēi, window numbers as numbers).
// With the "cmn" voice halld used before, the same check finds "(en)" and
// English words where the tones should be.
func TestTTSCallLineIsMandarin(t *testing.T) {
	needEspeak(t)
	for _, c := range []struct{ text, pinyin string }{
		{"请A002号到1号窗口办理", "qing3 ei1 ling2 ling2 er4 hao4 dao4 yi1 hao4 chuang1 kou3 ban4 li3"},
		{"请A015号到12号窗口办理", "qing3 ei1 ling2 yi1 wu3 hao4 dao4 shi2 er4 hao4 chuang1 kou3 ban4 li3"},
		{"请B1000号到20号窗口办理", "qing3 bi4 yi1 ling2 ling2 ling2 hao4 dao4 er4 shi2 hao4 chuang1 kou3 ban4 li3"},
		{"请ZX999号到105号窗口办理", "qing3 zei2 ai4 ke4 si1 jiu3 jiu3 jiu3 hao4 dao4 yi4 bai3 ling2 wu3 hao4 chuang1 kou3 ban4 li3"},
		{"7号窗口暂停服务", "qi1 hao4 chuang1 kou3 zan4 ting2 fu2 wu4"},
		{"语音播报已启用", "yu3 yin1 bo1 bao4 yi3 qi3 yong4"},
	} {
		if got := voice.Pinyin(c.text); got != c.pinyin {
			t.Errorf("%s: pinyin %s, want %s", c.text, got, c.pinyin)
			continue
		}
		x, ipa := espeakPhonemes(t, c.text, "-x"), espeakPhonemes(t, c.text, "--ipa")
		t.Logf("%s\n  -x:    %s\n  --ipa: %s", c.text, x, ipa)
		if strings.Contains(x, "(") || strings.Contains(ipa, "(") {
			t.Errorf("%s: espeak-ng switches language: %s", c.text, ipa)
		}
		tones := toneMarks.FindAllString(x, -1)
		parts := voice.Parse(c.text)
		if len(tones) != len(parts) {
			t.Errorf("%s: %d tones spoken for %d syllables: %s", c.text, len(tones), len(parts), x)
			continue
		}
		for i, p := range parts {
			if !slicesContain(spokenTones[p.Tone], tones[i]) {
				t.Errorf("%s: syllable %d %s spoken with tone %s: %s", c.text, i+1, p, tones[i], x)
			}
		}
	}
}

func slicesContain(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Every syllable daemon/voice can write, and Han it leaves to espeak-ng's
// dictionary, is one Mandarin syllable with a tone to espeak-ng.
func TestTTSEverySyllableHasATone(t *testing.T) {
	needEspeak(t)
	letters := "A B C D E F G H I J K L M N O P Q R S T U V W X Y Z"
	for _, text := range []string{
		letters, "0 1 2 3 4 5 6 7 8 9 10 100 1000 2000",
		"请号到窗口办理暂停服务业务政务语音播报已启用大厅综合受理前往第区楼层银行不动产登记重新过号",
		"请A001号到综合受理窗口办理", "湖南湘江新区政务服务大厅",
	} {
		want := 0
		for _, p := range voice.Parse(text) {
			switch {
			case p.Han != "":
				want += utf8.RuneCountInString(p.Han)
			case !p.Pause:
				want++
			}
		}
		x := espeakPhonemes(t, text, "-x")
		if strings.Contains(x, "(") {
			t.Errorf("%s: language switch: %s", text, x)
		}
		if got := len(toneMarks.FindAllString(x, -1)); got != want {
			t.Errorf("%s: %d tones for %d syllables (%s): %s", text, got, want, voice.Pinyin(text), x)
		}
	}
}

// A line with nothing to read is refused before espeak-ng runs.
func TestTTSRefusesUnspeakableText(t *testing.T) {
	s := &Server{ttsCache: newTTSCache()}
	s.ttsCache.synth = func(ctx context.Context, text string) ([]byte, error) {
		t.Errorf("synthesized %q", text)
		return nil, errors.New("no")
	}
	for _, text := range []string{"[[]]", "😀 ~ #", "，。"} {
		if rec := ttsGet(s, text); rec.Code != 400 || errorCode(t, rec) != "bad_text" {
			t.Fatalf("%q: %d %s", text, rec.Code, rec.Body)
		}
	}
}

// The WAV of a call line lasts as a call should: 3–7 s at espeak-ng's rate.
func TestTTSCallLineWAV(t *testing.T) {
	needEspeak(t)
	start := time.Now()
	wav, err := espeak(context.Background(), "请A002号到1号窗口办理")
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if string(wav[:4]) != "RIFF" || string(wav[8:12]) != "WAVE" {
		t.Fatal("not a WAV")
	}
	// espeak-ng writes 16-bit mono at 22050 Hz.
	secs := float64(len(wav)-44) / (2 * 22050)
	t.Logf("call line: %.2f s of speech made in %v", secs, took)
	if secs < 3 || secs > 7 {
		t.Fatalf("call line lasts %.2f s", secs)
	}
}

// go test ./daemon/web -run '^$' -bench EspeakCallLine: one call line's synthesis.
func BenchmarkEspeakCallLine(b *testing.B) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		b.Skip("no espeak-ng")
	}
	for b.Loop() {
		if _, err := espeak(context.Background(), "请A002号到1号窗口办理"); err != nil {
			b.Fatal(err)
		}
	}
}
