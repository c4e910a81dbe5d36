// Package docs holds the documents the code cites (docs/*.md). Its test
// keeps those citations true: every `docs/NAME.md` a source file, page or
// script names must exist, and every `§N.N` or `#anchor` after it must be a
// heading of that page.
package docs

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A citation: docs/NAME.md, optionally followed by #anchor or " §1.2".
var citeRE = regexp.MustCompile(`docs/([A-Za-z0-9_-]+\.md)(?:#([A-Za-z0-9_-]+)|[ \x{00a0}]?§ ?([0-9]+(?:\.[0-9]+)*))?`)

// A bare name of one of these pages in a Go comment, not under docs/: it
// would not resolve from the repository's root.
var bareRE = regexp.MustCompile(`(?:^|[^\w/.-])((?:contracts|protocols|engineering|hall|architecture)\.md)`)

// The files whose citations are checked.
var cited = map[string]bool{".go": true, ".js": true, ".html": true, ".css": true, ".sh": true, ".md": true,
	".yaml": true, ".yml": true}

type page struct {
	sections map[string]bool // "1", "1.4", "3.1"
	anchors  map[string]bool // GitHub-style heading slugs
}

var headingNumRE = regexp.MustCompile(`^#+\s+([0-9]+(?:\.[0-9]+)*)\.?\s`)

func readPage(t *testing.T, path string) *page {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	p := &page{sections: map[string]bool{}, anchors: map[string]bool{}}
	fence := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "```") {
			fence = !fence
			continue
		}
		if fence || !strings.HasPrefix(line, "#") {
			continue
		}
		if m := headingNumRE.FindStringSubmatch(line + " "); m != nil {
			p.sections[m[1]] = true
		}
		p.anchors[slug(strings.TrimLeft(line, "# "))] = true
	}
	return p
}

// slug is GitHub's anchor for a heading: lower case, spaces to '-', and
// punctuation other than '-' and '_' dropped (letters of any script stay).
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 0x7f && !strings.ContainsRune("（）：，。、《》【】§→—–·", r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestDocReferencesResolve(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	pages := map[string]*page{}
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !cited[filepath.Ext(path)] || filepath.Base(path) == "refs_test.go" {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if filepath.Ext(path) == ".go" && strings.HasPrefix(strings.TrimSpace(line), "//") {
				if m := bareRE.FindStringSubmatch(line); m != nil {
					t.Errorf("%s:%d: %q: cite it as docs/%s", rel, n, m[1], m[1])
				}
			}
			for _, m := range citeRE.FindAllStringSubmatch(line, -1) {
				checked++
				name, anchor, section := m[1], m[2], m[3]
				p, ok := pages[name]
				if !ok {
					p = readPage(t, filepath.Join(root, "docs", name))
					pages[name] = p
				}
				switch {
				case p == nil:
					t.Errorf("%s:%d: docs/%s does not exist", rel, n, name)
				case section != "" && !p.sections[section]:
					t.Errorf("%s:%d: docs/%s has no section §%s", rel, n, name, section)
				case anchor != "" && !p.anchors[anchor]:
					t.Errorf("%s:%d: docs/%s has no heading #%s", rel, n, name, anchor)
				}
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	// The code cites the docs dozens of times: finding none means the walk
	// or the pattern is broken, not that all is well.
	if checked < 40 {
		t.Fatalf("only %d citations of docs/ found under %s", checked, root)
	}
	t.Logf("%d citations of docs/*.md checked", checked)
}

// The checker itself: a missing page, section and anchor are each caught.
func TestDocReferenceChecker(t *testing.T) {
	p := readPage(t, "protocols.md")
	if p == nil || !p.sections["1.4"] || !p.sections["3"] || p.sections["9.9"] {
		t.Fatalf("protocols.md sections misread: %v", p)
	}
	c := readPage(t, "contracts.md")
	if c == nil || !c.anchors["device-wire-protocols"] || c.anchors["no-such-heading"] {
		t.Fatalf("contracts.md anchors misread: %v", c)
	}
	if readPage(t, "no-such-page.md") != nil {
		t.Fatal("a missing page read as present")
	}
	for text, want := range map[string][3]string{
		"see docs/protocols.md §2.3.":  {"protocols.md", "", "2.3"},
		"docs/contracts.md#events-x":   {"contracts.md", "events-x", ""},
		"(docs/hall.md: what a ticket": {"hall.md", "", ""},
	} {
		m := citeRE.FindStringSubmatch(text)
		if m == nil || m[1] != want[0] || m[2] != want[1] || m[3] != want[2] {
			t.Errorf("%q parsed as %q, want %q", text, m, want)
		}
	}
	if bareRE.FindString("// (protocols.md §4)") == "" || bareRE.FindString("// docs/protocols.md §4") != "" {
		t.Error("bare citations misjudged")
	}
}
