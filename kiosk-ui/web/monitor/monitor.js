/* halld /monitor/ — 大厅设备监控（运维） */
(function () {
  "use strict";

  var POLL_MS = 2000;
  var LOG_MAX = 200;
  var OVERLAY_GRACE_MS = 1000;
  var STALE_SEEN_S = 60;
  var FILTER_KEY = "halld.monitor.filters";

  var STATE_TEXT = { ready: "就绪", degraded: "降级", fault: "故障", offline: "离线", unknown: "未知" };
  var STATE_ORDER = ["ready", "degraded", "fault", "offline", "unknown"];
  var KIND_TEXT = {
    printer: "小票打印机", kiosk: "取号机", screen: "显示屏", display: "显示屏", led: "LED 条屏",
    caller: "呼叫器", pager: "呼叫器", evaluator: "评价器", scanner: "扫描仪", camera: "高拍仪",
    idcard: "身份证阅读器", id_reader: "身份证阅读器", speaker: "语音播报", tts: "语音播报",
    window_screen: "窗口屏", queue_screen: "叫号屏",
    ticket_printer: "小票打印机", eval_pad: "评价器", line: "RS-485 总线", terminal: "自助终端"
  };
  var PAPER = {
    ok: ["纸张正常", "ok"], near_end: ["纸将尽", "warn"], end: ["缺纸", "bad"], unknown: ["纸况未知", ""]
  };
  var PRIORITY_TEXT = { green: "绿色通道", appointment: "预约" };
  var SIM_ACTIONS = [
    ["paper_near_end", "纸将尽", "paper"], ["paper_end", "缺纸", "paper"], ["paper_ok", "装纸", "paper"],
    ["cover_open", "开盖", "paper"], ["cover_close", "合盖", "paper"],
    ["unplug", "拔出", "any"], ["replug", "插回", "any"]
  ];
  // Demo buttons for a simulated evaluation pad: the citizen's press, the staff's keys.
  var PAD_ACTIONS = [
    ["rate_5", "非常满意"], ["rate_4", "满意"], ["rate_3", "基本满意"], ["rate_2", "不满意"], ["rate_1", "非常不满意"],
    ["key_sign", "签到/签退"], ["key_call_next", "叫号"], ["key_recall", "重呼"], ["key_finish", "办结"],
    ["key_no_show", "过号"], ["key_pause", "暂停"], ["key_resume", "恢复"], ["power_cycle", "断电重启"]
  ];

  // ---------------------------------------------------------------- state
  var devices = {};          // id -> device
  var rows = {};             // id -> row refs
  var httpLoaded = false;
  var lastFetchOK = 0;
  var fetching = false, fetchAgain = false, eventGen = 0;
  var traceBusy = {};
  var services = {};         // id -> service (for names in the log)
  var ticketCount = 0;
  var failedTickets = {};    // ticket id -> true while its last print failed
  var clockOffset = 0;
  var logEntries = [];
  var filters = loadFilters();

  // ---------------------------------------------------------------- helpers
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function str(v) { return v === undefined || v === null ? "" : String(v); }
  function now() { return Date.now() + clockOffset; }
  function kindText(k) { return KIND_TEXT[k] || str(k) || "设备"; }
  function stateText(s) { return STATE_TEXT[s] || str(s) || "未知"; }
  function normState(s) { return STATE_TEXT[s] ? s : "unknown"; }

  var fmtClock;
  try { fmtClock = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }); }
  catch (e) { fmtClock = new Intl.DateTimeFormat("zh-CN", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }); }
  function clockText(ms) { return fmtClock.format(new Date(ms)); }

  function parseTs(ts) {
    if (ts === undefined || ts === null || ts === "") return NaN;
    if (typeof ts === "number") return ts > 1e12 ? ts : ts * 1000;
    return Date.parse(ts);
  }

  function ago(ts) {
    var t = parseTs(ts);
    if (isNaN(t)) return "—";
    var s = Math.max(0, Math.floor((now() - t) / 1000));
    if (s < 1) return "刚刚";
    if (s < 60) return s + "秒前";
    if (s < 3600) return Math.floor(s / 60) + "分钟前";
    if (s < 86400) return Math.floor(s / 3600) + "小时前";
    return Math.floor(s / 86400) + "天前";
  }

  function duration(ts) {
    var t = parseTs(ts);
    if (isNaN(t)) return "";
    var s = Math.max(0, Math.floor((now() - t) / 1000));
    if (s < 60) return s + "秒";
    if (s < 3600) return Math.floor(s / 60) + "分" + (s % 60) + "秒";
    if (s < 86400) return Math.floor(s / 3600) + "小时" + Math.floor((s % 3600) / 60) + "分";
    return Math.floor(s / 86400) + "天" + Math.floor((s % 86400) / 3600) + "小时";
  }

  function api(method, url, body) {
    var init = { method: method, headers: { "Accept": "application/json" }, cache: "no-store" };
    if (window.HallAuth) window.HallAuth.headers(init);
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
          throw new Error((e.message || "请求失败") + (e.code ? "（" + e.code + "）" : "（HTTP " + r.status + "）"));
        }
        return data || {};
      });
    }, function () { throw new Error("网络连接失败"); });
  }

  function toast(msg, bad) {
    var t = el("div", "toast-item" + (bad ? " bad" : ""), msg);
    $("toast").appendChild(t);
    setTimeout(function () { t.remove(); }, bad ? 6000 : 3000);
  }

  function loadFilters() {
    try {
      var f = JSON.parse(window.localStorage.getItem(FILTER_KEY) || "{}");
      return { area: str(f.area), kind: str(f.kind), problem: !!f.problem };
    } catch (e) { return { area: "", kind: "", problem: false }; }
  }
  function saveFilters() {
    try { window.localStorage.setItem(FILTER_KEY, JSON.stringify(filters)); } catch (e) { /* ignore */ }
  }

  // ---------------------------------------------------------------- devices
  function isPaperDevice(d) {
    var det = d.detail || {};
    return /print/i.test(str(d.kind)) || det.paper !== undefined || det.cover !== undefined;
  }

  function buildRow(id) {
    var r = {};
    var tr = r.tr = el("tr", "device");
    tr.setAttribute("data-device", id);

    var c0 = el("td");
    var idLine = el("div");
    r.id = el("span", "dev-id", id);
    r.sim = el("span", "sim-tag", "模拟");
    idLine.appendChild(r.id);
    idLine.appendChild(r.sim);
    r.kind = el("div", "dev-kind");
    c0.appendChild(idLine);
    c0.appendChild(r.kind);

    r.area = el("td", "area");

    var c2 = el("td");
    r.state = el("span", "state");
    r.since = el("span", "since");
    c2.appendChild(r.state);
    c2.appendChild(r.since);

    var c3 = el("td");
    r.detail = el("div", "chips");
    c3.appendChild(r.detail);

    var c4 = el("td");
    r.seen = el("span", "seen");
    c4.appendChild(r.seen);

    var c5 = el("td");
    r.counters = el("div", "counters");
    r.cnt = {};
    [["reconnects", "重连"], ["errors", "错误"], ["bad_frames", "坏帧"], ["jobs", "作业"]].forEach(function (p) {
      r.counters.appendChild(el("span", null, p[1]));
      r.cnt[p[0]] = el("b", null, "0");
      r.counters.appendChild(r.cnt[p[0]]);
    });
    c5.appendChild(r.counters);

    var c6 = el("td");
    r.lastError = el("div", "last-error");
    c6.appendChild(r.lastError);

    var c7 = el("td");
    r.port = el("div", "port");
    c7.appendChild(r.port);

    var c8 = el("td");
    var sw = el("label", "switch");
    r.trace = el("input", "trace-toggle");
    r.trace.type = "checkbox";
    r.trace.setAttribute("aria-label", id + " hex 跟踪");
    sw.appendChild(r.trace);
    sw.appendChild(document.createTextNode("hex 跟踪"));
    c8.appendChild(sw);
    r.trace.addEventListener("change", function () { setTrace(id, r.trace.checked); });

    var c9 = el("td");
    r.simBox = el("div", "sim-btns");
    r.simKey = null;
    c9.appendChild(r.simBox);

    [c0, r.area, c2, c3, c4, c5, c6, c7, c8, c9].forEach(function (c) { tr.appendChild(c); });
    return r;
  }

  function chip(text, cls) { return el("span", "chip" + (cls ? " " + cls : ""), text); }

  function renderDetail(r, d) {
    var det = d.detail && typeof d.detail === "object" ? d.detail : {};
    var box = r.detail;
    var key = JSON.stringify(det);
    if (r.detailKey === key) return;
    r.detailKey = key;
    box.textContent = "";
    if (det.online === false) box.appendChild(chip("脱机", "bad"));
    else if (det.online === true) box.appendChild(chip("在线", "ok"));
    if (det.paper !== undefined) {
      var p = PAPER[det.paper] || ["纸况 " + str(det.paper), ""];
      box.appendChild(chip(p[0], p[1]));
    }
    if (det.cover === "open") box.appendChild(chip("开盖", "bad"));
    else if (det.cover === "closed") box.appendChild(chip("合盖"));
    if (det.cutter_error === true) box.appendChild(chip("切刀故障", "bad"));
    if (det.status === "not_supported") box.appendChild(chip("不支持状态查询"));
    var extra = 0;
    Object.keys(det).forEach(function (k) {
      // Known keys are shown above in Chinese; problems repeat them.
      if (k === "online" || k === "paper" || k === "cover" || k === "cutter_error" || k === "problems" || k === "status") return;
      if (extra >= 6) return;
      var v = det[k];
      if (v === null || v === undefined || v === "") return;
      var s = typeof v === "object" ? JSON.stringify(v) : String(v);
      if (s.length > 40) s = s.slice(0, 39) + "…";
      var c = chip(k + "=" + s, "kv");
      c.title = k + ": " + (typeof v === "object" ? JSON.stringify(v) : String(v));
      box.appendChild(c);
      extra++;
    });
    if (!box.firstChild) box.appendChild(el("span", "muted", "—"));
  }

  function renderSim(r, d) {
    var acts = [];
    if (d.simulated && d.kind === "eval_pad") {
      acts = PAD_ACTIONS.slice();
    } else if (d.simulated && d.kind === "terminal") {
      acts = [["door_open", "开柜门", "any"], ["door_close", "关柜门", "any"], ["printer_paper_low", "打印纸将尽", "any"],
        ["printer_fault", "打印机故障", "any"], ["printer_ok", "打印机恢复", "any"], ["fault", "报故障", "any"],
        ["silence", "停止心跳", "any"], ["speak", "恢复心跳", "any"]];
    } else if (d.simulated && d.kind === "id_reader") {
      acts = [["place_resident", "放身份证", "any"], ["place_elder", "放老人证件", "any"], ["place_expired", "放过期证件", "any"],
        ["place_foreigner", "放外国人永居证", "any"], ["remove", "取走证件", "any"], ["unplug", "拔出", "any"], ["replug", "插回", "any"]];
    } else if (d.simulated && (d.kind === "scanner" || d.kind === "line")) {
      acts = [["send", d.kind === "scanner" ? "扫码…" : "发一行…", "any"], ["unplug", "拔出", "any"], ["replug", "插回", "any"]];
    } else if (d.simulated) {
      var paper = isPaperDevice(d);
      SIM_ACTIONS.forEach(function (a) { if (a[2] === "any" || paper) acts.push(a); });
    }
    var key = acts.map(function (a) { return a[0]; }).join(",");
    if (r.simKey === key) return;
    r.simKey = key;
    r.simBox.textContent = "";
    if (!acts.length) { r.simBox.appendChild(el("span", "muted", "—")); return; }
    acts.forEach(function (a) {
      var danger = a[0] === "unplug" || a[0] === "paper_end" || a[0] === "cover_open" || a[0] === "rate_2" || a[0] === "rate_1";
      var b = el("button", "sim-btn" + (danger ? " danger" : ""), a[1]);
      b.type = "button";
      b.setAttribute("data-action", a[0]);
      b.title = a[0];
      b.addEventListener("click", function () { simulate(d.id, a[0], a[1], b); });
      r.simBox.appendChild(b);
    });
  }

  function updateRow(r, d) {
    var st = normState(d.state);
    r.tr.setAttribute("data-state", st);
    r.tr.setAttribute("data-area", str(d.area));
    r.tr.setAttribute("data-kind", str(d.kind));
    r.sim.hidden = !d.simulated;
    r.kind.textContent = kindText(d.kind) + (KIND_TEXT[d.kind] ? " · " + d.kind : "");
    r.area.textContent = str(d.area_name) || str(d.area) || "—";
    r.state.setAttribute("data-state", st);
    r.state.textContent = stateText(d.state);
    r.state.title = str(d.state);
    renderDetail(r, d);
    ["reconnects", "errors", "bad_frames", "jobs"].forEach(function (k) {
      var v = d.counters && typeof d.counters[k] === "number" ? d.counters[k] : null;
      r.cnt[k].textContent = v === null ? "—" : String(v);
      r.cnt[k].classList.toggle("nz", k !== "jobs" && v > 0);
    });
    r.lastError.textContent = str(d.last_error) || "";
    r.lastError.title = str(d.last_error);
    if (!d.last_error) r.lastError.appendChild(el("span", "muted", "—"));
    r.port.textContent = str(d.port) || "—";
    if (!traceBusy[d.id]) r.trace.checked = !!d.trace;
    r.trace.disabled = !!traceBusy[d.id] || d.trace === undefined && !httpLoaded;
    renderSim(r, d);
    updateTimes(r, d);
  }

  function updateTimes(r, d) {
    var since = parseTs(d.since);
    r.since.textContent = isNaN(since) ? "" : "自 " + clockText(since) + " · 持续 " + duration(d.since);
    r.since.title = str(d.since);
    var seenTs = d.last_seen !== undefined ? d.last_seen : null;
    r.seen.textContent = seenTs ? ago(seenTs) : "—";
    r.seen.title = str(seenTs);
    var t = parseTs(seenTs);
    r.seen.classList.toggle("stale", !isNaN(t) && (now() - t) / 1000 > STALE_SEEN_S && d.state !== "offline");
  }

  function sortKey(d) { return str(d.kind) + "\u0000" + str(d.id); }

  function render() {
    var list = Object.keys(devices).map(function (k) { return devices[k]; });
    list.sort(function (a, b) {
      return sortKey(a).localeCompare(sortKey(b), "zh-CN", { numeric: true });
    });

    // counts (all devices, filters do not apply)
    var counts = { ready: 0, degraded: 0, fault: 0, offline: 0, unknown: 0 };
    list.forEach(function (d) { counts[normState(d.state)]++; });
    STATE_ORDER.forEach(function (s) { $("count-" + s).textContent = String(counts[s]); });
    $("count-unknown-wrap").hidden = counts.unknown === 0;
    document.querySelector(".m-count.fault").classList.toggle("alert", counts.fault > 0);

    syncFilterOptions(list);

    var body = $("device-rows");
    var seen = {};
    var shown = 0;
    var idx = 0;
    list.forEach(function (d) {
      var id = str(d.id);
      seen[id] = true;
      var r = rows[id] || (rows[id] = buildRow(id));
      updateRow(r, d);
      var st = normState(d.state);
      var visible = (!filters.area || str(d.area) === filters.area) &&
                    (!filters.kind || str(d.kind) === filters.kind) &&
                    (!filters.problem || st !== "ready");
      r.tr.hidden = !visible;
      if (visible) shown++;
      if (body.children[idx] !== r.tr) body.insertBefore(r.tr, body.children[idx] || null);
      idx++;
    });
    Object.keys(rows).forEach(function (id) {
      if (!seen[id]) { rows[id].tr.remove(); delete rows[id]; }
    });
    var empty = $("devices-empty");
    body.appendChild(empty);
    empty.hidden = shown > 0;
    if (!shown) {
      empty.querySelector("td").textContent = list.length ? "没有符合筛选条件的设备" :
        (httpLoaded ? "暂无设备" : "正在获取设备列表…");
    }
  }

  function syncFilterOptions(list) {
    [["filter-area", "area", "全部区域"], ["filter-kind", "kind", "全部类型"]].forEach(function (f) {
      var sel = $(f[0]);
      var vals = {};
      list.forEach(function (d) { if (d[f[1]]) vals[str(d[f[1]])] = true; });
      if (filters[f[1]]) vals[filters[f[1]]] = true;
      var keys = Object.keys(vals).sort(function (a, b) { return a.localeCompare(b, "zh-CN", { numeric: true }); });
      var sig = keys.join("\u0001");
      if (sel.getAttribute("data-sig") !== sig) {
        sel.setAttribute("data-sig", sig);
        sel.textContent = "";
        sel.appendChild(new Option(f[2], ""));
        keys.forEach(function (k) { sel.appendChild(new Option(f[1] === "kind" ? kindText(k) + "（" + k + "）" : k, k)); });
      }
      sel.value = filters[f[1]];
    });
    $("filter-problem").checked = filters.problem;
  }

  function tickTimes() {
    Object.keys(rows).forEach(function (id) { if (devices[id]) updateTimes(rows[id], devices[id]); });
    var note = $("dev-updated");
    if (lastFetchOK) note.textContent = "设备数据更新于 " + ago(lastFetchOK);
    $("clock").textContent = clockText(now());
  }

  // The central uplink: connected or not, and how many events wait for it.
  function fetchUplink() {
    api("GET", "/api/v1/uplink").then(function (body) {
      var el = $("uplink");
      if (!body || !body.configured) {
        el.textContent = "未配置";
        el.setAttribute("data-state", "off");
        return;
      }
      var st = body.status || {};
      var lag = typeof st.lag === "number" ? st.lag : 0;
      el.textContent = (st.connected ? "已连接" : "未连接") + " · 待发 " + lag;
      el.setAttribute("data-state", st.connected ? (lag > 1000 ? "lagging" : "ok") : "down");
      el.title = st.last_error ? "最近错误：" + st.last_error : "";
    }, function () {});
  }

  function fetchDevices() {
    fetchUplink();
    if (fetching) { fetchAgain = true; return; }
    fetching = true;
    fetchAgain = false;
    var gen = eventGen;
    api("GET", "/api/v1/devices").then(function (body) {
      $("devices-error").hidden = true;
      lastFetchOK = now();
      if (gen !== eventGen) { fetchAgain = true; return; } // an event overtook this answer
      var next = {};
      (Array.isArray(body.devices) ? body.devices : []).forEach(function (d) {
        if (d && d.id !== undefined) next[d.id] = d;
      });
      devices = next;
      httpLoaded = true;
      render();
    }, function (err) {
      var box = $("devices-error");
      box.textContent = "设备列表获取失败：" + err.message +
        (lastFetchOK ? "。下表为 " + ago(lastFetchOK) + " 的数据。" : "。");
      box.hidden = false;
      if (!httpLoaded) render();
    }).then(function () {
      fetching = false;
      if (fetchAgain) setTimeout(fetchDevices, 50);
    });
  }

  function flash(id) {
    var r = rows[id];
    if (!r) return;
    r.tr.classList.remove("flash");
    void r.tr.offsetWidth; // restart the animation
    r.tr.classList.add("flash");
  }

  function setTrace(id, on) {
    traceBusy[id] = true;
    if (rows[id]) rows[id].trace.disabled = true;
    api("POST", "/api/v1/devices/" + encodeURIComponent(id) + "/trace", { on: on }).then(function () {
      if (devices[id]) devices[id].trace = on;
      toast((on ? "已开启 " : "已关闭 ") + id + " 的 hex 跟踪");
    }, function (err) {
      if (rows[id]) rows[id].trace.checked = !on;
      toast(id + " 跟踪设置失败：" + err.message, true);
    }).then(function () {
      delete traceBusy[id];
      if (rows[id]) rows[id].trace.disabled = false;
      fetchDevices();
    });
  }

  function simulate(id, action, label, btn) {
    var body = { action: action };
    if (action === "send") {
      var text = window.prompt("输入要扫描或发送的内容（例如今天的预约码）：", "");
      if (!text) return;
      body.text = text;
    }
    btn.disabled = true;
    api("POST", "/api/v1/devices/" + encodeURIComponent(id) + "/simulate", body).then(function () {
      toast("已模拟「" + label + "」：" + id);
      fetchDevices();
    }, function (err) {
      toast(id + " 模拟「" + label + "」失败：" + err.message, true);
    }).then(function () { btn.disabled = false; });
  }

  // ---------------------------------------------------------------- event log
  function summarize(ev) {
    var type = str(ev.type);
    var t, name, bits;
    switch (type) {
      case "ticket.issued":
        t = ev.ticket || {};
        name = services[t.service] ? services[t.service].name : str(t.service);
        bits = "出号 " + str(t.number) + " · " + name;
        if (PRIORITY_TEXT[t.priority]) bits += "（" + PRIORITY_TEXT[t.priority] + "）";
        if (t.printed_by) bits += " · 打印机 " + t.printed_by;
        return { text: bits, level: "ok", cat: "ticket" };
      case "ticket.printed":
        return { text: str(ev.number) + " 小票已打印" + (ev.printer ? "（" + ev.printer + "）" : ""), level: "ok", cat: "ticket" };
      case "ticket.print_failed":
        return { text: str(ev.number) + " 打印失败：" + (str(ev.message) || "未知原因") + (ev.code ? "（" + ev.code + "）" : ""), level: "warn", cat: "ticket" };
      case "device.state":
        var det = ev.detail || {};
        bits = [];
        if (det.online === false) bits.push("脱机");
        if (det.paper === "near_end") bits.push("纸将尽");
        if (det.paper === "end") bits.push("缺纸");
        if (det.cover === "open") bits.push("开盖");
        var st = normState(ev.state);
        var text = str(ev.device) + " " + kindText(ev.kind) + " → " + stateText(ev.state) +
          (bits.length ? "（" + bits.join("、") + "）" : "") + (ev.reason ? " · " + ev.reason : "");
        return { text: text, level: st === "ready" ? "ok" : (st === "degraded" || st === "unknown" ? "warn" : "bad"), cat: "device" };
      case "ticket.called":
      case "ticket.recalled":
        return { text: str(ev.voice) + (ev.recall ? "（重呼）" : ""), level: "ok", cat: "ticket" };
      case "service.finished":
        return { text: str(ev.number) + " 在 " + str(ev.window) + " 办结", level: "ok", cat: "ticket" };
      case "rating.submitted":
        return { text: str(ev.number) + " 评价：" + str(ev.level) + (ev.reasons && ev.reasons.length ? "（" + ev.reasons.join("、") + "）" : "") +
          " · " + str(ev.window), level: ev.bad ? "bad" : "ok", cat: "ticket" };
      case "rating.timeout":
        return { text: str(ev.number) + " 未评价（超时）", level: "warn", cat: "ticket" };
      case "window.paused":
        return { text: str(ev.voice) + " · " + str(ev.reason), level: "warn", cat: "device" };
      case "window.resumed":
        return { text: str(ev.window) + " 恢复服务", level: "ok", cat: "device" };
      case "staff.signed_in":
        return { text: str(ev.staff_name || ev.staff) + " 在 " + str(ev.window) + " 签到", level: "ok", cat: "device" };
      case "staff.signed_out":
        return { text: str(ev.staff) + " 在 " + str(ev.window) + " 签退", level: "ok", cat: "device" };
      case "alert.raised":
        return { text: "告警：" + str(ev.message), level: "bad", cat: "device" };
      case "alert.cleared":
        return { text: "告警解除：" + str(ev.alert_id), level: "ok", cat: "device" };
      case "device.event":
        return { text: str(ev.device) + " " + ({ key: "按键", rating: "评价", timeout: "评价超时", fault: "故障" }[ev.kind] || str(ev.kind)) +
          " " + str(ev.value) + (ev.refused ? "（未执行：" + ev.refused + "）" : ""), level: ev.refused ? "warn" : "ok", cat: "device" };
      default:
        var rest = {};
        Object.keys(ev).forEach(function (k) { if (["id", "seq", "ts", "type", "hall"].indexOf(k) < 0) rest[k] = ev[k]; });
        var s = JSON.stringify(rest);
        if (s.length > 160) s = s.slice(0, 159) + "…";
        return { text: s === "{}" ? "（无内容）" : s, level: "", cat: type.split(".")[0] || "other" };
    }
  }

  function logMatches(e) {
    var f = $("log-filter").value;
    if (!f) return true;
    if (f === "problem") return e.level === "warn" || e.level === "bad";
    return e.cat === f;
  }

  function logNode(e) {
    var li = el("li", "log-entry" + (e.level ? " " + e.level : ""));
    li.appendChild(el("span", "l-time", clockText(e.time)));
    var head = el("span");
    head.appendChild(el("span", "l-type", e.type));
    if (e.seq !== null && e.seq !== undefined) head.appendChild(el("span", "l-seq", "#" + e.seq));
    li.appendChild(head);
    li.appendChild(el("span", "l-text", e.text));
    return li;
  }

  function addLog(e) {
    logEntries.unshift(e);
    if (logEntries.length > LOG_MAX) logEntries.length = LOG_MAX;
    var ul = $("event-log");
    if (logMatches(e)) {
      var li = logNode(e);
      li.classList.add("fresh");
      ul.insertBefore(li, ul.firstChild);
    }
    while (ul.children.length > LOG_MAX) ul.removeChild(ul.lastChild);
    $("log-empty").hidden = ul.children.length > 0;
  }

  function rerenderLog() {
    var ul = $("event-log");
    ul.textContent = "";
    logEntries.forEach(function (e) { if (logMatches(e)) ul.appendChild(logNode(e)); });
    $("log-empty").hidden = ul.children.length > 0;
  }

  function sysLog(text, level) {
    addLog({ time: now(), seq: null, type: "系统", text: text, level: level || "sys", cat: "sys" });
  }

  // ---------------------------------------------------------------- stream
  function onSnapshot(data, seq) {
    data = data || {};
    var hall = data.hall || {};
    if (hall.name) { $("hall-name").textContent = hall.name; document.title = "设备监控 · " + hall.name; }
    if (hall.now) { var t = Date.parse(hall.now); if (!isNaN(t)) clockOffset = t - Date.now(); }
    services = {};
    (data.services || []).forEach(function (s) { if (s && s.id !== undefined) services[s.id] = s; });
    var tickets = Array.isArray(data.tickets) ? data.tickets : [];
    ticketCount = tickets.length;
    failedTickets = {};
    tickets.forEach(function (t) { if (t.print_status === "failed") failedTickets[t.id] = true; });
    updateTicketCounts();
    if (!httpLoaded && Array.isArray(data.devices)) {
      devices = {};
      data.devices.forEach(function (d) { if (d && d.id !== undefined) devices[d.id] = d; });
      render();
    }
    $("seq").textContent = seq === null || seq === undefined ? "—" : String(seq);
    sysLog("收到全量快照，流水号 " + seq + "，设备 " + (data.devices || []).length + " 台，今日出号 " + ticketCount + " 张");
    fetchDevices();
  }

  function updateTicketCounts() {
    $("count-tickets").textContent = String(ticketCount);
    $("count-print-failed").textContent = String(Object.keys(failedTickets).length);
  }

  function onEvent(ev, seq) {
    if (!ev) return;
    $("seq").textContent = seq === null || seq === undefined ? $("seq").textContent : String(seq);
    var s = summarize(ev);
    var t = parseTs(ev.ts);
    addLog({ time: isNaN(t) ? now() : t, seq: seq, type: str(ev.type), text: s.text, level: s.level, cat: s.cat });

    switch (ev.type) {
      case "ticket.issued":
        ticketCount++;
        if (ev.ticket && ev.ticket.print_status === "failed") failedTickets[ev.ticket.id] = true;
        updateTicketCounts();
        break;
      case "ticket.printed":
        delete failedTickets[ev.ticket_id];
        updateTicketCounts();
        break;
      case "ticket.print_failed":
        failedTickets[ev.ticket_id] = true;
        updateTicketCounts();
        break;
      case "device.state":
        var id = ev.device;
        if (id === undefined || id === null) break;
        eventGen++;
        var d = devices[id] || (devices[id] = { id: id, kind: ev.kind });
        if (ev.ts && d.state !== ev.state) d.since = ev.ts;
        if (ev.ts) d.last_seen = ev.ts;
        d.state = ev.state;
        if (ev.kind) d.kind = ev.kind;
        if (ev.detail && typeof ev.detail === "object") d.detail = Object.assign({}, d.detail || {}, ev.detail);
        render();
        flash(String(id));
        fetchDevices();
        break;
    }
  }

  var overlayTimer = null;
  var wasConnected = false;
  function onStatus(st) {
    var conn = $("conn-state");
    conn.setAttribute("data-state", st.state === "connected" ? "connected" : (st.state === "connecting" ? "connecting" : "disconnected"));
    var overlay = $("conn-overlay");
    if (st.state === "connected") {
      $("conn-text").textContent = "实时已连接";
      clearTimeout(overlayTimer);
      overlayTimer = null;
      overlay.hidden = true;
      if (!wasConnected) sysLog("实时连接已建立" + (st.seq !== null && st.seq !== undefined ? "，从流水号 " + st.seq + " 继续" : ""), "sys");
      wasConnected = true;
      return;
    }
    if (st.state === "connecting") {
      $("conn-text").textContent = st.attempt ? "重连中（第 " + st.attempt + " 次）" : "连接中";
    } else {
      $("conn-text").textContent = "已断开，" + Math.round((st.delay || 0) / 1000) + " 秒后重连";
      $("conn-sub").textContent = "实时数据已中断，" + Math.round((st.delay || 0) / 1000) + " 秒后重连；设备列表仍每 2 秒刷新";
      if (wasConnected) sysLog("实时连接中断，正在重连", "warn");
      wasConnected = false;
    }
    if (overlay.hidden && !overlayTimer) {
      overlayTimer = setTimeout(function () {
        overlayTimer = null;
        if (stream.state !== "connected") overlay.hidden = false;
      }, OVERLAY_GRACE_MS);
    }
  }

  // ---------------------------------------------------------------- wiring
  $("filter-area").addEventListener("change", function (e) { filters.area = e.target.value; saveFilters(); render(); });
  $("filter-kind").addEventListener("change", function (e) { filters.kind = e.target.value; saveFilters(); render(); });
  $("filter-problem").addEventListener("change", function (e) { filters.problem = e.target.checked; saveFilters(); render(); });
  $("log-filter").addEventListener("change", rerenderLog);

  render();
  tickTimes();
  setInterval(tickTimes, 1000);
  setInterval(fetchDevices, POLL_MS);
  fetchDevices();

  var stream = new window.HallStream();
  stream.onSnapshot(onSnapshot).onEvent(onEvent).onStatus(onStatus).connect();

  window.halldMonitor = { devices: function () { return devices; }, stream: stream, refresh: fetchDevices };
})();
