package search

import "strings"

// everyday maps what a service's name says (any of when) to the words
// citizens say for it, so a hall that configured no keywords is still found
// by 公司 or 房子. Configured keywords (devices.yaml services[].keywords)
// come first and add the hall's own.
var everyday = []struct {
	when  []string
	words []string
}{
	{[]string{"企业", "公司", "商事", "工商"}, []string{"公司", "营业执照", "执照", "工商"}},
	{[]string{"开办", "设立"}, []string{"开公司", "注册公司", "开店", "个体户"}},
	{[]string{"不动产"}, []string{"房子", "房产", "房产证", "房本", "买房", "卖房", "过户", "抵押", "土地"}},
	{[]string{"社保", "社会保险"}, []string{"社保", "社保卡", "养老", "养老保险", "退休", "失业", "工伤", "参保"}},
	{[]string{"医保", "医疗保险"}, []string{"医保", "医保卡", "看病", "报销", "医疗"}},
	{[]string{"公积金"}, []string{"住房公积金", "提取公积金", "公积金贷款"}},
	{[]string{"出入境", "护照"}, []string{"护照", "港澳通行证", "签注", "出国"}},
	{[]string{"驾驶", "车管", "机动车"}, []string{"驾照", "驾驶证", "换驾照", "车辆", "上牌", "年检"}},
	{[]string{"户籍", "户口", "户政"}, []string{"户口", "户口本", "落户", "迁户口"}},
	{[]string{"税务", "纳税", "办税"}, []string{"交税", "报税", "个税", "发票"}},
	{[]string{"婚姻"}, []string{"结婚", "离婚", "结婚证"}},
	{[]string{"出件", "领取", "取件", "证照"}, []string{"取件", "拿证", "领证", "取证"}},
	{[]string{"帮代办", "帮办", "代办"}, []string{"代办", "帮办", "老年人"}},
	{[]string{"居住证"}, []string{"暂住证"}},
	{[]string{"残疾"}, []string{"残疾证", "残疾人"}},
	{[]string{"生育"}, []string{"生孩子", "准生证", "生育津贴"}},
	{[]string{"就业", "人才"}, []string{"找工作", "人才引进", "毕业生"}},
}

// Everyday gives the everyday words for what a service's name says.
func Everyday(name string) []string {
	var out []string
	for _, e := range everyday {
		for _, w := range e.when {
			if strings.Contains(name, w) {
				out = append(out, e.words...)
				break
			}
		}
	}
	return out
}
