/*
 * HallStream — a small reusable client for the halld live stream.
 *
 *   const s = new HallStream();              // same origin, /api/v1/stream
 *   s.onSnapshot((data, seq) => { ... })     // replace all state
 *    .onEvent((event, seq) => { ... })       // apply one event, strictly in order
 *    .onStatus((st) => { ... })              // {state:"connecting"|"connected"|"disconnected", attempt, delay}
 *    .connect();
 *
 * The client remembers the last seq. When the socket closes it reconnects with
 * back-off (1 s, 2 s, 4 s, 5 s, 5 s …) using ?since=<last seq>; the server then
 * replays the events after it, or sends a fresh snapshot. Events that arrive
 * twice are dropped; a gap in seq forces a reconnect so nothing is skipped.
 *
 * Classic script (no modules) so the pages also open from file:// and in old
 * kiosk browsers. Exposes window.HallStream (and module.exports under Node).
 */
(function (root) {
  "use strict";

  function defaultStreamURL() {
    var loc = root.location;
    if (!loc || !loc.host || (loc.protocol !== "http:" && loc.protocol !== "https:")) {
      return null; // e.g. opened from file:// — there is no server to talk to
    }
    return (loc.protocol === "https:" ? "wss:" : "ws:") + "//" + loc.host + "/api/v1/stream";
  }

  // HallAuth: a bearer token for screens that are not on halld's own box
  // (README "Access"). Open the page once with ?token=…; it is kept in
  // localStorage and taken out of the address bar. On the box itself no
  // token is needed.
  var TOKEN_KEY = "halld.token";
  var HallAuth = {
    token: (function () {
      var t = "";
      try {
        var loc = root.location, params = new root.URLSearchParams(loc.search);
        if (params.get("token")) {
          t = params.get("token");
          try { root.localStorage.setItem(TOKEN_KEY, t); } catch (e) { /* private mode: keep it for this load */ }
          params.delete("token");
          var q = params.toString();
          if (root.history && root.history.replaceState) {
            root.history.replaceState(null, "", loc.pathname + (q ? "?" + q : "") + loc.hash);
          }
        } else {
          t = root.localStorage.getItem(TOKEN_KEY) || "";
        }
      } catch (e) { /* no location (Node tests) */ }
      return t;
    })(),
    // headers adds the Authorization header to a fetch init object.
    headers: function (init) {
      init = init || {};
      init.headers = init.headers || {};
      if (HallAuth.token) init.headers["Authorization"] = "Bearer " + HallAuth.token;
      return init;
    },
    // url adds ?token= where a header cannot go (WebSocket, <audio>, links).
    url: function (u) {
      if (!HallAuth.token || !u) return u;
      return u + (u.indexOf("?") >= 0 ? "&" : "?") + "token=" + encodeURIComponent(HallAuth.token);
    }
  };
  root.HallAuth = HallAuth;

  // HallApi.request: one JSON call to halld, as every page makes it. It has
  // a deadline (the hall LAN is not trusted: a request it swallows fails
  // after timeoutMs, code "network", instead of leaving a button waiting
  // forever), the page's token, and halld's JSON errors as an Error with
  // .code, .status and .data. o (optional) holds the page's own words:
  // errorText[code] for errors halld sends without a message, failed(status)
  // for an HTTP error without a body, networkError, timeoutMs.
  var HallApi = {
    timeoutMs: 10000,
    request: function (method, url, body, o) {
      o = o || {};
      var init = { method: method, headers: { "Accept": "application/json" }, cache: "no-store" };
      HallAuth.headers(init);
      if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      var ctl = typeof root.AbortController !== "undefined" ? new root.AbortController() : null;
      if (ctl) init.signal = ctl.signal;
      var timer = ctl ? setTimeout(function () { ctl.abort(); }, o.timeoutMs || HallApi.timeoutMs) : null;
      function settled() { if (timer) { clearTimeout(timer); timer = null; } }
      function networkError() {
        settled();
        var err = new Error(o.networkError || "网络连接失败，请检查网络后重试");
        err.code = "network";
        err.status = 0;
        throw err;
      }
      return root.fetch(url, init).then(function (r) {
        return r.text().then(function (text) {
          settled();
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
          if (!r.ok || (data && data.error)) {
            var info = data && data.error ? data.error : {};
            var err = new Error(info.message || (o.errorText && o.errorText[info.code]) ||
              (o.failed ? o.failed(r.status) : "请求失败（HTTP " + r.status + "）"));
            err.code = info.code || "http_" + r.status;
            err.status = r.status;
            err.data = data;
            throw err;
          }
          return data || {};
        }, networkError);
      }, networkError);
    }
  };
  root.HallApi = HallApi;

  function HallStream(opts) {
    opts = opts || {};
    this.url = opts.url !== undefined ? opts.url : defaultStreamURL();
    this.snapshotURL = opts.snapshotURL || "/api/v1/snapshot";
    this.minDelay = opts.minDelay || 1000;
    this.maxDelay = opts.maxDelay || 5000;
    this.WebSocketImpl = opts.WebSocket || root.WebSocket;
    this.fetchImpl = opts.fetch || (root.fetch ? root.fetch.bind(root) : null);
    this.seq = null;            // last applied seq (null = no state yet)
    this.state = "idle";
    this.attempt = 0;           // consecutive failed attempts
    this._ws = null;
    this._timer = null;
    this._closed = false;
    this._handlers = { snapshot: [], event: [], status: [] };
    this._onOnline = this._reconnectNow.bind(this);
  }

  HallStream.prototype.onSnapshot = function (fn) { this._handlers.snapshot.push(fn); return this; };
  HallStream.prototype.onEvent = function (fn) { this._handlers.event.push(fn); return this; };
  HallStream.prototype.onStatus = function (fn) { this._handlers.status.push(fn); return this; };

  HallStream.prototype._emit = function (kind, a, b) {
    var hs = this._handlers[kind];
    for (var i = 0; i < hs.length; i++) {
      try { hs[i](a, b); } catch (e) { if (root.console) root.console.error("HallStream handler", kind, e); }
    }
  };

  HallStream.prototype._setState = function (state, extra) {
    this.state = state;
    var st = { state: state, attempt: this.attempt, seq: this.seq };
    if (extra) for (var k in extra) st[k] = extra[k];
    this._emit("status", st);
  };

  HallStream.prototype.connect = function () {
    this._closed = false;
    if (root.addEventListener) root.addEventListener("online", this._onOnline);
    this._open();
    return this;
  };

  HallStream.prototype.close = function () {
    this._closed = true;
    if (root.removeEventListener) root.removeEventListener("online", this._onOnline);
    clearTimeout(this._timer);
    this._timer = null;
    if (this._ws) {
      var ws = this._ws;
      this._ws = null;
      try { ws.close(); } catch (e) { /* ignore */ }
    }
    this._setState("closed");
  };

  HallStream.prototype._streamURL = function () {
    if (!this.url) return null;
    var u = HallAuth.url(this.url);
    if (this.seq === null) return u;
    return u + (u.indexOf("?") >= 0 ? "&" : "?") + "since=" + encodeURIComponent(this.seq);
  };

  HallStream.prototype._open = function () {
    var self = this;
    clearTimeout(this._timer);
    this._timer = null;
    if (this._closed) return;
    this._setState("connecting");
    var url = this._streamURL();
    var ws;
    try {
      if (!url || !this.WebSocketImpl) throw new Error("no stream endpoint");
      ws = new this.WebSocketImpl(url);
    } catch (e) {
      this._failed();
      return;
    }
    this._ws = ws;
    ws.onopen = function () {
      if (self._ws !== ws) return;
      self._setState("connected");
    };
    ws.onmessage = function (ev) {
      if (self._ws !== ws) return;
      self._message(ev.data);
    };
    ws.onerror = function () { /* onclose follows */ };
    ws.onclose = function () {
      if (self._ws !== ws) return;
      self._ws = null;
      self._failed();
    };
  };

  HallStream.prototype._failed = function () {
    if (this._closed) return;
    var delay = Math.min(this.maxDelay, this.minDelay * Math.pow(2, this.attempt));
    this.attempt++;
    this._setState("disconnected", { delay: delay });
    // With no state at all yet (first load, stream unreachable), try the plain
    // HTTP snapshot so the page can at least show something.
    if (this.seq === null) this._bootstrap();
    var self = this;
    this._timer = setTimeout(function () { self._open(); }, delay);
  };

  HallStream.prototype._reconnectNow = function () {
    if (this._closed || this.state === "connected") return;
    this.attempt = 0;
    this._open();
  };

  // Drop the current socket and reconnect at once with ?since=<seq>.
  HallStream.prototype.resync = function () {
    if (this._ws) {
      var ws = this._ws;
      this._ws = null;
      try { ws.close(); } catch (e) { /* ignore */ }
    }
    this._open();
  };

  HallStream.prototype._bootstrap = function () {
    var self = this;
    if (this._booting || !this.fetchImpl || !this.url) return;
    this._booting = true;
    this.fetchImpl(this.snapshotURL, HallAuth.headers({ headers: { Accept: "application/json" }, cache: "no-store" }))
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (body) {
        if (self.seq === null && body && typeof body.seq === "number" && body.data) {
          self.seq = body.seq;
          self._emit("snapshot", body.data, body.seq);
        }
      })
      .catch(function () { /* the socket retry loop carries on */ })
      .then(function () { self._booting = false; });
  };

  HallStream.prototype._message = function (raw) {
    var msg;
    try { msg = typeof raw === "string" ? JSON.parse(raw) : raw; } catch (e) { return; }
    if (!msg || typeof msg !== "object") return;
    if (this.attempt !== 0) { this.attempt = 0; }
    if (msg.type === "snapshot") {
      this.seq = typeof msg.seq === "number" ? msg.seq : this.seq;
      this._emit("snapshot", msg.data || {}, this.seq);
      return;
    }
    if (msg.type === "event") {
      var ev = msg.event || {};
      var seq = typeof msg.seq === "number" ? msg.seq : ev.seq;
      if (typeof seq !== "number") { this._emit("event", ev, this.seq); return; }
      if (this.seq !== null && seq <= this.seq) return;          // already applied
      if (this.seq !== null && seq !== this.seq + 1) {            // gap: ask again
        this.resync();
        return;
      }
      this.seq = seq;
      this._emit("event", ev, seq);
      return;
    }
    // Events this page's access may not see: the seq moves on, silently.
    if (msg.type === "skip" && typeof msg.seq === "number") {
      if (this.seq !== null && msg.seq > this.seq) this.seq = msg.seq;
    }
  };

  root.HallStream = HallStream;
  if (typeof module !== "undefined" && module.exports) module.exports = HallStream;
})(typeof window !== "undefined" ? window : globalThis);
