package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestGzipFiles(t *testing.T) {
	script := []byte(strings.Repeat("function f(){ return document.getElementById('ahead'); }\n", 200))
	page := []byte("<!DOCTYPE html><html lang=\"zh-CN\">" + strings.Repeat("<p>请稍候</p>", 100) + "</html>")
	pages := fstest.MapFS{
		"phone/phone.js":     {Data: script},
		"kiosk/index.html":   {Data: page},
		"common/favicon.png": {Data: bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 100)},
		"common/tiny.css":    {Data: []byte("a{}")},
	}
	h := newGzipFiles(http.FileServerFS(pages), pages)
	get := func(method, path, accept string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		if accept != "" {
			r.Header.Set("Accept-Encoding", accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	gunzip := func(b []byte) []byte {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	for _, c := range []struct {
		path, ctype string
		raw         []byte
	}{{"/phone/phone.js", "text/javascript", script}, {"/kiosk/", "text/html", page}} {
		w := get("GET", c.path, "gzip, deflate, br")
		if w.Code != 200 || w.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("GET %s with gzip: %d, Content-Encoding %q", c.path, w.Code, w.Header().Get("Content-Encoding"))
		}
		if !strings.HasPrefix(w.Header().Get("Content-Type"), c.ctype) || w.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("GET %s: Content-Type %q, Vary %q", c.path, w.Header().Get("Content-Type"), w.Header().Get("Vary"))
		}
		if got := gunzip(w.Body.Bytes()); !bytes.Equal(got, c.raw) {
			t.Errorf("GET %s: the gzipped body is not the file", c.path)
		}
		if w.Body.Len()*3 > len(c.raw) {
			t.Errorf("GET %s: %d bytes gzipped of %d", c.path, w.Body.Len(), len(c.raw))
		}
		t.Logf("%s: %d bytes, %d gzipped", c.path, len(c.raw), w.Body.Len())

		plain := get("GET", c.path, "")
		if plain.Header().Get("Content-Encoding") != "" || !bytes.Equal(plain.Body.Bytes(), c.raw) {
			t.Errorf("GET %s without Accept-Encoding: Content-Encoding %q, body differs", c.path, plain.Header().Get("Content-Encoding"))
		}
		if refused := get("GET", c.path, "gzip;q=0, identity"); refused.Header().Get("Content-Encoding") != "" {
			t.Errorf("GET %s with gzip;q=0 came gzipped", c.path)
		}
		head := get("HEAD", c.path, "gzip")
		if head.Code != 200 || head.Body.Len() != 0 || head.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("HEAD %s: %d, %d body bytes, %q", c.path, head.Code, head.Body.Len(), head.Header().Get("Content-Encoding"))
		}
	}
	// Not worth it, or not a file: as the file server serves them.
	for _, p := range []string{"/common/favicon.png", "/common/tiny.css"} {
		if w := get("GET", p, "gzip"); w.Code != 200 || w.Header().Get("Content-Encoding") != "" {
			t.Errorf("GET %s: %d, Content-Encoding %q", p, w.Code, w.Header().Get("Content-Encoding"))
		}
	}
	if w := get("GET", "/kiosk/index.html", "gzip"); w.Code != http.StatusMovedPermanently {
		t.Errorf("GET /kiosk/index.html: %d, want the file server's redirect to /kiosk/", w.Code)
	}
	if w := get("GET", "/kiosk", "gzip"); w.Code != http.StatusMovedPermanently {
		t.Errorf("GET /kiosk: %d, want the file server's redirect", w.Code)
	}
	if w := get("POST", "/phone/phone.js", "gzip"); w.Header().Get("Content-Encoding") != "" {
		t.Errorf("POST came gzipped")
	}
}
