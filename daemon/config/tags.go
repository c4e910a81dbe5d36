package config

import (
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// field is what the struct tags say about one struct field. The decoder and Schema both read it, so
// the file and its JSON Schema cannot drift apart.
type field struct {
	Name     string // yaml key
	Index    int    // struct field index
	Type     reflect.Type
	Required bool
	Unique   bool
	Enum     []string
	Pattern  *regexp.Regexp
	Hint     string // words for Pattern
	Format   *format
	Min, Max *int64
	Default  string
	HasDef   bool
	Doc      string
	Examples []string
}

// format is a named check: a pattern for the JSON Schema, and a check (at least as strict) for Load.
type format struct {
	name    string
	pattern string
	phrase  string // "must be …"
	re      *regexp.Regexp
	check   func(string) bool
}

const durationPattern = `^(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`

var formats = map[string]*format{
	"duration": {
		pattern: durationPattern,
		phrase:  `a positive duration such as "1500ms", "30s" or "2160h"`,
		check: func(s string) bool {
			d, err := time.ParseDuration(s)
			return err == nil && d > 0
		},
	},
	"hostport": {
		pattern: `^(\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]*):[0-9]{1,5}$`,
		phrase:  `host:port such as "127.0.0.1:8080"`,
		check: func(s string) bool {
			_, port, err := net.SplitHostPort(s)
			if err != nil {
				return false
			}
			n, err := strconv.Atoi(port)
			return err == nil && n >= 0 && n <= 65535
		},
	},
	"date": {
		pattern: `^[0-9]{4}-[0-9]{2}-[0-9]{2}$`,
		phrase:  `a date YYYY-MM-DD such as "2026-10-01"`,
		check: func(s string) bool {
			_, err := time.Parse("2006-01-02", s)
			return err == nil
		},
	},
	"hhmm": {
		pattern: `^([01][0-9]|2[0-3]):[0-5][0-9]$`,
		phrase:  `a time of day HH:MM (00:00–23:59) such as "09:00"`,
	},
	"hex4": {
		pattern: `^[0-9A-Fa-f]{4}$`,
		phrase:  `4 hex digits such as "1a86"`,
	},
	"abspath": {
		pattern: `^/`,
		phrase:  `an absolute path such as "/dev/serial/by-id/usb-…"`,
	},
	"url": {
		pattern: `^https?://[^\s/?#]+[^\s]*$`,
		phrase:  `an http:// or https:// URL`,
		check:   func(s string) bool { return checkURL(s, false, "http", "https") },
	},
	"origin": {
		pattern: `^https?://[^\s/?#]+$`,
		phrase:  `an origin scheme://host[:port] without a path, such as "http://127.0.0.1:8080"`,
		check:   func(s string) bool { return checkURL(s, true, "http", "https") },
	},
	"mqtturl": {
		pattern: `^(tcp|ssl|tls|mqtt|mqtts|ws|wss)://[^\s/?#]+[^\s]*$`,
		phrase:  `a broker URL such as "tcp://127.0.0.1:1883" (tcp, ssl, tls, mqtt, mqtts, ws or wss)`,
		check:   func(s string) bool { return checkURL(s, false, "tcp", "ssl", "tls", "mqtt", "mqtts", "ws", "wss") },
	},
}

func init() {
	for name, f := range formats {
		f.name = name
		f.re = regexp.MustCompile(f.pattern)
	}
}

func checkURL(s string, originOnly bool, schemes ...string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	ok := false
	for _, sc := range schemes {
		ok = ok || u.Scheme == sc
	}
	if originOnly && (u.Path != "" || u.RawQuery != "" || u.Fragment != "") {
		return false
	}
	return ok
}

// valid reports whether s passes the format's pattern and check.
func (f *format) valid(s string) bool {
	return f.re.MatchString(s) && (f.check == nil || f.check(s))
}

type structInfo struct {
	fields []*field
	byName map[string]*field
}

var structCache sync.Map // reflect.Type → *structInfo

// fieldsOf returns the fields of a struct type that have a yaml name, in declaration order.
// Bad tags are programming errors and panic (tests load every struct).
func fieldsOf(t reflect.Type) *structInfo {
	if v, ok := structCache.Load(t); ok {
		return v.(*structInfo)
	}
	si := &structInfo{byName: map[string]*field{}}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" || !sf.IsExported() {
			continue
		}
		if name == "" {
			panic(fmt.Sprintf("config: %s.%s has no yaml name", t.Name(), sf.Name))
		}
		f := &field{Name: name, Index: i, Type: sf.Type, Doc: sf.Tag.Get("doc"), Hint: sf.Tag.Get("hint")}
		for _, opt := range strings.Split(sf.Tag.Get("cfg"), ",") {
			switch opt {
			case "required":
				f.Required = true
			case "unique":
				f.Unique = true
			case "":
			default:
				panic(fmt.Sprintf("config: %s.%s: unknown cfg option %q", t.Name(), sf.Name, opt))
			}
		}
		if e := sf.Tag.Get("enum"); e != "" {
			f.Enum = strings.Split(e, "|")
		}
		if e := sf.Tag.Get("example"); e != "" {
			f.Examples = strings.Split(e, "|")
		}
		if p := sf.Tag.Get("pattern"); p != "" {
			f.Pattern = regexp.MustCompile(p)
		}
		if fm := sf.Tag.Get("format"); fm != "" {
			f.Format = formats[fm]
			if f.Format == nil {
				panic(fmt.Sprintf("config: %s.%s: unknown format %q", t.Name(), sf.Name, fm))
			}
		}
		f.Min = intTag(sf, "min")
		f.Max = intTag(sf, "max")
		f.Default, f.HasDef = sf.Tag.Lookup("default")
		si.fields = append(si.fields, f)
		si.byName[name] = f
	}
	v, _ := structCache.LoadOrStore(t, si)
	return v.(*structInfo)
}

func intTag(sf reflect.StructField, key string) *int64 {
	s, ok := sf.Tag.Lookup(key)
	if !ok {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(fmt.Sprintf("config: field %s: bad %s tag %q", sf.Name, key, s))
	}
	return &n
}

// intPhrase words what an integer field accepts: "must be a positive integer", ….
func (f *field) intPhrase() string {
	switch {
	case f.Min != nil && f.Max != nil:
		return fmt.Sprintf("must be an integer from %d to %d", *f.Min, *f.Max)
	case f.Min != nil && *f.Min == 1:
		return "must be a positive integer"
	case f.Min != nil && *f.Min == 0:
		return "must be a non-negative integer"
	case f.Min != nil:
		return fmt.Sprintf("must be an integer of at least %d", *f.Min)
	case f.Max != nil:
		return fmt.Sprintf("must be an integer of at most %d", *f.Max)
	}
	return "must be an integer"
}

// suggest returns the candidate closest to s, or "" when none is close: the same name ignoring case,
// '-' and '_'; a small edit distance; or one containing the other.
func suggest(s string, candidates []string) string {
	norm := func(x string) string {
		return strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(x))
	}
	ns := norm(s)
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if c == s {
			continue
		}
		nc := norm(c)
		if nc == ns {
			return c
		}
		limit := 2
		if len(ns) <= 3 {
			limit = 1
		}
		if d := levenshtein(ns, nc); d <= limit && d < bestD {
			best, bestD = c, d
		}
	}
	if best != "" {
		return best
	}
	if len(ns) >= 4 {
		for _, c := range candidates {
			if nc := norm(c); strings.Contains(nc, ns) || strings.Contains(ns, nc) && len(nc) >= 4 {
				return c
			}
		}
	}
	return ""
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 1 << 20
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// didYouMean returns "; did you mean \"x\"?" or "".
func didYouMean(s string, candidates []string) string {
	if c := suggest(s, candidates); c != "" {
		return fmt.Sprintf("; did you mean %q?", c)
	}
	return ""
}
