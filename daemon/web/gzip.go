package web

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// gzipFiles serves the pages' text files (HTML, scripts, stylesheets,
// JSON) gzipped to a browser that accepts it: the phone page goes over the
// hall's guest Wi-Fi, and the reports page's chart library alone is ~200
// KB. The tree is embedded and never changes while halld runs, so each file
// is compressed once, on its first request, and kept. Everything else —
// directories without an index, redirects, images, a client that does not
// accept gzip — goes to files as before.
type gzipFiles struct {
	files http.Handler
	pages fs.FS

	mu    sync.Mutex
	cache map[string][]byte // page path → gzipped bytes; nil: not worth it
}

func newGzipFiles(files http.Handler, pages fs.FS) *gzipFiles {
	return &gzipFiles{files: files, pages: pages, cache: map[string][]byte{}}
}

// compressible are the extensions worth compressing (PNG and WOFF2 are
// compressed already).
var compressible = map[string]bool{".html": true, ".js": true, ".css": true, ".json": true, ".svg": true, ".txt": true}

func (g *gzipFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := g.file(r)
	if !ok {
		g.files.ServeHTTP(w, r)
		return
	}
	w.Header().Add("Vary", "Accept-Encoding")
	if !acceptsGzip(r) {
		g.files.ServeHTTP(w, r)
		return
	}
	gz := g.gzipped(name)
	if gz == nil {
		g.files.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	// ServeContent takes the type from the file's name, as the file server
	// does, and handles HEAD and conditional requests.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(gz))
}

// file is the page file a GET or HEAD names (a directory's index.html for
// a path ending in "/"), when it is one worth compressing.
func (g *gzipFiles) file(r *http.Request) (string, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return "", false
	}
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") {
		return "", false
	}
	name := strings.TrimPrefix(path.Clean(p), "/")
	if strings.HasSuffix(p, "/") {
		name = path.Join(name, "index.html")
	} else if strings.HasSuffix(name, "/index.html") || name == "index.html" {
		return "", false // the file server redirects these to the directory
	}
	if !compressible[path.Ext(name)] {
		return "", false
	}
	if fi, err := fs.Stat(g.pages, name); err != nil || fi.IsDir() {
		return "", false
	}
	return name, true
}

func (g *gzipFiles) gzipped(name string) []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	if gz, ok := g.cache[name]; ok {
		return gz
	}
	raw, err := fs.ReadFile(g.pages, name)
	if err != nil {
		return nil
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(raw)
	zw.Close()
	gz := b.Bytes()
	if len(gz) >= len(raw) {
		gz = nil // a tiny file: not worth the header
	}
	g.cache[name] = gz
	return gz
}

// acceptsGzip reads Accept-Encoding as RFC 9110 does: gzip listed, and not
// with q=0.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
