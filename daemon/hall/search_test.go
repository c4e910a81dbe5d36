package hall_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"halld/daemon/config"
	"halld/daemon/hall"
)

// Every service in the view carries its search keys, computed once.
func TestViewServicesCarrySearchKeys(t *testing.T) {
	cfg, err := config.Parse("s.yaml", []byte(strings.Replace(queueHall,
		"{id: est, prefix: C, name: 不动产, area: front}",
		"{id: est, prefix: C, name: 不动产, area: front, keywords: [二手房], materials: [购房合同]}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	v := hall.MakeView(cfg, hall.NewState(), at("2026-11-25 09:00"))
	got := map[string]string{}
	for _, s := range v.Services {
		if s.Search == nil {
			t.Fatalf("%s has no search keys", s.ID)
		}
		got[s.ID] = s.Search.Initials + "/" + s.Search.Pinyin
	}
	want := map[string]string{"biz": "qykb/qiyekaiban", "tax": "sw/shuiwu", "est": "bdc/budongchan"}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %s, want %s", id, got[id], w)
		}
	}
	est := v.Services[2].Search
	if est.Words[0] != "二手房" || !slices.Contains(est.Words, "房子") {
		t.Errorf("est words %v", est.Words)
	}
	if last := est.Terms[len(est.Terms)-1]; last.Kind != "material" || last.Text != "购房合同" {
		t.Errorf("est last term %+v", last)
	}
	// Once: the next view shares the same keys.
	if v2 := hall.MakeView(cfg, hall.NewState(), at("2026-11-25 09:01")); v2.Services[2].Search != est {
		t.Error("search keys computed again for the same service")
	}
	b, _ := json.Marshal(v.Services[0])
	if !strings.Contains(string(b), `"search":{"initials":"qykb","pinyin":"qiyekaiban","words":["公司",`) {
		t.Errorf("JSON %s", b)
	}
}
