package kiosks_test

import (
	"context"
	"path/filepath"
	"testing"

	"halld/daemon/hall"
	"halld/daemon/internal/testhall"
	"halld/daemon/kiosks"
	"halld/daemon/pii"
)

const deskYAML = `
hall:
  id: test-hall
  name: 测试大厅
  timezone: Asia/Shanghai
  always_open: true
  opening_hours:
    - {days: [mon, tue, wed, thu, fri, sat, sun], open: "00:00", close: "23:59"}
services:
  - {id: tax, prefix: B, name: 税务}
windows:
  - {id: w1, number: 1, reader: desk-1, services: [{service: tax}]}
staff:
  - {id: s1, name: 张敏, windows: [w1]}
devices:
  - {id: desk-1, kind: id_reader, simulate: true}
`

// A staff card registered by its keyed hash, placed on the window's desk
// reader, signs its holder in there; an unregistered card signs nobody in.
func TestDeskReaderSignsStaffIn(t *testing.T) {
	h := testhall.New(t, deskYAML)
	key, err := pii.LoadOrCreate(filepath.Join(t.TempDir(), "pii.key"))
	if err != nil {
		t.Fatal(err)
	}
	m := kiosks.New(h.Config, h.Engine, nil, key, h.Log)
	ctx := context.Background()
	staffNo := "430102198801011234"
	signedIn := func() string {
		v, _ := h.Engine.Query(ctx, func(st *hall.State) any {
			if w := st.Windows["w1"]; w != nil {
				return w.Staff
			}
			return ""
		})
		return v.(string)
	}
	m.CardPlaced(ctx, "desk-1", kiosks.Person{Kind: "resident", Greeting: "张*", Number: staffNo})
	if s := signedIn(); s != "" {
		t.Fatalf("an unregistered card signed in %q", s)
	}
	if _, err := h.Engine.Submit(ctx, hall.SetStaffCard{Staff: "s1", IDHash: key.Hash(staffNo), By: "sup"}); err != nil {
		t.Fatal(err)
	}
	m.CardPlaced(ctx, "desk-1", kiosks.Person{Kind: "resident", Greeting: "张*", Number: staffNo})
	if s := signedIn(); s != "s1" {
		t.Fatalf("the registered card did not sign s1 in at w1 (got %q)", s)
	}
}
