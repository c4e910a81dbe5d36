package app

import (
	"strings"
	"testing"

	"halld/daemon/config"
)

// Every kind the config accepts has its entry: a kind added to config
// without one would be refused at start-up ("halld cannot run kind").
func TestEveryConfigKindHasAnEntry(t *testing.T) {
	for _, k := range config.Kinds() {
		if _, ok := deviceKinds[k]; !ok {
			t.Errorf("kind %q has no entry in deviceKinds", k)
		}
	}
	if len(deviceKinds) != len(config.Kinds()) {
		t.Errorf("deviceKinds has %d entries, config knows %d kinds", len(deviceKinds), len(config.Kinds()))
	}
}

// A kind's check runs before anything starts and names the device.
func TestKindCheckRefusesAnUnknownPrinterProfile(t *testing.T) {
	cfg := &config.Config{Devices: []config.Device{{ID: "printer-9", Kind: config.KindTicketPrinter,
		Printer: &config.Printer{Profile: "no-such-profile"}}}}
	err := checkDevices(cfg)
	if err == nil || !strings.Contains(err.Error(), "printer-9") || !strings.Contains(err.Error(), "no-such-profile") {
		t.Fatalf("checkDevices = %v, want the device and its profile named", err)
	}
	cfg.Devices[0].Kind = "fax"
	if err := checkDevices(cfg); err == nil || !strings.Contains(err.Error(), "fax") {
		t.Fatalf("checkDevices = %v, want the unknown kind named", err)
	}
}
