package kioskui_test

// Kiosk search as citizens type it, in headless Chromium on the demo hall
// (devices.yaml): pinyin initials, full pinyin, a mix, Chinese, everyday
// words, typed on the page's own keyboard (the kiosk's webview has no
// system keyboard), which fits the hall's kiosk screens.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// searchCases are queries and the services they find in the demo hall, in
// its order.
var searchCases = []struct {
	q    string
	want []string
}{
	// pinyin initials, any case, with spaces, from any character
	{"bdc", []string{"real-estate"}},
	{"BDC", []string{"real-estate"}},
	{"b d c", []string{"real-estate"}},
	{"bdcdj", []string{"real-estate"}},
	{"dengji", []string{"real-estate"}},
	// initials are ambiguous: d j also begins 异地就医 (a keyword of 社保医保)
	{"dj", []string{"real-estate", "social-insurance"}},
	{"qykb", []string{"company-setup"}},
	{"gjj", []string{"housing-fund"}},
	{"sbyb", []string{"social-insurance"}},
	// full pinyin, a mix of both, a syllable typed half
	{"budongchan", []string{"real-estate"}},
	{"budong chan", []string{"real-estate"}},
	{"bdchan", []string{"real-estate"}},
	{"budc", []string{"real-estate"}},
	{"gongjij", []string{"housing-fund"}},
	{"qiyekaiban", []string{"company-setup"}},
	{"shebao", []string{"social-insurance"}},
	// Chinese: the name, a part of it
	{"不动产", []string{"real-estate"}},
	{"登记", []string{"real-estate"}},
	{"医保", []string{"social-insurance"}},
	// everyday words (devices.yaml keywords and daemon/search's own), and
	// their pinyin
	{"公司", []string{"company-setup"}},
	{"gs", []string{"company-setup", "social-insurance"}}, // 公司, 工伤

	{"gongsi", []string{"company-setup"}},
	{"营业执照", []string{"company-setup"}},
	{"yyzz", []string{"company-setup"}},
	{"房子", []string{"real-estate"}},
	{"fangzi", []string{"real-estate"}},
	{"房产", []string{"real-estate"}},
	{"fangchan", []string{"real-estate"}},
	{"社保卡", []string{"social-insurance"}},
	{"退休", []string{"social-insurance"}},
	{"tuixiu", []string{"social-insurance"}},
	{"代办", []string{"assisted"}},
	{"领证", []string{"pickup"}},
	// the English name
	{"real estate", []string{"real-estate"}},
	// materials only when no name or word matches
	{"章程", []string{"company-setup"}},
	{"婚姻", []string{"real-estate"}},
	// nothing
	{"xyzq", []string{}},
	{"护照", []string{}},
}

func TestKioskSearchFindsWhatCitizensType(t *testing.T) {
	needBrowser(t)
	h := demoHall(t)
	p := openBrowser(t, kioskW, kioskH)
	p.navigate(h.base + "/kiosk/?kiosk=kiosk-1")
	p.waitVisible(tile("pickup"))

	// The snapshot carries each service's keys.
	if got := eval[string](p, `(function(){var s=window.halldKiosk.state.byId["real-estate"].search;return s.initials+"/"+s.pinyin})()`); got != "bdcdj/budongchandengji" {
		t.Errorf("real-estate search keys %q", got)
	}
	for _, c := range searchCases {
		raw := eval[string](p, fmt.Sprintf(`JSON.stringify(window.halldKiosk.findServices(%s))`, js(c.q)))
		var got []string
		if err := json.Unmarshal([]byte(raw), &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("search %q found %v, want %v", c.q, got, c.want)
		}
	}

	// Typed on the screen's keyboard: it comes with the search box.
	if eval[bool](p, visibleJS("#osk")) {
		t.Fatal("the keyboard is up before the search box was touched")
	}
	p.click("#search")
	p.waitVisible("#osk")
	for _, k := range "bdc" {
		p.click(fmt.Sprintf(`.osk-key[data-key=%q]`, string(k)))
	}
	p.waitJS("the search box reads bdc", `document.getElementById("search").value==="bdc"`, `document.getElementById("search").value`)
	shownTiles := `Array.prototype.filter.call(document.querySelectorAll(".service-tile"),function(b){return !b.hidden}).map(function(b){return b.getAttribute("data-service")}).join(",")`
	p.waitJS("only 不动产登记 shown", shownTiles+`==="real-estate"`, shownTiles)
	p.waitVisible(tile("real-estate"))
	if !eval[bool](p, `document.activeElement===document.getElementById("search")`) {
		t.Error("a key took the focus from the search box")
	}
	// 删除 takes the last letter, 清空 all of them.
	p.click(`.osk-key[data-key="back"]`)
	p.waitJS("the search box reads bd", `document.getElementById("search").value==="bd"`, `document.getElementById("search").value`)
	p.click(`.osk-key[data-key="clear"]`)
	p.waitJS("the search box empty", `document.getElementById("search").value===""`, `document.getElementById("search").value`)
	p.waitJS("every service shown", shownTiles+`.split(",").length===6`, shownTiles)
	// Everyday words on the keyboard: gongsi finds 企业开办 (公司).
	for _, k := range "gongsi" {
		p.click(fmt.Sprintf(`.osk-key[data-key=%q]`, string(k)))
	}
	p.waitJS("only 企业开办 shown", shownTiles+`==="company-setup"`, shownTiles)
	// 完成 puts the keyboard away and leaves what was found.
	p.click(`.osk-key[data-key="done"]`)
	p.waitHidden("#osk")
	if got := eval[string](p, shownTiles); got != "company-setup" {
		t.Errorf("after 完成 the page shows %s", got)
	}
	// A service chosen: the keyboard does not come back with the home screen.
	p.click("#search")
	p.waitVisible("#osk")
	p.click(tile("company-setup"))
	p.waitVisible("#screen-guide")
	p.click(`#screen-guide [data-action=home]`)
	p.waitVisible("#screen-home")
	if eval[bool](p, visibleJS("#osk")) {
		t.Error("the keyboard is up again on the home screen after a guide")
	}
	if got := eval[string](p, `document.getElementById("search").value`); got != "" {
		t.Errorf("search kept after 返回: %q", got)
	}

	// Left alone with the keyboard up: it goes, with what was typed.
	p.navigate(h.base + "/kiosk/?kiosk=kiosk-1&idle=3")
	p.waitVisible(tile("pickup"))
	p.click("#search")
	p.waitVisible("#osk")
	p.click(`.osk-key[data-key="g"]`)
	p.waitJS("the idle kiosk's keyboard gone and search cleared", `document.getElementById("osk").hidden && document.getElementById("search").value===""`, `document.getElementById("search").value`)
}

// The keyboard fits the hall's kiosk screens, normal and 大字模式: every key
// inside the screen and big enough for a finger, nothing under it, the list
// above it scrolling with its hint.
func TestKioskKeyboardFitsScreens(t *testing.T) {
	needBrowser(t)
	h := demoHall(t)
	p := openBrowser(t, 1280, 1024)
	for _, sz := range [][2]int{{1280, 1024}, {1080, 1920}} {
		for _, large := range []bool{false, true} {
			tag := fmt.Sprintf("kiosk-%dx%d", sz[0], sz[1])
			if large {
				tag += "-large"
			}
			p.viewport(sz[0], sz[1])
			p.navigate(h.base + "/kiosk/?kiosk=kiosk-1")
			p.waitVisible(tile("pickup"))
			if large {
				p.click("#large-text-toggle")
				p.waitJS("大字模式", `document.body.classList.contains("large")`, "")
			}
			p.click("#search")
			p.waitVisible("#osk")
			checkScreen(t, p, tag+"-keyboard", map[string]bool{"kiosk-1": true})
			raw := eval[string](p, `JSON.stringify(Array.prototype.map.call(document.querySelectorAll(".osk-key"), function (b) {
				var r = b.getBoundingClientRect();
				return {k: b.getAttribute("data-key"), l: r.left, t: r.top, r: r.right, b: r.bottom};
			}))`)
			var keys []struct {
				K          string
				L, T, R, B float64
			}
			if err := json.Unmarshal([]byte(raw), &keys); err != nil {
				t.Fatal(err)
			}
			if len(keys) != 29 {
				t.Errorf("%s: %d keys, want 26 letters and 3 more", tag, len(keys))
			}
			for _, k := range keys {
				if k.R-k.L < 60 || k.B-k.T < 60 {
					t.Errorf("%s: key %s is %.0f×%.0f px, too small for a finger", tag, k.K, k.R-k.L, k.B-k.T)
				}
				if k.L < 0 || k.T < 0 || k.R > float64(sz[0]) || k.B > float64(sz[1]) {
					t.Errorf("%s: key %s outside the screen", tag, k.K)
				}
			}
			// Found with a few letters: the result is above the keyboard.
			for _, k := range "bdc" {
				p.click(fmt.Sprintf(`.osk-key[data-key=%q]`, string(k)))
			}
			p.waitJS("不动产登记 found", `document.getElementById("search").value==="bdc"`, `document.getElementById("search").value`)
			checkScreen(t, p, tag+"-keyboard-bdc", map[string]bool{"kiosk-1": true, "bdc": true})
			if got := eval[string](p, `(function(){var t=document.querySelector('.service-tile[data-service="real-estate"]').getBoundingClientRect(),k=document.getElementById("osk").getBoundingClientRect();return t.bottom<=k.top?"":"tile "+t.bottom+" keyboard "+k.top})()`); got != "" {
				t.Errorf("%s: the service found is under the keyboard: %s", tag, got)
			}
			if strings.Contains(tag, "large") {
				p.click("#large-text-toggle")
			}
		}
	}
}
