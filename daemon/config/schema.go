package config

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
)

// typeDocs describe each struct type in the JSON Schema.
var typeDocs = map[string]string{
	"Hall":          "The hall: identity, time zone, opening hours, what tickets print.",
	"OpeningHours":  "On these days, from open to close (hall time; close exclusive).",
	"HTTP":          "HTTP/WebSocket API and pages.",
	"Token":         "An API token, read from a file so that this file holds no secret.",
	"Storage":       "Where data lives.",
	"MQTT":          "MQTT: the hall broker and the central uplink.",
	"MQTTBroker":    "The hall broker: embedded in halld or external.",
	"MQTTUplink":    "The connection to the central server; credentials come from files.",
	"Area":          "A functional area of the hall (功能区).",
	"Service":       "A service (事项/业务类别) that tickets are issued for.",
	"GreenChannel":  "Green-channel (绿色通道) rules.",
	"Window":        "A service window (窗口).",
	"WindowService": "A service a window serves, with its weight.",
	"Holiday":       "A calendar exception: a holiday (closed), or a 调休 working day (workday: true).",
	"Device":        "A device. ticket_printer, id_reader, scanner and bus need serial (or simulate: true); eval_pad hangs on a bus (bus id + address), has its own serial link, or speaks MQTT.",
	"Serial":        "A serial link: exactly one of port or usb.",
	"USB":           "A USB serial adapter, matched by vendor/product id and optionally serial number.",
	"Printer":       "Ticket printer options; absent values come from the profile.",
	"Kiosk":         "Kiosk options.",
}

// Schema returns a JSON Schema (draft 2020-12) for devices.yaml, generated from the Go structs and their
// tags, so it says what Load checks for shape: keys, types, required fields, enums, patterns, bounds.
// (Meaning — references between ids, uniqueness, per-kind rules — only Load checks.) Regenerate the
// committed copy with: go run ./daemon schema > devices.schema.json
func Schema() []byte {
	g := &schemaGen{defs: &object{}}
	root := g.structSchema(reflect.TypeOf(Config{}))
	out := &object{}
	out.set("$schema", "https://json-schema.org/draft/2020-12/schema")
	out.set("title", "halld devices.yaml")
	out.set("description", "One hall: its services, windows, calendar and devices. Generated from halld's Go structs "+
		"(daemon/config); regenerate with: go run ./daemon schema > devices.schema.json. "+
		"Top-level keys starting with x- are ignored (a place for YAML anchors). "+
		"halld check devices.yaml checks everything this schema cannot: references, uniqueness, per-kind rules.")
	for _, k := range root.keys {
		if k == "additionalProperties" {
			out.set("patternProperties", obj("^x-", &object{}))
		}
		out.set(k, root.vals[k])
	}
	out.set("$defs", g.defs)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		panic("config: schema: " + err.Error())
	}
	return buf.Bytes()
}

type schemaGen struct{ defs *object }

// ref returns a $ref to the definition of struct type t, generating it on first use.
func (g *schemaGen) ref(t reflect.Type) *object {
	name := t.Name()
	if _, ok := g.defs.vals[name]; !ok {
		g.defs.set(name, nil) // reserve the name and its place
		g.defs.vals[name] = g.structSchema(t)
	}
	return obj("$ref", "#/$defs/"+name)
}

func (g *schemaGen) structSchema(t reflect.Type) *object {
	s := &object{}
	s.set("type", "object")
	if doc := typeDocs[t.Name()]; doc != "" {
		s.set("description", doc)
	}
	props := &object{}
	var required []string
	for _, f := range fieldsOf(t).fields {
		props.set(f.Name, g.property(f))
		if f.Required {
			required = append(required, f.Name)
		}
	}
	s.set("properties", props)
	if required != nil {
		s.set("required", required)
	}
	s.set("additionalProperties", false)
	return s
}

// property is the schema of one field. Absent and null mean the same to Load (unset), so optional
// fields accept null.
func (g *schemaGen) property(f *field) *object {
	t := f.Type
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var s *object
	switch t.Kind() {
	case reflect.Struct:
		if f.Required {
			s = g.ref(t)
		} else {
			s = obj("anyOf", []any{g.ref(t), obj("type", "null")})
		}
	case reflect.Slice:
		s = obj("type", g.nullable("array", f))
		s.set("items", g.scalar(t.Elem(), f, false))
		if f.Required {
			s.set("minItems", 1)
		}
		if f.Unique {
			s.set("uniqueItems", true)
		}
	default:
		s = g.scalar(t, f, !f.Required)
	}
	if f.Doc != "" {
		s.set("description", f.Doc)
	}
	if f.HasDef {
		if t.Kind() == reflect.Int {
			n, _ := strconv.Atoi(f.Default)
			s.set("default", n)
		} else if t.Kind() == reflect.Bool {
			b, _ := strconv.ParseBool(f.Default)
			s.set("default", b)
		} else {
			s.set("default", f.Default)
		}
	}
	if f.Examples != nil {
		s.set("examples", f.Examples)
	}
	return s
}

func (g *schemaGen) nullable(typ string, f *field) any {
	if f.Required {
		return typ
	}
	return []string{typ, "null"}
}

// scalar is the schema of a string, integer or boolean (or a struct list item), with f's constraints.
func (g *schemaGen) scalar(t reflect.Type, f *field, nullable bool) *object {
	typ := func(name string) any {
		if nullable {
			return []string{name, "null"}
		}
		return name
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.scalar(t.Elem(), f, nullable)
	case reflect.Struct:
		return g.ref(t)
	case reflect.String:
		s := obj("type", typ("string"))
		if f.Required {
			s.set("minLength", 1)
		}
		if f.Enum != nil {
			enum := make([]any, 0, len(f.Enum)+1)
			for _, e := range f.Enum {
				enum = append(enum, e)
			}
			if nullable {
				enum = append(enum, nil)
			}
			s.set("enum", enum)
		}
		if f.Pattern != nil {
			s.set("pattern", f.Pattern.String())
		}
		if f.Format != nil {
			s.set("pattern", f.Format.pattern)
		}
		return s
	case reflect.Int:
		s := obj("type", typ("integer"))
		if f.Min != nil {
			s.set("minimum", *f.Min)
		}
		if f.Max != nil {
			s.set("maximum", *f.Max)
		}
		return s
	case reflect.Bool:
		return obj("type", typ("boolean"))
	}
	panic("config: schema: unsupported type " + t.String())
}

// object is a JSON object that keeps its keys in insertion order.
type object struct {
	keys []string
	vals map[string]any
}

func obj(k string, v any) *object {
	o := &object{}
	o.set(k, v)
	return o
}

func (o *object) set(k string, v any) {
	if o.vals == nil {
		o.vals = map[string]any{}
	}
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

func (o *object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := enc.Encode(k); err != nil {
			return nil, err
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		buf.WriteByte(':')
		if err := enc.Encode(o.vals[k]); err != nil {
			return nil, err
		}
		buf.Truncate(buf.Len() - 1)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
