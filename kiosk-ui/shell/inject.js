/* hall-kiosk: injected at document start into every page the shell shows.
   Keeps the citizen on halld's pages and stops zooming and context menus.
   The hard guarantee is WebKit's decide-policy hook in gtk.go (it also covers
   window.location assignments, which JavaScript cannot intercept); this script
   makes refusals quiet and lets Go check window.open targets. */
(function () {
  "use strict";
  var ORIGIN = __HK_ORIGIN__;
  var PROBE = __HK_PROBE__;

  function abs(u) {
    try { return new URL(String(u), location.href).href; } catch (e) { return ""; }
  }
  function allowed(u) {
    try { return new URL(u).origin.toLowerCase() === ORIGIN; } catch (e) { return false; }
  }
  function blocked(u) { if (window.__hkBlocked) window.__hkBlocked(String(u)); }

  // Links: other origins never; same-origin links that want a new window open here.
  document.addEventListener("click", function (e) {
    var a = e.target && e.target.closest ? e.target.closest("a[href]") : null;
    if (!a) return;
    var u = abs(a.getAttribute("href"));
    if (/^javascript:/i.test(u)) return;
    if (!allowed(u)) { e.preventDefault(); e.stopImmediatePropagation(); blocked(u); return; }
    if (a.target && a.target !== "_self") { e.preventDefault(); window.__hkOpen && window.__hkOpen(u); }
  }, true);

  // Forms posting elsewhere.
  document.addEventListener("submit", function (e) {
    var f = e.target;
    var u = abs((f && f.getAttribute && f.getAttribute("action")) || location.href);
    if (!allowed(u)) { e.preventDefault(); e.stopImmediatePropagation(); blocked(u); }
  }, true);

  // window.open: never a new window; Go decides whether to navigate this one.
  try {
    Object.defineProperty(window, "open", {
      configurable: false, writable: false,
      value: function (u) { var x = abs(u); if (window.__hkOpen) window.__hkOpen(x); return null; }
    });
  } catch (e) {}

  // No context menu, no zoom (ctrl+wheel, ctrl +/-/0, pinch), no drag-out.
  document.addEventListener("contextmenu", function (e) { e.preventDefault(); }, true);
  window.addEventListener("wheel", function (e) { if (e.ctrlKey || e.metaKey) e.preventDefault(); }, { capture: true, passive: false });
  window.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && ["+", "-", "=", "_", "0", "Add", "Subtract"].indexOf(e.key) >= 0) e.preventDefault();
  }, true);
  ["gesturestart", "gesturechange", "gestureend"].forEach(function (t) {
    document.addEventListener(t, function (e) { e.preventDefault(); }, { capture: true, passive: false });
  });
  document.addEventListener("touchmove", function (e) { if (e.touches && e.touches.length > 1) e.preventDefault(); }, { capture: true, passive: false });
  document.addEventListener("dragstart", function (e) { e.preventDefault(); }, true);

  function harden() {
    var head = document.head || document.documentElement;
    if (!head) return;
    if (!document.getElementById("hk-style")) {
      var st = document.createElement("style");
      st.id = "hk-style";
      st.textContent = "html,body{touch-action:pan-x pan-y !important;-webkit-touch-callout:none;-webkit-user-drag:none}";
      head.appendChild(st);
    }
    var m = document.querySelector('meta[name="viewport"]');
    if (!m) { m = document.createElement("meta"); m.name = "viewport"; head.appendChild(m); }
    m.content = "width=device-width, initial-scale=1, maximum-scale=1, user-scalable=no";
  }

  function report() {
    if (!PROBE || !window.__hkProbe) return;
    var page = document.getElementById("hk-reconnect") ? "reconnect" : (allowed(location.href) ? "kiosk" : "other");
    var h = document.getElementById("hall-name");
    var g = document.getElementById("service-grid");
    window.__hkProbe(page, document.title || "", h ? h.textContent : "", location.pathname, g ? g.children.length : 0);
  }

  document.addEventListener("DOMContentLoaded", function () { harden(); report(); });
  window.addEventListener("load", report);
  if (PROBE) setInterval(report, 1000);
})();
