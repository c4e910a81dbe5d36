package main

import (
	"fmt"
	"os"
	"strings"
)

// hallConfig writes the hall mode's devices.yaml: services and windows for
// the pads, staff to sign in, kiosks each with a printer (the next as
// fallback) and a card reader, terminals with their MQTT passwords, the
// embedded hall broker and the uplink to the central mosquitto.
func hallConfig(h *harness, o hallOpts, prn *printerSims, pb *padBuses, readers []string, hallBroker, centralURL string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, `hall:
  id: bench-hall
  name: 湖南湘江新区政务服务大厅
  timezone: Asia/Shanghai
  hotline: "0731-88995297"
  eval_url: https://eval.example/t?id=
  always_open: true
  opening_hours: [{days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00"}]
http: {listen: %s}
storage: {dir: %s}
mqtt:
  broker: {embedded: true, listen: %s}
  uplink: {url: "%s", node: edge, max_rate: 100000}
areas:
  - {id: front, name: 前窗审批服务区}
  - {id: self-24h, name: 24小时自助服务区, open_24h: true}
services:
`, h.addr, h.path("data"), hallBroker, centralURL)
	for i := range serviceShare {
		fmt.Fprintf(&b, "  - {id: s%d, prefix: %c, name: 服务事项%d, area: front, max_number: 9999, avg_service_minutes: 10, materials: [居民身份证原件, 申请表, 相关证明材料]}\n", i, 'A'+i, i)
	}
	b.WriteString("windows:\n")
	n := len(serviceShare)
	for _, p := range pb.pads {
		fmt.Fprintf(&b, "  - {id: w%d, number: %d, area: front, services: [{service: s%d, weight: 2}, {service: s%d}]}\n", p.n, p.n, p.n%n, (p.n+3)%n)
	}
	b.WriteString("staff:\n")
	for _, p := range pb.pads {
		fmt.Fprintf(&b, "  - {id: \"S%03d\", name: 工作人员%d, title: 综合受理员, windows: [w%d]}\n", p.n, p.n, p.n)
	}
	b.WriteString("devices:\n")
	for i := 1; i <= o.printers; i++ {
		fmt.Fprintf(&b, "  - {id: kiosk-%d, kind: kiosk, area: front, kiosk: {printers: [printer-%d", i, i)
		if o.printers > 1 {
			fmt.Fprintf(&b, ", printer-%d", i%o.printers+1)
		}
		b.WriteString("]")
		// Every reader belongs to exactly one kiosk (halld check refuses a
		// reader no kiosk lists): with more readers than kiosks, they are
		// dealt round.
		var mine []string
		for r := i; r <= len(readers); r += o.printers {
			mine = append(mine, fmt.Sprintf("idreader-%d", r))
		}
		if len(mine) > 0 {
			fmt.Fprintf(&b, ", readers: [%s]", strings.Join(mine, ", "))
		}
		b.WriteString("}}\n")
	}
	b.WriteString(prn.yaml.String())
	for i, path := range readers {
		fmt.Fprintf(&b, "  - {id: idreader-%d, kind: id_reader, area: front, serial: {port: %s, baud: 115200}}\n", i+1, path)
	}
	b.WriteString(pb.yaml.String())
	for i := 1; i <= o.terminals; i++ {
		id := termName(i)
		pw := h.path(id + ".pass")
		if err := os.WriteFile(pw, []byte(termPassword(id)), 0o600); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "  - {id: %s, kind: terminal, area: self-24h, password_file: %s}\n", id, pw)
	}
	return b.String(), nil
}

func termName(i int) string { return fmt.Sprintf("term-%02d", i) }

func termPassword(id string) string { return "pw-" + id + "-bench" }
