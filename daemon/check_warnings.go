package main

import (
	"fmt"
	"io"

	"halld/daemon/config"
	"halld/daemon/rankpdf"
)

// checkWarnings tells `halld check` what would not stop halld but would fail someone later: the
// ranking PDF's font (ranking.font, or the search list) missing or not embeddable.
func checkWarnings(cfg *config.Config, stderr io.Writer) {
	if _, err := rankpdf.FindFont(cfg.RankingFont()); err != nil {
		where := "no ranking.font set, and"
		if cfg.Ranking.Font != "" {
			where = "ranking.font:"
		}
		fmt.Fprintf(stderr, "%s: warning: %s %v\n  the window ranking's PDF (GET /api/v1/rankings?format=pdf) will answer font_unavailable;"+
			" install fonts-droid-fallback or set ranking.font to a TrueType (.ttf) CJK font\n", cfg.File, where, err)
	}
}
