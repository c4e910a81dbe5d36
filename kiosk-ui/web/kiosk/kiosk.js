/* halld /kiosk/ — 自助取号终端 */
(function () {
  "use strict";

  var IDLE_MS = 30000;
  var OVERLAY_GRACE_MS = 1000;
  var REQUEST_TIMEOUT_MS = 15000;
  var CARD_MESSAGE_MS = 8000;     // a card or scan message stays this long
  var CARD_NOTE_MS = 6000;        // "证件已取走" stays this long
  var GREETING_MAX_MS = 120000;   // a greeting without a usable expiry
  var TAKE_RETRY_MS = 1000;       // one automatic retry after a network failure
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
    unknown_kiosk: "本机未登记为取号终端，请咨询现场工作人员。",
    no_printer: "打印机暂时无法出票，请咨询现场工作人员。",
    not_found: "未找到该号码的记录，请咨询现场工作人员。",
    rate_limited: "操作过于频繁，请稍后再试。"
  };
  var GENERIC_ERROR = "暂时无法取号，请稍后再试或咨询现场工作人员。";
  var NETWORK_ERROR = "网络连接异常，请稍后再试或咨询现场工作人员。";
  var SCAN_NOT_BOOKING = "未识别到今日的预约码。扫码仅用于预约签到，请在屏幕上选择事项取号，或咨询现场工作人员。";

  // ---------------------------------------------------------------- state
  var state = {
    hall: null,
    services: [],       // in server order
    byId: {},
    tickets: {},        // id -> ticket (from snapshot + events)
    loaded: false,
    screen: "home",
    current: null,      // service id on the guide screen
    result: null,       // ticket on the result screen
    resultKind: "",     // "ticket" (taken here) or "checkin" (appointment)
    taking: false,
    pendingTake: null,  // {service, request_id} of a take whose outcome is unknown
    person: null,       // the citizen whose card is on this kiosk: {greeting, id_last4, …}
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
    return window.HallApi.request(method, url, body, { timeoutMs: REQUEST_TIMEOUT_MS, errorText: ERROR_TEXT,
      networkError: NETWORK_ERROR, failed: function (status) { return GENERIC_ERROR + "（" + status + "）"; } });
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
    updateScrollHints();
  }

  // ---------------------------------------------------------------- search
  // Citizens type pinyin initials (bdc → 不动产登记), full pinyin
  // (budongchan), a mix (bdchan), Chinese (不动产, 登记), or everyday words
  // (公司 → 企业开办, 房子 → 不动产登记). Each service's keys come from
  // halld (services[].search, daemon/search): every name, English name and
  // word spelled per character with its readings, and the materials. A
  // service is found when what was typed runs along one of its terms; names
  // and words first: the materials only when no name or word matches.

  function norm(s) { return str(s).toLowerCase().replace(/\s+/g, ""); }

  // searchQuery is what was typed, as matched: lower case, without spaces
  // and the syllable marks people type (xi'an, ·).
  function searchQuery(s) { return str(s).toLowerCase().replace(/[\s'\u2019\u00b7\u30fb]+/g, ""); }

  // matchSpell tells whether q runs along consecutive entries of spell
  // (["不","bu","fou"], ["动","dong"], …) from any of them: each entry takes
  // its own character, or a non-empty beginning of one of its readings (so
  // "b", "bu" and "bud…" all go through 不, and bdc, budongchan and bdchan
  // all find 不动产).
  function matchSpell(q, spell) {
    if (!q) return true;
    if (!Array.isArray(spell) || !spell.length) return false;
    var memo = {};
    function at(pos, i) {
      if (pos === q.length) return true;
      if (i >= spell.length) return false;
      var key = pos * 512 + i;
      if (memo[key] !== undefined) return memo[key];
      var e = spell[i], ok = false;
      if (Array.isArray(e) && e.length) {
        var own = str(e[0]).toLowerCase();
        if (own && q.substr(pos, own.length) === own && at(pos + own.length, i + 1)) ok = true;
        for (var r = 1; !ok && r < e.length; r++) {
          var rd = str(e[r]);
          for (var k = Math.min(rd.length, q.length - pos); !ok && k >= 1; k--) {
            if (q.substr(pos, k) === rd.substr(0, k) && at(pos + k, i + 1)) ok = true;
          }
        }
      }
      memo[key] = ok;
      return ok;
    }
    for (var i = 0; i < spell.length; i++) if (at(0, i)) return true;
    return false;
  }

  // serviceMatch says how svc matches q: 2 on a name or word (or its
  // letter, area), 1 on a material only, 0 not at all.
  function serviceMatch(svc, q) {
    if (!q) return 2;
    if (q === norm(svc.prefix) || norm(svc.name).indexOf(q) >= 0 || norm(svc.area_name).indexOf(q) >= 0) return 2;
    var keys = svc.search && typeof svc.search === "object" ? svc.search : null;
    if (!keys) {
      // a daemon without search keys: names and materials as text
      if (norm(svc.name_en).indexOf(q) >= 0) return 2;
      var mats = Array.isArray(svc.materials) ? svc.materials : [];
      for (var m = 0; m < mats.length; m++) if (norm(mats[m]).indexOf(q) >= 0) return 1;
      return 0;
    }
    if (str(keys.initials).indexOf(q) >= 0) return 2;
    var terms = Array.isArray(keys.terms) ? keys.terms : [], weak = false;
    for (var i = 0; i < terms.length; i++) {
      var t = terms[i] || {};
      var material = t.kind === "material";
      if (material && weak) continue;
      if (norm(t.text).indexOf(q) >= 0 || matchSpell(q, t.spell)) {
        if (!material) return 2;
        weak = true;
      }
    }
    return weak ? 1 : 0;
  }

  // findServices gives the ids of the services found for what was typed,
  // in server order: those matching by name or word, else by material.
  function findServices(text) {
    var q = searchQuery(text), strong = [], weak = [];
    state.services.forEach(function (svc) {
      var m = serviceMatch(svc, q);
      if (m === 2) strong.push(String(svc.id));
      else if (m === 1) weak.push(String(svc.id));
    });
    return strong.length ? strong : weak;
  }

  function applySearch() {
    var text = $("search").value;
    var q = searchQuery(text);
    $("search-clear").hidden = !q;
    var found = {};
    findServices(text).forEach(function (id) { found[id] = true; });
    var shown = 0;
    state.services.forEach(function (svc) {
      var b = tileEls[String(svc.id)];
      if (!b) return;
      var match = !q || !!found[String(svc.id)];
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
      empty.textContent = "未找到“" + text.trim() + "”相关事项，请换个关键词或咨询现场工作人员。";
      empty.hidden = false;
    } else {
      empty.hidden = true;
    }
    updateScrollHints();
  }

  // ---------------------------------------------------------------- keyboard
  // The kiosk's webview has no system keyboard: tapping the search box
  // brings up the page's own, with letters for pinyin. Its keys keep the
  // focus in the search box (pointerdown does not take it away).

  function keyboardShown() { return !$("osk").hidden; }

  function showKeyboard() {
    if (state.screen !== "home") return;
    if (keyboardShown()) return;
    $("osk").hidden = false;
    $("search").setAttribute("aria-expanded", "true");
    document.body.classList.add("osk-open");
    updateScrollHints();
  }

  function hideKeyboard() {
    if (!keyboardShown()) return;
    $("osk").hidden = true;
    $("search").setAttribute("aria-expanded", "false");
    document.body.classList.remove("osk-open");
    updateScrollHints();
  }

  // typeKey edits the search box as the key says: a letter at the caret,
  // 删除 (backspace), 清空, or 完成 (the keyboard goes).
  function typeKey(key) {
    var input = $("search");
    var v = input.value;
    var focused = document.activeElement === input;
    var a = focused && typeof input.selectionStart === "number" ? input.selectionStart : v.length;
    var b = focused && typeof input.selectionEnd === "number" ? input.selectionEnd : v.length;
    if (key === "done") {
      hideKeyboard();
      input.blur();
      return;
    }
    if (key === "clear") {
      v = ""; a = 0;
    } else if (key === "back") {
      if (a !== b) { v = v.slice(0, a) + v.slice(b); }
      else if (a > 0) { v = v.slice(0, a - 1) + v.slice(a); a--; }
    } else if (/^[a-z]$/.test(key)) {
      v = v.slice(0, a) + key + v.slice(b);
      a++;
    } else {
      return;
    }
    input.value = v;
    if (focused) { try { input.setSelectionRange(a, a); } catch (e) { /* not a text input */ } }
    applySearch();
    $("home-scroll").scrollTop = 0;
  }

  function buildKeyboard() {
    var rows = [
      ["q", "w", "e", "r", "t", "y", "u", "i", "o", "p", "back"],
      ["a", "s", "d", "f", "g", "h", "j", "k", "l", "clear"],
      ["z", "x", "c", "v", "b", "n", "m", "done"]
    ];
    var label = { back: "删除", clear: "清空", done: "完成" };
    var box = $("osk-keys");
    box.textContent = "";
    // A grid of 23 columns: a letter takes two, each row starts one further
    // in (as on a real keyboard), and the row's last key takes the rest.
    rows.forEach(function (row, r) {
      var line = el("div", "osk-row");
      line.setAttribute("data-row", String(r + 1));
      var col = r + 1;
      row.forEach(function (k) {
        var b = el("button", "osk-key" + (label[k] ? " osk-fn osk-" + k : ""), label[k] || k.toUpperCase());
        b.type = "button";
        b.setAttribute("data-key", k);
        if (!label[k]) b.setAttribute("aria-label", "字母 " + k.toUpperCase());
        var span = label[k] ? 24 - col : 2;
        b.style.gridRow = String(r + 1);
        b.style.gridColumn = col + " / span " + span;
        col += span;
        line.appendChild(b);
      });
      box.appendChild(line);
    });
    // Keys keep the focus (and the caret) in the search box.
    box.addEventListener("pointerdown", function (e) { if (e.target.closest(".osk-key")) e.preventDefault(); });
    box.addEventListener("mousedown", function (e) { if (e.target.closest(".osk-key")) e.preventDefault(); });
    box.addEventListener("click", function (e) {
      var k = e.target.closest(".osk-key");
      if (!k) return;
      touch();
      typeKey(k.getAttribute("data-key"));
    });
  }

  // ---------------------------------------------------------------- screens
  function showScreen(name) {
    state.screen = name;
    if (name !== "home") hideKeyboard(); // it belongs to the home screen's search box
    document.body.setAttribute("data-screen", name);
    ["home", "guide", "result"].forEach(function (n) { $("screen-" + n).hidden = n !== name; });
    touch();
    updateIdleNotes();
    updateScrollHints();
  }

  // goHome resets the page. why is "user" (返回 / 完成) or "idle": then the
  // citizen's data is wiped on the daemon too. Without why (a new card or
  // scan arrived) the session stays.
  function goHome(why) {
    if (why === "user" || why === "idle") endSession();
    // 大字模式 is the citizen's choice: it ends with their visit (a ticket
    // taken, or the kiosk left alone), never carried over to the next one.
    if (why === "idle" || (why === "user" && state.screen === "result")) setLarge(false);
    state.current = null;
    state.result = null;
    state.resultKind = "";
    state.pendingTake = null;
    state.reprinting = false;
    $("take-error").hidden = true;
    $("take-error").textContent = "";
    $("search").value = "";
    hideKeyboard();
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
    if (state.current !== id) state.pendingTake = null;
    state.current = id;
    $("take-error").hidden = true;
    hideKeyboard();
    renderGuide();
    showScreen("guide");
    $("guide-scroll").scrollTop = 0;
  }

  function newRequestID() {
    var rnd = "";
    try {
      var a = new Uint32Array(2);
      window.crypto.getRandomValues(a);
      rnd = a[0].toString(36) + a[1].toString(36);
    } catch (e) {
      rnd = Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
    }
    return KIOSK_ID + "-" + Date.now().toString(36) + "-" + rnd;
  }

  function kioskURL(action) {
    return "/api/v1/kiosks/" + encodeURIComponent(KIOSK_ID) + "/" + action;
  }

  // takeTicket takes a number through this kiosk's session, so the daemon
  // applies the card's green channel and masked ID. Each tap gets a fresh
  // request_id; only when the outcome of the last one is unknown (network
  // failure) do the automatic retry and the next tap reuse it, so a number
  // taken by a request whose answer was lost is shown, not taken twice.
  function takeTicket() {
    var svc = state.byId[state.current];
    if (!svc || state.taking || closedReason(svc)) return;
    var p = state.pendingTake;
    if (!p || p.service !== svc.id) p = state.pendingTake = { service: svc.id, request_id: newRequestID() };
    state.taking = true;
    $("take-error").hidden = true;
    updateTakeButton();
    var body = { service: svc.id, request_id: p.request_id };
    api("POST", kioskURL("tickets"), body)
      .catch(function (err) {
        if (err.code !== "network") throw err;
        return new Promise(function (r) { setTimeout(r, TAKE_RETRY_MS); })
          .then(function () { return api("POST", kioskURL("tickets"), body); });
      })
      .then(function (res) {
        state.taking = false;
        state.pendingTake = null;
        updateTakeButton();
        var t = res.ticket || res;
        if (!t || !t.number) throw new Error(GENERIC_ERROR);
        clearPerson(); // the daemon ends the session with the ticket
        showResult(t, "ticket");
      })
      .catch(function (err) {
        state.taking = false;
        if (err.code !== "network") state.pendingTake = null; // answered: the next tap is a new request
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
  var PRIORITY_BADGE = { green: "绿色通道 · 优先办理", appointment: "预约号" };

  // showResult shows a ticket: kind "ticket" (taken here) or "checkin" (an
  // appointment checked in by card or booking code; such a ticket comes from
  // the kiosk session without est_wait_minutes and windows, so they are
  // worked out here from the service, as the daemon does).
  function showResult(t, kind) {
    state.result = t;
    state.resultKind = kind || "ticket";
    state.reprinting = false;
    var svc = state.byId[t.service] || {};
    $("result-title").textContent = state.resultKind === "checkin" ? "预约签到成功" : "取号成功";
    $("result-title").setAttribute("data-kind", state.resultKind);
    $("ticket-number").textContent = str(t.number);
    $("ticket-service").textContent = str(t.service_name || svc.name);
    var prio = PRIORITY_BADGE[t.priority] || "";
    $("ticket-priority").textContent = prio;
    $("ticket-priority").setAttribute("data-priority", str(t.priority));
    $("ticket-priority").hidden = !prio;
    var masked = str(t.masked_id);
    $("ticket-masked").textContent = masked ? "证件尾号 " + masked : "";
    $("ticket-masked").hidden = !masked;
    $("ticket-badges").hidden = !prio && !masked;
    var ahead = num(t.ahead);
    $("ticket-ahead").textContent = ahead === null ? "—" : "前面还有 " + ahead + " 人";
    var svcWins = Array.isArray(svc.windows) ? svc.windows.filter(Boolean) : [];
    var wait = num(t.est_wait_minutes);
    if (wait === null && ahead !== null && num(svc.avg_service_minutes) !== null) {
      var n = Math.max(svcWins.length, 1);
      wait = Math.floor((ahead * svc.avg_service_minutes + n - 1) / n);
    }
    // The ticket's own estimate (halld's rules) says when no window can
    // serve it, and gives a band rather than a point when data are thin.
    var est = t.estimate && typeof t.estimate === "object" ? t.estimate : null;
    if (est && est.servable === false) {
      $("ticket-wait").textContent = str(est.text) || "当前暂无窗口办理，请留意叫号";
    } else if (est && str(est.text)) {
      $("ticket-wait").textContent = str(est.text);
    } else {
      $("ticket-wait").textContent = wait === null ? "—" : (wait <= 0 ? "即将叫号" : "约 " + wait + " 分钟");
    }
    var wins = (Array.isArray(t.windows) ? t.windows : svcWins).filter(Boolean).map(str);
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
    state.notices = Array.isArray(data.notices) ? data.notices.slice() : [];
    setServices(data.services);
    state.tickets = {};
    (Array.isArray(data.tickets) ? data.tickets : []).forEach(function (t) { if (t && t.id !== undefined) state.tickets[t.id] = t; });
    state.loaded = true;
    applyHall();
    renderNotices(); // after applyHall: a notice's end is in the hall's time
    if (state.result && state.tickets[state.result.id] && !state.reprinting) {
      var st = state.tickets[state.result.id].print_status;
      if (st && st !== "pending") { state.result.print_status = st; renderPrint(); }
    }
    refreshServiceViews();
  }

  // The hall's notices meant for kiosks (none named: everywhere).
  function renderNotices() {
    var el = $("hall-notices"), t = Date.now() + (state.clockOffset || 0), texts = [];
    (state.notices || []).forEach(function (n) {
      if (!n || !n.text) return;
      if (Array.isArray(n.where) && n.where.length && n.where.indexOf("kiosk") < 0) return;
      var until = n.until ? Date.parse(n.until) : NaN;
      if (!isNaN(until) && until < t) return;
      texts.push(String(n.text));
    });
    el.textContent = texts.length ? "公告：" + texts.join("　◆　") : "";
    el.hidden = texts.length === 0;
  }

  function onEvent(ev) {
    if (!ev || !ev.type) return;
    var type = ev.type;
    if (type === "notice.posted" || type === "notice.expired") {
      state.notices = (state.notices || []).filter(function (n) { return n && n.id !== ev.id; });
      if (type === "notice.posted") state.notices.push({ id: ev.id, text: ev.text, until: ev.until, where: ev.where });
      renderNotices();
      return;
    }
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

  // ---------------------------------------------------------------- kiosk session
  // This kiosk's own channel: the ID card placed on its reader, codes scanned
  // at its scanner, appointments checked in. Messages carry personal data
  // (a greeting such as 李*, the last four ID characters): they are shown,
  // never stored, and wiped when the session ends.

  function KioskSession(kiosk, onMessage, onState) {
    this.kiosk = kiosk;
    this.onMessage = onMessage;
    this.onState = onState || function () {};
    this.minDelay = 1000;
    this.maxDelay = 5000;
    this.state = "idle";
    this.attempt = 0;
    this._ws = null;
    this._timer = null;
    this._closed = false;
  }
  KioskSession.prototype.url = function () {
    var loc = window.location;
    if (!loc || !loc.host || (loc.protocol !== "http:" && loc.protocol !== "https:")) return null;
    return window.HallAuth.url((loc.protocol === "https:" ? "wss:" : "ws:") + "//" + loc.host +
      "/api/v1/kiosks/" + encodeURIComponent(this.kiosk) + "/session");
  };
  KioskSession.prototype._set = function (st) {
    this.state = st;
    try { this.onState(st, this.attempt); } catch (e) { /* ignore */ }
  };
  KioskSession.prototype.connect = function () {
    var self = this;
    this._closed = false;
    window.addEventListener("online", function () {
      if (self._closed || self.state === "connected" || self.state === "connecting") return;
      self.attempt = 0;
      self._open();
    });
    this._open();
    return this;
  };
  KioskSession.prototype.close = function () {
    this._closed = true;
    clearTimeout(this._timer);
    if (this._ws) { var ws = this._ws; this._ws = null; try { ws.close(); } catch (e) { /* ignore */ } }
    this._set("closed");
  };
  KioskSession.prototype._open = function () {
    var self = this;
    clearTimeout(this._timer);
    this._timer = null;
    if (this._closed) return;
    var url = this.url();
    var ws;
    this._set("connecting");
    try {
      if (!url || !window.WebSocket) throw new Error("no session endpoint");
      ws = new window.WebSocket(url);
    } catch (e) {
      this._failed();
      return;
    }
    this._ws = ws;
    ws.onopen = function () {
      if (self._ws !== ws) return;
      self.attempt = 0;
      self._set("connected");
    };
    ws.onmessage = function (ev) {
      if (self._ws !== ws) return;
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (!msg || typeof msg !== "object" || !msg.type) return;
      try { self.onMessage(msg); } catch (e) { if (window.console) window.console.error("kiosk session", msg.type, e); }
    };
    ws.onerror = function () { /* onclose follows */ };
    ws.onclose = function () {
      if (self._ws !== ws) return;
      self._ws = null;
      self._failed();
    };
  };
  KioskSession.prototype._failed = function () {
    if (this._closed) return;
    var delay = Math.min(this.maxDelay, this.minDelay * Math.pow(2, this.attempt));
    this.attempt++;
    this._set("disconnected");
    var self = this;
    this._timer = setTimeout(function () { self._open(); }, delay);
  };

  var personTimer = null, noteTimer = null, messageTimer = null;

  function showPerson(p, expires) {
    if (!p || typeof p !== "object") return;
    state.person = { greeting: str(p.greeting), id_last4: str(p.id_last4) };
    var hello = state.person.greeting ? state.person.greeting + "，您好" : "您好";
    $("greeting-hello").textContent = hello;
    var sub = $("greeting-sub");
    sub.textContent = "";
    sub.appendChild(el("span", "g-last4", state.person.id_last4 ? "证件尾号 " + state.person.id_last4 : "已读取您的证件"));
    sub.appendChild(el("span", "g-hint", "请选择事项取号，号票将显示证件尾号"));
    hideNote();
    $("greeting").hidden = false;
    // The daemon wipes the session at its time limit and says so; should that
    // message be missed (socket down), the greeting goes by itself. The
    // expiry is the daemon's clock: trusted only when it looks sane here.
    var left = expires ? Date.parse(expires) - Date.now() : NaN;
    if (!(left > 1000 && left < 30 * 60000)) left = GREETING_MAX_MS;
    clearTimeout(personTimer);
    personTimer = setTimeout(clearPerson, left);
  }

  function clearPerson() {
    clearTimeout(personTimer);
    personTimer = null;
    state.person = null;
    hideNote();
    $("greeting").hidden = true;
    $("greeting-hello").textContent = "";
    $("greeting-sub").textContent = "";
  }

  function showNote(text) {
    if ($("greeting").hidden) return; // nothing to annotate
    $("greeting-note").textContent = text;
    $("greeting-note").hidden = false;
    clearTimeout(noteTimer);
    noteTimer = setTimeout(hideNote, CARD_NOTE_MS);
  }
  function hideNote() {
    clearTimeout(noteTimer);
    noteTimer = null;
    $("greeting-note").hidden = true;
    $("greeting-note").textContent = "";
  }

  function showCardMessage(text) {
    text = str(text).trim();
    if (!text) return;
    var box = $("card-message");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(messageTimer);
    messageTimer = setTimeout(hideCardMessage, CARD_MESSAGE_MS);
  }
  function hideCardMessage() {
    clearTimeout(messageTimer);
    messageTimer = null;
    $("card-message").hidden = true;
    $("card-message").textContent = "";
  }

  function errorText(e) {
    if (!e || typeof e !== "object") return "";
    return str(e.message) || ERROR_TEXT[e.code] || "证件或条码暂时无法识别，请重试或咨询现场工作人员。";
  }

  function onSessionMessage(msg) {
    touch();
    switch (msg.type) {
      case "card":
        // A new citizen: whatever the last one left on screen goes.
        if (state.screen === "result") goHome();
        hideCardMessage();
        showPerson(msg.person, msg.expires);
        if (msg.error) showCardMessage(errorText(msg.error));
        break;
      case "checked_in":
        hideCardMessage();
        clearPerson();
        if (msg.ticket && msg.ticket.number) {
          if (state.tickets[msg.ticket.id]) {
            // the stream may already know how printing went
            var known = state.tickets[msg.ticket.id];
            if (known.print_status && known.print_status !== "pending" && (!msg.ticket.print_status || msg.ticket.print_status === "pending")) {
              msg.ticket.print_status = known.print_status;
            }
          }
          $("search").value = "";
          applySearch();
          showResult(msg.ticket, "checkin");
        }
        break;
      case "card_error":
        // Someone is at the reader now: a greeting for an earlier card must
        // not stay, nor its session (its green channel and masked ID would
        // go on the next ticket taken here), so it is wiped.
        if (msg.person || state.person) endSession();
        showCardMessage(errorText(msg.error) || "证件读取失败，请重新放置证件。");
        break;
      case "scan":
        if (msg.error) {
          showCardMessage(errorText(msg.error));
          break;
        }
        // Not a booking code of today. What was scanned is not typed into
        // the search box (it is rarely a service's name, and may be a
        // citizen's data): the citizen is told what the scanner is for.
        if (!str(msg.text).trim()) break;
        showCardMessage(SCAN_NOT_BOOKING);
        break;
      case "card_removed":
        showNote("证件已取走");
        break;
      case "session_end":
        clearPerson();
        break;
    }
  }

  // endSession wipes the citizen's data here and asks the daemon to wipe it.
  function endSession() {
    clearPerson();
    api("POST", kioskURL("end"), {}).catch(function () {
      /* the daemon's own time limit wipes it anyway */
    });
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
      if (idle >= IDLE_MS) goHome("idle");
    } else if (idle >= IDLE_MS && ($("search").value || keyboardShown() || state.person || document.body.classList.contains("large"))) {
      if (state.person) endSession(); // a card left on an idle kiosk: wipe it
      setLarge(false);
      hideKeyboard();
      $("search").value = "";
      applySearch();
      $("home-scroll").scrollTop = 0;
      if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
    }
    updateIdleNotes();
  }

  // ---------------------------------------------------------------- scroll hints
  // A screen whose content runs on below its visible part says so, so a
  // citizen never misses a service or a line hidden under the action bar.
  function updateScrollHints() {
    var screens = document.querySelectorAll(".screen");
    for (var i = 0; i < screens.length; i++) {
      var sc = screens[i], box = sc.querySelector(".screen-scroll"), hint = sc.querySelector("[data-scroll-hint]");
      if (!box || !hint) continue;
      var more = !sc.hidden && box.scrollHeight - box.clientHeight - box.scrollTop > 70;
      if (hint.hidden === more) hint.hidden = !more;
      var bar = sc.querySelector(".action-bar"), osk = sc.querySelector(".osk");
      var bottom = (bar ? bar.offsetHeight : 0) + (osk && !osk.hidden ? osk.offsetHeight : 0) + 14 + "px";
      if (hint.style.bottom !== bottom) hint.style.bottom = bottom;
    }
  }

  // ---------------------------------------------------------------- large text
  function setLarge(on) {
    document.body.classList.toggle("large", on);
    $("large-text-toggle").setAttribute("aria-pressed", on ? "true" : "false");
    $("large-text-toggle").textContent = on ? "大字模式：开" : "大字模式";
    updateScrollHints();
  }

  // ---------------------------------------------------------------- wiring
  ["pointerdown", "touchstart", "keydown", "input", "wheel", "scroll"].forEach(function (t) {
    document.addEventListener(t, touch, { capture: true, passive: true });
  });
  document.addEventListener("contextmenu", function (e) { e.preventDefault(); });

  buildKeyboard();
  $("search").addEventListener("input", applySearch);
  $("search").addEventListener("focus", showKeyboard);
  $("search").addEventListener("pointerdown", showKeyboard);
  $("search").addEventListener("keydown", function (e) { if (e.key === "Enter") { hideKeyboard(); e.target.blur(); } });
  $("search-clear").addEventListener("click", function () { $("search").value = ""; applySearch(); $("search").focus(); showKeyboard(); });
  $("take-ticket").addEventListener("click", takeTicket);
  $("reprint").addEventListener("click", reprint);
  Array.prototype.forEach.call(document.querySelectorAll("[data-action=home]"), function (b) {
    b.addEventListener("click", function () { goHome("user"); });
  });
  $("large-text-toggle").addEventListener("click", function () { setLarge(!document.body.classList.contains("large")); });

  $("kiosk-id").textContent = "终端 " + KIOSK_ID;
  // Each visit starts in normal text (an earlier version kept 大字模式 in
  // localStorage, so it outlived the citizen who chose it).
  try { window.localStorage.removeItem(LARGE_KEY); } catch (e) { /* private mode */ }
  setLarge(false);
  showScreen("home");
  applySearch();
  tickClock();
  setInterval(function () { tickClock(); idleTick(); updateScrollHints(); }, 1000);
  document.addEventListener("scroll", updateScrollHints, { capture: true, passive: true });
  window.addEventListener("resize", updateScrollHints);

  var stream = new window.HallStream();
  stream.onSnapshot(onSnapshot).onEvent(onEvent).onStatus(onStatus).connect();
  setInterval(renderNotices, 30000); // a notice goes at its end without waiting for an event

  var session = new KioskSession(KIOSK_ID, onSessionMessage, function (st) {
    document.body.setAttribute("data-session", st);
  }).connect();

  // For tests and field debugging.
  window.halldKiosk = { state: state, stream: stream, session: session, goHome: goHome, kiosk: KIOSK_ID,
    findServices: findServices, matchSpell: matchSpell };
})();
