package config

import (
	"time"
	_ "time/tzdata" // edge boxes may lack /usr/share/zoneinfo; hall.timezone must still load
)

// Device kinds. A device's kind picks its driver and which options it takes.
const (
	KindTicketPrinter = "ticket_printer" // ESC/POS ticket printer (serial)
	KindEvalPad       = "eval_pad"       // 好差评 evaluation pad: HPAD-1 on a line (bus), point-to-point serial, or MQTT
	KindIDReader      = "id_reader"      // ID card reader with SAM module (serial)
	KindTerminal      = "terminal"       // self-service terminal reporting over MQTT (its id is its MQTT node id)
	KindKiosk         = "kiosk"          // ticket kiosk running hall-kiosk; prints through ticket_printer devices
	KindScanner       = "scanner"        // QR / barcode scanner for booking codes (serial, one scan a line)
	KindLine          = "line"           // any line-based serial device: every line is a durable event
	KindBus           = "bus"            // RS-485 bus (line) that eval_pads hang on, HPAD-1 (serial)
)

// Defaults. Each is also stated in the comment of the field it fills.
const (
	DefaultListen        = "127.0.0.1:8080"
	DefaultStorageDir    = "./data" // relative to the config file's directory
	DefaultRetention     = "2160h"  // 90 days
	MinRetention         = 24 * time.Hour
	DefaultTimezone      = "Asia/Shanghai"
	DefaultTicketFooter  = "过号请重新取号 · 当日有效"
	DefaultMaxNumber     = 999
	DefaultAvgMinutes    = 10
	DefaultWeight        = 1
	DefaultProfile       = "generic-80mm"
	DefaultPollInterval  = "1500ms"
	DefaultPrinterBaud   = 115200 // ticket_printer; many printers ship at 9600: set serial.baud then
	DefaultIDReaderBaud  = 115200 // SAM modules speak 115200 8N1
	DefaultScannerBaud   = 9600   // the factory rate of most serial QR/barcode scanners
	DefaultLineBaud      = 9600   // HPAD-1 pads on RS-485; 115200 for more pads per line
	DefaultEvalPadBaud   = 9600   // an eval_pad on its own point-to-point serial link
	defaultWindowNameFmt = "%d号窗口"
)

// DefaultPrinterProfiles returns the printer profile names that Load and Parse accept in printer.profile.
// The profiles themselves (widths, charsets, cutters) live with the printer driver; pass its list in
// ParseOptions.PrinterProfiles to keep the two in step.
func DefaultPrinterProfiles() []string {
	return []string{"generic-80mm", "generic-58mm", "zj-5870", "birch-bp002", "hprt-pptii-a"}
}

// DefaultBaud is the serial.baud used for a device of the given kind when the file gives none
// (0 for kinds that have no serial link).
func DefaultBaud(kind string) int {
	switch kind {
	case KindTicketPrinter:
		return DefaultPrinterBaud
	case KindIDReader:
		return DefaultIDReaderBaud
	case KindScanner, KindLine:
		return DefaultScannerBaud
	case KindBus:
		return DefaultLineBaud
	case KindEvalPad:
		return DefaultEvalPadBaud
	}
	return 0
}

// Struct tags read by the decoder and by Schema:
//
//	yaml:"name"        key in the file
//	doc:"…"            description in the JSON Schema
//	cfg:"required"     the key must be present and not empty (non-empty string, at least one list item);
//	cfg:"unique"       list items must differ
//	enum:"a|b"         allowed values (for a list: of each item)
//	pattern:"re"       regular expression the value must match (hint:"…" words it for people)
//	format:"name"      a named check with its own pattern: duration, hostport, date, hhmm, hex4,
//	                   abspath, url, origin, mqtturl (see formats in tags.go)
//	min:"n" max:"n"    integer bounds
//	default:"v"        value filled in after validation when the key is absent
//	example:"a|b"      examples in the JSON Schema

// Config is one hall, as described by one devices.yaml.
type Config struct {
	File     string    `yaml:"-"` // path it was loaded from (the name given to Parse)
	Hall     Hall      `yaml:"hall" cfg:"required" doc:"The hall: identity, time zone, opening hours, what tickets print."`
	HTTP     HTTP      `yaml:"http" doc:"The HTTP/WebSocket API and pages."`
	Storage  Storage   `yaml:"storage" doc:"Where the journal and other data live."`
	MQTT     MQTT      `yaml:"mqtt" doc:"Hall MQTT broker (for MQTT devices) and the uplink to the central server."`
	Phone    Phone     `yaml:"phone" doc:"The citizen's phone page: rate limits per token and per client address (phone.go)."`
	Areas    []Area    `yaml:"areas" doc:"Functional areas of the hall (功能区) that services, windows and devices belong to."`
	Services []Service `yaml:"services" doc:"Services (事项/业务类别) that tickets are issued for."`
	Windows  []Window  `yaml:"windows" doc:"Service windows (窗口)."`
	Holidays []Holiday `yaml:"holidays" doc:"Calendar exceptions: public holidays (closed) and 调休 working days (workday: true)."`
	Staff    []Staff   `yaml:"staff" doc:"Window staff (窗口工作人员) who sign in at windows; shown on the board and evaluation pads."`
	Devices  []Device  `yaml:"devices" doc:"Devices: printers, pads, readers, terminals, kiosks, scanners, RS-485 lines."`
	Ranking  Ranking   `yaml:"ranking" doc:"The monthly and quarterly window ranking (窗口排名): weights, deductions, how much data a window needs to be ranked, the 末位 mark, the PDF report's font."`

	// Location is the hall's time zone, loaded from Hall.Timezone.
	Location *time.Location `yaml:"-"`
}

// Hall identifies the hall and says when it is open.
type Hall struct {
	// ID names the hall in MQTT topics (hall/{id}/…) and events. Required; [a-z0-9-]+.
	ID string `yaml:"id" cfg:"required" pattern:"^[a-z0-9-]+$" hint:"lowercase letters, digits and '-'" doc:"Hall id used in MQTT topics and events: lowercase letters, digits and '-'." example:"hn-xjxq"`
	// Name is the hall's full name, printed on tickets. Required.
	Name string `yaml:"name" cfg:"required" doc:"Full name of the hall, shown on the kiosk and printed on tickets."`
	// Timezone is an IANA zone name. Default "Asia/Shanghai". Ticket numbers reset at midnight in this zone.
	Timezone string `yaml:"timezone" default:"Asia/Shanghai" doc:"IANA time zone; ticket counters reset at midnight in it."`
	// Hotline is the service hotline (热线) shown on the kiosk and tickets.
	Hotline string `yaml:"hotline" doc:"Service hotline (热线) shown on the kiosk and printed on tickets." example:"0731-88995297"`
	// SupervisionPhone is the supervision/complaint phone (监督电话) printed on tickets.
	SupervisionPhone string `yaml:"supervision_phone" doc:"Supervision / complaint phone (监督电话) printed on tickets."`
	// OpeningHours lists when the hall is open. Required (at least one entry). Areas with open_24h ignore it.
	OpeningHours []OpeningHours `yaml:"opening_hours" cfg:"required" doc:"When the hall is open. Holidays close it; holidays with workday: true open it with Monday's hours."`
	// TicketFooter is printed at the foot of every ticket. Default "过号请重新取号 · 当日有效".
	TicketFooter string `yaml:"ticket_footer" default:"过号请重新取号 · 当日有效" doc:"Printed at the foot of every ticket."`
	// EvalURL is the base URL of the ticket's QR code (online evaluation); the ticket id is appended,
	// e.g. https://…/eval?t=. Empty: no QR code.
	EvalURL string `yaml:"eval_url" format:"url" doc:"Base URL for the ticket QR code (online evaluation); the ticket id is appended. Empty: no QR code." example:"https://hcp.example.org/eval?t="`
	// PhoneURL is the base URL of the citizen's phone page (halld's /t/ on the hall's guest Wi-Fi);
	// when set, the ticket's QR code is it followed by the ticket's opaque token instead of eval_url.
	PhoneURL string `yaml:"phone_url" format:"url" doc:"Base URL of the citizen's phone page, as phones on the guest Wi-Fi reach halld; the ticket's opaque token is appended and the QR code opens it (instead of eval_url). Empty: eval_url as before." example:"http://192.168.10.2:8080/t/"`
	// PauseLimit is how long a window may be paused before a window.pause_overdue
	// alert (管理办法: 暂离工作岗位不超过30分钟). Default "30m".
	PauseLimit string `yaml:"pause_limit" format:"duration" default:"30m" doc:"How long a window may stay paused before an overdue alert (default 30m)."`
	// RatingTimeout ends the wait for a rating after a service when no pad
	// reports one. Default "2m".
	RatingTimeout string `yaml:"rating_timeout" format:"duration" default:"2m" doc:"How long to wait for the citizen's rating after a service before recording a timeout (default 2m)."`
	// FollowUpDays is the deadline of a 差评 follow-up's first 回访、整改、反馈, in working days
	// (Mon–Fri, minus holidays, plus 调休 working days); each step also has its own (FollowUp). Default 5.
	FollowUpDays int `yaml:"followup_days" min:"1" max:"30" default:"5" doc:"Working days from a 差评 by which its first 回访, 整改 and 反馈 are done (the hall's promise; each step also has its own days in hall.followup); default 5."`
	// FollowUp gives each step of a 差评 follow-up its own deadline (see FollowUpRules).
	FollowUp FollowUpRules `yaml:"followup" doc:"Deadlines of each step of a 差评 follow-up in working days (回访, 整改, 反馈, the citizen's rating of the rectification, 复核 of an appeal), call attempts and rectification rounds."`
	// RegionCode is the 行政区划代码 written into rating exports (GB/T 39046).
	RegionCode string `yaml:"region_code" pattern:"^[0-9]{6,12}$" hint:"a 6- to 12-digit 行政区划代码" doc:"行政区划代码 for rating exports (GB/T 39046), e.g. 430100."`
	// RatingReasons are the reasons a citizen can pick for a 差评, in the order of
	// the HPAD-1 reasons bitmap (bit 0 = the first). At most 8.
	RatingReasons []string `yaml:"rating_reasons" doc:"Reasons offered for a 差评, in HPAD-1 bitmap order (bit 0 first); at most 8. Default: 等候时间长, 服务态度差, 业务不熟练, 告知不清楚, 办事效率低, 环境设施差, 其他."`
	// AlwaysOpen issues tickets at any hour, ignoring opening hours and
	// holidays. For the demo hall and for training; a real hall leaves it off.
	AlwaysOpen bool `yaml:"always_open" doc:"Issue tickets at any hour, ignoring opening hours and holidays (demo and training only)."`
	// Numbering says how ticket numbers are written and what follows a service's max_number in a day.
	Numbering Numbering `yaml:"numbering" doc:"How ticket numbers are written (digits) and what follows a service's max_number within a day (overflow: grow, wrap or stop)."`
	// PeakLoad holds the thresholds of the peak-load alert (peak.go).
	PeakLoad PeakLoad `yaml:"peak_load" doc:"Thresholds of the peak-load alert of a service: waiting per serving window, longest wait (hall practice: more than 10 a window, anyone past 30 minutes)."`
	// StaffPIN says whether window sign-in needs the staff member's own PIN, and the lock-out.
	StaffPIN StaffPIN `yaml:"staff_pin" doc:"Staff sign-in PINs (签到密码): when sign-in needs one, and the lock-out after wrong ones."`
}

// StaffPIN configures per-staff sign-in PINs (the hashes live in <storage.dir>/pins.json).
type StaffPIN struct {
	Mode        string `yaml:"mode" enum:"auto|on|off" default:"auto" doc:"auto (default): sign-in needs a PIN once any staff member has one; on: always (staff without a PIN cannot sign in); off: never."`
	MaxAttempts int    `yaml:"max_attempts" min:"1" max:"20" default:"5" doc:"Wrong PINs in a row that lock a staff member's sign-in (default 5)."`
	Lockout     string `yaml:"lockout" format:"duration" default:"15m" doc:"How long the sign-in stays locked after max_attempts wrong PINs (default 15m); a supervisor can unlock earlier."`
}

// LockoutDuration is hall.staff_pin.lockout parsed (15 minutes when unset).
func (c *Config) LockoutDuration() time.Duration {
	if d, err := time.ParseDuration(c.Hall.StaffPIN.Lockout); err == nil && d > 0 {
		return d
	}
	return 15 * time.Minute
}

// PINMaxAttempts is hall.staff_pin.max_attempts (5 when unset).
func (c *Config) PINMaxAttempts() int {
	if n := c.Hall.StaffPIN.MaxAttempts; n > 0 {
		return n
	}
	return 5
}

// Numbering is hall.numbering. A service's tickets are counted 1, 2, … per day (hall time); the count n
// is written as the prefix and n zero-padded to W digits, W = max(Digits, digits of the service's
// max_number): A001, or A0001 with max_number 9999. Overflow says what follows the count max_number:
//
//	grow (default): the count goes on and the number with it, A999 → A1000 → …, at most MaxDailyTickets
//	                (99999) a day; numbers never repeat within a day.
//	wrap:           the number starts again at 1, A999 → A001, skipping numbers still in use that day (not
//	                yet finished); the count n goes on, so ticket ids stay unique; at most MaxDailyTickets
//	                a day; when every number is in use, no more tickets (over_cap).
//	stop:           no more tickets for the service that day (over_cap), as before this option existed.
//
// daily_cap still bounds the count in every mode.
type Numbering struct {
	Digits   int    `yaml:"digits" min:"3" max:"5" default:"3" doc:"Least digits of a ticket number, zero-padded (3: A001); a service whose max_number has more digits uses as many (max_number 9999: A0001). Default 3."`
	Overflow string `yaml:"overflow" enum:"grow|wrap|stop" default:"grow" doc:"What follows a service's max_number within a day: grow (default: A999 → A1000, numbers never repeat in a day), wrap (A999 → A001) or stop (no more tickets that day)."`
}

// FollowUpRules is hall.followup: the deadline of each step of a 差评 follow-up, in working days of the
// hall's calendar (Mon–Fri, minus holidays, plus 调休 working days), each counted from the day the step
// before it was done, the n-th working day after it ending at 23:59:59. 回访, 整改 and 反馈 of the first
// round are also due no later than hall.followup_days after the 差评 (the hall's promise to the citizen);
// the defaults (1 + 3 + 1) add up to its 5.
type FollowUpRules struct {
	CallbackDays int `yaml:"callback_days" min:"1" max:"30" default:"1" doc:"Working days to call the citizen back (回访核实) after a 差评; default 1."`
	RectifyDays  int `yaml:"rectify_days" min:"1" max:"30" default:"3" doc:"Working days to rectify (整改) after the call; default 3."`
	FeedbackDays int `yaml:"feedback_days" min:"1" max:"30" default:"1" doc:"Working days to report the rectification back to the citizen (反馈) after it; default 1."`
	RatingDays   int `yaml:"rating_days" min:"1" max:"30" default:"2" doc:"Working days to record the citizen's own rating of the rectification (满意 / 基本满意 / 不满意) after the 反馈; default 2."`
	ReviewDays   int `yaml:"review_days" min:"1" max:"30" default:"5" doc:"Working days to decide an appeal (申诉复核); default 5."`
	// CallAttempts is how many calls that do not reach the citizen are recorded before the step counts as
	// done with 未接通 (回访 goes on to 整改; the citizen's rating closes the follow-up as 未接通).
	CallAttempts int `yaml:"call_attempts" min:"1" max:"10" default:"3" doc:"Calls that do not reach the citizen before a 回访 or the citizen's rating counts as done with 未接通; default 3."`
	// RectifyRounds is how many times a follow-up is rectified at most: a 不满意 from the citizen sends it
	// back to 整改 until this many rounds are done, then it closes marked 不满意.
	RectifyRounds int `yaml:"rectify_rounds" min:"1" max:"5" default:"2" doc:"Rounds of 整改 at most: a 不满意 from the citizen sends the follow-up back to 整改 until this many are done, then it closes marked 不满意; default 2."`
}

// OpeningHours is one opening rule: on these days, from Open to Close (hall time, Close exclusive).
type OpeningHours struct {
	// Days are weekdays: mon tue wed thu fri sat sun. Required.
	Days []string `yaml:"days" cfg:"required,unique" enum:"mon|tue|wed|thu|fri|sat|sun" doc:"Weekdays this rule applies to."`
	// Open is the opening time "HH:MM". Required.
	Open string `yaml:"open" cfg:"required" format:"hhmm" doc:"Opening time, HH:MM (24 h)." example:"09:00"`
	// Close is the closing time "HH:MM", after Open (no overnight rules). Required.
	Close string `yaml:"close" cfg:"required" format:"hhmm" doc:"Closing time, HH:MM (24 h), after open." example:"17:00"`
}

// HTTP configures the API and pages.
type HTTP struct {
	// Listen is host:port. Default "127.0.0.1:8080".
	Listen string `yaml:"listen" format:"hostport" default:"127.0.0.1:8080" doc:"Address to listen on, host:port. Writes from outside loopback need a token."`
	// Tokens are the API tokens accepted for writes from outside loopback.
	Tokens []Token `yaml:"tokens" doc:"API tokens for writes from outside loopback; each read from its own file."`
	// AllowedOrigins are the origins (scheme://host[:port]) allowed to open the WebSocket, besides the
	// daemon's own.
	AllowedOrigins []string `yaml:"allowed_origins" cfg:"unique" format:"origin" doc:"Origins (scheme://host[:port]) allowed to open the WebSocket besides halld's own."`
	// MaxConnections bounds connections from off loopback at once, MaxConnectionsPerIP those from one
	// address; loopback has a reserve of its own, so a flood from the LAN never takes the kiosk's.
	MaxConnections      int `yaml:"max_connections" min:"8" max:"8192" default:"512" doc:"Most connections from off loopback at once (default 512); loopback has its own reserve."`
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip" min:"2" max:"4096" default:"64" doc:"Most connections from one address off loopback (default 64)."`
	// AllowedHosts are the names (no port) by which browsers reach halld, besides loopback, the listen
	// address and the box's own interface addresses: a request whose Host is none of these is refused,
	// so a page elsewhere cannot reach halld by DNS rebinding.
	AllowedHosts []string `yaml:"allowed_hosts" cfg:"unique" pattern:"^[A-Za-z0-9.-]+$" hint:"a host name without scheme or port" doc:"Host names (no port) browsers use to reach halld, besides loopback, the listen address and the box's addresses; requests naming any other Host are refused (DNS rebinding)."`
}

// Token is one API token, kept in a file so that devices.yaml holds no secret.
type Token struct {
	// Name says who holds the token (logged with each write). Required.
	Name string `yaml:"name" cfg:"required" pattern:"^[a-z0-9][a-z0-9_-]*$" hint:"lowercase letters, digits, '-' and '_'" doc:"Who holds this token; logged with each write."`
	// File holds the token; relative paths are resolved against the config file's directory. Required.
	// Loading does not read it.
	File string `yaml:"file" cfg:"required" doc:"File holding the token, relative to this file's directory."`
	// Scopes say what the token's holder may do from outside loopback (README "Access"): board (the
	// public screens), kiosk (issue tickets, the kiosk's citizen session), window (staff at a window),
	// supervisor (follow-ups, reports, bookings, exports), it (devices, traces, metrics, the full
	// stream), central (the central server: supervisor's and it's reads). Required.
	Scopes []string `yaml:"scopes" cfg:"required,unique" enum:"board|kiosk|window|supervisor|it|central" doc:"What the token allows from outside loopback: board, kiosk, window, supervisor, it, central."`
}

// Storage says where data lives.
type Storage struct {
	// Dir is the data directory. Default "./data". Relative paths are resolved against the config
	// file's directory; after Load it is absolute.
	Dir string `yaml:"dir" default:"./data" doc:"Data directory (journal), relative to this file's directory."`
	// Retention is how long journal data is kept, a Go duration. Default "2160h" (90 days).
	Retention string `yaml:"retention" format:"duration" default:"2160h" doc:"How long journal events are kept (2160h = 90 days; at least 24h). Older events are pruned hourly, but never one the central server has not acknowledged; statistics and the hall state are kept in checkpoints and outlive it."`
}

// RetentionDuration returns Retention as a time.Duration (0 if it does not parse; Load guarantees it does).
func (s Storage) RetentionDuration() time.Duration {
	d, _ := time.ParseDuration(s.Retention)
	return d
}

// MQTT configures the hall broker and the central uplink. Load resolves its file paths against the
// config file's directory.
type MQTT struct {
	Broker MQTTBroker `yaml:"broker" doc:"The hall broker that MQTT devices (terminals, network pads) connect to."`
	Uplink MQTTUplink `yaml:"uplink" doc:"The connection to the central server."`
}

// MQTTBroker is the hall broker: embedded in halld, or an external one. (Named rather than the anonymous
// struct of the first sketch so that the JSON Schema and the docs can name it.)
type MQTTBroker struct {
	// Embedded runs a broker inside halld.
	Embedded bool `yaml:"embedded" doc:"Run a broker inside halld."`
	// Listen is the embedded broker's host:port.
	Listen string `yaml:"listen" format:"hostport" doc:"host:port of the embedded broker." example:"127.0.0.1:1883"`
	// URL is an external broker, e.g. tcp://127.0.0.1:1883.
	URL string `yaml:"url" format:"mqtturl" doc:"URL of an external broker, e.g. tcp://127.0.0.1:1883."`
	// TLS makes the embedded broker's listener TLS (devices' passwords do not cross the hall LAN in clear).
	TLS BrokerTLS `yaml:"tls" doc:"TLS for the embedded broker's device listener; halld's own clients use a loopback listener."`
	// MaxClients bounds the embedded broker's connections (a misbehaving LAN host cannot exhaust halld's files),
	// counted from accept: connections that have not yet sent CONNECT count too. halld's own clients have a
	// loopback listener with a budget of its own.
	MaxClients int `yaml:"max_clients" min:"1" max:"10000" default:"256" doc:"Most connections the embedded broker's device listener holds at once, counted from accept, authenticated or not (default 256); halld's own clients have a loopback listener of their own."`
	// MaxPerIP bounds the connections from one remote address, so that one LAN host cannot take every place
	// under MaxClients. The box itself (127.0.0.1, ::1) is held to MaxClients only.
	MaxPerIP int `yaml:"max_per_ip" min:"1" max:"10000" default:"32" doc:"Most connections the embedded broker holds at once from one remote address (default 32; the box itself, 127.0.0.1 and ::1, is held to max_clients only). Devices behind one NAT router share it."`
	// ConnectTimeout is how long a new connection has to finish its TLS handshake, send CONNECT and be
	// authenticated; then the client's MQTT keepalive governs.
	ConnectTimeout string `yaml:"connect_timeout" format:"duration" default:"5s" doc:"How long a new connection to the embedded broker has to finish its TLS handshake, send CONNECT and be authenticated before it is closed (default 5s); after that the client's MQTT keepalive governs."`
}

// ConnectTimeoutDuration returns ConnectTimeout as a time.Duration (0 if it does not parse; Load guarantees it
// does).
func (b MQTTBroker) ConnectTimeoutDuration() time.Duration {
	d, _ := time.ParseDuration(b.ConnectTimeout)
	return d
}

// BrokerTLS is the embedded broker's server certificate, and optionally a CA that device certificates must chain to.
type BrokerTLS struct {
	CertFile     string `yaml:"cert_file" doc:"Server certificate (PEM)."`
	KeyFile      string `yaml:"key_file" doc:"Server key (PEM)."`
	ClientCAFile string `yaml:"client_ca_file" doc:"CA (PEM) devices' client certificates must chain to; when set, a device needs a certificate as well as its password."`
}

// MQTTUplink is the connection to the central server. Credentials and keys come from files.
type MQTTUplink struct {
	URL          string `yaml:"url" format:"mqtturl" doc:"Central broker URL, e.g. mqtts://central.example.org:8883."`
	ClientID     string `yaml:"client_id" doc:"MQTT client id (fixed, for a persistent session)."`
	UsernameFile string `yaml:"username_file" doc:"File holding the user name."`
	PasswordFile string `yaml:"password_file" doc:"File holding the password."`
	CAFile       string `yaml:"ca_file" doc:"CA certificate (PEM) to verify the central broker."`
	CertFile     string `yaml:"cert_file" doc:"Client certificate (PEM)."`
	KeyFile      string `yaml:"key_file" doc:"Client key (PEM)."`
	// Node is this daemon's id in topics (hall/{hall}/{node}/…). Default "halld".
	Node string `yaml:"node" pattern:"^[a-z0-9-]+$" default:"halld" doc:"This daemon's node id in topics hall/{hall}/{node}/… (default halld)."`
	// The uplink's pacing toward the central broker (daemon/uplink/README.md). The defaults suit one hall on a
	// city-wide cluster (EMQX or similar): a small in-flight window, redials spread by full jitter and kept
	// under the cluster's flapping ban, a catch-up that does not hold live events back.

	// MaxRate bounds the backlog lane only (the catch-up after an outage, a restart or a resync), in events per
	// second; the live lane is never rate-limited. Default 5000.
	MaxRate int `yaml:"max_rate" min:"1" max:"100000" default:"5000" doc:"Catch-up rate: events per second replayed from the backlog after an outage, a restart or a resync (default 5000: 10,000 events in ~2 s). Live events are never held by it. Lower it when thousands of halls catch up on one cluster at once."`
	// MaxInflight is the window of events published and not yet acknowledged (PUBACK).
	MaxInflight int `yaml:"max_inflight" min:"1" max:"1024" default:"32" doc:"In-flight window: events published to the central broker and not yet acknowledged (default 32, EMQX's own max_inflight); with live_first a quarter of it is kept for live events. The broker holds this much per hall: keep it small on a shared cluster."`
	// ReconnectMin and ReconnectMax bound the full-jitter redial: a random wait in [0, d), d doubling from
	// ReconnectMin to ReconnectMax.
	ReconnectMin string `yaml:"reconnect_min" format:"duration" default:"100ms" doc:"Redial after a lost connection waits a random time in [0, d) (full jitter), d doubling from reconnect_min (default 100ms) up to reconnect_max."`
	ReconnectMax string `yaml:"reconnect_max" format:"duration" default:"1500ms" doc:"Cap of the redial's jittered wait (default 1500ms: a broker that is back is reached within ~2 s). At least reconnect_min."`
	// MaxConnectsPerMinute keeps a flapping link clear of the cluster's ban on flapping clients.
	MaxConnectsPerMinute int `yaml:"max_connects_per_minute" min:"1" max:"60" default:"10" doc:"Connections that reach the central broker in any minute, at most (default 10). EMQX bans a client id that connects 15 times a minute (flapping_detect): keep this below the cluster's limit."`
	// Heartbeat is the interval of …/heartbeat (outbox depth and oldest event age), also sent on connect.
	Heartbeat string `yaml:"heartbeat" format:"duration" default:"30s" doc:"How often hall/{hall}/{node}/heartbeat tells the centre the outbox's depth and the age of its oldest unacknowledged event (default 30s; also sent on every connect)."`
	// LiveFirst lets live events overtake a backlog being replayed; replayed ones carry "replay": true.
	// Default true (nil = true).
	LiveFirst *bool `yaml:"live_first" default:"true" doc:"Live events go ahead of a backlog being replayed, and replayed events carry \"replay\": true (default true). The centre then orders by seq if it needs one order, and dedupes on id either way. false: one seq order on the wire, live events wait behind the catch-up."`
}

// ReconnectMinDuration, ReconnectMaxDuration and HeartbeatDuration return the durations (0 if they do not
// parse; Load guarantees they do).
func (u MQTTUplink) ReconnectMinDuration() time.Duration {
	d, _ := time.ParseDuration(u.ReconnectMin)
	return d
}

// ReconnectMaxDuration: see ReconnectMinDuration.
func (u MQTTUplink) ReconnectMaxDuration() time.Duration {
	d, _ := time.ParseDuration(u.ReconnectMax)
	return d
}

// HeartbeatDuration: see ReconnectMinDuration.
func (u MQTTUplink) HeartbeatDuration() time.Duration {
	d, _ := time.ParseDuration(u.Heartbeat)
	return d
}

// LiveFirstOn reports live_first, true when unset.
func (u MQTTUplink) LiveFirstOn() bool { return u.LiveFirst == nil || *u.LiveFirst }

// Area is a functional area of the hall (功能区).
type Area struct {
	// ID names the area. Required; unique among areas.
	ID string `yaml:"id" cfg:"required" pattern:"^[a-z0-9][a-z0-9_-]*$" hint:"lowercase letters, digits, '-' and '_'" doc:"Area id."`
	// Name is shown on the monitor page.
	Name string `yaml:"name" doc:"Area name, e.g. 前窗审批服务区."`
	// Open24h marks the 24-hour self-service area: its devices and alerts ignore opening hours.
	Open24h bool `yaml:"open_24h" doc:"24-hour area: its devices and alerts do not depend on opening hours."`
}

// Service is a category of business that tickets are issued for.
type Service struct {
	// ID names the service in the API and events. Required; unique among services, windows and devices.
	ID string `yaml:"id" cfg:"required" pattern:"^[a-z0-9][a-z0-9_-]*$" hint:"lowercase letters, digits, '-' and '_'" doc:"Service id, unique among services, windows and devices."`
	// Prefix is the ticket number prefix: one or two capital letters, unique. Required.
	Prefix string `yaml:"prefix" cfg:"required" pattern:"^[A-Z]{1,2}$" hint:"one or two capital letters" doc:"Ticket number prefix (A → A001), one or two capital letters, unique."`
	// Name is the service name, shown on the kiosk and printed. Required.
	Name string `yaml:"name" cfg:"required" doc:"Service name shown on the kiosk and ticket."`
	// NameEn is the English name, for bilingual screens.
	NameEn string `yaml:"name_en" doc:"English name for bilingual screens."`
	// Area is the id of the area the service is handled in.
	Area string `yaml:"area" pattern:"^[a-z0-9][a-z0-9_-]*$" hint:"an area id" doc:"Id of the area where the service is handled."`
	// Materials are the required materials (一次性告知), shown on the kiosk and printed.
	Materials []string `yaml:"materials" doc:"Required materials (一次性告知), shown on the kiosk and printed on the ticket."`
	// Keywords are everyday words citizens look the service up by on the kiosk (公司, 房子), besides its name.
	Keywords []string `yaml:"keywords" doc:"Everyday words citizens search the kiosk for this service by (公司, 房子, 社保卡), besides its name; their pinyin and initials match too."`
	// Conditions are who may apply / preconditions (办理条件).
	Conditions string `yaml:"conditions" doc:"Conditions (办理条件)."`
	// PromisedTime is the promised completion time (承诺办结时限), free text such as "3个工作日".
	PromisedTime string `yaml:"promised_time" doc:"Promised completion time (承诺办结时限), e.g. 3个工作日."`
	// Tolerance is the 容缺受理 note: which materials may be handed in later.
	Tolerance string `yaml:"tolerance" doc:"容缺受理 note: which materials may follow later."`
	// DailyCap is the most tickets issued per day; 0 = no cap. At most MaxNumber.
	DailyCap int `yaml:"daily_cap" min:"0" doc:"Most tickets per day; 0 = no cap. Must not exceed max_number."`
	// MaxNumber is the largest ticket number; counters refuse past it. Default 999.
	MaxNumber int `yaml:"max_number" min:"1" max:"9999" default:"999" doc:"Largest ticket number before hall.numbering.overflow applies: grow (A999 → A1000), wrap (→ A001) or stop."`
	// MaxWaitMinutes is the service's own longest-wait threshold of the peak-load alert; 0 (or absent):
	// hall.peak_load.longest_wait. AvgServiceMinutes estimates the wait shown on kiosk and ticket. Default 10.
	MaxWaitMinutes    int `yaml:"max_wait_minutes" min:"0" max:"1440" doc:"Peak-load alert when someone has waited longer than this many minutes for the service; 0 or absent: hall.peak_load.longest_wait (default 30 minutes)."`
	AvgServiceMinutes int `yaml:"avg_service_minutes" min:"1" max:"600" default:"10" doc:"Average minutes per ticket, for the estimated wait."`
	// GreenChannel holds the green-channel (绿色通道) rules.
	GreenChannel GreenChannel `yaml:"green_channel" doc:"Green-channel (绿色通道) rules."`
}

// GreenChannel holds the configured green-channel rules of a service. Staff can always issue a green
// ticket by hand; these rules make the kiosk do it.
type GreenChannel struct {
	// MinAge: citizens at least this old (from the ID card) get a green ticket. 0 = no age rule.
	MinAge int `yaml:"min_age" min:"0" max:"150" doc:"Citizens at least this old (by ID card) get a green-channel ticket; 0 = no age rule."`
}

// Window is a service window (窗口).
type Window struct {
	// ID names the window (/window/{id}/). Required; unique among services, windows and devices.
	ID string `yaml:"id" cfg:"required" pattern:"^[a-z0-9][a-z0-9_-]*$" hint:"lowercase letters, digits, '-' and '_'" doc:"Window id, unique among services, windows and devices."`
	// Number is the number announced and shown (请A001号到3号窗口). Required; unique.
	Number int `yaml:"number" cfg:"required" min:"1" max:"999" doc:"Window number announced and shown (请A001号到3号窗口办理)."`
	// Name is shown on the board. Default "N号窗口".
	Name string `yaml:"name" doc:"Name shown on the board; default 'N号窗口'."`
	// Area is the id of the area the window stands in.
	Area string `yaml:"area" pattern:"^[a-z0-9][a-z0-9_-]*$" hint:"an area id" doc:"Id of the area the window stands in."`
	// Services are the services this window calls, with weights. Required (at least one).
	Services []WindowService `yaml:"services" cfg:"required" doc:"Services this window serves, with weights."`
	// Backup is the id of the AB-post backup window that takes this window's queue while it is paused,
	// closed or unstaffed. Not the window itself.
	Backup string `yaml:"backup" pattern:"^[a-z0-9][a-z0-9_-]*$" hint:"a window id" doc:"Id of the AB-post (AB角) backup window that takes the queue while this one is paused or unstaffed."`
	// Reader is the id_reader device on the window's desk: a staff member's
	// ID card placed on it signs them in here (their card registered by a
	// supervisor), a second way besides the PIN. Not also a kiosk's reader.
	Reader string `yaml:"reader" pattern:"^[a-z0-9][a-z0-9_-]*$" hint:"an id_reader device id" doc:"id_reader device on the window's desk: a registered staff card placed on it signs that person in here."`
}

// Staff is one member of window staff.
type Staff struct {
	// ID is the staff number (工号). Required; unique among staff.
	ID string `yaml:"id" cfg:"required" pattern:"^[A-Za-z0-9][A-Za-z0-9_-]*$" hint:"letters, digits, '-' and '_'" doc:"Staff number (工号)."`
	// Name is shown on the board and the evaluation pad. Required.
	Name string `yaml:"name" cfg:"required" doc:"Name shown on the board and the evaluation pad."`
	// Title is the post shown on the pad (e.g. 综合受理员).
	Title string `yaml:"title" doc:"Post shown on the evaluation pad, e.g. 综合受理员."`
	// Windows are the windows this person usually works at; the first is where a pad's
	// sign-in key signs them in.
	Windows []string `yaml:"windows" doc:"Windows this person works at; a pad's sign-in key at the first signs them in."`
}

// WindowService is one service a window serves.
type WindowService struct {
	// Service is a service id. Required.
	Service string `yaml:"service" cfg:"required" pattern:"^[a-z0-9][a-z0-9_-]*$" hint:"a service id" doc:"Service id."`
	// Weight is the share of calls this service gets at the window when several wait. Default 1.
	Weight int `yaml:"weight" min:"1" max:"100" default:"1" doc:"Relative share of calls when several services wait."`
}

// Holiday is one calendar exception.
type Holiday struct {
	// Date is "2006-01-02" in the hall's time zone. Required; unique.
	Date string `yaml:"date" cfg:"required" format:"date" doc:"Date, YYYY-MM-DD." example:"2026-10-01"`
	// Name, e.g. 国庆节.
	Name string `yaml:"name" doc:"Name, e.g. 国庆节."`
	// Workday marks a 调休 working day: the hall opens (with Monday's hours) although the date may be a
	// weekend.
	Workday bool `yaml:"workday" doc:"调休上班: a working day (Monday's hours) although the date may fall on a weekend."`
}

// Device is one device of the hall.
type Device struct {
	// ID names the device (logs, events, MQTT dev/{id}, API). Required; unique among services, windows and
	// devices. For a terminal it is also its MQTT node id.
	ID string `yaml:"id" cfg:"required" pattern:"^[a-z0-9][a-z0-9_-]*$" hint:"lowercase letters, digits, '-' and '_'" doc:"Device id, unique among services, windows and devices."`
	// Kind is one of the Kind… constants. Required.
	Kind string `yaml:"kind" cfg:"required" enum:"ticket_printer|eval_pad|id_reader|terminal|kiosk|scanner|bus|line" doc:"Device kind."`
	// Area is the id of the area the device stands in.
	Area string `yaml:"area" pattern:"^[a-z0-9][a-z0-9_-]*$" hint:"an area id" doc:"Id of the area the device stands in."`
	// Window is the id of the window the device belongs to. Required for an eval_pad.
	Window string `yaml:"window" pattern:"^[a-z0-9][a-z0-9_-]*$" hint:"a window id" doc:"Id of the window the device belongs to (required for eval_pad)."`
	// Simulate runs the built-in simulator instead of hardware; any serial/bus link is then ignored
	// (but still checked).
	Simulate bool `yaml:"simulate" doc:"Run the built-in simulator instead of hardware; a serial block is then ignored."`
	// Serial is the serial link. ticket_printer, id_reader, scanner and line need it unless simulated;
	// an eval_pad may use it for a point-to-point link.
	Serial *Serial `yaml:"serial" doc:"Serial link: exactly one of port or usb. Needed by ticket_printer, id_reader, scanner and line unless simulate: true."`
	// Bus is the id of the `bus` device (RS-485 line) an eval_pad hangs on. Added to the first sketch
	// because several pads share one RS-485 line (HPAD-1, docs/protocols.md §3).
	Bus string `yaml:"bus" pattern:"^[a-z0-9][a-z0-9_-]*$" hint:"a bus device id" doc:"eval_pad only: id of the bus device (RS-485 line) the pad hangs on."`
	// Address is the eval_pad's HPAD-1 address on its bus, 1..247, unique on the bus. Required with Bus.
	Address int `yaml:"address" min:"1" max:"247" doc:"eval_pad only: HPAD-1 address on the bus (1–247), unique on that bus."`
	// Printer holds ticket_printer options. A ticket_printer without it gets the defaults.
	Printer *Printer `yaml:"printer" doc:"ticket_printer only: printer options."`
	// Kiosk holds kiosk options. A kiosk without it prints on the printers of its area.
	Kiosk *Kiosk `yaml:"kiosk" doc:"kiosk only: kiosk options."`
	// Secret is the file holding a terminal's MQTT password (its user name is
	// its id). Not needed with simulate: true.
	Secret string `yaml:"password_file" doc:"terminal and networked eval_pad: file holding its MQTT password (its user name is its id)."`
	// Heartbeat is how often a terminal sends its heartbeat; three missed make it offline.
	Heartbeat string `yaml:"heartbeat" format:"duration" doc:"terminal only: how often it sends a heartbeat; 3 missed = offline alert (default 60s)."`
	// Framing is how a scanner or line device ends its lines.
	Framing *Framing `yaml:"framing" doc:"scanner and line only: how lines end, their length and charset."`

	Line int `yaml:"-"` // line of the device entry, for messages
}

// Serial is a serial link: a port path, or a USB adapter found by vendor/product id (and serial number).
// Prefer /dev/serial/by-id/… paths or usb: they survive re-enumeration (ttyUSB0 → ttyUSB1).
type Serial struct {
	// Port is an absolute device path, e.g. /dev/serial/by-id/usb-…-if00-port0.
	Port string `yaml:"port" format:"abspath" doc:"Absolute path of the port, preferably /dev/serial/by-id/…." example:"/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0"`
	// USB finds the port by USB ids instead of a path.
	USB *USB `yaml:"usb" doc:"Find the port by USB vendor/product id (and serial number) instead of a path."`
	// Baud is the line speed. Default by kind: ticket_printer 115200, id_reader 115200, scanner 9600,
	// line 9600, eval_pad 9600.
	Baud int `yaml:"baud" min:"1" doc:"Line speed. Default: ticket_printer 115200, id_reader 115200, scanner 9600, line 9600, eval_pad 9600."`
	// Trace logs every byte in hex (ser2net style), for field debugging. Never on for id_reader in
	// production: it would log personal data.
	Trace bool `yaml:"trace" doc:"Log every byte in hex, for field debugging."`
}

// USB matches a USB serial adapter.
type USB struct {
	// VID is the vendor id, 4 hex digits (quote it: "0416"). Required.
	VID string `yaml:"vid" cfg:"required" format:"hex4" doc:"USB vendor id, 4 hex digits, quoted." example:"1a86"`
	// PID is the product id, 4 hex digits. Required.
	PID string `yaml:"pid" cfg:"required" format:"hex4" doc:"USB product id, 4 hex digits, quoted." example:"7523"`
	// Serial is the adapter's serial number, needed when two adapters share vid:pid.
	Serial string `yaml:"serial" doc:"USB serial number; needed when two adapters share vid and pid."`
}

// Printer holds ticket printer options. Zero values mean "the profile's value".
type Printer struct {
	// Profile names the printer profile (widths, charset, cutter, magnification). Default "generic-80mm".
	Profile string `yaml:"profile" default:"generic-80mm" doc:"Printer profile. Known by default: generic-80mm, generic-58mm, zj-5870, birch-bp002, hprt-pptii-a." example:"generic-80mm|generic-58mm|zj-5870|birch-bp002|hprt-pptii-a"`
	// PaperWidthMM overrides the profile's paper width (58, 80, …). 0 = the profile's.
	PaperWidthMM int `yaml:"paper_width_mm" min:"30" max:"120" doc:"Paper width in mm; default: the profile's."`
	// Charset overrides the profile's Chinese charset. Empty = the profile's.
	Charset string `yaml:"charset" enum:"gb2312|gbk|gb18030" doc:"Chinese charset of the firmware; default: the profile's."`
	// Cutter overrides the profile's cutter. Empty = the profile's.
	Cutter string `yaml:"cutter" enum:"full|partial|none" doc:"Cutter; default: the profile's."`
	// MaxCharMag overrides the profile's largest character magnification, 1..8. 0 = the profile's.
	MaxCharMag int `yaml:"max_char_mag" min:"1" max:"8" doc:"Largest character magnification the firmware supports (1–8); default: the profile's."`
	// PollInterval is how often status is polled, a Go duration. Default "1500ms".
	PollInterval string `yaml:"poll_interval" format:"duration" default:"1500ms" doc:"Status poll interval, as a duration."`
}

// PollIntervalDuration returns PollInterval as a time.Duration (0 if it does not parse; Load guarantees
// it does).
func (p *Printer) PollIntervalDuration() time.Duration {
	d, _ := time.ParseDuration(p.PollInterval)
	return d
}

// Kiosk holds kiosk options.
type Kiosk struct {
	// Printers are ticket_printer ids in order of preference. Default: every ticket_printer in the
	// kiosk's area, in file order (every ticket_printer when the kiosk has no area).
	Printers []string `yaml:"printers" cfg:"unique" pattern:"^[a-z0-9][a-z0-9_-]*$" hint:"a ticket_printer device id" doc:"ticket_printer ids in order of preference; default: the printers in the kiosk's area."`
	// Readers are the id_reader devices built into this kiosk: their card
	// events go to this kiosk's page only.
	Readers []string `yaml:"readers" cfg:"unique" pattern:"^[a-z0-9][a-z0-9_-]*$" hint:"an id_reader device id" doc:"id_reader devices of this kiosk; their card events reach this kiosk only."`
	// Scanners are the code scanners built into this kiosk.
	Scanners []string `yaml:"scanners" cfg:"unique" pattern:"^[a-z0-9][a-z0-9_-]*$" hint:"a scanner device id" doc:"scanner devices of this kiosk; their scans reach this kiosk only."`
	// SessionTimeout wipes a citizen's card data from memory when the kiosk
	// interaction has not ended by then. Default "2m".
	SessionTimeout string `yaml:"session_timeout" format:"duration" default:"2m" doc:"Card data is wiped from memory after this long at the latest (default 2m)."`
}

// Framing describes a line-based device's lines.
type Framing struct {
	// Terminator ends a line: crlf, cr, lf, or any (CR, LF or CRLF). Default any.
	Terminator string `yaml:"terminator" enum:"crlf|cr|lf|any" default:"any" doc:"What ends a line: crlf, cr, lf or any (default)."`
	// MaxLen is the longest line in bytes; longer input is dropped and counted. Default 512.
	MaxLen int `yaml:"max_len" min:"8" max:"65536" default:"512" doc:"Longest line in bytes (default 512); longer ones are dropped and counted."`
	// Charset is utf8 or gb18030. Default utf8.
	Charset string `yaml:"charset" enum:"utf8|gb18030" default:"utf8" doc:"utf8 (default) or gb18030."`
	// PartialTimeout ends a line that has no terminator after this quiet time
	// (scanners set up without a suffix). Default "300ms".
	PartialTimeout string `yaml:"partial_timeout" format:"duration" default:"300ms" doc:"A partial line quiet this long counts as a line (default 300ms)."`
}

// WindowOfReader returns the window whose desk reader is device id.
func (c *Config) WindowOfReader(id string) (*Window, bool) {
	for i := range c.Windows {
		if w := &c.Windows[i]; w.Reader != "" && w.Reader == id {
			return w, true
		}
	}
	return nil, false
}

// KioskOf returns the kiosk that lists device id among its readers or
// scanners.
func (c *Config) KioskOf(id string) (*Device, bool) {
	for i := range c.Devices {
		k := &c.Devices[i]
		if k.Kind == KindKiosk && k.Kiosk != nil && (contains(k.Kiosk.Readers, id) || contains(k.Kiosk.Scanners, id)) {
			return k, true
		}
	}
	return nil, false
}

// Service returns the service with the given id.
func (c *Config) Service(id string) (*Service, bool) {
	for i := range c.Services {
		if c.Services[i].ID == id {
			return &c.Services[i], true
		}
	}
	return nil, false
}

// Window returns the window with the given id.
func (c *Config) Window(id string) (*Window, bool) {
	for i := range c.Windows {
		if c.Windows[i].ID == id {
			return &c.Windows[i], true
		}
	}
	return nil, false
}

// IsWorkday tells a working day for deadlines: Monday to Friday, except
// holidays; a holiday entry with workday: true (调休) is a working day.
func (c *Config) IsWorkday(t time.Time) bool {
	day := t.In(c.location()).Format("2006-01-02")
	for _, h := range c.Holidays {
		if h.Date == day {
			return h.Workday
		}
	}
	wd := t.In(c.location()).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// AddWorkdays returns the end (23:59:59.999) of the n-th working day after t's day.
func (c *Config) AddWorkdays(t time.Time, n int) time.Time {
	loc := c.location()
	d := time.Date(t.In(loc).Year(), t.In(loc).Month(), t.In(loc).Day(), 12, 0, 0, 0, loc)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if c.IsWorkday(d) {
			n--
		}
	}
	return time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, int(999*time.Millisecond), loc)
}

// FollowUpWorkdays is hall.followup_days (5 when unset).
func (c *Config) FollowUpWorkdays() int {
	if c.Hall.FollowUpDays > 0 {
		return c.Hall.FollowUpDays
	}
	return 5
}

// FollowUpSteps is hall.followup with its defaults for any field left zero (a Config built in Go).
func (c *Config) FollowUpSteps() FollowUpRules {
	f := c.Hall.FollowUp
	for _, x := range []struct {
		v   *int
		def int
	}{{&f.CallbackDays, 1}, {&f.RectifyDays, 3}, {&f.FeedbackDays, 1}, {&f.RatingDays, 2}, {&f.ReviewDays, 5},
		{&f.CallAttempts, 3}, {&f.RectifyRounds, 2}} {
		if *x.v <= 0 {
			*x.v = x.def
		}
	}
	return f
}

// DefaultRatingReasons are offered when hall.rating_reasons is not set.
var DefaultRatingReasons = []string{"等候时间长", "服务态度差", "业务不熟练", "告知不清楚", "办事效率低", "环境设施差", "其他"}

// Reasons returns the 差评 reasons in bitmap order.
func (c *Config) Reasons() []string {
	if len(c.Hall.RatingReasons) > 0 {
		return c.Hall.RatingReasons
	}
	return DefaultRatingReasons
}

// PauseLimitDuration is hall.pause_limit parsed (30 minutes when unset).
func (c *Config) PauseLimitDuration() time.Duration {
	if d, err := time.ParseDuration(c.Hall.PauseLimit); err == nil && d > 0 {
		return d
	}
	return 30 * time.Minute
}

// RatingTimeoutDuration is hall.rating_timeout parsed (2 minutes when unset).
func (c *Config) RatingTimeoutDuration() time.Duration {
	if d, err := time.ParseDuration(c.Hall.RatingTimeout); err == nil && d > 0 {
		return d
	}
	return 2 * time.Minute
}

// StaffMember returns the staff member with the given id.
func (c *Config) StaffMember(id string) (*Staff, bool) {
	for i := range c.Staff {
		if c.Staff[i].ID == id {
			return &c.Staff[i], true
		}
	}
	return nil, false
}

// Device returns the device with the given id.
func (c *Config) Device(id string) (*Device, bool) {
	for i := range c.Devices {
		if c.Devices[i].ID == id {
			return &c.Devices[i], true
		}
	}
	return nil, false
}

// DevicesOfKind returns the devices of a kind, in file order.
func (c *Config) DevicesOfKind(kind string) []*Device {
	var out []*Device
	for i := range c.Devices {
		if c.Devices[i].Kind == kind {
			out = append(out, &c.Devices[i])
		}
	}
	return out
}

// location is the hall's time zone, also for a Config built by hand.
func (c *Config) location() *time.Location {
	if c.Location != nil {
		return c.Location
	}
	tz := c.Hall.Timezone
	if tz == "" {
		tz = DefaultTimezone
	}
	if loc, err := time.LoadLocation(tz); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

// Day returns the date of t in the hall's time zone, "2006-01-02" — the day ticket counters belong to.
func (c *Config) Day(t time.Time) string {
	return t.In(c.location()).Format("2006-01-02")
}

// IsOpen tells whether the hall is open at t: t's weekday and time of day in the hall's time zone fall
// within one of the opening hours (open inclusive, close exclusive). A holiday closes the hall all day;
// a holiday with workday: true (调休上班) opens it with Monday's hours, whatever its weekday.
// Areas marked open_24h are not governed by this.
func (c *Config) IsOpen(t time.Time) bool {
	if c.Hall.AlwaysOpen {
		return true
	}
	lt := t.In(c.location())
	day := lt.Format("2006-01-02")
	wd := lt.Weekday()
	for _, h := range c.Holidays {
		if h.Date == day {
			if !h.Workday {
				return false
			}
			wd = time.Monday
			break
		}
	}
	now := lt.Hour()*60 + lt.Minute()
	for _, oh := range c.Hall.OpeningHours {
		if !hasWeekday(oh.Days, wd) {
			continue
		}
		o, ok1 := minutes(oh.Open)
		cl, ok2 := minutes(oh.Close)
		if ok1 && ok2 && now >= o && now < cl {
			return true
		}
	}
	return false
}

var weekdayNames = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func hasWeekday(days []string, wd time.Weekday) bool {
	for _, d := range days {
		if d == weekdayNames[wd] {
			return true
		}
	}
	return false
}

// minutes parses "HH:MM" into minutes after midnight.
func minutes(hhmm string) (int, bool) {
	if len(hhmm) != 5 || hhmm[2] != ':' {
		return 0, false
	}
	h := int(hhmm[0]-'0')*10 + int(hhmm[1]-'0')
	m := int(hhmm[3]-'0')*10 + int(hhmm[4]-'0')
	for _, b := range []byte{hhmm[0], hhmm[1], hhmm[3], hhmm[4]} {
		if b < '0' || b > '9' {
			return 0, false
		}
	}
	if h > 23 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

// Kinds returns the known device kinds.
func Kinds() []string {
	return []string{KindTicketPrinter, KindEvalPad, KindIDReader, KindTerminal, KindKiosk, KindScanner, KindBus, KindLine}
}
