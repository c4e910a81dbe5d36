/* halld /kiosk/ — 自助取号终端 */
(function () {
  "use strict";

  var IDLE_MS = 30000;
  var OVERLAY_GRACE_MS = 1000;
  var REQUEST_TIMEOUT_MS = 15000;
  var LARGE_KEY = "halld.kiosk.large";

  var params = new URLSearchParams(window.location.search);
  var KIOSK_ID = (params.get("kiosk") || "kiosk-1").trim() || "kiosk-1";
  // ?idle=SECONDS overrides the return-to-home timeout (tests, field tuning);
  // never under 3 s, so a citizen can still read the screen.
  var idleOverride = Number(params.get("idle"));
  if (isFinite(idleOverride) && idleOverride > 0) IDLE_MS = Math.max(3, idleOverride) * 1000;

  var ERROR_TEXT = {
    service_closed: "该事项当前暂停取号，请咨询现场工作人员。",
    hall_closed: "当前为非办公时间，暂停取号。",
    over_cap: "该事项今日号源已取完，请改日再来或咨询现场工作人员。",
    unknown_service: "未找到该事项，请返回首页重新选择。",
    no_printer: "打印机暂时无法出票，请咨询现场工作人员。",
    not_found: "未找到该号码的记录，请咨询现场工作人员。",
    rate_limited: "操作过于频繁，请稍后再试。"
  };
  var GENERIC_ERROR = "暂时无法取号，请稍后再试或咨询现场工作人员。";
  var NETWORK_ERROR = "网络连接异常，请稍后再试或咨询现场工作人员。";

  // ---------------------------------------------------------------- state
  var state = {
    hall: null,
    services: [],       // in server order
    byId: {},
    tickets: {},        // id -> ticket (from snapshot + events)
    loaded: false,
    screen: "home",
    current: null,      // service id on the guide screen
    result: null,       // ticket returned by POST /api/v1/tickets
    taking: false,
    reprinting: false,
    clockOffset: 0,
    lastActivity: Date.now()
  };

  // ---------------------------------------------------------------- helpers
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function num(v) { return typeof v === "number" && isFinite(v) ? v : null; }
  function str(v) { return v === undefined || v === null ? "" : String(v); }

  function api(method, url, body) {
    var ctl = typeof AbortController !== "undefined" ? new AbortController() : null;
    var timer = ctl ? setTimeout(function () { ctl.abort(); }, REQUEST_TIMEOUT_MS) : null;
    var init = { method: method, headers: { "Accept": "application/json" }, cache: "no-store" };
    if (ctl) init.signal = ctl.signal;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!r.ok || (data && data.error)) {
          var e = data && data.error ? data.error : {};
          var err = new Error(e.message || ERROR_TEXT[e.code] || (GENERIC_ERROR + "（" + r.status + "）"));
          err.code = e.code || ("http_" + r.status);
          throw err;
        }
        return data || {};
      });
    }, function () {
      var err = new Error(NETWORK_ERROR);
      err.code = "network";
      throw err;
    }).then(function (v) { clearTimeout(timer); return v; },
            function (e) { clearTimeout(timer); throw e; });
  }

  // ---------------------------------------------------------------- clock
  var fmtTime, fmtDate;
  try {
    fmtTime = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false });
    fmtDate = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", year: "numeric", month: "long", day: "numeric", weekday: "long" });
  } catch (e) {
    fmtTime = new Intl.DateTimeFormat("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false });
    fmtDate = new Intl.DateTimeFormat("zh-CN", { year: "numeric", month: "long", day: "numeric", weekday: "long" });
  }
  function tickClock() {
    var now = new Date(Date.now() + state.clockOffset);
    $("clock-time").textContent = fmtTime.format(now);
    $("clock-date").textContent = fmtDate.format(now).replace(/日(星期)/, "日 $1");
  }

  // ---------------------------------------------------------------- services
  function hallOpen() { return !state.hall || state.hall.open !== false; }

  function closedReason(svc) {
    if (!svc) return "暂停取号";
    if (!hallOpen()) return "暂停取号";
    if (svc.open === false) return "暂停取号";
    if (svc.cap_left === 0) return "今日号已取完";
    return "";
  }

  function setServices(list) {
    state.services = Array.isArray(list) ? list.slice() : [];
    state.byId = {};
    state.services.forEach(function (s) { if (s && s.id !== undefined) state.byId[s.id] = s; });
  }

  var tileEls = {}; // service id -> tile element

  function buildTile(svc) {
    var b = el("button", "service-tile");
    b.type = "button";
    b.setAttribute("data-service", svc.id);
    b.appendChild(el("span", "tile-prefix"));
    b.appendChild(el("span", "tile-name"));
    b.appendChild(el("span", "tile-area"));
    var foot = el("span", "tile-foot");
    var w = el("span", "tile-waiting");
    w.appendChild(document.createTextNode("等候"));
    w.appendChild(el("strong", "tile-waiting-n", "0"));
    w.appendChild(document.createTextNode("人"));
    foot.appendChild(w);
    foot.appendChild(el("span", "tile-cap"));
    foot.appendChild(el("span", "tile-closed-label", "暂停取号"));
    b.appendChild(foot);
    b.addEventListener("click", function () { showGuide(svc.id); });
    return b;
  }

  function updateTile(b, svc) {
    var reason = closedReason(svc);
    b.classList.toggle("closed", !!reason);
    b.querySelector(".tile-prefix").textContent = str(svc.prefix) || "·";
    b.querySelector(".tile-name").textContent = str(svc.name) || str(svc.id);
    b.querySelector(".tile-area").textContent = svc.area ? "办理地点：" + (str(svc.area_name) || svc.area) : "";
    b.querySelector(".tile-waiting-n").textContent = String(num(svc.waiting) || 0);
    var cap = num(svc.cap_left);
    b.querySelector(".tile-cap").textContent = (!reason && cap !== null && cap <= 20) ? "余号 " + cap : "";
    b.querySelector(".tile-closed-label").textContent = reason || "暂停取号";
    var label = (str(svc.name)) + "，" + (reason ? reason : "等候 " + (num(svc.waiting) || 0) + " 人");
    b.setAttribute("aria-label", label);
  }

  function renderTiles() {
    var grid = $("service-grid");
    var seen = {};
    state.services.forEach(function (svc, i) {
      var id = String(svc.id);
      seen[id] = true;
      var b = tileEls[id];
      if (!b) { b = tileEls[id] = buildTile(svc); }
      updateTile(b, svc);
      // Keep DOM order equal to server order without touching stable tiles.
      if (grid.children[i] !== b) grid.insertBefore(b, grid.children[i] || null);
    });
    Object.keys(tileEls).forEach(function (id) {
      if (!seen[id]) { tileEls[id].remove(); delete tileEls[id]; }
    });
    applySearch();
  }

  function norm(s) { return str(s).toLowerCase().replace(/\s+/g, ""); }

  function applySearch() {
    var q = norm($("search").value);
    $("search-clear").hidden = !q;
    var shown = 0;
    state.services.forEach(function (svc) {
      var b = tileEls[String(svc.id)];
      if (!b) return;
      var hay = norm(svc.name) + "|" + norm(svc.prefix) + "|" + norm(svc.area) + "|" + norm(svc.area_name) + "|" + norm(svc.id);
      var match = !q || hay.indexOf(q) >= 0;
      b.hidden = !match;
      if (match) shown++;
    });
    var empty = $("services-empty");
    if (!state.loaded) {
      empty.textContent = "正在加载办事事项…";
      empty.hidden = false;
    } else if (!state.services.length) {
      empty.textContent = "暂无可办理的事项，请咨询现场工作人员。";
      empty.hidden = false;
    } else if (!shown) {
      empty.textContent = "未找到“" + $("search").value.trim() + "”相关事项，请换个关键词或咨询现场工作人员。";
      empty.hidden = false;
    } else {
      empty.hidden = true;
    }
  }

  // ---------------------------------------------------------------- screens
  function showScreen(name) {
    state.screen = name;
    document.body.setAttribute("data-screen", name);
    ["home", "guide", "result"].forEach(function (n) { $("screen-" + n).hidden = n !== name; });
    touch();
    updateIdleNotes();
  }

  function goHome() {
    state.current = null;
    state.result = null;
    state.reprinting = false;
    $("take-error").hidden = true;
    $("take-error").textContent = "";
    $("search").value = "";
    applySearch();
    if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
    showScreen("home");
    $("home-scroll").scrollTop = 0;
  }

  // ---------------------------------------------------------------- guide
  function materialItem(m) {
    var li = el("li");
    if (m && typeof m === "object") {
      li.appendChild(document.createTextNode(str(m.name || m.title || m.label)));
      var notes = [];
      if (m.form) notes.push(str(m.form));
      if (num(m.copies)) notes.push(m.copies + " 份");
      if (m.required === false) notes.push("非必需");
      if (m.note) notes.push(str(m.note));
      if (notes.length) li.appendChild(el("span", "m-note", notes.join("，")));
    } else {
      li.textContent = str(m);
    }
    return li;
  }

  function promisedText(p) {
    if (p === 0 || p === "0") return "即办件，当场办结";
    if (typeof p === "number") return p + " 个工作日";
    return str(p) || "—";
  }

  function renderGuide() {
    var svc = state.byId[state.current];
    if (!svc) return;
    $("guide-prefix").textContent = str(svc.prefix) || "·";
    $("guide-name").textContent = str(svc.name);

    var ul = $("guide-materials");
    ul.textContent = "";
    var mats = Array.isArray(svc.materials) ? svc.materials : (svc.materials ? [svc.materials] : []);
    if (!mats.length) {
      ul.appendChild(el("li", null, "本事项无需提交纸质材料，请携带本人有效身份证件。"));
    } else {
      mats.forEach(function (m) { ul.appendChild(materialItem(m)); });
    }

    var tol = $("guide-tolerance");
    tol.textContent = "";
    var t = svc.tolerance;
    var tolText = "";
    if (typeof t === "string" && t.trim()) tolText = t.trim();
    else if (Array.isArray(t) && t.length) tolText = "以下材料暂缺时可先受理、后补正：" + t.map(str).join("、");
    else if (t === true) tolText = "次要材料暂时欠缺的，可先行受理，在规定时间内补齐即可。";
    if (tolText) {
      tol.className = "tolerance";
      tol.appendChild(el("strong", null, "容缺受理："));
      tol.appendChild(document.createTextNode(tolText));
    } else {
      tol.className = "tolerance no";
      tol.appendChild(el("strong", null, "容缺受理："));
      tol.appendChild(document.createTextNode("本事项暂不适用容缺受理，请备齐上述材料。"));
    }

    $("guide-promised").textContent = promisedText(svc.promised_time);
    $("guide-area").textContent = str(svc.area_name) || str(svc.area) || "请咨询现场工作人员";
    var w = num(svc.waiting) || 0;
    $("guide-waiting").textContent = w + " 人";
    var cap = num(svc.cap_left);
    $("guide-cap-row").hidden = cap === null;
    $("guide-cap").textContent = cap === null ? "" : cap + " 个";
    var cond = svc.conditions;
    $("guide-conditions").textContent = Array.isArray(cond) ? cond.map(str).join("\n") : (str(cond) || "无特殊条件。");
    updateTakeButton();
  }

  function updateTakeButton() {
    var btn = $("take-ticket");
    var svc = state.byId[state.current];
    var reason = svc ? closedReason(svc) : "暂停取号";
    if (state.taking) {
      btn.disabled = true;
      btn.textContent = "正在取号…";
    } else if (reason) {
      btn.disabled = true;
      btn.textContent = reason;
    } else {
      btn.disabled = false;
      btn.textContent = "取号";
    }
  }

  function showGuide(id) {
    if (!state.byId[id]) return;
    state.current = id;
    $("take-error").hidden = true;
    renderGuide();
    showScreen("guide");
    $("guide-scroll").scrollTop = 0;
  }

  function takeTicket() {
    var svc = state.byId[state.current];
    if (!svc || state.taking || closedReason(svc)) return;
    state.taking = true;
    $("take-error").hidden = true;
    updateTakeButton();
    api("POST", "/api/v1/tickets", { service: svc.id, channel: "kiosk", kiosk: KIOSK_ID, priority: "normal" })
      .then(function (body) {
        state.taking = false;
        updateTakeButton();
        var t = body.ticket || body;
        if (!t || !t.number) throw new Error(GENERIC_ERROR);
        showResult(t);
      })
      .catch(function (err) {
        state.taking = false;
        updateTakeButton();
        if (state.screen !== "guide") return;
        var box = $("take-error");
        box.textContent = err.message || GENERIC_ERROR;
        box.hidden = false;
        box.scrollIntoView({ block: "nearest" });
        touch();
      });
  }

  // ---------------------------------------------------------------- result
  function showResult(t) {
    state.result = t;
    var svc = state.byId[t.service] || {};
    $("ticket-number").textContent = str(t.number);
    $("ticket-service").textContent = str(t.service_name || svc.name);
    var ahead = num(t.ahead);
    $("ticket-ahead").textContent = ahead === null ? "—" : "前面还有 " + ahead + " 人";
    var wait = num(t.est_wait_minutes);
    $("ticket-wait").textContent = wait === null ? "—" : (wait <= 0 ? "即将叫号" : "约 " + wait + " 分钟");
    var wins = Array.isArray(t.windows) ? t.windows.filter(Boolean).map(str) : [];
    var wbox = $("ticket-windows");
    wbox.textContent = "";
    if (!wins.length) wbox.textContent = "留意叫号";
    wins.forEach(function (w, i) {
      if (i) wbox.appendChild(document.createTextNode("、"));
      wbox.appendChild(el("span", "nowrap", w));
    });
    renderPrint();
    showScreen("result");
  }

  function renderPrint() {
    var t = state.result;
    if (!t) return;
    var box = $("print-status");
    var icon = box.querySelector(".ps-icon");
    var text = $("print-status-text");
    var sub = $("print-status-sub");
    var btn = $("reprint");
    var st = state.reprinting ? "pending" : (t.print_status || "pending");
    box.setAttribute("data-status", st);
    if (state.reprinting) {
      icon.textContent = "…";
      text.textContent = "正在补打小票…";
      sub.textContent = "";
      btn.hidden = false;
      btn.disabled = true;
      btn.textContent = "正在补打…";
    } else if (st === "printed") {
      icon.textContent = "✓";
      text.textContent = "小票已打印，请从出票口取走";
      sub.textContent = "";
      btn.hidden = true;
      btn.textContent = "补打小票";
    } else if (st === "failed") {
      icon.textContent = "!";
      text.textContent = "打印机暂时无法出票，请记住您的号码";
      var msg = t.print_error && t.print_error.message ? str(t.print_error.message) : "";
      sub.textContent = (msg ? msg + "。" : "") + "可点击「补打小票」重试，或凭号码等候叫号。";
      btn.hidden = false;
      btn.disabled = false;
      btn.textContent = "补打小票";
    } else {
      icon.textContent = "…";
      text.textContent = "正在打印小票…";
      sub.textContent = "";
      btn.hidden = true;
    }
  }

  function reprint() {
    var t = state.result;
    if (!t || !t.id || state.reprinting) return;
    state.reprinting = true;
    renderPrint();
    api("POST", "/api/v1/tickets/" + encodeURIComponent(t.id) + "/reprint", { kiosk: KIOSK_ID })
      .then(function (body) {
        state.reprinting = false;
        if (state.result !== t) return;
        var nt = body.ticket || body;
        t.print_status = nt.print_status || "printed";
        t.printed_by = nt.printed_by !== undefined ? nt.printed_by : t.printed_by;
        t.print_error = nt.print_error || null;
        renderPrint();
        touch();
      })
      .catch(function (err) {
        state.reprinting = false;
        if (state.result !== t) return;
        t.print_status = "failed";
        t.print_error = { code: err.code, message: err.message };
        renderPrint();
        touch();
      });
  }

  function patchPrint(ticketId, status, printer, error) {
    var known = state.tickets[ticketId];
    if (known) {
      known.print_status = status;
      if (printer) known.printed_by = printer;
    }
    var t = state.result;
    if (t && t.id === ticketId && !state.reprinting) {
      t.print_status = status;
      if (printer) t.printed_by = printer;
      t.print_error = error;
      renderPrint();
    }
  }

  // ---------------------------------------------------------------- stream
  var STATUS_BY_EVENT = { "ticket.called": "called", "ticket.serving": "serving", "ticket.done": "done", "ticket.no_show": "no_show" };

  function upsertTicket(t, isNew) {
    if (!t || t.id === undefined) return;
    var prev = state.tickets[t.id];
    var wasWaiting = prev ? (prev.status || "waiting") === "waiting" : false;
    var merged = prev ? Object.assign({}, prev, t) : Object.assign({}, t);
    state.tickets[t.id] = merged;
    var isWaiting = (merged.status || "waiting") === "waiting";
    var svc = state.byId[merged.service];
    if (!svc) return;
    var w = (num(svc.waiting) || 0) + (isWaiting ? 1 : 0) - (wasWaiting ? 1 : 0);
    svc.waiting = Math.max(0, w);
    if (!prev && isNew && num(svc.cap_left) !== null) svc.cap_left = Math.max(0, svc.cap_left - 1);
  }

  function onSnapshot(data) {
    data = data || {};
    state.hall = data.hall || state.hall;
    setServices(data.services);
    state.tickets = {};
    (Array.isArray(data.tickets) ? data.tickets : []).forEach(function (t) { if (t && t.id !== undefined) state.tickets[t.id] = t; });
    state.loaded = true;
    applyHall();
    if (state.result && state.tickets[state.result.id] && !state.reprinting) {
      var st = state.tickets[state.result.id].print_status;
      if (st && st !== "pending") { state.result.print_status = st; renderPrint(); }
    }
    refreshServiceViews();
  }

  function onEvent(ev) {
    if (!ev || !ev.type) return;
    var type = ev.type;
    if (type === "ticket.issued") {
      upsertTicket(ev.ticket, true);
    } else if (type === "ticket.printed") {
      patchPrint(ev.ticket_id, "printed", ev.printer, null);
      return;
    } else if (type === "ticket.print_failed") {
      patchPrint(ev.ticket_id, "failed", null, { code: ev.code, message: ev.message });
      return;
    } else if (type.indexOf("ticket.") === 0) {
      if (ev.ticket && ev.ticket.id !== undefined) upsertTicket(ev.ticket, false);
      else if (ev.ticket_id !== undefined && state.tickets[ev.ticket_id] && STATUS_BY_EVENT[type]) {
        upsertTicket({ id: ev.ticket_id, status: STATUS_BY_EVENT[type] }, false);
      } else return;
    } else if (type.indexOf("service.") === 0 && ev.service && typeof ev.service === "object" && state.byId[ev.service.id]) {
      Object.assign(state.byId[ev.service.id], ev.service);
    } else if (type.indexOf("hall.") === 0 && ev.hall && typeof ev.hall === "object") {
      state.hall = Object.assign({}, state.hall || {}, ev.hall);
      applyHall();
    } else {
      return; // device.* and others: nothing to show on the kiosk
    }
    refreshServiceViews();
  }

  function refreshServiceViews() {
    renderTiles();
    if (state.screen === "guide" && state.current !== null) {
      if (state.byId[state.current]) renderGuideLive();
      else updateTakeButton();
    }
  }

  // Live refresh on the guide screen: only the numbers, so nothing jumps.
  function renderGuideLive() {
    var svc = state.byId[state.current];
    $("guide-waiting").textContent = (num(svc.waiting) || 0) + " 人";
    var cap = num(svc.cap_left);
    $("guide-cap-row").hidden = cap === null;
    $("guide-cap").textContent = cap === null ? "" : cap + " 个";
    updateTakeButton();
  }

  function applyHall() {
    var h = state.hall || {};
    if (h.name) {
      $("hall-name").textContent = h.name;
      document.title = "自助取号 · " + h.name;
    }
    if (h.hotline) $("hotline").textContent = h.hotline;
    $("hall-closed").hidden = h.open !== false;
    if (h.now) {
      var t = Date.parse(h.now);
      if (!isNaN(t)) state.clockOffset = t - Date.now();
      tickClock();
    }
  }

  var overlayTimer = null;
  function onStatus(st) {
    var overlay = $("conn-overlay");
    if (st.state === "connected") {
      clearTimeout(overlayTimer);
      overlayTimer = null;
      overlay.hidden = true;
      return;
    }
    if (overlay.hidden && !overlayTimer) {
      overlayTimer = setTimeout(function () {
        overlayTimer = null;
        if (stream.state !== "connected") overlay.hidden = false;
      }, OVERLAY_GRACE_MS);
    }
  }

  // ---------------------------------------------------------------- idle
  function touch() { state.lastActivity = Date.now(); }

  function updateIdleNotes() {
    var left = Math.max(0, Math.ceil((IDLE_MS - (Date.now() - state.lastActivity)) / 1000));
    var text = state.screen === "home" ? "" : left + " 秒后自动返回首页";
    var notes = document.querySelectorAll("[data-idle-note]");
    for (var i = 0; i < notes.length; i++) notes[i].textContent = text;
  }

  function idleTick() {
    var busy = state.taking || state.reprinting;
    if (busy) touch();
    var idle = Date.now() - state.lastActivity;
    if (state.screen !== "home") {
      if (idle >= IDLE_MS) goHome();
    } else if (idle >= IDLE_MS && $("search").value) {
      $("search").value = "";
      applySearch();
      $("home-scroll").scrollTop = 0;
      if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
    }
    updateIdleNotes();
  }

  // ---------------------------------------------------------------- large text
  function setLarge(on) {
    document.body.classList.toggle("large", on);
    $("large-text-toggle").setAttribute("aria-pressed", on ? "true" : "false");
    $("large-text-toggle").textContent = on ? "大字模式：开" : "大字模式";
    try { window.localStorage.setItem(LARGE_KEY, on ? "1" : "0"); } catch (e) { /* private mode */ }
  }
  function loadLarge() {
    try { return window.localStorage.getItem(LARGE_KEY) === "1"; } catch (e) { return false; }
  }

  // ---------------------------------------------------------------- wiring
  ["pointerdown", "touchstart", "keydown", "input", "wheel", "scroll"].forEach(function (t) {
    document.addEventListener(t, touch, { capture: true, passive: true });
  });
  document.addEventListener("contextmenu", function (e) { e.preventDefault(); });

  $("search").addEventListener("input", applySearch);
  $("search").addEventListener("keydown", function (e) { if (e.key === "Enter") e.target.blur(); });
  $("search-clear").addEventListener("click", function () { $("search").value = ""; applySearch(); $("search").focus(); });
  $("take-ticket").addEventListener("click", takeTicket);
  $("reprint").addEventListener("click", reprint);
  Array.prototype.forEach.call(document.querySelectorAll("[data-action=home]"), function (b) {
    b.addEventListener("click", goHome);
  });
  $("large-text-toggle").addEventListener("click", function () { setLarge(!document.body.classList.contains("large")); });

  $("kiosk-id").textContent = "终端 " + KIOSK_ID;
  setLarge(loadLarge());
  showScreen("home");
  applySearch();
  tickClock();
  setInterval(function () { tickClock(); idleTick(); }, 1000);

  var stream = new window.HallStream();
  stream.onSnapshot(onSnapshot).onEvent(onEvent).onStatus(onStatus).connect();

  // For tests and field debugging.
  window.halldKiosk = { state: state, stream: stream, goHome: goHome, kiosk: KIOSK_ID };
})();
