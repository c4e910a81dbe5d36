// Package config reads devices.yaml, the file that describes one hall: the hall itself, its HTTP
// API, storage, MQTT, areas, services, windows, holidays and devices.
//
// # Errors
//
// Load and Parse report every problem at once, before anything starts, as an *Errors: one Error per
// problem, in file order, each printed as
//
//	devices.yaml:42:7: devices[3].serial.baud: must be a positive integer, got "fast"
//
// The position is the key of the field (or the list item); list indexes in paths count from 0.
// YAML syntax errors carry a line but no column (yaml.v3 does not expose one):
// "devices.yaml:12: did not find expected key". A file that cannot be read gives a single Error
// without a line that wraps the os error (errors.Is(err, fs.ErrNotExist) works). Past 100 problems
// the list ends with "… N more errors not shown".
//
// # How a file is checked
//
//  1. YAML syntax. One document per file. Anchors, aliases and merge keys (<<: *base) work; top-level
//     keys starting with x- are ignored, as a place to keep anchors.
//  2. Shape, driven by the Go structs and their tags (see the tag list in config.go): unknown keys
//     (with "did you mean"), duplicate keys, wrong types (strict: 0416 or yes are not strings or
//     booleans; quote them), enums, patterns, formats (durations, host:port, HH:MM, dates, USB ids,
//     absolute port paths, URLs), integer bounds, required fields. A key with no value (null) means
//     "not set", except for required fields and list items.
//  3. Meaning: ids unique across services, windows and devices (areas have their own); service
//     prefixes unique; window numbers unique; references to areas, services, windows, backup windows,
//     printers and lines exist; a window is not its own backup; opening hours close after they open;
//     daily_cap ≤ max_number; the time zone loads; per device kind: ticket_printer, id_reader, scanner
//     and line need simulate: true or a serial block with exactly one of port or usb; a port or USB
//     adapter is used by one device only; printer options only on printers, with a known profile
//     (ParseOptions.PrinterProfiles); kiosk options only on kiosks, naming ticket_printers; an
//     eval_pad names its window and sits on a bus (RS-485 line: bus id + address 1–247, unique per bus), on its own
//     serial link, or on MQTT.
//  4. Defaults, only for a valid file (each is documented on its field): http.listen 127.0.0.1:8080;
//     storage.dir ./data and storage.retention 2160h; hall.timezone Asia/Shanghai; hall.ticket_footer
//     过号请重新取号 · 当日有效; services' max_number 999 and avg_service_minutes 10; window service
//     weight 1; window name "N号窗口"; ticket_printer printer block with profile generic-80mm and
//     poll_interval 1500ms; mqtt.uplink pacing (max_rate 5000, max_inflight 32, reconnect_min 100ms,
//     reconnect_max 1500ms, max_connects_per_minute 10, heartbeat 30s, live_first true); serial.baud by kind (DefaultBaud: ticket_printer and id_reader 115200,
//     scanner, line and eval_pad 9600); kiosk printers = the ticket_printers of the kiosk's area. Relative
//     paths (storage.dir, token files, MQTT files) are resolved against the file's directory and made
//     absolute.
//
// # JSON Schema
//
// Schema generates a draft 2020-12 JSON Schema from the same structs, for editors; the repository
// keeps a copy in devices.schema.json (regenerate: go run ./daemon schema > devices.schema.json).
// It covers steps 1–2; only Load covers step 3.
package config
