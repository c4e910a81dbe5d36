package web

import (
	"container/list"
	"context"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"halld/daemon/voice"
)

// tts speaks a board line ("请A001号到3号窗口办理") as WAV, made on the box with
// espeak-ng. Browsers on Debian and the webview shell often have no Chinese
// speechSynthesis voice; espeak-ng works offline.
//
// The line is first written as pinyin with tone numbers (daemon/voice:
// A002 → ei1 ling2 ling2 er4, 12号窗口 → shi2 er4 hao4 chuang1 kou3) and read
// by espeak-ng's cmn-latn-pinyin voice. Not its "cmn" voice: in espeak-ng
// 1.51 (Debian 12) that one reads its own dictionary's pinyin as English,
// every tone number aloud ("ni three hay-oh three", espeak-ng issue 1028).
//
// The endpoint needs no token (board pages on the hall's screens call it), so
// everything it spends is bounded: the text's length, the WAV's size, the time
// espeak-ng may run, how many run at once and how long a request may wait for
// one, and the cache's bytes (LRU). A board line is ~240 KB of WAV, a 60-
// character line ~1 MB; the cache holds ~70 board lines.
const (
	ttsMaxRunes      = 60              // longest text accepted
	ttsCacheBytes    = 16 << 20        // WAV bytes kept, least recently used dropped first
	ttsMaxWAV        = 2 << 20         // espeak-ng output past this is refused (~47 s of audio)
	ttsRunTimeout    = 5 * time.Second // one synthesis; a 60-character line takes ~0.1 s
	ttsSlotWait      = 2 * time.Second // how long a request waits for a synthesis slot before 503
	ttsSynthesizers  = 2               // espeak-ng processes at once
	ttsMaxPending    = 16              // distinct texts synthesizing or waiting for a slot; more get 503 at once
	ttsEntryOverhead = 64              // map, list element and key header, per entry
	ttsRate          = 150             // espeak-ng -s: syllables a minute, as each is a word to it
)

var (
	errTTSBusy    = errors.New("tts: busy")
	errTTSTooBig  = errors.New("tts: output too large")
	errTTSMissing = errors.New("tts: espeak-ng not installed")
)

// ttsCache is a byte-bounded LRU of WAVs plus the synthesis slots; concurrent
// requests for the same text share one synthesis.
type ttsCache struct {
	maxBytes int

	mu       sync.Mutex
	bytes    int
	entries  map[string]*list.Element // of *ttsEntry
	lru      list.List                // front: most recently used
	inflight map[string]*ttsCall
	pending  int // speak calls synthesizing or waiting for a slot

	sem        chan struct{} // synthesis slots
	slotWait   time.Duration
	maxPending int
	// synth makes the WAV; espeak-ng unless a test replaces it.
	synth func(ctx context.Context, text string) ([]byte, error)
}

type ttsEntry struct {
	text string
	wav  []byte
}

type ttsCall struct {
	done chan struct{}
	wav  []byte
	err  error
}

func newTTSCache() *ttsCache {
	return &ttsCache{
		maxBytes:   ttsCacheBytes,
		entries:    map[string]*list.Element{},
		inflight:   map[string]*ttsCall{},
		sem:        make(chan struct{}, ttsSynthesizers),
		slotWait:   ttsSlotWait,
		maxPending: ttsMaxPending,
		synth:      espeak,
	}
}

func entrySize(text string, wav []byte) int { return len(text) + cap(wav) + ttsEntryOverhead }

// get returns the cached WAV for text, marking it recently used.
func (c *ttsCache) get(text string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[text]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*ttsEntry).wav, true
}

// put caches wav, dropping the least recently used entries to stay within
// maxBytes. A WAV bigger than a quarter of the cache is not kept.
func (c *ttsCache) put(text string, wav []byte) {
	size := entrySize(text, wav)
	if size > c.maxBytes/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[text]; ok {
		c.lru.MoveToFront(el)
		return
	}
	for c.bytes+size > c.maxBytes && c.lru.Len() > 0 {
		old := c.lru.Back()
		e := old.Value.(*ttsEntry)
		c.lru.Remove(old)
		delete(c.entries, e.text)
		c.bytes -= entrySize(e.text, e.wav)
	}
	c.entries[text] = c.lru.PushFront(&ttsEntry{text: text, wav: wav})
	c.bytes += size
}

// usage is the bytes and entries held.
func (c *ttsCache) usage() (bytes, entries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes, c.lru.Len()
}

// speak returns the WAV for text: cached, joined to a synthesis under way, or
// made now if a slot frees within slotWait (else errTTSBusy).
func (c *ttsCache) speak(ctx context.Context, text string) ([]byte, error) {
	if wav, ok := c.get(text); ok {
		return wav, nil
	}
	c.mu.Lock()
	if el, ok := c.entries[text]; ok { // made while we looked
		c.lru.MoveToFront(el)
		c.mu.Unlock()
		return el.Value.(*ttsEntry).wav, nil
	}
	if call, ok := c.inflight[text]; ok {
		c.mu.Unlock()
		select {
		case <-call.done:
			return call.wav, call.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if c.pending >= c.maxPending {
		c.mu.Unlock()
		return nil, errTTSBusy
	}
	c.pending++
	call := &ttsCall{done: make(chan struct{})}
	c.inflight[text] = call
	c.mu.Unlock()

	call.wav, call.err = c.synthesize(ctx, text)
	if call.err == nil {
		c.put(text, call.wav)
	}
	c.mu.Lock()
	c.pending--
	delete(c.inflight, text)
	c.mu.Unlock()
	close(call.done)
	return call.wav, call.err
}

// synthesize waits up to slotWait for a slot, then runs synth for at most
// ttsRunTimeout. It does not stop when the caller goes away: requests joined
// to this one still want the WAV, and both waits are bounded anyway.
func (c *ttsCache) synthesize(ctx context.Context, text string) ([]byte, error) {
	t := time.NewTimer(c.slotWait)
	defer t.Stop()
	select {
	case c.sem <- struct{}{}:
	case <-t.C:
		return nil, errTTSBusy
	}
	defer func() { <-c.sem }()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ttsRunTimeout)
	defer cancel()
	return c.synth(ctx, text)
}

// espeakArgs is espeak-ng's command line for a board line: the voice, the
// rate, the given output options (--stdout for WAV; -q -x for phonemes), and
// the line as daemon/voice writes it. voice.Espeak never holds "[[" or markup,
// and "--" ends the options, so no text can steer espeak-ng.
func espeakArgs(text string, output ...string) []string {
	args := append([]string{"-v", voice.Voice, "-s", strconv.Itoa(ttsRate)}, output...)
	return append(args, "--", voice.Espeak(text))
}

// espeak runs espeak-ng for text, reading at most ttsMaxWAV bytes of WAV.
func espeak(ctx context.Context, text string) ([]byte, error) {
	bin, err := exec.LookPath("espeak-ng")
	if err != nil {
		return nil, errTTSMissing
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// --stdout: no temporary files; the text is an argument, never a shell string.
	cmd := exec.CommandContext(ctx, bin, espeakArgs(text, "--stdout")...)
	cmd.WaitDelay = time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	buf, rerr := io.ReadAll(io.LimitReader(out, ttsMaxWAV+1))
	if len(buf) > ttsMaxWAV {
		cancel() // kills espeak-ng
		cmd.Wait()
		return nil, errTTSTooBig
	}
	werr := cmd.Wait()
	if rerr != nil {
		return nil, rerr
	}
	if werr != nil {
		return nil, werr
	}
	if len(buf) < 44 {
		return nil, errors.New("tts: short WAV")
	}
	// io.ReadAll's buffer may be up to twice the WAV: keep an exact copy.
	wav := make([]byte, len(buf))
	copy(wav, buf)
	return wav, nil
}

func (s *Server) tts(w http.ResponseWriter, r *http.Request) {
	text := r.URL.Query().Get("text")
	if text == "" || !utf8.ValidString(text) || utf8.RuneCountInString(text) > ttsMaxRunes {
		writeError(w, http.StatusBadRequest, "bad_text", "播报内容为空或过长（最多 60 字）")
		return
	}
	if voice.Espeak(text) == "" {
		writeError(w, http.StatusBadRequest, "bad_text", "播报内容没有可读的文字（汉字、字母或数字）")
		return
	}
	wav, err := s.ttsCache.speak(r.Context(), text)
	switch {
	case err == nil:
	case errors.Is(err, errTTSMissing):
		writeError(w, http.StatusServiceUnavailable, "no_tts", "本机未安装 espeak-ng，无法语音播报")
		return
	case errors.Is(err, errTTSBusy):
		w.Header().Set("Retry-After", "2")
		writeError(w, http.StatusServiceUnavailable, "tts_busy", "语音合成繁忙，请稍后再试")
		return
	case r.Context().Err() != nil:
		return // the caller went away
	default:
		writeError(w, http.StatusInternalServerError, "tts_failed", "语音合成失败")
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(wav)
}
