package main

// A small cgo bridge to the GtkWindow and WebKitWebView that webview_go
// creates. webview_go only exposes Window() (the GtkWindow); the web view is
// its single child. Everything here runs on the GTK main thread (before Run,
// or inside Dispatch), except the two *_take functions, which only read
// atomics written by the GTK thread.
//
// What it adds to webview_go:
//   - true fullscreen (gtk_window_fullscreen), with a fallback for X servers
//     without a window manager: undecorated, moved to 0,0, sized to the monitor;
//   - a navigation allow-list enforced by WebKit itself ("decide-policy"):
//     main-frame and sub-frame navigations outside the halld origin and every
//     new-window request are ignored, whatever the page's JavaScript does;
//   - no context menu ("context-menu" handler) and a fixed zoom level;
//   - "load-failed" (halld unreachable while loading) reported to Go.

/*
#cgo pkg-config: gtk+-3.0 webkit2gtk-4.0
#include <stdlib.h>
#include <string.h>
#include <gtk/gtk.h>
#include <webkit2/webkit2.h>

static char *hk_origin = NULL;      // "http://127.0.0.1:8080" (no trailing slash)
static int hk_load_failed = 0;      // set by the GTK thread, taken by Go
static int hk_blocked = 0;          // count of navigations refused by WebKit policy

static int hk_allowed(const char *uri) {
	if (uri == NULL) return 0;
	if (strcmp(uri, "about:blank") == 0) return 1;   // w.SetHtml (the reconnect page)
	size_t n = strlen(hk_origin);
	if (strncmp(uri, hk_origin, n) != 0) return 0;
	char c = uri[n];
	return c == '\0' || c == '/' || c == '?' || c == '#';
}

static gboolean hk_decide_policy(WebKitWebView *v, WebKitPolicyDecision *d,
                                 WebKitPolicyDecisionType t, gpointer data) {
	if (t == WEBKIT_POLICY_DECISION_TYPE_NEW_WINDOW_ACTION) {
		__atomic_add_fetch(&hk_blocked, 1, __ATOMIC_SEQ_CST);
		webkit_policy_decision_ignore(d);
		return TRUE;
	}
	if (t == WEBKIT_POLICY_DECISION_TYPE_NAVIGATION_ACTION) {
		WebKitNavigationAction *a = webkit_navigation_policy_decision_get_navigation_action(
			WEBKIT_NAVIGATION_POLICY_DECISION(d));
		const char *uri = webkit_uri_request_get_uri(webkit_navigation_action_get_request(a));
		if (!hk_allowed(uri)) {
			__atomic_add_fetch(&hk_blocked, 1, __ATOMIC_SEQ_CST);
			webkit_policy_decision_ignore(d);
			return TRUE;
		}
	}
	return FALSE; // default handling (use)
}

static gboolean hk_context_menu(WebKitWebView *v, WebKitContextMenu *m, GdkEvent *e,
                                WebKitHitTestResult *h, gpointer data) {
	return TRUE; // no context menu at all
}

static gboolean hk_load_failed_cb(WebKitWebView *v, WebKitLoadEvent ev, gchar *uri,
                                  GError *err, gpointer data) {
	// A new navigation cancelling the old one, or our own policy refusal, is not "halld down".
	if (g_error_matches(err, WEBKIT_NETWORK_ERROR, WEBKIT_NETWORK_ERROR_CANCELLED)) return FALSE;
	if (err != NULL && err->domain == WEBKIT_POLICY_ERROR) return FALSE;
	__atomic_store_n(&hk_load_failed, 1, __ATOMIC_SEQ_CST);
	return TRUE; // suppress WebKit's own error page; Go shows the reconnect page
}

static void hk_zoom_changed(GObject *o, GParamSpec *p, gpointer data) {
	WebKitWebView *v = WEBKIT_WEB_VIEW(o);
	if (webkit_web_view_get_zoom_level(v) != 1.0) webkit_web_view_set_zoom_level(v, 1.0);
}

static int hk_setup(void *win, const char *origin) {
	GtkWidget *child = gtk_bin_get_child(GTK_BIN(win));
	if (child == NULL || !WEBKIT_IS_WEB_VIEW(child)) return -1;
	hk_origin = strdup(origin);
	WebKitWebView *v = WEBKIT_WEB_VIEW(child);
	g_signal_connect(v, "decide-policy", G_CALLBACK(hk_decide_policy), NULL);
	g_signal_connect(v, "context-menu", G_CALLBACK(hk_context_menu), NULL);
	g_signal_connect(v, "load-failed", G_CALLBACK(hk_load_failed_cb), NULL);
	g_signal_connect(v, "notify::zoom-level", G_CALLBACK(hk_zoom_changed), NULL);
	WebKitSettings *s = webkit_web_view_get_settings(v);
	webkit_settings_set_enable_developer_extras(s, FALSE);
	webkit_settings_set_javascript_can_open_windows_automatically(s, FALSE);
	return 0;
}

static void hk_fullscreen(void *win, int *w, int *h) {
	GtkWindow *gw = GTK_WINDOW(win);
	GdkDisplay *dpy = gdk_display_get_default();
	GdkMonitor *mon = gdk_display_get_primary_monitor(dpy);
	if (mon == NULL) mon = gdk_display_get_monitor(dpy, 0);
	GdkRectangle r = {0, 0, 0, 0};
	if (mon != NULL) gdk_monitor_get_geometry(mon, &r);
	*w = r.width; *h = r.height;
	gtk_window_set_decorated(gw, FALSE);
	gtk_window_set_resizable(gw, TRUE);
	if (r.width > 0 && r.height > 0) {
		// Fallback for a bare X server without a window manager, where the
		// _NET_WM_STATE_FULLSCREEN request has nobody to honour it.
		gtk_window_move(gw, r.x, r.y);
		gtk_window_resize(gw, r.width, r.height);
	}
	gtk_window_fullscreen(gw);
	gtk_window_present(gw);
}

// hk_display_ok opens the display the way webview_go will; with an
// unreachable DISPLAY webview_go would hand back a half-built view that
// segfaults on the next call.
static int hk_display_ok(void) { return gtk_init_check(NULL, NULL) ? 1 : 0; }

static int hk_load_failed_take(void) { return __atomic_exchange_n(&hk_load_failed, 0, __ATOMIC_SEQ_CST); }
static int hk_blocked_take(void) { return __atomic_exchange_n(&hk_blocked, 0, __ATOMIC_SEQ_CST); }
*/
import "C"

import (
	"errors"
	"unsafe"
)

// setupWebView installs the policy, context-menu, zoom and load-failed hooks.
// GTK thread only.
func setupWebView(win unsafe.Pointer, origin string) error {
	co := C.CString(origin)
	defer C.free(unsafe.Pointer(co))
	if C.hk_setup(win, co) != 0 {
		return errors.New("the webview window has no WebKitWebView child")
	}
	return nil
}

// fullscreen makes the window fullscreen and returns the monitor size.
// GTK thread only.
func fullscreen(win unsafe.Pointer) (w, h int) {
	var cw, ch C.int
	C.hk_fullscreen(win, &cw, &ch)
	return int(cw), int(ch)
}

// displayOK reports whether GTK can open the display. Main thread only.
func displayOK() bool { return C.hk_display_ok() != 0 }

// takeLoadFailed reports (and clears) whether a page load failed since the last call.
func takeLoadFailed() bool { return C.hk_load_failed_take() != 0 }

// takeBlocked returns (and clears) how many navigations WebKit refused.
func takeBlocked() int { return int(C.hk_blocked_take()) }
