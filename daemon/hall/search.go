package hall

import (
	"strings"
	"sync"

	"halld/daemon/config"
	"halld/daemon/search"
)

// searchKeys caches each service's search keys by what they are made of,
// so a view is built without spelling the names again: they are computed
// once per configured service (and again only when its texts change).
var searchKeys sync.Map // string → *search.Keys

// ServiceSearch gives a service's search keys (kiosk search: pinyin,
// initials, everyday words; daemon/search).
func ServiceSearch(s *config.Service) *search.Keys {
	var b strings.Builder
	for _, part := range [][]string{{s.Name, s.NameEn}, s.Keywords, s.Materials} {
		for _, p := range part {
			b.WriteString(p)
			b.WriteByte(0)
		}
		b.WriteByte(1)
	}
	key := b.String()
	if k, ok := searchKeys.Load(key); ok {
		return k.(*search.Keys)
	}
	k := search.For(search.Service{Name: s.Name, NameEn: s.NameEn, Keywords: s.Keywords, Materials: s.Materials})
	actual, _ := searchKeys.LoadOrStore(key, &k)
	return actual.(*search.Keys)
}
