/* halld /window/{id}/ — 窗口叫号（工作人员呼叫端） */
(function () {
  "use strict";

  var OVERLAY_GRACE_MS = 2000;
  var REFETCH_MS = 300;              // debounce of GET /api/v1/windows/{id} after events
  var POLL_MS = 20000;               // and a slow poll, so waited minutes stay right
  var REQUEST_TIMEOUT_MS = 15000;
  var RATING_SHOW_MS = 10000;        // a rating stays on screen this long
  var RATING_TIMEOUT_SHOW_MS = 5000;
  var RATING_WAIT_MAX_MS = 5 * 60000; // give up waiting for a rating event

  var PRIORITY_TEXT = { green: "绿色通道", appointment: "预约" };
  var BAD_LEVELS = { "不满意": true, "非常不满意": true };
  var NETWORK_ERROR = "网络连接失败，请检查网络后重试。";

  // ---------------------------------------------------------------- window id
  function windowIdFromLocation() {
    var m = /\/window\/([^\/]+)\/?$/.exec(window.location.pathname || "");
    var id = "";
    if (m) {
      try { id = decodeURIComponent(m[1]); } catch (e) { id = m[1]; }
      if (/^index\.html?$/i.test(id)) id = "";
    }
    if (!id) id = (new URLSearchParams(window.location.search).get("id") || "").trim();
    return id;
  }
  var WINDOW_ID = windowIdFromLocation();


  // ---------------------------------------------------------------- state
  var state = {
    hall: null,
    services: [],
    windows: [],           // from the snapshot (transfer targets, names)
    win: null,             // this window
    winFromAPI: false,     // GET /api/v1/windows/{id} answered at least once
    queue: [],
    held: [],
    staff: null,           // [{id,name,title,windows}] or null while unknown
    tickets: {},           // id -> ticket (recalls, visit, service)
    busy: false,
    missing: false,        // the window does not exist
    clockOffset: 0,
    rating: null           // {ticket_id, number, visit, phase:"waiting"|"done"|"timeout", level, reasons, bad, until}
  };

  // ---------------------------------------------------------------- helpers
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function str(v) { return v === undefined || v === null ? "" : String(v); }
  function num(v) { return typeof v === "number" && isFinite(v) ? v : null; }
  function setText(node, text) { text = str(text); if (node.textContent !== text) node.textContent = text; }
  function now() { return Date.now() + state.clockOffset; }
  function parseTs(ts) {
    if (ts === undefined || ts === null || ts === "") return NaN;
    if (typeof ts === "number") return ts > 1e12 ? ts : ts * 1000;
    return Date.parse(ts);
  }
  function fmt(opts) {
    try { return new Intl.DateTimeFormat("zh-CN", Object.assign({ timeZone: "Asia/Shanghai" }, opts)); }
    catch (e) { return new Intl.DateTimeFormat("zh-CN", opts); }
  }
  var fmtClock = fmt({ hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  var fmtHM = fmt({ hour: "2-digit", minute: "2-digit", hour12: false });
  function clockOf(ts) { var t = parseTs(ts); return isNaN(t) ? "" : fmtClock.format(new Date(t)); }
  function hmOf(ts) { var t = parseTs(ts); return isNaN(t) ? "" : fmtHM.format(new Date(t)); }
  function elapsed(ts) {
    var t = parseTs(ts);
    if (isNaN(t)) return "";
    var s = Math.max(0, Math.floor((now() - t) / 1000));
    if (s < 60) return s + " 秒";
    if (s < 3600) return Math.floor(s / 60) + " 分 " + (s % 60) + " 秒";
    return Math.floor(s / 3600) + " 小时 " + Math.floor((s % 3600) / 60) + " 分";
  }
  function windowLabel(w) {
    if (!w) return "";
    if (w.number !== undefined && w.number !== null && w.number !== "") return w.number + "号窗口";
    return str(w.name) || str(w.id);
  }
  function windowById(id) {
    if (state.win && state.win.id === id) return state.win;
    for (var i = 0; i < state.windows.length; i++) if (state.windows[i].id === id) return state.windows[i];
    return null;
  }
  function winURL(action) {
    return "/api/v1/windows/" + encodeURIComponent(WINDOW_ID) + (action ? "/" + action : "");
  }

  function api(method, url, body) {
    return window.HallApi.request(method, url, body, { timeoutMs: REQUEST_TIMEOUT_MS, networkError: NETWORK_ERROR });
  }

  // ---------------------------------------------------------------- error line
  function showError(msg) {
    setText($("error-text"), msg);
    $("error").hidden = false;
  }
  function hideError() { $("error").hidden = true; }

  // ---------------------------------------------------------------- derived state
  function signedIn() { return !!(state.win && state.win.staff); }
  function status() {
    var s = state.win ? state.win.status : "";
    return s === "open" || s === "paused" ? s : "closed";
  }
  function current() { return state.win && state.win.current ? state.win.current : null; }

  // ---------------------------------------------------------------- render
  function renderHeader() {
    var w = state.win;
    var num_ = w && w.number !== undefined && w.number !== null ? String(w.number) : "–";
    setText($("window-number"), num_);
    setText($("window-name"), w ? (str(w.name) || str(w.id)) : (WINDOW_ID || "未指定窗口"));
    var h = state.hall || {};
    if (h.name) setText($("hall-name"), h.name);
    document.title = (w ? windowLabel(w) : "窗口") + " · 窗口叫号" + (h.name ? " · " + h.name : "");

    var st = status();
    var ws = $("window-status");
    var text = st === "open" ? "服务中" : (st === "paused" ? "暂停" : (signedIn() ? "未开放" : "未签到"));
    if (!w) text = state.missing ? "无此窗口" : "—";
    ws.setAttribute("data-status", w ? st : "closed");
    setText(ws, text);

    var name = $("staff-name"), sel = $("staff-select"), btn = $("btn-sign");
    if (signedIn()) {
      var s = w.staff;
      setText(name, str(s.name) + (s.title ? "（" + s.title + "）" : ""));
      name.hidden = false;
      sel.hidden = true;
      setText(btn, "签退");
      btn.setAttribute("data-mode", "sign-out");
    } else {
      name.hidden = true;
      sel.hidden = !w;
      setText(btn, "签到");
      btn.setAttribute("data-mode", "sign-in");
    }
    btn.disabled = state.busy || !w;
  }

  function renderPause() {
    var banner = $("pause-banner");
    var w = state.win;
    if (!w || status() !== "paused") { banner.hidden = true; return; }
    var p = w.paused || {};
    banner.hidden = false;
    banner.classList.toggle("overdue", !!p.overdue);
    setText($("pause-title"), "暂停服务中" + (p.reason ? "：" + p.reason : ""));
    var bits = [];
    if (p.since) bits.push("自 " + hmOf(p.since) + " 起");
    if (p.until) bits.push("预计 " + hmOf(p.until) + " 恢复");
    if (p.overdue) {
      var over = parseTs(p.until);
      bits.push(!isNaN(over) ? "已超时 " + Math.max(1, Math.floor((now() - over) / 60000)) + " 分钟" : "已超时");
    }
    setText($("pause-detail"), bits.join(" · ") + "　按 F6 或「恢复」继续服务");
  }

  function renderCurrent() {
    var cur = current();
    var card = $("current-card");
    var st = status();
    card.setAttribute("data-state", cur ? str(cur.status) : "none");
    setText($("current-number"), cur ? cur.number : "");
    var stateText;
    if (cur) stateText = cur.status === "serving" ? "办理中" : "已呼叫，等待群众到窗口";
    else if (!state.win) stateText = state.missing ? "无此窗口" : "正在获取窗口信息…";
    else if (!signedIn()) stateText = "请先签到";
    else if (st === "paused") stateText = "暂停服务中";
    else if (st === "closed") stateText = "窗口未开放";
    else stateText = "空闲，可叫号";
    setText($("current-state"), stateText);

    var prio = $("current-priority");
    var p = cur ? cur.priority : "";
    prio.hidden = !PRIORITY_TEXT[p];
    setText(prio, PRIORITY_TEXT[p] || "");
    prio.setAttribute("data-priority", str(p));

    var t = cur ? state.tickets[cur.ticket_id] : null;
    setText($("current-service"), cur ? (str(cur.service_name) || (t && t.service_name) || "") : "");
    setText($("current-called"), cur && cur.called_at ? clockOf(cur.called_at) : "—");
    var recalls = cur ? (num(cur.recalls) !== null ? cur.recalls : (t && num(t.recalls) !== null ? t.recalls : 0)) : null;
    setText($("current-recalls"), recalls === null ? "—" : recalls + " 次");
    renderElapsed();
  }

  function renderElapsed() {
    var cur = current();
    var serving = cur && cur.status === "serving";
    setText($("current-elapsed-label"), serving ? "办理用时" : "等候到窗");
    var from = cur ? (serving ? (cur.started_at || cur.called_at) : cur.called_at) : null;
    setText($("current-elapsed"), from ? elapsed(from) : "—");
  }

  function renderRating() {
    var box = $("rating-result");
    var r = state.rating;
    if (!r || (r.until && now() > r.until)) {
      state.rating = null;
      box.hidden = true;
      box.removeAttribute("data-result");
      box.removeAttribute("data-key");
      return;
    }
    box.hidden = false;
    var key = JSON.stringify([r.ticket_id, r.phase, r.level, r.reasons, r.bad, r.reason, r.unprompted]);
    if (box.getAttribute("data-key") === key) return;
    box.setAttribute("data-key", key);
    box.textContent = "";
    var who = r.number ? r.number + " 号" : "";
    if (r.phase === "waiting") {
      box.setAttribute("data-result", "waiting");
      box.appendChild(el("span", "r-label", (who ? who + "：" : "") + "等待评价…"));
    } else if (r.phase === "timeout") {
      box.setAttribute("data-result", "timeout");
      var why = { next_call: "已叫下一号", pause: "窗口暂停", sign_out: "已签退", day_end: "日终", pad_timeout: "超时" }[r.reason] || "超时";
      box.appendChild(el("span", "r-label", (who ? who + "：" : "") + "未评价（" + why + "）"));
    } else {
      box.setAttribute("data-result", r.bad ? "bad" : "good");
      box.appendChild(el("span", "r-label", (who ? who + " " : "") + (r.unprompted ? "主动" : "") + (r.bad ? "差评：" : "评价：")));
      box.appendChild(el("strong", "r-level", r.level || "—"));
      if (r.reasons && r.reasons.length) box.appendChild(el("span", "r-reasons", "原因：" + r.reasons.join("、")));
    }
  }

  function renderButtons() {
    var w = state.win, cur = current(), st = status(), on = signedIn();
    var busy = state.busy || !w;
    var called = !!cur && cur.status === "called";
    var serving = !!cur && cur.status === "serving";
    var can = {
      "btn-call-next": on && st === "open" && !cur,
      "btn-recall": on && called,
      "btn-start": on && called,
      "btn-finish": on && serving,
      "btn-no-show": on && called,
      "btn-hold": on && !!cur,
      "btn-transfer": on && !!cur,
      "btn-pause": on && st === "open" && !cur,
      "btn-resume": on && st === "paused"
    };
    Object.keys(can).forEach(function (id) { $(id).disabled = busy || !can[id]; });
    var canCallThis = !busy && on && st === "open" && !cur;
    Array.prototype.forEach.call(document.querySelectorAll(".call-this"), function (b) { b.disabled = !canCallThis; });
    document.body.classList.toggle("busy", state.busy);
  }

  function waitedText(item) {
    var t = parseTs(item.issued_at);
    var m = !isNaN(t) ? Math.max(0, Math.floor((now() - t) / 60000)) : num(item.waited_minutes);
    return m === null ? "" : "已等 " + m + " 分钟";
  }

  function ticketRow(item, tag) {
    var li = el(tag || "li", "q-item");
    li.setAttribute("data-ticket", str(item.ticket_id));
    var main = el("div", "q-main");
    main.appendChild(el("span", "q-number", item.number));
    if (PRIORITY_TEXT[item.priority]) {
      var p = el("span", "prio", PRIORITY_TEXT[item.priority]);
      p.setAttribute("data-priority", item.priority);
      main.appendChild(p);
    }
    if (item.covering) {
      // from the queue of a window this one stands in for (AB角)
      main.appendChild(el("span", "q-cover", "代" + (windowLabel(windowById(item.covering)) || "其他窗口")));
    }
    li.appendChild(main);
    var sub = el("div", "q-sub");
    sub.appendChild(el("span", "q-service", item.service_name));
    sub.appendChild(el("span", "q-wait", waitedText(item)));
    li.appendChild(sub);
    var b = el("button", "call-this", "呼叫");
    b.type = "button";
    b.title = "呼叫 " + str(item.number);
    b.addEventListener("click", function () { act("call", { ticket: item.ticket_id }); });
    li.appendChild(b);
    return li;
  }

  function renderLists() {
    [["queue", state.queue, "queue-count", "queue-empty"], ["held", state.held, "held-count", "held-empty"]].forEach(function (x) {
      var list = $(x[0]);
      // the window names (代2号窗口) come from the snapshot: redraw once known
      var key = JSON.stringify(x[1]) + "|" + state.windows.length;
      if (list.getAttribute("data-key") === key) return;
      list.setAttribute("data-key", key);
      var frag = document.createDocumentFragment();
      x[1].forEach(function (item) { if (item) frag.appendChild(ticketRow(item)); });
      list.textContent = "";
      list.appendChild(frag);
      setText($(x[2]), String(x[1].length));
      $(x[3]).hidden = x[1].length > 0;
    });
    var w = state.win;
    var cov = w && signedIn() && status() !== "closed" && Array.isArray(w.covering) ? w.covering : [];
    var note = $("covering-note");
    note.hidden = !cov.length;
    setText(note, cov.length ? "正在兼办 " + cov.map(function (id) { return windowLabel(windowById(id)) || "其他窗口"; }).join("、") + " 的业务，其排队已并入本窗口队列。" : "");
  }

  function renderAll() {
    renderHeader();
    renderPause();
    renderCurrent();
    renderRating();
    renderLists();
    renderButtons();
  }

  function tick() {
    setText($("clock"), fmtClock.format(new Date(now())));
    renderElapsed();
    renderPause();
    renderRating();
    // waited minutes move on by themselves
    Array.prototype.forEach.call(document.querySelectorAll("#queue li[data-ticket], #held li[data-ticket]"), function (li) {
      var id = li.getAttribute("data-ticket");
      var item = null;
      state.queue.concat(state.held).forEach(function (q) { if (str(q.ticket_id) === id) item = q; });
      if (item) setText(li.querySelector(".q-wait"), waitedText(item));
    });
  }

  // ---------------------------------------------------------------- data
  function applyWindow(w) {
    if (!w || typeof w !== "object") return;
    var prev = current();
    state.win = w;
    state.missing = false;
    // keep the snapshot's list in step
    for (var i = 0; i < state.windows.length; i++) if (state.windows[i].id === w.id) state.windows[i] = w;
    var cur = current();
    if (prev && cur && prev.ticket_id === cur.ticket_id && cur.recalls === undefined && prev.recalls !== undefined) cur.recalls = prev.recalls;
  }

  var fetchGen = 0, fetchTimer = null, fetching = false, fetchAgain = false;
  function scheduleFetch(ms) {
    if (fetchTimer) return;
    fetchTimer = setTimeout(fetchWindow, ms === undefined ? REFETCH_MS : ms);
  }
  function fetchWindow() {
    fetchTimer = null;
    if (!WINDOW_ID) return;
    if (fetching) { fetchAgain = true; return; }
    fetching = true;
    fetchAgain = false;
    var gen = ++fetchGen;
    api("GET", winURL()).then(function (body) {
      if (gen !== fetchGen) { fetchAgain = true; return; } // an action answer overtook this one
      state.winFromAPI = true;
      applyWindow(body.window);
      state.queue = Array.isArray(body.queue) ? body.queue : [];
      state.held = Array.isArray(body.held) ? body.held : [];
      renderAll();
    }, function (err) {
      var knownInSnapshot = state.windows.some(function (w) { return w.id === WINDOW_ID; });
      var noEndpoint = /没有这个接口/.test(err.message) || err.code === "http_404" || knownInSnapshot;
      if (err.status === 404 && !noEndpoint) {
        // the daemon knows no such window
        state.missing = true;
        state.win = null;
        showError(err.message);
        showPicker("没有编号为「" + WINDOW_ID + "」的窗口，请选择：");
        renderAll();
      } else if (!state.winFromAPI && (noEndpoint || state.win)) {
        // endpoint not there (yet): live on the snapshot's view of the window
        renderAll();
      } else if (err.code === "network") {
        /* the stream status shows it; the next event or poll retries */
      } else {
        showError("获取窗口信息失败：" + err.message);
      }
    }).then(function () {
      fetching = false;
      if (fetchAgain) { fetchAgain = false; scheduleFetch(); }
    });
  }

  function loadStaff() {
    api("GET", "/api/v1/staff").then(function (body) {
      state.staff = Array.isArray(body.staff) ? body.staff : [];
      renderStaffOptions();
    }, function (err) {
      state.staff = null;
      var sel = $("staff-select");
      sel.textContent = "";
      sel.appendChild(new Option("人员名单获取失败", ""));
      sel.setAttribute("data-error", err.message);
    });
  }

  function renderStaffOptions() {
    var sel = $("staff-select");
    var keep = sel.value;
    sel.textContent = "";
    sel.removeAttribute("data-error");
    var list = state.staff || [];
    var mine = [], others = [];
    list.forEach(function (s) {
      (Array.isArray(s.windows) && s.windows.indexOf(WINDOW_ID) >= 0 ? mine : others).push(s);
    });
    sel.appendChild(new Option(list.length ? "请选择工作人员" : "暂无工作人员名单", ""));
    function opt(s) { return new Option(str(s.name) + (s.title ? "（" + s.title + "）" : "") + " · " + str(s.id), str(s.id)); }
    mine.forEach(function (s) { sel.appendChild(opt(s)); });
    if (others.length) {
      var g = document.createElement("optgroup");
      g.label = mine.length ? "其他窗口人员" : "全部人员";
      others.forEach(function (s) { g.appendChild(opt(s)); });
      sel.appendChild(g);
    }
    sel.value = keep;
    if (!sel.value && mine.length === 1) sel.value = str(mine[0].id);
  }

  // ---------------------------------------------------------------- actions
  function act(action, body) {
    if (state.busy || !WINDOW_ID) return;
    var before = current();
    state.busy = true;
    renderButtons();
    renderHeader();
    api("POST", winURL(action), body || {}).then(function (res) {
      hideError();
      fetchGen++; // an older GET in flight must not undo this answer
      if (res.window) applyWindow(res.window);
      var t = res.ticket;
      if (t && t.id !== undefined) state.tickets[t.id] = Object.assign({}, state.tickets[t.id] || {}, t);
      if (action === "finish" && before) {
        waitRating(before.ticket_id, before.number, (t && t.visit) || (state.tickets[before.ticket_id] || {}).visit);
      }
      if (action === "recall" && t && num(t.recalls) !== null && current() && current().ticket_id === t.id) current().recalls = t.recalls;
      if (action === "sign-out") { $("staff-select").value = ""; }
    }, function (err) {
      showError(err.message);
    }).then(function () {
      state.busy = false;
      renderAll();
      scheduleFetch(0);
    });
  }

  var ratedEarly = {}; // visit → its rating.submitted, given during the service (主动评价)
  function waitRating(ticketId, number, visit) {
    var early = visit && ratedEarly[visit];
    if (early) { // rated before the finish: nothing to wait for
      state.rating = { ticket_id: ticketId, number: number, visit: visit, phase: "done", level: str(early.level),
        reasons: Array.isArray(early.reasons) ? early.reasons : [], bad: early.bad === true, unprompted: true, until: now() + RATING_SHOW_MS };
      renderRating();
      return;
    }
    var r = state.rating;
    if (r && r.ticket_id === ticketId && r.phase !== "waiting") return; // already rated
    if (r && r.ticket_id === ticketId) { if (visit && !r.visit) r.visit = visit; return; }
    state.rating = { ticket_id: ticketId, number: number, visit: visit || "", phase: "waiting", until: now() + RATING_WAIT_MAX_MS };
    renderRating();
  }

  function ratingMatches(ev) {
    var r = state.rating;
    if (!r || r.phase !== "waiting") return false;
    if (ev.visit && r.visit) return ev.visit === r.visit;
    return ev.ticket_id !== undefined && ev.ticket_id === r.ticket_id;
  }

  function signClick() {
    if (signedIn()) { act("sign-out", {}); return; }
    var sel = $("staff-select");
    if (!sel.value) {
      showError(sel.getAttribute("data-error") ? "人员名单获取失败：" + sel.getAttribute("data-error") : "请先选择要签到的工作人员。");
      if (state.staff === null) loadStaff();
      sel.focus();
      return;
    }
    // signin.js: the staff member's PIN on a touch pad, the lock-out, and
    // asking before moving them from another window.
    if (window.WindowSignIn) {
      var o = sel.options[sel.selectedIndex];
      window.WindowSignIn.start(sel.value, o ? o.text : sel.value);
      return;
    }
    act("sign-in", { staff: sel.value });
  }

  // ---------------------------------------------------------------- dialogs
  var openDialog = null;
  function showModal(id) {
    closeModal();
    var m = $(id);
    m.hidden = false;
    openDialog = id;
    var first = m.querySelector("select, input:checked, input, button");
    if (first) first.focus();
  }
  function closeModal() {
    if (!openDialog) return;
    $(openDialog).hidden = true;
    openDialog = null;
  }

  function refreshSnapshot() {
    return api("GET", "/api/v1/snapshot").then(function (body) {
      if (body && body.data) applySnapshot(body.data, false);
    }, function () { /* keep what we have */ });
  }

  function openTransfer() {
    var cur = current();
    if (!cur) return;
    setText($("transfer-number"), cur.number);
    $("transfer-error").hidden = true;
    fillTransferServices();
    showModal("transfer-dialog");
    refreshSnapshot().then(function () { if (openDialog === "transfer-dialog") { fillTransferServices(true); } });
  }

  function fillTransferServices(keep) {
    var sel = $("transfer-service");
    var prev = keep ? sel.value : "";
    var cur = current();
    var curSvc = cur ? (state.tickets[cur.ticket_id] || {}).service : "";
    sel.textContent = "";
    state.services.forEach(function (s) {
      var o = new Option((s.prefix ? s.prefix + " · " : "") + str(s.name) + (s.id === curSvc ? "（当前事项）" : ""), str(s.id));
      sel.appendChild(o);
    });
    if (prev) sel.value = prev;
    if (!sel.value) {
      var other = state.services.filter(function (s) { return s.id !== curSvc; })[0];
      if (other) sel.value = str(other.id);
    }
    fillTransferWindows();
  }

  function fillTransferWindows() {
    var svc = $("transfer-service").value;
    var sel = $("transfer-window");
    var prev = sel.value;
    sel.textContent = "";
    sel.appendChild(new Option("不指定，按事项排队", ""));
    state.windows.forEach(function (w) {
      if (w.id === WINDOW_ID) return;
      if (Array.isArray(w.services) && svc && w.services.indexOf(svc) < 0) return;
      var st = w.status === "open" ? "" : (w.status === "paused" ? "（暂停）" : "（未开放）");
      sel.appendChild(new Option(windowLabel(w) + (w.name && w.name !== windowLabel(w) ? " " + w.name : "") + st, str(w.id)));
    });
    sel.value = prev;
    if (sel.value !== prev) sel.value = "";
  }

  function submitTransfer(e) {
    e.preventDefault();
    var svc = $("transfer-service").value;
    if (!svc) { $("transfer-error").textContent = "请选择要转到的事项。"; $("transfer-error").hidden = false; return; }
    var body = { service: svc };
    if ($("transfer-window").value) body.window = $("transfer-window").value;
    closeModal();
    act("transfer", body);
  }

  function openPause() {
    $("pause-error").hidden = true;
    syncPauseReason();
    showModal("pause-dialog");
  }
  function pauseReason() {
    var r = document.querySelector("#pause-reasons input[name=reason]:checked");
    return r ? r.value : "";
  }
  function syncPauseReason() {
    var other = pauseReason() === "其他";
    $("pause-other-wrap").hidden = !other;
    var m = $("pause-minutes").value;
    Array.prototype.forEach.call(document.querySelectorAll("#pause-minute-chips [data-minutes]"), function (b) {
      b.classList.toggle("on", b.getAttribute("data-minutes") === m);
    });
  }
  function submitPause(e) {
    e.preventDefault();
    var reason = pauseReason();
    if (reason === "其他") reason = $("pause-other").value.trim();
    var err = $("pause-error");
    if (!reason) { err.textContent = "请填写暂停原因。"; err.hidden = false; $("pause-other").focus(); return; }
    var raw = $("pause-minutes").value.trim();
    var body = { reason: reason };
    if (raw) {
      var m = Math.round(Number(raw));
      if (!isFinite(m) || m < 1 || m > 480) { err.textContent = "预计时长请填写 1 至 480 分钟，不确定可留空。"; err.hidden = false; return; }
      body.minutes = m;
    }
    closeModal();
    act("pause", body);
  }

  function showPicker(note) {
    setText($("pick-note"), note);
    var ul = $("pick-list");
    ul.textContent = "";
    state.windows.forEach(function (w) {
      var li = el("li");
      var a = el("a", null, windowLabel(w) + (w.name && w.name !== windowLabel(w) ? " · " + w.name : ""));
      a.href = "/window/" + encodeURIComponent(w.id) + "/";
      li.appendChild(a);
      ul.appendChild(li);
    });
    if (!state.windows.length) ul.appendChild(el("li", "muted", "正在获取窗口列表…"));
    $("pick-dialog").hidden = false;
  }

  // ---------------------------------------------------------------- keyboard
  var KEYS = { F1: "btn-call-next", F2: "btn-recall", F3: "btn-start", F4: "btn-finish", F5: "btn-no-show" };
  function onKey(e) {
    if (openDialog) {
      if (e.key === "Escape") { e.preventDefault(); closeModal(); }
      else if (/^F\d+$/.test(e.key)) e.preventDefault();
      return;
    }
    if (e.ctrlKey || e.altKey || e.metaKey) return; // Ctrl+F5 etc. stay the browser's
    var id = KEYS[e.key];
    if (e.key === "F6") id = status() === "paused" ? "btn-resume" : "btn-pause";
    if (!id) return;
    e.preventDefault(); // F1 help, F3 find, F5 reload, F6 address bar: never the browser's
    if (e.repeat) return;
    var b = $(id);
    if (!b.disabled && !b.hidden) {
      b.classList.add("pressed");
      setTimeout(function () { b.classList.remove("pressed"); }, 150);
      b.click();
    }
  }

  // ---------------------------------------------------------------- stream
  function applySnapshot(data, fromStream) {
    data = data || {};
    if (data.hall) {
      state.hall = data.hall;
      var t = Date.parse(data.hall.now);
      if (!isNaN(t)) state.clockOffset = t - Date.now();
    }
    if (Array.isArray(data.services)) state.services = data.services;
    if (Array.isArray(data.windows)) {
      state.windows = data.windows.slice().sort(function (a, b) {
        var x = num(a.number), y = num(b.number);
        if (x !== null && y !== null && x !== y) return x - y;
        return str(a.id).localeCompare(str(b.id), "zh-CN", { numeric: true });
      });
      var mine = null;
      state.windows.forEach(function (w) { if (w.id === WINDOW_ID) mine = w; });
      // The windows endpoint is the source for this window; the snapshot fills
      // in until it has answered (and when it does not exist).
      if (mine && !state.winFromAPI) applyWindow(mine);
    }
    if (Array.isArray(data.tickets)) {
      var prev = state.tickets;
      state.tickets = {};
      data.tickets.forEach(function (t) { if (t && t.id !== undefined) state.tickets[t.id] = Object.assign({}, prev[t.id] || {}, t); });
    }
    if (!WINDOW_ID) showPicker("地址中没有窗口编号，请选择本机所在的窗口：");
    else if (state.missing) showPicker("没有编号为「" + WINDOW_ID + "」的窗口，请选择：");
    renderAll();
    if (fromStream) scheduleFetch(0);
  }

  function mine(ev) { return ev.window === WINDOW_ID; }

  function onEvent(ev) {
    if (!ev || !ev.type) return;
    var w = state.win;
    var cur = current();
    var type = ev.type;
    switch (type) {
      case "ticket.issued":
        if (ev.ticket && ev.ticket.id !== undefined) state.tickets[ev.ticket.id] = ev.ticket;
        break;
      case "ticket.called":
      case "ticket.recalled":
        if (state.tickets[ev.ticket_id]) {
          state.tickets[ev.ticket_id].status = "called";
          if (num(ev.recalls) !== null) state.tickets[ev.ticket_id].recalls = ev.recalls;
          if (ev.visit) state.tickets[ev.ticket_id].visit = ev.visit;
        }
        if (w && mine(ev)) {
          var same = cur && cur.ticket_id === ev.ticket_id;
          w.current = {
            ticket_id: ev.ticket_id, number: ev.number, service_name: ev.service_name, status: "called",
            called_at: same && cur.called_at ? cur.called_at : ev.ts, priority: ev.priority,
            recalls: num(ev.recalls) !== null ? ev.recalls : (same ? cur.recalls : 0)
          };
          state.queue = state.queue.filter(function (q) { return q.ticket_id !== ev.ticket_id; });
          state.held = state.held.filter(function (q) { return q.ticket_id !== ev.ticket_id; });
        }
        break;
      case "service.started":
        if (w && mine(ev) && cur && cur.ticket_id === ev.ticket_id) { cur.status = "serving"; cur.started_at = ev.ts; }
        break;
      case "service.finished":
        if (w && mine(ev)) {
          if (cur && cur.ticket_id === ev.ticket_id) w.current = null;
          waitRating(ev.ticket_id, ev.number, ev.visit);
        }
        break;
      case "ticket.no_show":
      case "ticket.held":
        if (w && mine(ev) && cur && cur.ticket_id === ev.ticket_id) w.current = null;
        break;
      case "ticket.transferred":
        if (w && ev.from_window === WINDOW_ID && cur && cur.ticket_id === ev.ticket_id) w.current = null;
        break;
      case "rating.submitted":
        if (ev.unprompted === true && ev.visit && !ratingMatches(ev)) ratedEarly[ev.visit] = ev;
        if (ratingMatches(ev)) {
          var bad = ev.bad === true || BAD_LEVELS[ev.level] === true;
          state.rating = { ticket_id: ev.ticket_id, number: state.rating.number || ev.number, visit: ev.visit, phase: "done",
            level: str(ev.level), reasons: Array.isArray(ev.reasons) ? ev.reasons : [], bad: bad, unprompted: ev.unprompted === true,
            until: now() + RATING_SHOW_MS };
        }
        break;
      case "rating.timeout":
        if (ratingMatches(ev)) {
          state.rating = { ticket_id: ev.ticket_id, number: state.rating.number, visit: ev.visit, phase: "timeout", reason: str(ev.reason),
            until: now() + RATING_TIMEOUT_SHOW_MS };
        }
        break;
      case "window.paused":
        if (w && mine(ev)) { w.status = "paused"; w.paused = { reason: ev.reason, since: ev.ts, until: ev.until || null, overdue: false }; }
        break;
      case "window.resumed":
        if (w && mine(ev)) { w.status = "open"; w.paused = null; }
        break;
      case "window.pause_overdue":
        if (w && mine(ev) && w.paused) w.paused.overdue = true;
        break;
      case "staff.signed_in":
        if (w && mine(ev)) {
          w.staff = { id: ev.staff, name: ev.staff_name };
          (state.staff || []).forEach(function (s) { if (s.id === ev.staff) w.staff.title = s.title; });
          if (w.status === "closed") w.status = "open";
        }
        break;
      case "staff.signed_out":
        if (w && mine(ev)) { w.staff = null; w.status = "closed"; w.current = null; w.paused = null; }
        break;
      default:
        if (type.indexOf("ticket.") !== 0 && type.indexOf("window.") !== 0 && type.indexOf("staff.") !== 0 && type.indexOf("service.") !== 0) return;
    }
    renderAll();
    if (type !== "rating.submitted" && type !== "rating.timeout" &&
        type !== "ticket.printed" && type !== "ticket.print_failed") scheduleFetch();
  }

  var overlayTimer = null;
  function onStatus(st) {
    var conn = $("conn-state");
    conn.setAttribute("data-state", st.state === "connected" ? "connected" : (st.state === "connecting" ? "connecting" : "disconnected"));
    setText($("conn-text"), st.state === "connected" ? "实时已连接" : (st.state === "connecting" ? "连接中" : "已断开"));
    var overlay = $("conn-overlay");
    if (st.state === "connected") {
      clearTimeout(overlayTimer);
      overlayTimer = null;
      overlay.hidden = true;
      return;
    }
    if (st.state === "disconnected") {
      setText($("conn-sub"), Math.round((st.delay || 0) / 1000) + " 秒后重连，叫号操作仍可进行");
    }
    if (overlay.hidden && !overlayTimer) {
      overlayTimer = setTimeout(function () {
        overlayTimer = null;
        if (stream.state !== "connected") overlay.hidden = false;
      }, OVERLAY_GRACE_MS);
    }
  }

  // ---------------------------------------------------------------- wiring
  function on(id, fn) { $(id).addEventListener("click", fn); }
  on("btn-call-next", function () { act("call-next", {}); });
  on("btn-recall", function () { act("recall", {}); });
  on("btn-start", function () { act("start", {}); });
  on("btn-finish", function () { act("finish", {}); });
  on("btn-no-show", function () { act("no-show", {}); });
  on("btn-hold", function () { act("hold", {}); });
  on("btn-transfer", openTransfer);
  on("btn-pause", openPause);
  on("btn-resume", function () { act("resume", {}); });
  on("btn-sign", signClick);
  on("error-close", hideError);
  $("staff-select").addEventListener("focus", function () { if (state.staff === null) loadStaff(); });
  $("transfer-service").addEventListener("change", fillTransferWindows);
  $("transfer-form").addEventListener("submit", submitTransfer);
  $("pause-form").addEventListener("submit", submitPause);
  $("pause-reasons").addEventListener("change", function () {
    syncPauseReason();
    if (pauseReason() === "其他") $("pause-other").focus();
  });
  $("pause-minutes").addEventListener("input", syncPauseReason);
  Array.prototype.forEach.call(document.querySelectorAll("#pause-minute-chips [data-minutes]"), function (b) {
    b.addEventListener("click", function () { $("pause-minutes").value = b.getAttribute("data-minutes"); syncPauseReason(); });
  });
  Array.prototype.forEach.call(document.querySelectorAll(".w-modal [data-close]"), function (b) { b.addEventListener("click", closeModal); });
  Array.prototype.forEach.call(document.querySelectorAll(".w-modal"), function (m) {
    m.addEventListener("mousedown", function (e) { if (e.target === m && m.id !== "pick-dialog") closeModal(); });
  });
  document.addEventListener("keydown", onKey);
  window.addEventListener("help", function (e) { e.preventDefault(); }); // old F1 handler

  renderAll();
  tick();
  setInterval(tick, 1000);
  setInterval(function () { scheduleFetch(0); }, POLL_MS);
  if (WINDOW_ID) {
    fetchWindow();
    loadStaff();
  }

  var stream = new window.HallStream();
  stream.onSnapshot(function (data) { applySnapshot(data, true); }).onEvent(onEvent).onStatus(onStatus).connect();

  // For tests and the console.
  window.halldWindow = { id: WINDOW_ID, state: state, stream: stream, refresh: fetchWindow, act: act, api: api,
    winURL: winURL, applyWindow: function (w) { applyWindow(w); renderAll(); }, hideError: hideError };
})();
