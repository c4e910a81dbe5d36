// Package kioskui holds the static web pages served by halld:
// /kiosk/ (the citizens' ticket kiosk) and /monitor/ (the hall IT device
// monitor), plus the shared stylesheet and stream client under /common/.
//
// The pages are plain HTML/CSS/JS with no build step and no external assets.
// They talk only to the same-origin API under /api/v1/.
package kioskui

import (
	"embed"
	"io/fs"
)

//go:embed web
var webFS embed.FS

// Pages returns the page tree rooted at web/, meant to be served at "/":
//
//	kiosk/index.html, kiosk/kiosk.js
//	monitor/index.html, monitor/monitor.js
//	common/style.css, common/stream.js
//
// e.g. mux.Handle("/", http.FileServerFS(kioskui.Pages())) makes
// /kiosk/ serve kiosk/index.html.
func Pages() fs.FS {
	sub, err := fs.Sub(webFS, "web")
	if err != nil {
		// fs.Sub only fails on an invalid path; "web" is a constant.
		panic(err)
	}
	return sub
}
