package idcard

import "fmt"

// Nation is a GB 3304-91 nationality (民族) code as a resident card carries
// it: 01–56, and the ID card extensions 97 (其他) and 98 (外国血统中国籍人士).
// 0 means none (cards other than resident cards).
type Nation byte

// nations holds the GB 3304-91 names (as in HSL GetNationText). Names seen
// in open code that differ are legacy or misspelt (德昴, 崩龙, 毛难, 僳僳).
var nations = map[Nation]string{
	1: "汉", 2: "蒙古", 3: "回", 4: "藏", 5: "维吾尔", 6: "苗", 7: "彝", 8: "壮", 9: "布依", 10: "朝鲜",
	11: "满", 12: "侗", 13: "瑶", 14: "白", 15: "土家", 16: "哈尼", 17: "哈萨克", 18: "傣", 19: "黎", 20: "傈僳",
	21: "佤", 22: "畲", 23: "高山", 24: "拉祜", 25: "水", 26: "东乡", 27: "纳西", 28: "景颇", 29: "柯尔克孜", 30: "土",
	31: "达斡尔", 32: "仫佬", 33: "羌", 34: "布朗", 35: "撒拉", 36: "毛南", 37: "仡佬", 38: "锡伯", 39: "阿昌", 40: "普米",
	41: "塔吉克", 42: "怒", 43: "乌孜别克", 44: "俄罗斯", 45: "鄂温克", 46: "德昂", 47: "保安", 48: "裕固", 49: "京", 50: "塔塔尔",
	51: "独龙", 52: "鄂伦春", 53: "赫哲", 54: "门巴", 55: "珞巴", 56: "基诺",
	97: "其他", 98: "外国血统中国籍人士",
}

// Name is the GB 3304-91 name without 族 ("汉", "蒙古"); the caller adds 族
// for display where it fits ("汉族"; 97 and 98 read as they are). It is ""
// for a code outside the list.
func (n Nation) Name() string { return nations[n] }

// Valid reports whether n is in the list.
func (n Nation) Valid() bool { _, ok := nations[n]; return ok }

// String is the name, or the code when it is not in the list.
func (n Nation) String() string {
	if name, ok := nations[n]; ok {
		return name
	}
	return fmt.Sprintf("Nation(%02d)", byte(n))
}
