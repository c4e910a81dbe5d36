package search_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"halld/daemon/search"
)

func TestPinyinAndInitials(t *testing.T) {
	for _, c := range []struct{ text, pinyin, initials string }{
		{"不动产登记", "budongchandengji", "bdcdj"},
		{"企业开办", "qiyekaiban", "qykb"},
		{"社保医保", "shebaoyibao", "sbyb"},
		{"公积金", "gongjijin", "gjj"},
		{"出件/证照领取", "chujianzhengzhaolingqu", "cjzzlq"},
		{"ETC 办理", "etcbanli", "ebl"},
		{"", "", ""},
	} {
		if got := search.Pinyin(c.text); got != c.pinyin {
			t.Errorf("Pinyin(%q) = %q, want %q", c.text, got, c.pinyin)
		}
		if got := search.Initials(c.text); got != c.initials {
			t.Errorf("Initials(%q) = %q, want %q", c.text, got, c.initials)
		}
	}
}

// Every reading of a character with several is kept, the usual one first,
// so 银行 is found by yinhang although 行 is usually xing, and 长沙 by
// changsha.
func TestSpellKeepsEveryReading(t *testing.T) {
	sp := search.Spell("银行长沙")
	if len(sp) != 4 {
		t.Fatalf("Spell = %v", sp)
	}
	if sp[0][0] != "银" || sp[1][0] != "行" {
		t.Errorf("Spell does not name its characters: %v", sp)
	}
	if !slices.Contains(sp[1][1:], "hang") || !slices.Contains(sp[1][1:], "xing") {
		t.Errorf("行 readings %v", sp[1])
	}
	if !slices.Contains(sp[2][1:], "chang") || !slices.Contains(sp[2][1:], "zhang") {
		t.Errorf("长 readings %v", sp[2])
	}
	// ü is typed v (as pinyin keyboards do) or u.
	lv := search.Spell("绿")
	if len(lv) != 1 || !slices.Contains(lv[0], "lv") || !slices.Contains(lv[0], "lu") {
		t.Errorf("绿 = %v", lv)
	}
	// Latin words are one entry; punctuation and spaces none.
	if got, want := search.Spell("ETC（办）"), [][]string{{"ETC", "etc"}, {"办", "ban"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Spell = %v, want %v", got, want)
	}
}

func TestForService(t *testing.T) {
	k := search.For(search.Service{Name: "不动产登记", NameEn: "Real Estate Registration",
		Keywords:  []string{"房产", " 二手房 ", "房产", ""},
		Materials: []string{"不动产登记申请书", "申请人身份证明"}})
	if k.Initials != "bdcdj" || k.Pinyin != "budongchandengji" {
		t.Errorf("keys %+v", k)
	}
	// Configured keywords first, then the everyday words for 不动产, each once.
	if len(k.Words) < 3 || k.Words[0] != "房产" || k.Words[1] != "二手房" || !slices.Contains(k.Words, "房子") {
		t.Errorf("words %v", k.Words)
	}
	n := 0
	for _, w := range k.Words {
		if w == "房产" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("房产 %d times in %v", n, k.Words)
	}
	kinds := map[string][]string{}
	for _, term := range k.Terms {
		kinds[term.Kind] = append(kinds[term.Kind], term.Text)
		if len(term.Spell) == 0 {
			t.Errorf("term %q unspelled", term.Text)
		}
	}
	if !reflect.DeepEqual(kinds[search.KindName], []string{"不动产登记", "Real Estate Registration"}) {
		t.Errorf("names %v", kinds[search.KindName])
	}
	if !reflect.DeepEqual(kinds[search.KindMaterial], []string{"不动产登记申请书", "申请人身份证明"}) {
		t.Errorf("materials %v", kinds[search.KindMaterial])
	}
	if !reflect.DeepEqual(kinds[search.KindWord], k.Words) {
		t.Errorf("word terms %v, words %v", kinds[search.KindWord], k.Words)
	}
	// A service with nothing but a name still has its keys, and JSON lists
	// (not null) for the kiosk.
	b, _ := json.Marshal(search.For(search.Service{Name: "X"}))
	if string(b) != `{"initials":"x","pinyin":"x","words":[],"terms":[{"kind":"name","text":"X","spell":[["X","x"]]}]}` {
		t.Errorf("JSON %s", b)
	}
}

// The everyday words of a hall that configured none: 公司 finds 企业开办.
func TestEveryday(t *testing.T) {
	for name, want := range map[string]string{"企业开办": "公司", "不动产登记": "房子", "社保医保": "医保卡", "出入境管理": "护照", "机动车驾驶证": "驾照"} {
		if got := search.Everyday(name); !slices.Contains(got, want) {
			t.Errorf("Everyday(%q) = %v, want %q among them", name, got, want)
		}
	}
	if got := search.Everyday("其他"); len(got) != 0 {
		t.Errorf("Everyday(其他) = %v", got)
	}
}
