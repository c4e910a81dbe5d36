/* halld /supervise/ — 大厅监管 (the monitoring room's supervisors)
 *
 * A shell of tabs. Each tab is its own script, loaded after this one, that
 * calls Supervise.register({id, title, order, mount(el, ctx), show()}):
 *   mount(el, ctx) runs once at start-up with the tab's own panel element;
 *   show() (optional) runs each time the tab is opened.
 * ctx is what every tab shares, so no tab re-implements it:
 *   ctx.api(method, path, body)  → Promise of the JSON answer; rejects with an
 *                                  Error carrying .code, .status and a Chinese .message
 *   ctx.onSnapshot(fn) / ctx.onEvent(fn)   the one live stream of the page
 *   ctx.snapshot()               the last snapshot as the stream keeps it (or null)
 *   ctx.toast(msg, bad)          a short notice at the corner
 *   ctx.badge(id, n)             a count on a tab (0 hides it)
 *   ctx.open(id)                 switch to a tab
 *   ctx.el(tag, cls, text), ctx.time(ts), ctx.day(ts)   DOM and formatting helpers
 * The hash (#alerts) says which tab is open, so a link can point at one.
 */
(function (root) {
  "use strict";

  var tabs = [];
  var started = false;
  var stream = null;
  var last = null; // last snapshot
  var handlers = { snapshot: [], event: [] };

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  // Times are shown in the hall's zone (Asia/Shanghai, UTC+8, no DST) whatever
  // the browser's own zone is.
  function hallDate(ts) {
    var ms = typeof ts === "number" ? ts : Date.parse(ts);
    if (isNaN(ms)) return null;
    return new Date(ms + 8 * 3600 * 1000);
  }
  function time(ts) {
    var d = hallDate(ts);
    return d ? pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) : "—";
  }
  function day(ts) {
    var d = hallDate(ts);
    return d ? d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) : "—";
  }

  function api(method, path, body) {
    return root.HallApi.request(method, path, body);
  }

  // At most three toasts at once: steps done quickly would otherwise stack
  // a column of them over the page.
  var MAX_TOASTS = 3;
  function toast(msg, bad) {
    var box = $("toast");
    while (box.children.length >= MAX_TOASTS) box.removeChild(box.firstChild);
    var t = el("div", "toast-item" + (bad ? " bad" : ""), msg);
    box.appendChild(t);
    setTimeout(function () { t.remove(); }, bad ? 6000 : 3000);
  }

  function badge(id, n) {
    var b = document.querySelector('[data-tab="' + id + '"] .s-badge');
    if (!b) return;
    b.textContent = n > 99 ? "99+" : String(n);
    b.hidden = !n;
  }

  function open(id) {
    var found = false;
    tabs.forEach(function (t) {
      var on = t.id === id;
      found = found || on;
      t.button.setAttribute("aria-selected", on ? "true" : "false");
      t.panel.hidden = !on;
    });
    if (!found) return open(tabs[0].id);
    if (root.location.hash !== "#" + id) root.history.replaceState(null, "", "#" + id);
    var t = tabs.filter(function (x) { return x.id === id; })[0];
    if (t.show) { try { t.show(); } catch (e) { console.error("tab show", id, e); } }
  }

  var ctx = {
    api: api, toast: toast, badge: badge, open: open, el: el, time: time, day: day,
    onSnapshot: function (fn) { handlers.snapshot.push(fn); if (last) fn(last.data, last.seq); },
    onEvent: function (fn) { handlers.event.push(fn); },
    snapshot: function () { return last ? last.data : null; }
  };

  function register(tab) {
    if (started) throw new Error("Supervise.register after start: " + tab.id);
    tabs.push(tab);
  }

  function start() {
    started = true;
    tabs.sort(function (a, b) { return (a.order || 0) - (b.order || 0); });
    var nav = $("tabs"), panels = $("panels");
    if (!tabs.length) {
      panels.appendChild(el("p", "s-empty", "本页没有可用的功能。"));
      return;
    }
    tabs.forEach(function (t) {
      var b = el("button", "s-tab");
      b.type = "button";
      b.setAttribute("role", "tab");
      b.dataset.tab = t.id;
      b.appendChild(el("span", null, t.title));
      var n = el("span", "s-badge");
      n.hidden = true;
      b.appendChild(n);
      b.addEventListener("click", function () { open(t.id); });
      nav.appendChild(b);
      var p = el("section", "s-panel");
      p.id = "tab-" + t.id;
      p.setAttribute("role", "tabpanel");
      p.hidden = true;
      panels.appendChild(p);
      t.button = b;
      t.panel = p;
    });
    tabs.forEach(function (t) {
      try { t.mount(t.panel, ctx); } catch (e) {
        console.error("tab mount", t.id, e);
        t.panel.appendChild(el("div", "panel-error", "此功能加载失败：" + e.message));
      }
    });
    root.addEventListener("hashchange", function () { open(root.location.hash.slice(1)); });
    open(root.location.hash.slice(1) || tabs[0].id);

    stream = new root.HallStream();
    stream.onSnapshot(function (data, seq) {
      last = { data: data, seq: seq };
      if (data && data.hall && data.hall.name) $("hall-name").textContent = data.hall.name;
      handlers.snapshot.forEach(function (fn) { try { fn(data, seq); } catch (e) { console.error("snapshot handler", e); } });
    }).onEvent(function (ev, seq) {
      handlers.event.forEach(function (fn) { try { fn(ev, seq); } catch (e) { console.error("event handler", e); } });
    }).onStatus(function (st) {
      var s = $("status");
      s.textContent = st.state === "connected" ? "实时" : st.state === "connecting" ? "正在连接…" : "连接中断，正在重连";
      s.className = "r-status" + (st.state === "connected" ? "" : " bad");
    }).connect();
    api("GET", "/api/v1/whoami").then(function (me) {
      $("who").textContent = me.name ? "操作人：" + me.name : "本机";
    }, function () { /* older halld: no name to show */ });
  }

  root.Supervise = { register: register, ctx: ctx };
  document.addEventListener("DOMContentLoaded", start);
})(window);
