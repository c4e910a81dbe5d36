package config

// Phone bounds the citizen's phone routes (/t/{token}, /api/v1/phone/…).
//
// A hall's guest Wi-Fi usually leaves through one NAT address, so halld sees
// every phone of the hall as one client: a per-address limit sized for one
// phone would lock out the whole hall after a few dozen scans. So requests
// with a valid token are counted per token (one phone, or two that scanned
// the same slip) and against a per-address ceiling sized for a NAT'd hall
// (hundreds of phones loading the page at once when a bus arrives, then the
// odd reconnect or slow poll). Tokens that match no ticket are counted per
// address on their own budget: a guesser behind the same NAT spends only its
// own misses, and a real phone's token is never a miss, so guessing cannot
// lock the hall's phones out.
type Phone struct {
	AddressPerMinute int `yaml:"address_requests_per_minute" min:"60" max:"600000" default:"6000" doc:"Phone requests with a valid token per minute from one client address (an IPv4 address or an IPv6 /64) — the guest Wi-Fi's NAT address carries the whole hall's phones; default 6000 (100 a second)."`
	AddressBurst     int `yaml:"address_burst" min:"10" max:"100000" default:"1000" doc:"Phone requests one address may make at once before address_requests_per_minute applies (a bus of citizens scanning together); default 1000."`
	TokenPerMinute   int `yaml:"token_requests_per_minute" min:"6" max:"6000" default:"60" doc:"Requests per minute for one ticket's token (its phone or phones); default 60."`
	TokenBurst       int `yaml:"token_burst" min:"5" max:"1000" default:"30" doc:"Requests one token may make at once; default 30."`
	MissesPerMinute  int `yaml:"address_misses_per_minute" min:"1" max:"600" default:"10" doc:"Tokens that match no ticket, per minute per address; once spent, that address's unknown tokens get 429 until it refills (valid tokens are still served). Default 10."`
	MissBurst        int `yaml:"address_miss_burst" min:"1" max:"1000" default:"10" doc:"Unknown tokens one address may try at once; default 10."`
}
