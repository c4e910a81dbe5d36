/* /supervise/ 告警 tab — the monitoring room's alerts (issue 16).
 *
 * Open alerts newest first, filtered by area, kind and severity (the API
 * filters: GET /api/v1/alerts?state=&area=&kind=&severity=); acknowledge,
 * assign and close each with a note (POST /api/v1/alerts/{id}/ack|assign|
 * close: halld records who, from the page's token); the history of each;
 * the alerts closed today. Live: an alert.* event on the page's one stream
 * fetches the list again (no polling loop). A new critical alert flashes
 * (the banner, its row, the tab) and beeps twice (Web Audio, no file):
 * browsers allow sound only after a gesture on the page, so the first
 * click or key anywhere (or the 开启声音 button) unlocks it, and until then
 * the button says the sound is off.
 */
(function (root) {
  "use strict";

  var KINDS = {
    device_offline: "设备离线", device_fault: "设备故障", device_degraded: "设备需处理",
    bad_rating: "差评", pause_overdue: "暂停超时", followup_overdue: "差评整改超期",
    terminal_fault: "自助终端故障", pad_fault: "评价器故障", disk_low: "存储空间不足",
    uplink_down: "中心连接中断", uplink_backlog: "上报积压", trace_stopped: "跟踪已停止",
    too_many_faults: "故障过多", too_many_alerts: "告警过多", peak_load: "排队高峰",
    wait_over_limit: "等候超时"
  };
  var SEVERITIES = { critical: "紧急", warning: "警告", info: "提示" };
  var STEPS = {
    raised: "产生", recurred: "再次发生", updated: "内容更新", acknowledged: "确认",
    assigned: "指派", closed: "关闭", cleared: "自动恢复"
  };
  var REASONS = {
    ready: "设备恢复正常", changed: "设备状态改变", resumed: "窗口已恢复", served: "已叫号",
    load_fell: "排队已回落", replaced: "由排队高峰告警取代", connected: "已重新连接", space: "空间已恢复",
    caught_up: "积压已补发", feedback: "已反馈", upheld: "申诉成立"
  };

  function kindName(k) { return KINDS[k] || k || "其他"; }

  // What the tab did, for the browser tests (and a curious supervisor's console).
  var seen = root.SuperviseAlerts = { beeps: 0, alarms: 0 };

  function mount(panel, ctx) {
    var el = ctx.el;
    var state = {
      view: "open", area: "", kind: "", severity: "",
      alerts: [], open: {}, known: null, // ids of open alerts seen (null: not loaded yet)
      expanded: {}, forms: {}, loading: false, again: false
    };
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = "alerts.css";
    document.head.appendChild(link);

    // Sound: one AudioContext, made (or resumed) on a user gesture.
    var audio = null;
    function unlock() {
      var AC = root.AudioContext || root.webkitAudioContext;
      if (!AC) return;
      try {
        if (!audio) audio = new AC();
        if (audio.state === "suspended") audio.resume();
      } catch (e) { audio = null; }
      soundLabel();
    }
    function soundOn() { return !!audio && audio.state === "running"; }
    function beep() {
      if (!soundOn()) return false;
      var t0 = audio.currentTime;
      [0, 0.28].forEach(function (d) {
        var o = audio.createOscillator(), g = audio.createGain();
        o.type = "square";
        o.frequency.value = 880;
        g.gain.setValueAtTime(0.0001, t0 + d);
        g.gain.exponentialRampToValueAtTime(0.25, t0 + d + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, t0 + d + 0.2);
        o.connect(g);
        g.connect(audio.destination);
        o.start(t0 + d);
        o.stop(t0 + d + 0.22);
      });
      seen.beeps++;
      return true;
    }
    document.addEventListener("click", unlock, true);
    document.addEventListener("keydown", unlock, true);

    // Layout.
    var banner = el("div", "a-banner");
    banner.hidden = true;
    banner.setAttribute("role", "alert");
    var bar = el("div", "a-bar");
    var views = el("div", "a-views");
    var bOpen = el("button", "a-view", "未关闭");
    var bClosed = el("button", "a-view", "今日已关闭");
    [bOpen, bClosed].forEach(function (b) { b.type = "button"; views.appendChild(b); });
    bOpen.dataset.view = "open";
    bClosed.dataset.view = "closed";
    function select(name, label, opts) {
      var l = el("label", "a-filter");
      l.appendChild(el("span", null, label));
      var s = el("select");
      s.name = name;
      l.appendChild(s);
      fill(s, opts);
      return { label: l, select: s };
    }
    function fill(s, opts) {
      var cur = s.value;
      s.textContent = "";
      opts.forEach(function (o) {
        var op = el("option", null, o[1]);
        op.value = o[0];
        s.appendChild(op);
      });
      s.value = cur;
      if (s.value !== cur) s.value = "";
    }
    var fArea = select("area", "区域", [["", "全部区域"]]);
    var kinds = [["", "全部类型"]];
    Object.keys(KINDS).forEach(function (k) { if (k !== "wait_over_limit") kinds.push([k, KINDS[k]]); });
    var fKind = select("kind", "类型", kinds);
    var fSev = select("severity", "级别", [["", "全部级别"], ["critical", "紧急"], ["warning", "警告"], ["info", "提示"]]);
    var sound = el("button", "a-sound");
    sound.type = "button";
    bar.appendChild(views);
    bar.appendChild(fArea.label);
    bar.appendChild(fKind.label);
    bar.appendChild(fSev.label);
    bar.appendChild(el("span", "spacer"));
    bar.appendChild(sound);
    var summary = el("p", "a-summary");
    var list = el("div", "a-list");
    list.setAttribute("aria-live", "polite");
    panel.appendChild(banner);
    panel.appendChild(bar);
    panel.appendChild(summary);
    panel.appendChild(list);

    function soundLabel() {
      var on = soundOn();
      sound.textContent = on ? "声音提醒：已开启" : "声音提醒：未开启（点此开启）";
      sound.className = "a-sound" + (on ? " on" : "");
    }
    soundLabel();
    sound.addEventListener("click", function () {
      unlock();
      setTimeout(function () { soundLabel(); if (soundOn()) beep(); }, 50);
    });
    views.addEventListener("click", function (e) {
      var v = e.target && e.target.dataset && e.target.dataset.view;
      if (!v || v === state.view) return;
      state.view = v;
      refresh();
    });
    [fArea, fKind, fSev].forEach(function (f) {
      f.select.addEventListener("change", function () {
        state[f.select.name] = f.select.value;
        refresh();
      });
    });

    // Areas for the filter: the hall's, from the snapshot (devices and
    // services name them), and any an alert names.
    var areaNames = {};
    function learnAreas(snap) {
      if (!snap) return;
      (snap.devices || []).concat(snap.services || []).forEach(function (x) {
        if (x.area) areaNames[x.area] = x.area_name || areaNames[x.area] || x.area;
      });
    }
    function areaOptions() {
      var opts = [["", "全部区域"]];
      Object.keys(areaNames).sort().forEach(function (a) { opts.push([a, areaNames[a]]); });
      fill(fArea.select, opts);
    }

    // Fetch the list. Events arriving while a fetch runs fetch once more after.
    function refresh() {
      if (state.loading) { state.again = true; return; }
      state.loading = true;
      var q = "?state=" + state.view;
      ["area", "kind", "severity"].forEach(function (k) {
        if (state[k]) q += "&" + k + "=" + encodeURIComponent(state[k]);
      });
      var wantOpen = state.view === "open" && !state.area && !state.kind && !state.severity;
      ctx.api("GET", "/api/v1/alerts" + q).then(function (r) {
        state.alerts = r.alerts || [];
        state.open = r.open || {};
        ctx.badge("alerts", state.open.open || 0);
        if (wantOpen) noticeNew(state.alerts);
        else loadKnown();
        render();
      }, function (err) {
        list.textContent = "";
        list.appendChild(el("div", "panel-error", "告警列表加载失败：" + err.message));
      }).then(function () {
        state.loading = false;
        if (state.again) { state.again = false; refresh(); }
      });
    }
    // The ids of all open alerts, to tell a new one from one seen before
    // whatever the filters show.
    function loadKnown() {
      ctx.api("GET", "/api/v1/alerts?state=open").then(function (r) { noticeNew(r.alerts || []); });
    }
    function noticeNew(alerts) {
      var first = state.known === null;
      var known = {};
      var fresh = [];
      alerts.forEach(function (a) {
        var key = a.alert_id + "@" + a.since;
        known[key] = true;
        if (!first && !state.known[key] && a.severity === "critical") fresh.push(a);
      });
      state.known = known;
      if (fresh.length) alarm(fresh);
      // The banner goes once none of the alerts it announced is open.
      var shown = (banner.dataset.alerts || "").split(" ").filter(function (k) { return k && known[k]; });
      if (!banner.hidden && !shown.length) { banner.hidden = true; banner.classList.remove("flash"); }
    }

    var bannerTimer = null;
    function alarm(fresh) {
      var a = fresh[0];
      seen.alarms++;
      banner.textContent = "";
      banner.appendChild(el("strong", null, "新的紧急告警"));
      banner.appendChild(el("span", null, (a.area_name ? "［" + a.area_name + "］" : "") + a.message));
      if (fresh.length > 1) banner.appendChild(el("span", "a-more", "另有 " + (fresh.length - 1) + " 条"));
      var ok = el("button", "a-banner-ok", "知道了");
      ok.type = "button";
      ok.addEventListener("click", function () { banner.hidden = true; banner.classList.remove("flash"); });
      banner.appendChild(ok);
      banner.dataset.alerts = fresh.map(function (x) { return x.alert_id + "@" + x.since; }).join(" ");
      banner.hidden = false;
      banner.classList.remove("flash");
      void banner.offsetWidth; // restart the animation
      banner.classList.add("flash");
      fresh.forEach(function (x) { state.flash = state.flash || {}; state.flash[x.alert_id] = Date.now(); });
      var tab = document.querySelector('[data-tab="alerts"]');
      if (tab) { tab.classList.remove("a-tab-flash"); void tab.offsetWidth; tab.classList.add("a-tab-flash"); }
      if (!beep()) {
        sound.classList.add("wanted");
        ctx.toast("有新的紧急告警；点击页面任意位置即可开启声音提醒", true);
      }
      clearTimeout(bannerTimer);
      bannerTimer = setTimeout(function () { banner.classList.remove("flash"); }, 10000);
    }

    function render() {
      bOpen.setAttribute("aria-pressed", state.view === "open" ? "true" : "false");
      bClosed.setAttribute("aria-pressed", state.view === "closed" ? "true" : "false");
      bOpen.textContent = "未关闭（" + (state.open.open || 0) + "）";
      state.alerts.forEach(function (a) { if (a.area) areaNames[a.area] = a.area_name || areaNames[a.area] || a.area; });
      areaOptions();
      var n = state.alerts.length;
      var filtered = state.area || state.kind || state.severity;
      summary.textContent = state.view === "open"
        ? "未关闭告警 " + (state.open.open || 0) + " 条（紧急 " + (state.open.critical || 0) + "，警告 " + (state.open.warning || 0) + "）" +
          (filtered ? "，筛选后 " + n + " 条" : "") + "，最新的在前。"
        : "今日已关闭 " + n + " 条" + (filtered ? "（已筛选）" : "") + "，最近关闭的在前。";
      list.textContent = "";
      if (!n) {
        list.appendChild(el("p", "s-empty", state.view === "open" ? (filtered ? "没有符合条件的告警。" : "当前没有未关闭的告警。") : "今天还没有关闭的告警。"));
        return;
      }
      state.alerts.forEach(function (a) { list.appendChild(card(a)); });
    }

    function who(s) { return s.by || "系统"; }

    function card(a) {
      var c = el("article", "a-card sev-" + (a.severity || "info") + (a.state === "closed" ? " closed" : ""));
      c.dataset.alert = a.alert_id;
      var f = state.flash && state.flash[a.alert_id];
      if (f && Date.now() - f < 10000) c.classList.add("flash");
      var head = el("div", "a-head");
      head.appendChild(el("span", "a-sev", SEVERITIES[a.severity] || a.severity));
      head.appendChild(el("span", "a-kind", kindName(a.kind)));
      if (a.area_name || a.area) head.appendChild(el("span", "a-area", a.area_name || a.area));
      head.appendChild(el("span", "a-time", "发生于 " + ctx.time(a.since) + (a.count > 1 ? " · 共 " + a.count + " 次，最近 " + ctx.time(a.last_seen) : "")));
      c.appendChild(head);
      c.appendChild(el("p", "a-msg", a.message));
      var st = el("p", "a-state");
      if (a.state === "closed" && a.ended) {
        st.appendChild(el("span", "a-tag done", (a.ended.action === "closed" ? "已关闭 · " + who(a.ended) : "已自动恢复" + (REASONS[a.ended.reason] ? "（" + REASONS[a.ended.reason] + "）" : "")) + " · " + ctx.time(a.ended.at)));
        if (a.ended.note) st.appendChild(el("span", "a-note", "说明：" + a.ended.note));
      } else if (!a.acknowledged) {
        st.appendChild(el("span", "a-tag todo", "待确认"));
      } else {
        st.appendChild(el("span", "a-tag ack", "已确认 · " + who(a.acknowledged) + " · " + ctx.time(a.acknowledged.at)));
      }
      if (a.assignee) st.appendChild(el("span", "a-tag who", "处理人：" + (a.assignee_name ? a.assignee_name + "（" + a.assignee + "）" : a.assignee)));
      c.appendChild(st);

      var acts = el("div", "a-actions");
      if (a.state !== "closed") {
        if (!a.acknowledged) acts.appendChild(action(a, "ack", "确认"));
        acts.appendChild(action(a, "assign", a.assignee ? "改派" : "指派"));
        acts.appendChild(action(a, "close", "关闭"));
      }
      var hb = el("button", "btn-small", state.expanded[a.alert_id] ? "收起记录" : "处理记录");
      hb.type = "button";
      hb.dataset.act = "history";
      hb.addEventListener("click", function () {
        state.expanded[a.alert_id] = !state.expanded[a.alert_id];
        render();
      });
      acts.appendChild(hb);
      c.appendChild(acts);
      if (state.forms[a.alert_id]) c.appendChild(form(a, state.forms[a.alert_id]));
      if (state.expanded[a.alert_id]) c.appendChild(history(a));
      return c;
    }

    function action(a, act, label) {
      var b = el("button", "btn-small" + (act === "close" ? " danger" : act === "ack" ? " primary" : ""), label);
      b.type = "button";
      b.dataset.act = act;
      b.addEventListener("click", function () {
        state.forms = {};
        state.forms[a.alert_id] = act;
        render();
        var t = list.querySelector('[data-alert="' + cssEscape(a.alert_id) + '"] textarea, [data-alert="' + cssEscape(a.alert_id) + '"] input');
        if (t) t.focus();
      });
      return b;
    }

    function cssEscape(s) { return root.CSS && root.CSS.escape ? root.CSS.escape(s) : s.replace(/["\\]/g, "\\$&"); }

    var staffList = null;
    function loadStaff(dl) {
      if (staffList) return fillStaff(dl);
      ctx.api("GET", "/api/v1/staff").then(function (r) {
        staffList = r.staff || r || [];
        fillStaff(dl);
      }, function () { staffList = []; });
    }
    function fillStaff(dl) {
      (staffList || []).forEach(function (s) {
        var o = el("option");
        o.value = s.id;
        o.label = s.name;
        dl.appendChild(o);
      });
    }

    function form(a, act) {
      var f = el("form", "a-form");
      f.noValidate = true; // our own Chinese messages, not the browser's
      var titles = { ack: "确认告警（已知悉，正在处理）", assign: "指派处理人", close: "关闭告警" };
      f.appendChild(el("strong", null, titles[act]));
      var to = null;
      if (act === "assign") {
        var l = el("label", "a-field");
        l.appendChild(el("span", null, "指派给（工号或姓名）"));
        to = el("input");
        to.name = "to";
        to.maxLength = 32;
        to.setAttribute("list", "a-staff");
        var dl = el("datalist");
        dl.id = "a-staff";
        loadStaff(dl);
        l.appendChild(to);
        l.appendChild(dl);
        f.appendChild(l);
      }
      var nl = el("label", "a-field");
      nl.appendChild(el("span", null, act === "close" ? "处理说明（必填）" : "说明（可选）"));
      var note = el("textarea");
      note.name = "note";
      note.rows = 2;
      note.maxLength = 500;
      nl.appendChild(note);
      f.appendChild(nl);
      var row = el("div", "a-form-row");
      var ok = el("button", "btn-small primary", { ack: "确认", assign: "指派", close: "关闭告警" }[act]);
      ok.type = "submit";
      var cancel = el("button", "btn-small", "取消");
      cancel.type = "button";
      cancel.addEventListener("click", function () { delete state.forms[a.alert_id]; render(); });
      row.appendChild(ok);
      row.appendChild(cancel);
      var err = el("span", "a-err");
      err.setAttribute("role", "alert");
      row.appendChild(err);
      f.appendChild(row);
      f.addEventListener("submit", function (e) {
        e.preventDefault();
        var body = { note: note.value.trim() };
        if (to) body.to = to.value.trim();
        if (act === "close" && !body.note) { err.textContent = "请填写处理说明"; note.focus(); return; }
        if (to && !body.to) { err.textContent = "请填写指派给谁"; to.focus(); return; }
        ok.disabled = true;
        ctx.api("POST", "/api/v1/alerts/" + encodeURIComponent(a.alert_id) + "/" + act, body).then(function () {
          delete state.forms[a.alert_id];
          ctx.toast({ ack: "已确认", assign: "已指派", close: "已关闭" }[act] + "：" + kindName(a.kind));
          refresh();
        }, function (e2) {
          ok.disabled = false;
          err.textContent = e2.message;
        });
      });
      return f;
    }

    function history(a) {
      var box = el("ol", "a-history");
      function show(steps) {
        box.textContent = "";
        (steps || []).forEach(function (s) {
          var li = el("li", "step-" + s.action);
          li.appendChild(el("span", "a-h-time", ctx.day(s.at).slice(5) + " " + ctx.time(s.at)));
          var what = STEPS[s.action] || s.action;
          if (s.action === "recurred" && s.count) what += "（第 " + s.count + " 次）";
          if (s.action === "assigned") what += " → " + (s.to_name ? s.to_name + "（" + s.to + "）" : s.to);
          if (s.action === "cleared" && s.reason) what += "（" + (REASONS[s.reason] || s.reason) + "）";
          li.appendChild(el("span", "a-h-what", what));
          li.appendChild(el("span", "a-h-who", s.by || (s.action === "raised" || s.action === "recurred" || s.action === "cleared" || s.action === "updated" ? "系统" : "")));
          if (s.note && s.action !== "raised") li.appendChild(el("span", "a-h-note", s.note));
          box.appendChild(li);
        });
      }
      if (a.history) show(a.history);
      else {
        box.appendChild(el("li", "a-h-loading", "正在加载…"));
        ctx.api("GET", "/api/v1/alerts/" + encodeURIComponent(a.alert_id)).then(function (r) {
          show(r.alert && r.alert.history);
        }, function (e) { box.textContent = "记录加载失败：" + e.message; });
      }
      return box;
    }

    ctx.onSnapshot(function (snap) {
      learnAreas(snap);
      refresh(); // a (re)connection: the list may have changed meanwhile
    });
    ctx.onEvent(function (ev) {
      if (ev && typeof ev.type === "string" && ev.type.indexOf("alert.") === 0) refresh();
    });
  }

  root.Supervise.register({ id: "alerts", title: "告警", order: 1, mount: mount });
})(window);
