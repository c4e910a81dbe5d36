package hall_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"halld/daemon/hall"
)

// eventTypes reads every Type… string constant of package hall from its
// source, so a new event type is in this test without anyone adding it.
func eventTypes(t *testing.T) []string {
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, sp := range g.Specs {
				vs := sp.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !strings.HasPrefix(n.Name, "Type") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						if strings.Contains(v, ".") {
							types = append(types, v)
						}
					}
				}
			}
		}
	}
	sort.Strings(types)
	return types
}

// Every event type has a payload type of its own, so Apply and every reader
// of events tell them apart by the payload's Go type alone.
func TestOnePayloadTypePerEventType(t *testing.T) {
	types := eventTypes(t)
	if len(types) < 30 {
		t.Fatalf("found only %d event types in the source: %v", len(types), types)
	}
	byPayload := map[reflect.Type][]string{}
	for _, typ := range types {
		v, err := hall.Decode(typ, []byte(`{}`))
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if v == nil {
			t.Errorf("%s: Decode knows no payload for it", typ)
			continue
		}
		byPayload[reflect.TypeOf(v)] = append(byPayload[reflect.TypeOf(v)], typ)
	}
	for rt, group := range byPayload {
		if len(group) < 2 {
			continue
		}
		sort.Strings(group)
		t.Errorf("event types %v share the payload type %v: give each its own (a type defined from the shape)", group, rt)
	}
}
