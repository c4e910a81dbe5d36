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
    ticket_printer: "小票打印机", eval_pad: "评价器", bus: "RS-485 总线", line: "串口行设备", terminal: "自助终端"
  };
  KIND_TEXT.scanner = "扫码器";
  // Why a device is in its state (drivers' and the supervisor's reasons).
  var REASON_TEXT = {
    connecting: "正在连接", not_attached: "未接入（找不到串口）", link_lost: "链路中断", write_timeout: "写入超时",
    paper_end: "缺纸", paper_near_end: "纸将尽", cover_open: "开盖", offline: "打印机脱机", cutter_error: "切刀故障",
    unrecoverable: "不可恢复的故障", auto_recoverable: "可自动恢复的故障", no_status_reply: "不回应状态查询",
    no_reply: "无应答", line_down: "所在总线中断", bad_input: "只收到无法识别的数据（请核对波特率、结束符、字符集）",
    sam_self_test_failed: "安全模块自检失败", sam_unauthorised: "安全模块未授权", sam_status: "安全模块状态异常",
    read_failed: "上次读卡失败", connected: "已连接"
  };
  var PERIPHERAL_TEXT = { card_reader: "读卡器", printer: "打印机", scanner: "扫码器", camera: "摄像头" };
  var PERIPHERAL_STATE = { ok: "正常", fault: "故障", paper_low: "纸将尽", offline: "离线", missing: "未接" };
  var MQTT_STATE = { online: "在线", ready: "在线", alert: "告警", lost: "连接丢失", disconnected: "已断开", init: "启动中", sleeping: "休眠" };
  var SEVERITY_TEXT = { critical: "严重", warning: "警告", info: "提示" };
  var ALERT_KIND_TEXT = {
    bad_rating: "差评", pause_overdue: "暂停超时", wait_over_limit: "等候超时", followup_overdue: "差评整改超期",
    uplink_down: "上报中心中断", disk_low: "磁盘空间不足", trace_stopped: "跟踪已停止", terminal_fault: "自助终端故障",
    pad_fault: "评价器故障", too_many_faults: "设备故障过多", too_many_alerts: "告警过多",
    peak_load: "排队高峰", uplink_backlog: "上报积压"
  };
  // Event types as hall IT reads them.
  var TYPE_TEXT = {
    "ticket.issued": "出号", "ticket.printed": "打印", "ticket.print_failed": "打印失败", "ticket.called": "叫号",
    "ticket.recalled": "重呼", "ticket.no_show": "过号", "ticket.held": "挂起", "ticket.transferred": "转移",
    "service.started": "开始办理", "service.finished": "办结", "service.opened": "恢复取号", "service.closed": "暂停取号",
    "rating.submitted": "评价", "rating.timeout": "未评价", "window.paused": "窗口暂停", "window.resumed": "窗口恢复",
    "window.pause_overdue": "暂停超时", "staff.signed_in": "签到", "staff.signed_out": "签退",
    "alert.raised": "告警", "alert.updated": "告警复发", "alert.cleared": "告警解除",
    "alert.acknowledged": "告警确认", "alert.assigned": "告警指派", "alert.closed": "告警关闭",
    "followup.opened": "差评回访", "followup.updated": "回访进展", "followup.overdue": "回访超期",
    "appointment.booked": "预约", "appointment.checked_in": "预约签到", "appointment.cancelled": "取消预约",
    "idcard.read": "读证", "device.state": "设备状态", "device.event": "设备事件", "device.line": "设备数据",
    "notice.posted": "公告"
  };
  var STAGE_TEXT = { open: "待回访", callback: "已回访", rectify: "已整改", feedback: "已反馈", rating: "群众评价", appealed: "申诉中", upheld: "申诉成立", rejected: "申诉驳回" };
  // How long a device may be silent before its last contact shows red:
  // polled devices answer every few seconds; a scanner speaks only when
  // used, so its silence says nothing.
  function staleAfter(d) {
    if (d.kind === "scanner" || d.kind === "line" || d.kind === "kiosk") return Infinity;
    if (d.kind === "terminal") {
      var hb = d.detail && typeof d.detail.heartbeat === "string" ? parseDuration(d.detail.heartbeat) : NaN;
      return (isNaN(hb) ? 60 : hb) * 3 + 10;
    }
    return STALE_SEEN_S;
  }
  function parseDuration(s) { // Go durations: 1m0s, 30s, 1h0m0s
    var m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(String(s));
    if (!m || !s) return NaN;
    return (+m[1] || 0) * 3600 + (+m[2] || 0) * 60 + (+m[3] || 0);
  }
  function reasonText(r) {
    r = str(r);
    if (!r) return "";
    if (REASON_TEXT[r]) return REASON_TEXT[r];
    return terminalReason(r);
  }
  // A terminal's reason: "heartbeats missed (3 × 1m0s)", "printer fault; door open; disk 5% free"…
  function terminalReason(r) {
    var m;
    if (/^connection lost/.test(r)) return "连接丢失（遗嘱消息）";
    if (/^disconnected/.test(r)) return "已断开连接";
    if ((m = /^heartbeats missed \((\d+) × ([^)]+)\)/.exec(r))) return "心跳中断（连续 " + m[1] + " 次未收到，每 " + durText(m[2]) + " 一次）";
    if ((m = /^no heartbeat since the watcher started \((\d+) × ([^)]+)\)/.exec(r))) return "启动以来未收到心跳（已过 " + m[1] + " 个周期）";
    if (r === "terminal reports alert") return "终端报告告警";
    return r.split("; ").map(function (part) {
      var p;
      if (part === "door open") return "柜门打开";
      if ((p = /^disk (\d+)% free$/.exec(part))) return "磁盘剩余 " + p[1] + "%";
      if ((p = /^(\w+) (\w+)$/.exec(part)) && (PERIPHERAL_TEXT[p[1]] || PERIPHERAL_STATE[p[2]])) {
        return (PERIPHERAL_TEXT[p[1]] || "外设") + (PERIPHERAL_STATE[p[2]] || "异常");
      }
      return /[A-Za-z]{3,}/.test(part) ? "其他异常" : part;
    }).join("、");
  }
  function durText(s) {
    var n = parseDuration(s);
    if (isNaN(n)) return "一个周期";
    return n % 60 === 0 && n >= 60 ? (n / 60) + " 分钟" : n + " 秒";
  }
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
  var areaNames = {};        // area id -> name
  var alerts = {};           // alert id -> open alert
  var windowsById = {};      // window id -> window (names in the log)
  var staffNames = {};       // staff id -> name

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
    return window.HallApi.request(method, url, body, { networkError: "网络连接失败" }).catch(function (e) {
      // The monitoring room reads the code: hall IT looks it up.
      if (e.code && e.code !== "network" && e.code.indexOf("http_") !== 0 && e.message.indexOf(e.code) < 0) e.message += "（" + e.code + "）";
      throw e;
    });
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
    r.reason = el("span", "reason");
    c2.appendChild(r.state);
    c2.appendChild(r.reason);
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
      var w = el("span", "cnt");
      w.appendChild(document.createTextNode(p[1] + " "));
      r.cnt[p[0]] = el("b", null, "0");
      w.appendChild(r.cnt[p[0]]);
      r.counters.appendChild(w);
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
    r.trace.setAttribute("aria-label", id + " 十六进制跟踪");
    sw.title = "十六进制跟踪：把收发的字节写入跟踪文件";
    sw.appendChild(r.trace);
    sw.appendChild(document.createTextNode("跟踪"));
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
    if (det.cover === "unknown") box.appendChild(chip("状态未知", "warn"));
    detailChips(det).forEach(function (c) { box.appendChild(c); });
    if (!box.firstChild) box.appendChild(el("span", "muted", "—"));
  }

  // Chinese chips for what the other drivers report; keys not known here
  // are listed in one chip's tooltip, never shown raw.
  var SHOWN_KEYS = { online: 1, paper: 1, cover: 1, cutter_error: 1, problems: 1, status: 1 };
  function detailChips(det) {
    var out = [], other = [];
    function num(k) { return typeof det[k] === "number" ? det[k] : 0; }
    Object.keys(det).forEach(function (k) {
      if (SHOWN_KEYS[k]) return;
      var v = det[k];
      switch (k) {
        case "pads": out.push(chip("评价器 " + v + " 台")); return;
        case "addr": out.push(chip("地址 " + v)); return;
        case "lines": out.push(chip("已收 " + v + " 行")); return;
        case "overlong": case "garbage": case "bad_encoding": case "flushed": case "cut": case "handler_errors": return;
        case "sam_id": out.push(chip("安全模块 " + v)); return;
        case "sw3": return;
        case "message": case "error": if (v) out.push(chip(/[A-Za-z]{3,}/.test(String(v)) ? "错误详情见提示" : String(v), "warn")); if (v) out[out.length - 1].title = String(v); return;
        case "mqtt_state": out.push(chip(MQTT_STATE[v] || "连接状态未知", v === "online" || v === "ready" ? "ok" : "warn")); return;
        case "last_seen": case "uptime": case "heartbeat": return;
        case "missed": out.push(chip("漏收心跳 " + v + " 次", "bad")); return;
        case "door": out.push(chip(v === "open" ? "柜门打开" : (v === "closed" ? "柜门关闭" : "柜门未知"), v === "open" ? "warn" : "")); return;
        case "disk_free_pct": out.push(chip("磁盘剩余 " + v + "%", v < 10 ? "warn" : "")); return;
        case "peripherals":
          if (v && typeof v === "object") Object.keys(v).sort().forEach(function (pk) {
            var pv = v[pk];
            out.push(chip((PERIPHERAL_TEXT[pk] || "外设") + (PERIPHERAL_STATE[pv] || "异常"), pv === "ok" ? "" : (pv === "fault" ? "bad" : "warn")));
          });
          return;
      }
      if (v === null || v === undefined || v === "") return;
      other.push(k + "=" + (typeof v === "object" ? JSON.stringify(v) : String(v)));
    });
    var dropped = num("overlong") + num("garbage") + num("bad_encoding");
    if (dropped) out.push(chip("丢弃 " + dropped + " 行", "warn"));
    if (num("handler_errors")) out.push(chip("处理失败 " + num("handler_errors") + " 次", "warn"));
    if (other.length) {
      var c = chip("其他 " + other.length + " 项");
      c.title = other.join("\n");
      out.push(c);
    }
    return out;
  }

  // The simulator's actions for a device, as one menu (a row stays one line).
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
    var sel = el("select", "sim-select");
    sel.setAttribute("aria-label", "模拟操作：" + d.id);
    sel.appendChild(new Option("模拟操作…", ""));
    acts.forEach(function (a) {
      var o = new Option(a[1], a[0]);
      o.setAttribute("data-action", a[0]);
      sel.appendChild(o);
    });
    sel.addEventListener("change", function () {
      var a = sel.value;
      if (!a) return;
      var label = sel.options[sel.selectedIndex].text;
      sel.value = "";
      simulate(d.id, a, label, sel);
    });
    r.simBox.appendChild(sel);
  }

  function updateRow(r, d) {
    var st = normState(d.state);
    r.tr.setAttribute("data-state", st);
    r.tr.setAttribute("data-area", str(d.area));
    r.tr.setAttribute("data-kind", str(d.kind));
    r.sim.hidden = !d.simulated;
    r.kind.textContent = kindText(d.kind);
    r.kind.title = str(d.kind);
    r.area.textContent = str(d.area_name) || str(d.area) || "—";
    r.state.setAttribute("data-state", st);
    r.state.textContent = stateText(d.state);
    r.state.title = str(d.state);
    r.reason.textContent = reasonText(d.reason);
    r.reason.title = str(d.reason);
    r.reason.hidden = !d.reason;
    renderDetail(r, d);
    ["reconnects", "errors", "bad_frames", "jobs"].forEach(function (k) {
      var v = d.counters && typeof d.counters[k] === "number" ? d.counters[k] : null;
      r.cnt[k].textContent = v === null ? "—" : String(v);
      r.cnt[k].classList.toggle("nz", k !== "jobs" && v > 0);
      // a counter this device does not keep is left out
      r.cnt[k].parentNode.hidden = v === null;
    });
    r.lastError.textContent = str(d.last_error) || "";
    r.lastError.title = str(d.last_error);
    if (!d.last_error) r.lastError.appendChild(el("span", "muted", "—"));
    // The port's last path part (by-id names are long); the whole path on hover.
    var port = str(d.port);
    r.port.textContent = port ? port.replace(/^.*\//, "") || port : "—";
    r.port.title = port;
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
    r.seen.classList.toggle("stale", !isNaN(t) && (now() - t) / 1000 > staleAfter(d) && d.state !== "offline");
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
      list.forEach(function (d) {
        if (d[f[1]]) vals[str(d[f[1]])] = true;
        if (d.area && d.area_name) areaNames[d.area] = str(d.area_name);
      });
      if (filters[f[1]]) vals[filters[f[1]]] = true;
      var keys = Object.keys(vals).sort(function (a, b) { return a.localeCompare(b, "zh-CN", { numeric: true }); });
      var sig = keys.join("\u0001");
      if (sel.getAttribute("data-sig") !== sig) {
        sel.setAttribute("data-sig", sig);
        sel.textContent = "";
        sel.appendChild(new Option(f[2], ""));
        keys.forEach(function (k) { sel.appendChild(new Option(f[1] === "kind" ? kindText(k) : (areaNames[k] || k), k)); });
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
  function svcName(id) { return services[id] ? str(services[id].name) : (str(id) ? "其他事项" : ""); }
  function winName(id, num) {
    var w = windowsById[id];
    if (w && w.number) return w.number + "号窗口";
    if (num) return num + "号窗口";
    return w && w.name ? str(w.name) : (str(id) || "窗口");
  }
  function staffName(ev) { return str(ev.staff_name) || staffNames[ev.staff] || str(ev.staff); }
  function devState(ev) {
    var det = ev.detail || {};
    var bits = [];
    if (det.online === false) bits.push("脱机");
    if (det.paper === "near_end") bits.push("纸将尽");
    if (det.paper === "end") bits.push("缺纸");
    if (det.cover === "open") bits.push("开盖");
    if (det.door === "open") bits.push("柜门打开");
    if (det.peripherals && typeof det.peripherals === "object") {
      Object.keys(det.peripherals).sort().forEach(function (k) {
        var v = det.peripherals[k];
        if (v !== "ok") bits.push((PERIPHERAL_TEXT[k] || "外设") + (PERIPHERAL_STATE[v] || "异常"));
      });
    }
    var why = reasonText(ev.reason);
    if (why && bits.indexOf(why) < 0 && why.split("、").every(function (w) { return bits.indexOf(w) < 0; })) bits.push(why);
    return bits;
  }

  // summarize turns a journal event into one Chinese line.
  function summarize(ev) {
    var type = str(ev.type);
    var t, name, bits;
    switch (type) {
      case "ticket.issued":
        t = ev.ticket || {};
        bits = "出号 " + str(t.number) + " · " + svcName(t.service);
        if (PRIORITY_TEXT[t.priority]) bits += "（" + PRIORITY_TEXT[t.priority] + "）";
        if (t.printed_by) bits += " · 打印机 " + t.printed_by;
        return { text: bits, level: "ok", cat: "ticket" };
      case "ticket.printed":
        return { text: str(ev.number) + " 小票已打印" + (ev.printer ? "（" + ev.printer + "）" : ""), level: "ok", cat: "ticket" };
      case "ticket.print_failed":
        return { text: str(ev.number) + " 打印失败：" + (str(ev.message) || "未知原因"), level: "warn", cat: "ticket" };
      case "device.state":
        var st = normState(ev.state);
        bits = devState(ev);
        return { text: str(ev.device) + " " + kindText(ev.kind) + " → " + stateText(ev.state) + (bits.length ? "（" + bits.join("、") + "）" : ""),
          level: st === "ready" ? "ok" : (st === "degraded" || st === "unknown" ? "warn" : "bad"), cat: "device" };
      case "ticket.called":
      case "ticket.recalled":
        return { text: str(ev.voice) || (str(ev.number) + " 请到 " + winName(ev.window, ev.window_number)), level: "ok", cat: "ticket" };
      case "ticket.no_show":
        return { text: str(ev.number) + " 在 " + winName(ev.window) + " 过号", level: "warn", cat: "ticket" };
      case "ticket.held":
        return { text: str(ev.number) + " 在 " + winName(ev.window) + " 挂起", level: "", cat: "ticket" };
      case "ticket.transferred":
        return { text: str(ev.number) + " 由" + svcName(ev.from_service) + "转到" + svcName(ev.to_service) + (ev.to_window ? "（" + winName(ev.to_window) + "）" : ""), level: "", cat: "ticket" };
      case "service.started":
        return { text: str(ev.number) + " 在 " + winName(ev.window) + " 开始办理", level: "ok", cat: "ticket" };
      case "service.finished":
        return { text: str(ev.number) + " 在 " + winName(ev.window) + " 办结", level: "ok", cat: "ticket" };
      case "service.opened":
        return { text: svcName(ev.service) + " 恢复取号", level: "ok", cat: "ticket" };
      case "service.closed":
        return { text: svcName(ev.service) + " 暂停取号" + (ev.reason ? "：" + ev.reason : ""), level: "warn", cat: "ticket" };
      case "rating.submitted":
        return { text: str(ev.number) + " 评价：" + str(ev.level) + (ev.reasons && ev.reasons.length ? "（" + ev.reasons.join("、") + "）" : "") +
          " · " + winName(ev.window), level: ev.bad ? "bad" : "ok", cat: "ticket" };
      case "rating.timeout":
        return { text: str(ev.number) + " 未评价（超时）", level: "warn", cat: "ticket" };
      case "window.paused":
        return { text: str(ev.voice) || (winName(ev.window, ev.window_number) + " 暂停服务"), level: "warn", cat: "device" };
      case "window.resumed":
        return { text: winName(ev.window) + " 恢复服务", level: "ok", cat: "device" };
      case "window.pause_overdue":
        return { text: winName(ev.window) + " 暂停已超时" + (ev.minutes ? " " + ev.minutes + " 分钟" : ""), level: "warn", cat: "device" };
      case "staff.signed_in":
        return { text: staffName(ev) + " 在 " + winName(ev.window) + " 签到", level: "ok", cat: "device" };
      case "staff.signed_out":
        return { text: staffName(ev) + " 在 " + winName(ev.window) + " 签退", level: "ok", cat: "device" };
      case "alert.raised":
        return { text: (SEVERITY_TEXT[ev.severity] || "") + "告警：" + str(ev.message), level: "bad", cat: "device" };
      case "alert.updated":
        return { text: "告警再次发生" + (ev.count ? "（第 " + ev.count + " 次）" : "") + (ev.message ? "：" + ev.message : (alerts[ev.alert_id] ? "：" + alerts[ev.alert_id].message : "")), level: "warn", cat: "device" };
      case "alert.cleared":
        var a = alerts[ev.alert_id];
        return { text: "告警解除" + (a ? "：" + str(a.message) : ""), level: "ok", cat: "device" };
      case "device.event":
        return { text: str(ev.device) + " " + ({ key: "按键", rating: "评价", timeout: "评价超时", fault: "故障" }[ev.kind] || "事件") +
          " " + str(ev.value) + (ev.refused ? "（未执行）" : ""), level: ev.refused ? "warn" : "ok", cat: "device" };
      case "device.line":
        return { text: str(ev.device) + " 收到一行数据（" + str(ev.text).length + " 字）", level: "", cat: "device" };
      case "idcard.read":
        return { text: str(ev.kiosk || ev.reader) + " 读取身份证（尾号 " + str(ev.id_last4) + "）" + (ev.expired ? "，证件已过期" : ""), level: ev.expired ? "warn" : "ok", cat: "ticket" };
      case "appointment.booked":
        return { text: "新预约 · " + svcName(ev.service), level: "ok", cat: "ticket" };
      case "appointment.checked_in":
        return { text: "预约签到" + (ev.by === "idcard" ? "（刷证）" : (ev.by === "code" ? "（扫码）" : "")), level: "ok", cat: "ticket" };
      case "appointment.cancelled":
        return { text: "预约取消", level: "", cat: "ticket" };
      case "followup.opened":
        return { text: str(ev.number) + " 差评待回访 · " + winName(ev.window), level: "warn", cat: "ticket" };
      case "followup.updated":
        return { text: "差评回访进展：" + (STAGE_TEXT[ev.stage] || "已更新") + (ev.result === "not_reached" ? "（未接通）" : (ev.stage === "rating" && ev.result ? "：" + ev.result : "")) + (ev.closed ? " · 已办结" : ""), level: "", cat: "ticket" };
      case "followup.overdue":
        return { text: "差评回访超期", level: "bad", cat: "ticket" };
      case "notice.posted":
        return { text: "大厅公告：" + str(ev.text), level: "", cat: "other" };
      default:
        return { text: TYPE_TEXT[type] ? TYPE_TEXT[type] : "其他事件", level: "", cat: type.split(".")[0] || "other" };
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
    var tt = el("span", "l-type", TYPE_TEXT[e.type] || (e.type === "系统" ? "系统" : "事件"));
    tt.title = e.type;
    head.appendChild(tt);
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

  // ---------------------------------------------------------------- history
  // The log starts with what the journal recorded before this page was
  // opened: the last HISTORY events up to the snapshot, read once over a
  // stream of their own (?since=), then closed.
  var HISTORY = LOG_MAX;
  var historyLoaded = false;
  function loadHistory(upto) {
    if (historyLoaded || !upto || !window.WebSocket) return;
    historyLoaded = true;
    var loc = window.location;
    if (!loc.host) return;
    var since = Math.max(0, upto - HISTORY);
    var url = window.HallAuth.url((loc.protocol === "https:" ? "wss:" : "ws:") + "//" + loc.host + "/api/v1/stream");
    url += (url.indexOf("?") >= 0 ? "&" : "?") + "since=" + since;
    var got = [], ws, done = false;
    function finish() {
      if (done) return;
      done = true;
      try { ws.close(); } catch (e) { /* ignore */ }
      addHistory(got);
    }
    try { ws = new window.WebSocket(url); } catch (e) { return; }
    var timer = setTimeout(finish, 8000);
    ws.onmessage = function (m) {
      var msg;
      try { msg = JSON.parse(m.data); } catch (e) { return; }
      if (!msg || typeof msg.seq !== "number") return;
      if (msg.type === "event" && msg.seq <= upto && msg.event) {
        var s = summarize(msg.event), t = parseTs(msg.event.ts);
        got.push({ time: isNaN(t) ? now() : t, seq: msg.seq, type: str(msg.event.type), text: s.text, level: s.level, cat: s.cat });
      }
      // a snapshot means the journal no longer holds that far back
      if (msg.seq >= upto || msg.type === "snapshot") { clearTimeout(timer); finish(); }
    };
    ws.onerror = ws.onclose = function () { clearTimeout(timer); finish(); };
  }
  function addHistory(list) {
    if (!list.length) return;
    list.sort(function (a, b) { return b.seq - a.seq; });
    var seen = {};
    logEntries.forEach(function (e) { if (e.seq !== null && e.seq !== undefined) seen[e.seq] = true; });
    list = list.filter(function (e) { return !seen[e.seq]; });
    // newest first: live entries (newer) stay on top, history goes below them
    var live = logEntries.filter(function (e) { return e.seq !== null && e.seq !== undefined; });
    var oldestLive = live.length ? live[live.length - 1].seq : Infinity;
    var above = [], below = [];
    logEntries.forEach(function (e) { (e.seq !== null && e.seq !== undefined && e.seq < oldestLive ? below : above).push(e); });
    logEntries = above.concat(list, below).slice(0, LOG_MAX);
    $("log-note").textContent = "最近 " + LOG_MAX + " 条（含打开本页前的记录）";
    rerenderLog();
  }

  // ---------------------------------------------------------------- alerts
  function alertTime(a) { var t = parseTs(a.last_seen || a.since); return isNaN(t) ? 0 : t; }
  function renderAlerts() {
    var list = Object.keys(alerts).map(function (k) { return alerts[k]; });
    list.sort(function (a, b) { return alertTime(b) - alertTime(a); });
    var ul = $("alert-list");
    ul.textContent = "";
    list.forEach(function (a) {
      var sev = SEVERITY_TEXT[a.severity] ? a.severity : "warning";
      var li = el("li", "alert-item");
      li.setAttribute("data-alert", str(a.alert_id));
      li.setAttribute("data-severity", sev);
      var head = el("div", "a-head");
      head.appendChild(el("span", "a-sev", SEVERITY_TEXT[sev]));
      head.appendChild(el("span", "a-kind", ALERT_KIND_TEXT[a.kind] || (a.device ? kindText(devices[a.device] ? devices[a.device].kind : "") + "告警" : "告警")));
      if (a.device) head.appendChild(el("span", "a-dev", a.device));
      else if (a.window) head.appendChild(el("span", "a-dev", winName(a.window)));
      var n = a.count > 1 ? a.count : 1;
      if (n > 1) head.appendChild(el("span", "a-count", "共 " + n + " 次"));
      li.appendChild(head);
      li.appendChild(el("div", "a-msg", str(a.message)));
      var since = parseTs(a.since), last = alertTime(a);
      var when = isNaN(since) ? "" : "自 " + clockText(since);
      if (n > 1 && last) when += " · 最近 " + clockText(last);
      var w = el("div", "a-when", when);
      w.setAttribute("data-ts", str(a.last_seen || a.since));
      li.appendChild(w);
      ul.appendChild(li);
    });
    $("alert-empty").hidden = list.length > 0;
    var cnt = $("alert-count");
    cnt.textContent = list.length + " 条";
    cnt.setAttribute("data-n", String(list.length));
    cnt.classList.toggle("bad", list.some(function (a) { return a.severity === "critical"; }));
  }
  function onAlertEvent(ev) {
    var id = str(ev.alert_id);
    if (!id) return;
    if (ev.type === "alert.raised") {
      var a = {};
      ["alert_id", "kind", "severity", "window", "ticket_id", "message", "device", "cause"].forEach(function (k) { if (ev[k] !== undefined) a[k] = ev[k]; });
      a.count = ev.count || 1;
      a.since = a.last_seen = ev.ts;
      alerts[id] = a;
    } else if (ev.type === "alert.updated" && alerts[id]) {
      if (ev.count) alerts[id].count = ev.count;
      if (ev.message) alerts[id].message = ev.message;
      if (ev.ts) alerts[id].last_seen = ev.ts;
    } else if (ev.type === "alert.cleared" || ev.type === "alert.closed") {
      delete alerts[id];
    }
    renderAlerts();
  }

  // ---------------------------------------------------------------- stream
  function onSnapshot(data, seq) {
    data = data || {};
    var hall = data.hall || {};
    if (hall.name) { $("hall-name").textContent = hall.name; document.title = "设备监控 · " + hall.name; }
    if (hall.now) { var t = Date.parse(hall.now); if (!isNaN(t)) clockOffset = t - Date.now(); }
    services = {};
    (data.services || []).forEach(function (s) { if (s && s.id !== undefined) services[s.id] = s; });
    windowsById = {};
    (data.windows || []).forEach(function (w) {
      if (!w || w.id === undefined) return;
      windowsById[w.id] = w;
      if (w.staff && w.staff.id) staffNames[w.staff.id] = str(w.staff.name);
    });
    alerts = {};
    (Array.isArray(data.alerts) ? data.alerts : []).forEach(function (a) { if (a && a.alert_id) alerts[a.alert_id] = a; });
    renderAlerts();
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
    loadHistory(seq);
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
    if (ev.type === "alert.raised" || ev.type === "alert.updated" || ev.type === "alert.cleared" || ev.type === "alert.closed") {
      // summarize first: a cleared alert's message is still known there
      setTimeout(function () { onAlertEvent(ev); }, 0);
    }
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
