package kioskui

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var requiredFiles = []string{
	"kiosk/index.html",
	"kiosk/kiosk.js",
	"monitor/index.html",
	"monitor/monitor.js",
	"board/index.html",
	"board/board.js",
	"window/index.html",
	"window/window.js",
	"common/style.css",
	"common/stream.js",
}

func TestPagesContainsFiles(t *testing.T) {
	pages := Pages()
	for _, name := range requiredFiles {
		st, err := fs.Stat(pages, name)
		if err != nil {
			t.Errorf("missing %s: %v", name, err)
			continue
		}
		if st.Size() == 0 {
			t.Errorf("%s is empty", name)
		}
	}
}

var (
	attrRef   = regexp.MustCompile(`(?i)\s(?:src|href|action|poster)\s*=\s*["']([^"']*)["']`)
	cssURLRef = regexp.MustCompile(`(?i)url\(\s*["']?([^"')]+)["']?\s*\)|@import\s+["']([^"']+)["']`)
	anyURL    = regexp.MustCompile(`(?i)\b(?:https?|wss?|ftp):\/\/`)
)

// isExternal reports whether ref leaves the same origin (scheme or
// protocol-relative). Fragments are fine.
func isExternal(ref string) bool {
	if strings.HasPrefix(ref, "//") {
		return true
	}
	if i := strings.Index(ref, ":"); i >= 0 {
		// A colon before any '/' or '?' means a scheme (http:, data:, javascript:…).
		j := strings.IndexAny(ref, "/?#")
		return j < 0 || i < j
	}
	return false
}

// resolve turns a reference made from the page at dir into a path in the FS.
func resolve(dir, ref string) string {
	if i := strings.IndexAny(ref, "?#"); i >= 0 {
		ref = ref[:i]
	}
	if strings.HasPrefix(ref, "/") {
		return strings.TrimPrefix(path.Clean(ref), "/")
	}
	return path.Clean(path.Join(dir, ref))
}

func TestPagesReferenceOnlyLocalAssets(t *testing.T) {
	pages := Pages()
	for _, page := range []string{"kiosk/index.html", "monitor/index.html", "board/index.html", "window/index.html"} {
		b, err := fs.ReadFile(pages, page)
		if err != nil {
			t.Fatal(err)
		}
		refs := attrRef.FindAllStringSubmatch(string(b), -1)
		if len(refs) == 0 {
			t.Errorf("%s references no assets at all", page)
		}
		seenJS, seenCSS := false, false
		for _, m := range refs {
			ref := m[1]
			if ref == "" || strings.HasPrefix(ref, "#") {
				continue
			}
			if isExternal(ref) {
				t.Errorf("%s references a non-local asset %q", page, ref)
				continue
			}
			target := resolve(path.Dir(page), ref)
			if _, err := fs.Stat(pages, target); err != nil {
				t.Errorf("%s references %q (-> %s) which is not in the FS", page, ref, target)
			}
			seenJS = seenJS || strings.HasSuffix(target, ".js")
			seenCSS = seenCSS || strings.HasSuffix(target, ".css")
		}
		if !seenJS || !seenCSS {
			t.Errorf("%s: want a local stylesheet and script, got css=%v js=%v", page, seenCSS, seenJS)
		}
	}
}

func TestNoExternalURLsAnywhere(t *testing.T) {
	pages := Pages()
	err := fs.WalkDir(pages, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(pages, name)
		if err != nil {
			return err
		}
		s := string(b)
		if loc := anyURL.FindStringIndex(s); loc != nil {
			t.Errorf("%s contains an absolute URL near %q: pages must not load anything from outside the hall server", name, s[loc[0]:min(len(s), loc[1]+40)])
		}
		if strings.HasSuffix(name, ".css") {
			for _, m := range cssURLRef.FindAllStringSubmatch(s, -1) {
				ref := m[1] + m[2]
				if isExternal(ref) && !strings.HasPrefix(ref, "data:") {
					t.Errorf("%s: non-local url %q", name, ref)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestServedAtRoot(t *testing.T) {
	srv := httptest.NewServer(http.FileServerFS(Pages()))
	defer srv.Close()
	cases := []struct{ path, ctype, contains string }{
		{"/kiosk/", "text/html", `id="take-ticket"`},
		{"/kiosk/", "text/html", `id="conn-overlay"`},
		{"/monitor/", "text/html", `id="seq"`},
		{"/common/stream.js", "javascript", "HallStream"},
		{"/common/style.css", "text/css", "WenQuanYi Zen Hei"},
		{"/kiosk/kiosk.js", "javascript", "/api/v1/tickets"},
		{"/monitor/monitor.js", "javascript", "/api/v1/devices"},
		{"/board/", "text/html", `id="recent-calls"`},
		{"/board/", "text/html", `id="conn-overlay"`},
		{"/board/board.js", "javascript", "speechSynthesis"},
		{"/window/", "text/html", `id="btn-call-next"`},
		{"/window/window.js", "javascript", "/api/v1/windows/"},
	}
	for _, c := range cases {
		resp, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", c.path, resp.StatusCode)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, c.ctype) {
			t.Errorf("GET %s: content-type %q, want %s", c.path, ct, c.ctype)
		}
		if !strings.Contains(string(body), c.contains) {
			t.Errorf("GET %s: body lacks %q", c.path, c.contains)
		}
	}
	// The HTML must be zh-CN first.
	b, _ := fs.ReadFile(Pages(), "kiosk/index.html")
	if !strings.Contains(string(b), `lang="zh-CN"`) {
		t.Error("kiosk/index.html: want lang=zh-CN")
	}
}

// The page scripts are checked with node when it is installed (it is not a
// build dependency, so the tests skip without it).
func nodeOrSkip(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed; skipping JavaScript checks")
	}
	return node
}

func TestJavaScriptSyntax(t *testing.T) {
	node := nodeOrSkip(t)
	files, _ := filepath.Glob(filepath.Join("web", "*", "*.js"))
	if len(files) < 3 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		if out, err := exec.Command(node, "--check", f).CombinedOutput(); err != nil {
			t.Errorf("node --check %s: %v\n%s", f, err, out)
		}
	}
}

func TestStreamClientNode(t *testing.T) {
	node := nodeOrSkip(t)
	abs, err := filepath.Abs(filepath.Join("web", "common", "stream.js"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, filepath.Join("testdata", "stream_check.js"), abs).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("stream_check.js: %v\n%s", err, out)
	}
}

func TestIsExternal(t *testing.T) {
	for ref, want := range map[string]bool{
		"../common/style.css":        false,
		"/common/stream.js":          false,
		"kiosk.js?v=2":               false,
		"#top":                       false,
		"https://cdn.example/x.js":   true,
		"//cdn.example/x.css":        true,
		"data:image/png;base64,AAAA": true,
		"javascript:void(0)":         true,
		"./a/b:c.js":                 false,
	} {
		if got := isExternal(ref); got != want {
			t.Errorf("isExternal(%q) = %v, want %v", ref, got, want)
		}
	}
}
