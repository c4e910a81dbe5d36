package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite ../../devices.schema.json from Schema()")

var schemaFile = filepath.Join("..", "..", "devices.schema.json")

// TestSchemaUpToDate fails when the committed devices.schema.json is not what Schema() generates.
func TestSchemaUpToDate(t *testing.T) {
	got := Schema()
	if *update {
		if err := os.WriteFile(schemaFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatalf("%v\nregenerate it from the repository root with: go run ./daemon schema > devices.schema.json", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("devices.schema.json is out of date with the Go structs in daemon/config.\n" +
			"Regenerate it from the repository root with:\n\tgo run ./daemon schema > devices.schema.json\n" +
			"(or: go test ./daemon/config -run TestSchemaUpToDate -update)")
	}
}

func compileSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatalf("Schema() is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("devices.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("devices.schema.json")
	if err != nil {
		t.Fatalf("Schema() does not compile: %v", err)
	}
	return sch
}

// toJSON turns YAML into the JSON value an editor's schema validator would see: scalars by their
// resolved tag (timestamps stay strings), aliases followed, merge keys applied (own keys win).
func toJSON(t testing.TB, data []byte) any {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("bad YAML in test: %v", err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	var conv func(n *yaml.Node) any
	conv = func(n *yaml.Node) any {
		n = resolve(n)
		switch n.Kind {
		case yaml.MappingNode:
			m := map[string]any{}
			var merged []*yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.ShortTag() == "!!merge" {
					if rv := resolve(v); rv.Kind == yaml.SequenceNode {
						merged = append(merged, rv.Content...)
					} else {
						merged = append(merged, rv)
					}
					continue
				}
				m[k.Value] = conv(v)
			}
			for _, mn := range merged {
				for k, v := range conv(mn).(map[string]any) {
					if _, ok := m[k]; !ok {
						m[k] = v
					}
				}
			}
			return m
		case yaml.SequenceNode:
			l := []any{}
			for _, it := range n.Content {
				l = append(l, conv(it))
			}
			return l
		default:
			var v any
			switch n.ShortTag() {
			case "!!str", "!!timestamp":
				return n.Value
			case "!!null":
				return nil
			}
			if err := n.Decode(&v); err != nil {
				t.Fatalf("scalar %q: %v", n.Value, err)
			}
			return v
		}
	}
	// Round-trip through encoding/json so that numbers have the types the validator expects.
	b, err := json.Marshal(conv(doc.Content[0]))
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDemoMatchesSchemaAndLoads(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "devices.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := compileSchema(t).Validate(toJSON(t, data)); err != nil {
		t.Errorf("demo devices.yaml does not match the schema: %v", err)
	}
	loadDemo(t)
}

// TestSchemaAndLoaderAgree: inputs that are wrong in shape are refused by both the JSON Schema (what an
// editor shows) and Load; and a few unusual but valid inputs are accepted by both.
func TestSchemaAndLoaderAgree(t *testing.T) {
	sch := compileSchema(t)
	dev := func(s string) string { return hallHead + "devices:\n  - " + s + "\n" }
	bad := []struct{ name, in string }{
		{"unknown top-level key", hallHead + "weather: sunny\n"},
		{"unknown nested key", hallHead + "storage: {dri: x}\n"},
		{"unknown device key", dev("{id: p, kind: ticket_printer, simulate: true, serail: {port: /dev/x}}")},
		{"wrong type: string for int", dev("{id: p, kind: ticket_printer, serial: {port: /dev/x, baud: fast}}")},
		{"wrong type: int for string", hallHead + "http: {listen: 8080}\n"},
		{"wrong type: unquoted usb id", dev("{id: p, kind: scanner, serial: {usb: {vid: 1234, pid: \"5678\"}}}")},
		{"wrong type: yes for bool", dev("{id: p, kind: ticket_printer, simulate: yes}")},
		{"wrong type: list for mapping", hallHead + "mqtt: [a]\n"},
		{"wrong type: mapping for list", hallHead + "areas: {id: a}\n"},
		{"wrong type: float for int", hallHead + "services: [{id: s, prefix: A, name: S, daily_cap: 1.5}]\n"},
		{"bad enum: kind", dev("{id: p, kind: printer, simulate: true}")},
		{"bad enum: cutter", dev("{id: p, kind: ticket_printer, simulate: true, printer: {cutter: sideways}}")},
		{"bad enum: charset", dev("{id: p, kind: ticket_printer, simulate: true, printer: {charset: utf8}}")},
		{"bad enum: day", "hall: {id: h, name: H, opening_hours: [{days: [monday], open: \"09:00\", close: \"17:00\"}]}\n"},
		{"bad pattern: hall id", "hall: {id: Hall_1, name: H, opening_hours: [{days: [mon], open: \"09:00\", close: \"17:00\"}]}\n"},
		{"bad pattern: prefix", hallHead + "services: [{id: s, prefix: ABC, name: S}]\n"},
		{"bad pattern: device id", dev("{id: \"printer 1\", kind: ticket_printer, simulate: true}")},
		{"bad format: time of day", "hall: {id: h, name: H, opening_hours: [{days: [mon], open: \"9:00\", close: \"17:00\"}]}\n"},
		{"bad format: duration", hallHead + "storage: {retention: 90d}\n"},
		{"bad format: usb id", dev("{id: p, kind: scanner, serial: {usb: {vid: \"12345\", pid: \"5678\"}}}")},
		{"bad format: relative port", dev("{id: p, kind: scanner, serial: {port: ttyUSB0}}")},
		{"bad format: listen", hallHead + "http: {listen: localhost}\n"},
		{"bad format: origin with path", hallHead + "http: {allowed_origins: [\"http://x/y\"]}\n"},
		{"bad format: eval url", hallHead + "  eval_url: ftp://x/\n"},
		{"out of range", dev("{id: p, kind: ticket_printer, simulate: true, printer: {max_char_mag: 9}}")},
		{"negative", hallHead + "services: [{id: s, prefix: A, name: S, daily_cap: -1}]\n"},
		{"missing required: hall", "services: []\n"},
		{"missing required: hall.id", "hall: {name: H, opening_hours: [{days: [mon], open: \"09:00\", close: \"17:00\"}]}\n"},
		{"missing required: device kind", dev("{id: p, simulate: true}")},
		{"missing required: usb pid", dev("{id: p, kind: scanner, serial: {usb: {vid: \"1234\"}}}")},
		{"missing required: window services", hallHead + "windows: [{id: w, number: 1}]\n"},
		{"empty required list", hallHead + "windows: [{id: w, number: 1, services: []}]\n"},
		{"empty required string", hallHead + "services: [{id: s, prefix: A, name: \"\"}]\n"},
		{"null required", "hall: {id: h, name: ~, opening_hours: [{days: [mon], open: \"09:00\", close: \"17:00\"}]}\n"},
		{"null list item", hallHead + "services: [{id: s, prefix: A, name: S, materials: [a, ~]}]\n"},
		{"duplicate list items", "hall: {id: h, name: H, opening_hours: [{days: [mon, mon], open: \"09:00\", close: \"17:00\"}]}\n"},
		{"not a mapping", "- a\n"},
	}
	for _, tc := range bad {
		t.Run("bad/"+tc.name, func(t *testing.T) {
			if _, err := Parse("t.yaml", []byte(tc.in)); err == nil {
				t.Errorf("Load accepts:\n%s", tc.in)
			}
			if err := sch.Validate(toJSON(t, []byte(tc.in))); err == nil {
				t.Errorf("the schema accepts:\n%s", tc.in)
			}
		})
	}
	good := []struct{ name, in string }{
		{"minimal", hallHead},
		{"null optional blocks", hallHead + "http:\nmqtt:\nstorage:\nareas:\n"},
		{"null optional scalars", hallHead + "  hotline:\n  eval_url:\n"},
		{"x- anchors and merges", hallHead + "x-p: &p {kind: ticket_printer, simulate: true}\ndevices:\n  - {<<: *p, id: p1}\n  - {<<: *p, id: p2, printer: {cutter: none}}\n"},
		{"ipv6 listen", hallHead + "http: {listen: \"[::1]:8080\"}\n"},
		{"usb with serial", dev("{id: p, kind: ticket_printer, serial: {usb: {vid: \"1A86\", pid: \"7523\", serial: \"A5\"}, baud: 9600, trace: true}}")},
		{"durations", hallHead + "storage: {retention: 36h30m}\ndevices:\n  - {id: p, kind: ticket_printer, simulate: true, printer: {poll_interval: 0.5s}}\n"},
	}
	for _, tc := range good {
		t.Run("good/"+tc.name, func(t *testing.T) {
			if _, err := Parse("t.yaml", []byte(tc.in)); err != nil {
				t.Errorf("Load refuses:\n%s\n%v", tc.in, err)
			}
			if err := sch.Validate(toJSON(t, []byte(tc.in))); err != nil {
				t.Errorf("the schema refuses:\n%s\n%v", tc.in, err)
			}
		})
	}
}

// TestSchemaShape spot-checks the generated schema.
func TestSchemaShape(t *testing.T) {
	var s map[string]any
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatal(err)
	}
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" || s["additionalProperties"] != false {
		t.Errorf("root = %v", s)
	}
	defs := s["$defs"].(map[string]any)
	dev := defs["Device"].(map[string]any)
	if req := dev["required"].([]any); len(req) != 2 || req[0] != "id" || req[1] != "kind" {
		t.Errorf("Device.required = %v", req)
	}
	if _, ok := dev["properties"].(map[string]any)["line"]; ok {
		t.Error("yaml:\"-\" field in schema")
	}
	if !strings.Contains(string(Schema()), "过号请重新取号") {
		t.Error("non-ASCII text escaped")
	}
	if !bytes.Equal(Schema(), Schema()) {
		t.Error("Schema() is not deterministic")
	}
}
