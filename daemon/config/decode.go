package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// pos is a place in the file, 1-based.
type pos struct{ Line, Col int }

// maxVisits bounds the work on one file: YAML aliases can make a small file expand a lot. It is a
// backstop behind the expansion check (MaxExpandedNodes), for merges (<<) that revisit mappings.
const maxVisits = 200000

// Bounds on what one devices.yaml may hold, checked before it is decoded. A hall's file is a few tens
// of KiB and a few thousand values (the demo: 14 KiB, about 900 values; a 1000-device hall stays well
// under 100,000); the bounds only stop files that would exhaust halld's memory.
const (
	// MaxFileBytes is the largest devices.yaml accepted.
	MaxFileBytes = 1 << 20 // 1 MiB
	// MaxExpandedBytes bounds the bytes of keys and scalar values once every alias is expanded: a
	// 60 KB string aliased 20,000 times is a 334 KB file but 1.2 GB in every snapshot and page.
	MaxExpandedBytes = 4 << 20 // 4 MiB
	// MaxExpandedNodes bounds the values (keys, scalars, lists, mappings) once every alias is expanded.
	MaxExpandedNodes = 100000
)

// decoder walks a yaml.Node tree against the Go structs, collecting every problem.
type decoder struct {
	file   string
	errs   Errors
	pos    map[string]pos  // field path → where it is written (the key for a field, the item for a list item)
	bad    map[string]bool // paths that already have a shape error: semantic checks stay quiet about them
	visits int
	tooBig bool
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, pos: map[string]pos{}, bad: map[string]bool{}}
}

func nodePos(n *yaml.Node) pos { return pos{n.Line, n.Column} }

// add records a problem at p.
func (d *decoder) add(p pos, path, format string, args ...any) {
	d.errs = append(d.errs, Error{File: d.file, Line: p.Line, Col: p.Col, Path: path, Msg: fmt.Sprintf(format, args...)})
	d.bad[path] = true
}

// where returns the position of path, or of its nearest ancestor that has one.
func (d *decoder) where(path string) pos {
	for {
		if p, ok := d.pos[path]; ok {
			return p
		}
		if path == "" {
			return pos{1, 1}
		}
		path = parent(path)
	}
}

// parent strips the last segment of a path: a.b[2] → a.b, a.b → a, a → "".
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// isBad reports whether path or one of its ancestors already has a shape error.
func (d *decoder) isBad(path string) bool {
	for {
		if d.bad[path] {
			return true
		}
		if path == "" {
			return false
		}
		path = parent(path)
	}
}

// semantic records a problem with a decoded value at the position of path, unless that value (or what
// holds it) was already reported as malformed.
func (d *decoder) semantic(path, format string, args ...any) {
	if d.isBad(path) {
		return
	}
	d.add(d.where(path), path, format, args...)
}

func (d *decoder) tick(n *yaml.Node) bool {
	d.visits++
	if d.visits > maxVisits {
		if !d.tooBig {
			d.tooBig = true
			d.add(nodePos(n), "", "file too large or too many aliases expanded (more than %d values)", maxVisits)
		}
		return true
	}
	return false
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a value for a message: "fast" (quoted strings), 1.5, true, null, a list, a mapping.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if utf8.RuneCountInString(v) > 40 {
			v = string([]rune(v)[:40]) + "…"
		}
		switch n.ShortTag() {
		case "!!str", "!!timestamp":
			return strconv.Quote(v)
		case "!!null":
			return "null"
		case "!!int", "!!float", "!!bool":
			return v
		default:
			return fmt.Sprintf("%s %s", n.ShortTag(), strconv.Quote(v))
		}
	}
	return "an unknown value"
}

// value decodes n into v. at is where the value is named (its key, or the item itself); item is true
// for list items, where null is not "unset" but a wrong value.
func (d *decoder) value(n *yaml.Node, v reflect.Value, f *field, path string, at pos, item bool) {
	d.pos[path] = at
	if d.tick(n) {
		return
	}
	n = resolve(n)
	if n == nil {
		return
	}
	if isNull(n) {
		switch {
		case item:
			d.add(at, path, "%s, got null", expect(v.Type(), f))
		case f != nil && f.Required:
			d.add(at, path, "is required, got null")
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), f, path, at, item)
		d.pos[path] = at
	case reflect.Struct:
		d.mapping(n, v, path, at)
	case reflect.Slice:
		d.sequence(n, v, f, path, at)
	case reflect.String:
		d.str(n, v, f, path, at)
	case reflect.Int:
		d.integer(n, v, f, path, at)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.add(at, path, "must be true or false, got %s", describe(n))
			return
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			d.add(at, path, "must be true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	default:
		panic("config: unsupported field type " + v.Type().String())
	}
}

// expect words what a value of type t must be.
func expect(t reflect.Type, f *field) string {
	switch t.Kind() {
	case reflect.Pointer, reflect.Struct:
		return "must be a mapping"
	case reflect.Slice:
		return "must be a list"
	case reflect.String:
		return "must be a string"
	case reflect.Int:
		if f != nil {
			return f.intPhrase()
		}
		return "must be an integer"
	case reflect.Bool:
		return "must be true or false"
	}
	return "has the wrong type"
}

type pair struct{ key, val *yaml.Node }

// pairs splits a mapping into its own key/value pairs and those merged in with "<<: *anchor".
func (d *decoder) pairs(n *yaml.Node, path string, depth int) (own, merged []pair) {
	d.visits += len(n.Content) / 2 // merges can revisit a mapping many times: count its keys each time
	if d.tick(n) {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.merge(k, v, path, depth+1)...)
			continue
		}
		own = append(own, pair{k, v})
	}
	return own, merged
}

// merge returns the pairs that "<<: value" brings in, the earlier mapping first (it wins).
func (d *decoder) merge(k, v *yaml.Node, path string, depth int) []pair {
	if depth > 8 || d.tick(v) {
		if !d.tooBig {
			d.add(nodePos(k), path, "merges (<<) nested too deeply")
		}
		return nil
	}
	one := func(m *yaml.Node) []pair {
		own, merged := d.pairs(m, path, depth)
		return append(own, merged...)
	}
	rv := resolve(v)
	switch {
	case rv == nil:
	case rv.Kind == yaml.MappingNode:
		return one(rv)
	case rv.Kind == yaml.SequenceNode:
		var out []pair
		for _, it := range rv.Content {
			if m := resolve(it); m != nil && m.Kind == yaml.MappingNode {
				out = append(out, one(m)...)
			} else {
				d.add(nodePos(it), path, "a merge (<<) list must hold mappings, got %s", describe(it))
			}
		}
		return out
	}
	d.add(nodePos(k), path, "a merge (<<) takes a mapping or a list of mappings, got %s", describe(v))
	return nil
}

// mapping decodes a mapping into struct v.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string, at pos) {
	if n.Kind != yaml.MappingNode {
		d.add(at, path, "must be a mapping (key: value lines), got %s", describe(n))
		return
	}
	si := fieldsOf(v.Type())
	names := make([]string, len(si.fields))
	for i, f := range si.fields {
		names[i] = f.Name
	}
	own, merged := d.pairs(n, path, 0)
	seen := map[string]*yaml.Node{}
	for _, p := range own {
		if d.tooBig {
			return
		}
		k := p.key
		if k.Kind != yaml.ScalarNode {
			d.add(nodePos(k), path, "keys must be plain names, got %s", describe(k))
			continue
		}
		name := k.Value
		fp := join(path, name)
		if first, dup := seen[name]; dup {
			d.add(nodePos(k), fp, "duplicate key %q (first at line %d)", name, first.Line)
			continue
		}
		seen[name] = k
		f := si.byName[name]
		if f == nil {
			if path == "" && strings.HasPrefix(name, "x-") {
				continue // top-level extension keys: a place for YAML anchors
			}
			d.add(nodePos(k), fp, "unknown field %q%s", name, didYouMean(name, names))
			continue
		}
		d.value(p.val, v.Field(f.Index), f, fp, nodePos(k), false)
	}
	for _, p := range merged {
		if d.tooBig {
			return
		}
		k := p.key
		if k.Kind != yaml.ScalarNode {
			continue // reported where the merged mapping is written
		}
		name := k.Value
		if _, done := seen[name]; done {
			continue // the mapping's own keys, then earlier merges, win
		}
		seen[name] = k
		f := si.byName[name]
		fp := join(path, name)
		if f == nil {
			d.add(nodePos(k), fp, "unknown field %q (merged with <<)%s", name, didYouMean(name, names))
			continue
		}
		d.value(p.val, v.Field(f.Index), f, fp, nodePos(k), false)
	}
	for _, f := range si.fields {
		if _, ok := seen[f.Name]; f.Required && !ok {
			d.add(at, join(path, f.Name), "required field is missing")
		}
	}
}

// sequence decodes a list into slice v.
func (d *decoder) sequence(n *yaml.Node, v reflect.Value, f *field, path string, at pos) {
	if n.Kind != yaml.SequenceNode {
		d.add(at, path, "must be a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	var itemf *field
	if f != nil {
		c := *f
		c.Required, c.Unique = false, false
		itemf = &c
	}
	firsts := map[string]int{}
	for i, it := range n.Content {
		if d.tooBig {
			return
		}
		ip := fmt.Sprintf("%s[%d]", path, i)
		d.value(it, s.Index(i), itemf, ip, nodePos(it), true)
		if f != nil && f.Unique && s.Index(i).Kind() == reflect.String && !d.bad[ip] {
			val := s.Index(i).String()
			if line, dup := firsts[val]; dup {
				d.add(nodePos(it), ip, "duplicate value %q (first at line %d)", val, line)
			} else {
				firsts[val] = it.Line
			}
		}
	}
	v.Set(s)
	if f != nil && f.Required && len(n.Content) == 0 {
		d.add(at, path, "must not be empty")
	}
}

// str decodes a string and checks its enum, pattern and format.
func (d *decoder) str(n *yaml.Node, v reflect.Value, f *field, path string, at pos) {
	if n.Kind != yaml.ScalarNode {
		d.add(at, path, "%s, got %s", f.strPhrase(), describe(n))
		return
	}
	if tag := n.ShortTag(); tag != "!!str" && tag != "!!timestamp" {
		if (tag == "!!int" || tag == "!!float" || tag == "!!bool") && f.checkString(n.Value) == "" {
			d.add(at, path, "%s, got %s (quote it: %q)", f.strPhrase(), describe(n), n.Value)
		} else {
			d.add(at, path, "%s, got %s", f.strPhrase(), describe(n))
		}
		return
	}
	v.SetString(n.Value)
	if msg := f.checkString(n.Value); msg != "" {
		d.add(at, path, "%s", msg)
	} else if f != nil && f.Format == formats["duration"] {
		if msg := durationOutOfRange(path, n.Value); msg != "" {
			d.add(at, path, "%s", msg)
		}
	}
}

// strPhrase words what a string field takes: "must be a string", or its format.
func (f *field) strPhrase() string {
	if f != nil && f.Format != nil {
		return "must be a string: " + f.Format.phrase
	}
	return "must be a string"
}

// checkString returns what is wrong with s for field f, or "".
func (f *field) checkString(s string) string {
	switch {
	case f == nil:
	case s == "" && f.Required:
		return "must not be empty"
	case f.Enum != nil && !contains(f.Enum, s):
		return fmt.Sprintf("must be one of %s; got %q%s", strings.Join(f.Enum, ", "), s, didYouMean(s, f.Enum))
	case f.Pattern != nil && !f.Pattern.MatchString(s):
		if f.Hint != "" {
			return fmt.Sprintf("must be %s (%s), got %q", f.Hint, f.Pattern, s)
		}
		return fmt.Sprintf("must match %s, got %q", f.Pattern, s)
	case f.Format != nil && !f.Format.valid(s):
		return fmt.Sprintf("must be %s, got %q", f.Format.phrase, s)
	}
	return ""
}

// integer decodes an int and checks its bounds.
func (d *decoder) integer(n *yaml.Node, v reflect.Value, f *field, path string, at pos) {
	phrase := "must be an integer"
	if f != nil {
		phrase = f.intPhrase()
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.add(at, path, "%s, got %s", phrase, describe(n))
		return
	}
	var i int64
	if err := n.Decode(&i); err != nil || v.OverflowInt(i) {
		d.add(at, path, "%s, got %s (out of range)", phrase, n.Value)
		return
	}
	if f != nil && (f.Min != nil && i < *f.Min || f.Max != nil && i > *f.Max) {
		d.add(at, path, "%s, got %d", phrase, i)
		return
	}
	v.SetInt(i)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cost is what a YAML value expands to: its nodes and the bytes of its keys and scalars.
type cost struct{ nodes, bytes uint64 }

func (c cost) plus(o cost) cost {
	// Saturate: 20,000 aliases of 20,000 aliases overflow nothing.
	sat := func(a, b uint64) uint64 {
		if a+b < a {
			return ^uint64(0)
		}
		return a + b
	}
	return cost{sat(c.nodes, o.nodes), sat(c.bytes, o.bytes)}
}

func (c cost) over() bool { return c.nodes > MaxExpandedNodes || c.bytes > MaxExpandedBytes }

// expander measures a YAML tree as the decoder will see it, every alias expanded, without expanding
// anything: the cost of each node is computed once (memo), so the walk is linear in the file.
type expander struct {
	memo  map[*yaml.Node]cost
	inUse map[*yaml.Node]bool // on the current path: an alias to one of these is a cycle
	total cost
}

// sizeOf returns the expanded cost of n, and the first alias found that names a value containing it.
func (e *expander) sizeOf(n *yaml.Node) (cost, *yaml.Node) {
	if c, ok := e.memo[n]; ok {
		return c, nil
	}
	if e.inUse[n] {
		return cost{}, n
	}
	e.inUse[n] = true
	defer delete(e.inUse, n)
	var c cost
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return cost{1, 0}, nil
		}
		if e.inUse[n.Alias] {
			return cost{}, n
		}
		ac, cyc := e.sizeOf(n.Alias)
		if cyc != nil {
			return cost{}, cyc
		}
		c = ac
	case yaml.ScalarNode:
		c = cost{1, uint64(len(n.Value))}
	default:
		c = cost{1, 0}
		for _, ch := range n.Content {
			cc, cyc := e.sizeOf(ch)
			if cyc != nil {
				return cost{}, cyc
			}
			c = c.plus(cc)
			if c.over() {
				break // saturated: the exact figure no longer matters
			}
		}
	}
	e.memo[n] = c
	return c, nil
}

// checkExpansion refuses a file whose values, aliases expanded, pass MaxExpandedNodes or
// MaxExpandedBytes, or whose aliases are recursive. It walks the file in order, adding up what each
// value costs, and reports the first value (usually an alias) that passes a bound, where it is
// written and under which field path.
func (d *decoder) checkExpansion(root *yaml.Node) bool {
	e := &expander{memo: map[*yaml.Node]cost{}, inUse: map[*yaml.Node]bool{}}
	var walk func(n *yaml.Node, path string, at pos) bool
	walk = func(n *yaml.Node, path string, at pos) bool {
		switch n.Kind {
		case yaml.MappingNode, yaml.SequenceNode, yaml.DocumentNode:
			e.total = e.total.plus(cost{1, 0})
			if d.overExpanded(e.total, n, path, at) {
				return false
			}
			for i := 0; i < len(n.Content); i++ {
				ch := n.Content[i]
				if n.Kind != yaml.MappingNode {
					p := path
					if n.Kind == yaml.SequenceNode {
						p = fmt.Sprintf("%s[%d]", path, i)
					}
					if !walk(ch, p, nodePos(ch)) {
						return false
					}
					continue
				}
				// A key, then its value (at the key's place, as the decoder reports it).
				if !walk(ch, path, nodePos(ch)) {
					return false
				}
				if i+1 < len(n.Content) {
					i++
					p := path
					if ch.Kind == yaml.ScalarNode && ch.ShortTag() != "!!merge" {
						p = join(path, ch.Value)
					}
					if !walk(n.Content[i], p, nodePos(ch)) {
						return false
					}
				}
			}
			return true
		}
		c, cyc := e.sizeOf(n)
		if cyc != nil {
			d.add(nodePos(cyc), path, "alias *%s names a value that contains it: an endless value", cyc.Value)
			return false
		}
		e.total = e.total.plus(c)
		return !d.overExpanded(e.total, n, path, at)
	}
	return walk(root, "", nodePos(root))
}

// overExpanded records the error for a running total past a bound.
func (d *decoder) overExpanded(total cost, n *yaml.Node, path string, at pos) bool {
	if !total.over() {
		return false
	}
	what := fmt.Sprintf("more than %d values", MaxExpandedNodes)
	if total.bytes > MaxExpandedBytes {
		what = fmt.Sprintf("more than %d bytes (4 MiB) of values", MaxExpandedBytes)
	}
	if n.Kind == yaml.AliasNode {
		d.add(nodePos(n), path, "too many aliases expanded: with *%s here the file holds %s; a hall's file holds a few thousand values, a few tens of KiB", n.Value, what)
	} else {
		d.add(at, path, "too many values: with this one the file holds %s; a hall's file holds a few thousand values, a few tens of KiB", what)
	}
	d.tooBig = true
	return true
}
