package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ParseOptions tune what Parse accepts.
type ParseOptions struct {
	// PrinterProfiles are the names printer.profile may take. Empty means DefaultPrinterProfiles().
	PrinterProfiles []string
}

// Load reads and checks the config file at path. On any problem it returns nil and an *Errors listing
// every problem found, each as "file:line:col: field.path: message".
func Load(path string) (*Config, error) {
	return LoadWithOptions(path, ParseOptions{})
}

// LoadWithOptions is Load with options.
func LoadWithOptions(path string, opts ParseOptions) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := err.Error()
		var pe *os.PathError
		if errors.As(err, &pe) {
			msg = pe.Err.Error()
		}
		return nil, &Errors{{File: path, Msg: "cannot read: " + msg, Err: err}}
	}
	return ParseWithOptions(path, data, opts)
}

// Parse checks a config held in memory. name is used in messages and to resolve relative paths
// (storage.dir, token files, MQTT files) against its directory.
func Parse(name string, data []byte) (*Config, error) {
	return ParseWithOptions(name, data, ParseOptions{})
}

// ParseWithOptions is Parse with options. The steps: YAML syntax; shape (keys, types, enums, patterns,
// formats, required fields) against the Go structs; meaning (references, uniqueness, kind rules); then,
// when all is well, defaults.
func ParseWithOptions(name string, data []byte, opts ParseOptions) (*Config, error) {
	d := newDecoder(name)
	root, ok := d.parseYAML(data)
	if !ok {
		return nil, d.result()
	}
	cfg := &Config{File: name}
	if root == nil {
		d.add(pos{1, 1}, "hall", "required field is missing")
		return nil, d.result()
	}
	d.value(root, reflect.ValueOf(cfg).Elem(), nil, "", nodePos(root), false)
	if d.tooBig {
		return nil, d.result()
	}
	for i := range cfg.Devices {
		cfg.Devices[i].Line = d.where(fmt.Sprintf("devices[%d]", i)).Line
	}
	profiles := opts.PrinterProfiles
	if len(profiles) == 0 {
		profiles = DefaultPrinterProfiles()
	}
	d.validate(cfg, profiles)
	if len(d.errs) > 0 {
		return nil, d.result()
	}
	applyDefaults(cfg)
	return cfg, nil
}

// result returns the problems sorted by place in the file.
func (d *decoder) result() error {
	sort.SliceStable(d.errs, func(i, j int) bool {
		a, b := d.errs[i], d.errs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	errs := d.errs
	if len(errs) > maxErrors {
		more := len(errs) - maxErrors
		errs = append(errs[:maxErrors:maxErrors], Error{File: d.file, Msg: fmt.Sprintf("… %d more errors not shown", more)})
	}
	return &errs
}

// maxErrors caps the list: past it, the file is more mistakes than config.
const maxErrors = 100

// parseYAML parses the one YAML document in data. It returns its top node (nil for an empty file)
// and false after recording a syntax error.
func (d *decoder) parseYAML(data []byte) (*yaml.Node, bool) {
	root, second, err := parseDocs(data)
	if err != nil {
		line, msg := syntaxLine(data, err)
		d.errs = append(d.errs, Error{File: d.file, Line: line, Msg: msg})
		return nil, false
	}
	if second != nil {
		d.add(nodePos(second), "", "a second YAML document (---); the file must hold exactly one")
		return nil, false
	}
	if root == nil || len(root.Content) == 0 {
		return nil, true
	}
	return root.Content[0], true
}

// parseDocs parses the first document and finds the first value of any later one (empty documents,
// such as a trailing "---", do not count).
func parseDocs(data []byte) (first, second *yaml.Node, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var a yaml.Node
	if err := dec.Decode(&a); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	for {
		var b yaml.Node
		if err := dec.Decode(&b); err != nil {
			if errors.Is(err, io.EOF) {
				return &a, nil, nil
			}
			return nil, nil, err
		}
		if len(b.Content) > 0 && !isNull(b.Content[0]) {
			return &a, b.Content[0], nil
		}
	}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// syntaxLine finds the line of a YAML syntax error. yaml.v3 reports the line of the enclosing
// collection (often far above the mistake), off by one for some errors, and none at all on line 1;
// so find the shortest prefix of whole lines that fails with the same message: that is where it is.
// If none does (the mistake is an unclosed bracket or quote), fall back to yaml.v3's line.
func syntaxLine(data []byte, err error) (int, string) {
	full := err.Error()
	msg := strings.TrimPrefix(yamlLineRE.ReplaceAllString(full, ""), "yaml: ")
	reported := 1
	if m := yamlLineRE.FindStringSubmatch(full); m != nil {
		reported, _ = strconv.Atoi(m[1])
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	fails := func(k int) bool {
		_, _, e := parseDocs(bytes.Join(lines[:k], nil))
		return e != nil && strings.TrimPrefix(yamlLineRE.ReplaceAllString(e.Error(), ""), "yaml: ") == msg
	}
	lo, hi := 1, len(lines)
	if !fails(hi) {
		return reported, msg
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, msg
}
