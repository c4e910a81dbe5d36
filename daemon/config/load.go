package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ParseOptions tune what Parse accepts.
type ParseOptions struct {
	// PrinterProfiles are the names printer.profile may take. Empty means DefaultPrinterProfiles().
	PrinterProfiles []string
	// SkipFiles makes Load leave the files the config names unread (for a command that only needs
	// storage.dir, such as a backup). halld check and halld run leave it false.
	SkipFiles bool
}

// Load reads and checks the config file at path. On any problem it returns nil and an *Errors listing
// every problem found, each as "file:line:col: field.path: message".
//
// Besides what Parse checks, Load reads every file the config names, as halld run will: token files
// (http.tokens[].file: a regular file, not open to other users, one word of at least MinTokenChars
// characters), the password_file of terminals and networked eval_pads that are not simulated, the
// uplink's username_file, password_file and ca_file, and the TLS certificates and keys of the uplink and
// the hall broker (each pair must load together). Secret files (tokens, passwords, keys) must not be
// readable by every user of the box (mode o-rwx; group access, such as root:halld 0640, is fine).
func Load(path string) (*Config, error) {
	return LoadWithOptions(path, ParseOptions{})
}

// LoadWithOptions is Load with options.
func LoadWithOptions(path string, opts ParseOptions) (*Config, error) {
	f, err := os.Open(path)
	var data []byte
	if err == nil {
		// At most one byte past the limit: a huge file (or /dev/zero) is refused, not read.
		data, err = io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
		if err == nil && len(data) > MaxFileBytes {
			size := int64(-1)
			if st, serr := f.Stat(); serr == nil && st.Mode().IsRegular() {
				size = st.Size()
			}
			f.Close()
			return nil, &Errors{tooLarge(path, size)}
		}
		f.Close()
	}
	if err != nil {
		msg := err.Error()
		var pe *os.PathError
		if errors.As(err, &pe) {
			msg = pe.Err.Error()
		}
		return nil, &Errors{{File: path, Msg: "cannot read: " + msg, Err: err}}
	}
	return parse(path, data, opts, !opts.SkipFiles)
}

// tooLarge is the error for a file past MaxFileBytes (size -1: unknown, more than the limit).
func tooLarge(name string, size int64) Error {
	got := fmt.Sprintf("more than %d bytes", MaxFileBytes)
	if size >= 0 {
		got = fmt.Sprintf("%d bytes", size)
	}
	return Error{File: name, Msg: fmt.Sprintf("file too large: %s, at most %d (1 MiB); a hall's devices.yaml is a few tens of KiB", got, MaxFileBytes)}
}

// Parse checks a config held in memory. name is used in messages and to resolve relative paths
// (storage.dir, token files, MQTT files) against its directory.
func Parse(name string, data []byte) (*Config, error) {
	return ParseWithOptions(name, data, ParseOptions{})
}

// ParseWithOptions is Parse with options. The steps: size (MaxFileBytes); YAML syntax; size with
// aliases expanded (MaxExpandedBytes, MaxExpandedNodes); shape (keys, types, enums, patterns, formats,
// bounds, required fields) against the Go structs; meaning (references, uniqueness, kind rules, what a
// box runs); then, when all is well, defaults. Parse reads no other file; Load does.
func ParseWithOptions(name string, data []byte, opts ParseOptions) (*Config, error) {
	return parse(name, data, opts, false)
}

func parse(name string, data []byte, opts ParseOptions, files bool) (*Config, error) {
	if len(data) > MaxFileBytes {
		return nil, &Errors{tooLarge(name, int64(len(data)))}
	}
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
	if !d.checkExpansion(root) {
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
	resolveBrokerFiles(cfg)
	if files {
		d.checkFiles(cfg)
		if len(d.errs) > 0 {
			return nil, d.result()
		}
	}
	return cfg, nil
}

// resolveBrokerFiles resolves the hall broker's TLS files against the config file's directory, as
// applyDefaults does for the other files the config names (it predates the broker's TLS block), so
// that Load checks the files halld run reads.
func resolveBrokerFiles(c *Config) {
	base := filepath.Dir(c.File)
	bt := &c.MQTT.Broker.TLS
	for _, p := range []*string{&bt.CertFile, &bt.KeyFile, &bt.ClientCAFile} {
		if *p == "" {
			continue
		}
		if !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
		if abs, err := filepath.Abs(*p); err == nil {
			*p = abs
		}
	}
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
