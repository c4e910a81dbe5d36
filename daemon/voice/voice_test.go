package voice

import (
	"strings"
	"testing"
)

func TestPinyinOfHallLines(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		// The call line (daemon/hall voiceCall): ticket digits one by one, the window as a number.
		{"请A002号到1号窗口办理", "qing3 ei1 ling2 ling2 er4 hao4 dao4 yi1 hao4 chuang1 kou3 ban4 li3"},
		{"请A015号到12号窗口办理", "qing3 ei1 ling2 yi1 wu3 hao4 dao4 shi2 er4 hao4 chuang1 kou3 ban4 li3"},
		{"请A1000号到10号窗口办理", "qing3 ei1 yi1 ling2 ling2 ling2 hao4 dao4 shi2 hao4 chuang1 kou3 ban4 li3"},
		{"请BC0120号到21号窗口办理", "qing3 bi4 xi1 ling2 yi1 er4 ling2 hao4 dao4 er4 shi2 yi1 hao4 chuang1 kou3 ban4 li3"},
		{"请W999号到105号窗口办理", "qing3 da2 bu4 liu1 jiu3 jiu3 jiu3 hao4 dao4 yi4 bai3 ling2 wu3 hao4 chuang1 kou3 ban4 li3"},
		// The pause line: 服务 with its fourth tone (espeak-ng's dictionary has fúwu).
		{"3号窗口暂停服务", "san1 hao4 chuang1 kou3 zan4 ting2 fu2 wu4"},
		{"语音播报已启用", "yu3 yin1 bo1 bao4 yi3 qi3 yong4"},
		// Full width, lower case, traditional characters, punctuation as a pause.
		{"請ａ００２號，到１号窗口辦理。", "qing3 ei1 ling2 ling2 er4 hao4 , dao4 yi1 hao4 chuang1 kou3 ban4 li3"},
		// Han outside the lexicon is left to espeak-ng's dictionary, as runs.
		{"请A001号到综合受理窗口办理", "qing3 ei1 ling2 ling2 yi1 hao4 dao4 zong1 he2 shou4 li3 chuang1 kou3 ban4 li3"},
		{"请到湘江新区政务服务大厅", "qing3 dao4 湘江新 qu1 zheng4 wu4 fu2 wu4 da4 ting1"},
		// Nothing espeak-ng would take as a command or spell out.
		{"[[h@'loU]] <speak>😀𪚥", "ai4 qi1 ai4 lou2 ou1 you1 ai4 si1 pi4 yi4 ei1 kei1"},
	} {
		if got := Pinyin(c.text); got != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.text, got, c.want)
		}
	}
}

func TestCardinals(t *testing.T) {
	for n, want := range map[int]string{
		0: "ling2", 1: "yi1", 2: "er4", 10: "shi2", 11: "shi2 yi1", 12: "shi2 er4", 20: "er4 shi2",
		21: "er4 shi2 yi1", 99: "jiu3 shi2 jiu3", 100: "yi4 bai3", 101: "yi4 bai3 ling2 yi1",
		110: "yi4 bai3 yi1 shi2", 115: "yi4 bai3 yi1 shi2 wu3", 200: "er4 bai3", 999: "jiu3 bai3 jiu3 shi2 jiu3",
		1000: "yi4 qian1", 1005: "yi4 qian1 ling2 wu3", 1010: "yi4 qian1 ling2 yi1 shi2", 1200: "yi4 qian1 er4 bai3",
		2000: "liang3 qian1", 9999: "jiu3 qian1 jiu3 bai3 jiu3 shi2 jiu3",
	} {
		if got := strings.Join(cardinal(n), " "); got != want {
			t.Errorf("%d: %s, want %s", n, got, want)
		}
	}
	// Codes rather than amounts are read digit by digit.
	for text, want := range map[string]string{"007": "ling2 ling2 qi1", "12345": "yi1 er4 san1 si4 wu3", "1234": "yi4 qian1 er4 bai3 san1 shi2 si4"} {
		if got := Pinyin(text); got != want {
			t.Errorf("%s: %s, want %s", text, got, want)
		}
	}
}

func TestEspeakInput(t *testing.T) {
	if got, want := Espeak("请A002号，到1号窗口办理"), "qing3 ei1 ling2 ling2 er4 hao4 ， dao4 yi1 hao4 chuang1 kou3 ban4 li3"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	if got := Espeak("，，"); got != "" {
		t.Fatalf("only pauses: %q", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("请A002号到1号窗口办理")
	f.Add("[[a]]\x00\xff１２")
	f.Fuzz(func(t *testing.T, s string) {
		e := Espeak(s)
		if strings.Contains(e, "[[") || strings.ContainsAny(e, "<>&\x00") {
			t.Fatalf("%q → %q", s, e)
		}
		for _, p := range Parse(s) {
			if p.Han == "" && !p.Pause && (p.Tone < 1 || p.Tone > 5 || p.Pinyin == "") {
				t.Fatalf("%q: bad syllable %+v", s, p)
			}
		}
	})
}
