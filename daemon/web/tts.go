package web

import (
	"context"
	"net/http"
	"os/exec"
	"sync"
	"time"
	"unicode/utf8"
)

// tts speaks a board line ("请A001号到3号窗口办理") as WAV, made on the box with
// espeak-ng's Mandarin voice. Browsers on Debian and the webview shell often
// have no Chinese speechSynthesis voice; espeak-ng works offline. Lines are
// few and repeat all day, so they are cached; the cache is bounded.
type ttsCache struct {
	mu    sync.Mutex
	wav   map[string][]byte
	order []string
	sem   chan struct{} // at most two espeak-ng processes at once
}

const ttsCacheSize = 256

func newTTSCache() *ttsCache {
	return &ttsCache{wav: map[string][]byte{}, sem: make(chan struct{}, 2)}
}

func (s *Server) tts(w http.ResponseWriter, r *http.Request) {
	text := r.URL.Query().Get("text")
	if text == "" || utf8.RuneCountInString(text) > 60 {
		writeError(w, http.StatusBadRequest, "bad_text", "播报内容为空或过长（最多 60 字）")
		return
	}
	c := s.ttsCache
	c.mu.Lock()
	wav, ok := c.wav[text]
	c.mu.Unlock()
	if !ok {
		bin, err := exec.LookPath("espeak-ng")
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "no_tts", "本机未安装 espeak-ng，无法语音播报")
			return
		}
		select {
		case c.sem <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		// --stdout: no temporary files; the text is an argument, never a shell string.
		wav, err = exec.CommandContext(ctx, bin, "-v", "cmn", "-s", "150", "--stdout", "--", text).Output()
		cancel()
		<-c.sem
		if err != nil || len(wav) < 44 {
			writeError(w, http.StatusInternalServerError, "tts_failed", "语音合成失败")
			return
		}
		c.mu.Lock()
		if _, dup := c.wav[text]; !dup {
			c.wav[text] = wav
			c.order = append(c.order, text)
			if len(c.order) > ttsCacheSize {
				delete(c.wav, c.order[0])
				c.order = c.order[1:]
			}
		}
		c.mu.Unlock()
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(wav)
}
