/* halld /supervise/ — 差评整改 tab (差评 follow-ups)
 *
 * The list of 差评 follow-ups (GET /api/v1/followups) with the step each
 * awaits, its reason tags and a countdown to the step's deadline in working
 * days of the hall's calendar (counted by halld against its own clock: the
 * list's "now"), red once overdue; a badge with the overdue count; and for the
 * one selected, its history and the form of the step it awaits:
 *   回访 (reached / not reached, what the citizen said) → 整改 (the measures)
 *   → 反馈 (the reply to the citizen) → 群众评价 (满意 / 基本满意 / 不满意:
 *   不满意 sends it back to 整改 once, then it closes marked 不满意),
 *   and 申诉 with its 复核 (申诉成立 excludes the rating from statistics).
 * Each step is POSTed to /api/v1/followups/{id}/{step}; halld records it under
 * the page's token name (and the 经办人 typed here). The stream's follow-up and
 * rating events refresh the list.
 */
(function () {
  "use strict";

  var STEPS = [["callback", "回访"], ["rectify", "整改"], ["feedback", "反馈"], ["rating", "群众评价"]];
  var STAGE_TEXT = { open: "待回访", callback: "已回访", rectify: "已整改", feedback: "已反馈", rating: "群众已评价",
    appealed: "申诉中", upheld: "申诉成立", rejected: "申诉不成立" };
  var HIST_TEXT = { open: "收到差评", callback: "回访", rectify: "整改", feedback: "反馈", rating: "群众评价",
    appealed: "申诉", upheld: "复核：申诉成立", rejected: "复核：申诉不成立" };
  var RESULT_TEXT = { reached: "已接通", not_reached: "未接通", unreached: "多次未接通，按未接通办结此环节" };
  var FILTERS = [["open", "未办结"], ["overdue", "超期"], ["closed", "已办结"], ["all", "全部"]];

  var ctx, root, state = { status: "open", window: "", from: "", to: "", selected: null, data: null, busy: false };
  var timer = null, refreshTimer = null;

  function el(tag, cls, text) { return ctx.el(tag, cls, text); }
  function md(ts) { var d = ctx.day(ts); return d === "—" ? d : d.slice(5) + " " + ctx.time(ts); }

  // countdown is the text and class of the time left to the step awaited.
  function countdown(f) {
    var r = f.remaining;
    if (!r) return null;
    var by = f.due_by || f.deadline;
    if (r.overdue) {
      var late = -r.hours >= 24 && -r.working_days >= 1 ? (-r.working_days) + " 个工作日" : Math.max(1, Math.ceil(-r.hours)) + " 小时";
      return { text: "已超期 " + late, cls: "fu-late", title: "截止 " + md(by) };
    }
    if (r.working_days >= 1) {
      return { text: "剩 " + r.working_days + " 个工作日", cls: r.working_days <= 1 ? "fu-soon" : "fu-ok", title: "截止 " + md(by) };
    }
    return { text: "今日截止，剩 " + Math.max(0, Math.floor(r.hours)) + " 小时", cls: "fu-soon", title: "截止 " + md(by) };
  }

  function query() {
    var q = ["status=" + encodeURIComponent(state.status)];
    if (state.window) q.push("window=" + encodeURIComponent(state.window));
    if (state.from) q.push("from=" + state.from);
    if (state.to) q.push("to=" + state.to);
    return "/api/v1/followups?" + q.join("&");
  }

  // gen numbers the list's answers: one that a newer answer or a step has
  // overtaken is dropped, so the page never goes back to an older record.
  var gen = 0;
  function refresh() {
    clearTimeout(timer);
    timer = null;
    var my = ++gen;
    ctx.api("GET", query()).then(function (d) {
      if (my !== gen) return;
      state.data = d;
      render();
    }, function (e) {
      root.querySelector(".fu-list-msg").textContent = "读取失败：" + e.message;
    });
    ctx.api("GET", "/api/v1/followups?status=overdue&limit=1").then(function (d) {
      ctx.badge("followups", d.total);
    }, function () {});
  }
  function soon() { if (!timer) timer = setTimeout(refresh, 250); }

  function mount(el0, c) {
    ctx = c;
    root = el0;
    root.classList.add("fu-tab");
    var bar = el("div", "fu-bar");
    var group = el("div", "fu-filters");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "筛选");
    FILTERS.forEach(function (f) {
      var b = el("button", "fu-filter", f[1]);
      b.type = "button";
      b.dataset.status = f[0];
      b.addEventListener("click", function () { state.status = f[0]; refresh(); });
      group.appendChild(b);
    });
    bar.appendChild(group);
    var win = el("select", "fu-window");
    win.id = "fu-window";
    win.setAttribute("aria-label", "窗口");
    win.appendChild(new Option("全部窗口", ""));
    win.addEventListener("change", function () { state.window = win.value; refresh(); });
    bar.appendChild(win);
    ["from", "to"].forEach(function (k) {
      var lab = el("label", "fu-date", k === "from" ? "差评日期 从 " : " 至 ");
      var i = el("input");
      i.type = "date";
      i.id = "fu-" + k;
      i.addEventListener("change", function () { state[k] = i.value; refresh(); });
      lab.appendChild(i);
      bar.appendChild(lab);
    });
    root.appendChild(bar);
    root.appendChild(el("div", "fu-reasons"));
    var body = el("div", "fu-body");
    var listBox = el("div", "fu-listbox");
    var table = el("table", "fu-list");
    table.id = "fu-list";
    table.innerHTML = "<thead><tr><th>号码</th><th>窗口 / 人员</th><th>评价</th><th>原因</th><th>进度</th><th>当前环节期限</th></tr></thead><tbody></tbody>";
    listBox.appendChild(table);
    listBox.appendChild(el("p", "fu-list-msg"));
    body.appendChild(listBox);
    var detail = el("div", "fu-detail");
    detail.id = "fu-detail";
    detail.appendChild(el("p", "s-empty", "选择左侧的一条差评，查看办理记录并办理当前环节。"));
    body.appendChild(detail);
    root.appendChild(body);

    ctx.onSnapshot(function (data) {
      var sel = root.querySelector("#fu-window");
      if (sel.options.length > 1 || !data || !data.windows) return;
      data.windows.forEach(function (w) { sel.appendChild(new Option(w.name || w.id, w.id)); });
      sel.value = state.window;
    });
    ctx.onEvent(function (ev) {
      var t = ev && ev.type || "";
      if (t.indexOf("followup.") === 0 || t === "rating.submitted") soon();
    });
    refreshTimer = setInterval(refresh, 60000); // the countdowns move on
    refresh();
  }

  function render() {
    var d = state.data;
    root.querySelectorAll(".fu-filter").forEach(function (b) {
      b.setAttribute("aria-pressed", b.dataset.status === state.status ? "true" : "false");
      var n = { open: d.counts.open, overdue: d.counts.overdue, closed: d.counts.closed }[b.dataset.status];
      b.textContent = FILTERS.filter(function (f) { return f[0] === b.dataset.status; })[0][1] + (n != null ? " " + n : "");
    });
    // Reason tags of the 差评s in the period, every reason the pads offer.
    var rs = root.querySelector(".fu-reasons");
    rs.textContent = "";
    rs.appendChild(el("span", "fu-reasons-title", "差评原因"));
    var keys = (d.reason_keys || []).slice();
    Object.keys(d.reasons || {}).forEach(function (k) { if (keys.indexOf(k) < 0) keys.push(k); });
    keys.forEach(function (k) {
      var n = (d.reasons || {})[k] || 0;
      var tag = el("span", "fu-tag" + (n ? "" : " zero"), k + " ");
      tag.dataset.reason = k;
      tag.appendChild(el("b", null, String(n)));
      rs.appendChild(tag);
    });
    var tb = root.querySelector("#fu-list tbody");
    tb.textContent = "";
    d.followups.forEach(function (f) {
      var tr = el("tr", "fu-row" + (f.remaining && f.remaining.overdue ? " late" : "") + (f.closed ? " closed" : ""));
      tr.dataset.id = f.followup_id;
      tr.tabIndex = 0;
      if (state.selected === f.followup_id) tr.classList.add("selected");
      var num = el("td", "fu-num", f.number);
      num.appendChild(el("small", null, md(f.opened_at)));
      tr.appendChild(num);
      var who = el("td", null, f.window_name || f.window);
      if (f.staff_name || f.staff) who.appendChild(el("small", null, f.staff_name || f.staff));
      tr.appendChild(who);
      tr.appendChild(el("td", "fu-level", f.level));
      var rtd = el("td", "fu-rtags");
      (f.reasons || []).forEach(function (r) { rtd.appendChild(el("span", "fu-tag", r)); });
      tr.appendChild(rtd);
      tr.appendChild(el("td", "fu-stage", stageText(f)));
      var cd = countdown(f), ctd = el("td", "fu-countdown");
      if (cd) {
        ctd.appendChild(el("span", cd.cls, (f.due_name || "") + " · " + cd.text));
        ctd.title = cd.title;
      } else {
        ctd.textContent = f.satisfaction ? "群众评价：" + f.satisfaction : (f.excluded ? "不计入统计" : "已办结");
      }
      if (f.overdue) ctd.appendChild(el("span", "fu-mark", "曾超期"));
      tr.appendChild(ctd);
      tr.addEventListener("click", function () { select(f.followup_id); });
      tr.addEventListener("keydown", function (e) { if (e.key === "Enter") select(f.followup_id); });
      tb.appendChild(tr);
    });
    var msg = root.querySelector(".fu-list-msg");
    msg.textContent = d.followups.length ? (d.total > d.followups.length ? "仅显示最新 " + d.followups.length + " 条，共 " + d.total + " 条" : "") : "没有符合条件的差评整改记录";
    if (state.selected) {
      var f = d.followups.filter(function (x) { return x.followup_id === state.selected; })[0];
      if (f) renderDetail(f);
      else ctx.api("GET", "/api/v1/followups/" + encodeURIComponent(state.selected)).then(function (r) { renderDetail(r.followup); }, function () {});
    }
  }

  function stageText(f) {
    if (f.closed) return f.excluded ? "申诉成立，已办结" : "已办结";
    if (f.due === "review") return "申诉复核中";
    var s = "待" + (f.due_name || "");
    if (f.attempts) s += "（已拨打 " + f.attempts + " 次未接通）";
    if (f.dissatisfied) s += " · 第 " + (f.dissatisfied + 1) + " 轮整改";
    return s;
  }

  function select(id) {
    state.selected = id;
    root.querySelectorAll(".fu-row").forEach(function (r) { r.classList.toggle("selected", r.dataset.id === id); });
    render();
  }

  function field(form, label, input) {
    var l = el("label", "fu-field");
    l.appendChild(el("span", null, label));
    l.appendChild(input);
    form.appendChild(l);
    return input;
  }
  function textarea(name, placeholder) {
    var t = el("textarea");
    t.name = name;
    t.rows = 3;
    t.maxLength = 1000;
    t.placeholder = placeholder;
    return t;
  }
  function radios(form, name, options, first) {
    var g = el("div", "fu-radios");
    g.setAttribute("role", "radiogroup");
    options.forEach(function (o, i) {
      var l = el("label");
      var r = el("input");
      r.type = "radio";
      r.name = name;
      r.value = o[0];
      r.checked = first && i === 0;
      l.appendChild(r);
      l.appendChild(document.createTextNode(o[1]));
      g.appendChild(l);
    });
    form.appendChild(g);
  }
  function handlerInput(form) {
    var i = el("input");
    i.name = "handler";
    i.maxLength = 32;
    i.placeholder = "经办人姓名";
    try { i.value = localStorage.getItem("halld.fu.handler") || ""; } catch (e) { /* private mode */ }
    field(form, "经办人", i);
  }
  function button(form, text, cls, onClick) {
    var b = el("button", "btn fu-submit " + (cls || "btn-blue"), text);
    b.type = "button";
    b.addEventListener("click", onClick);
    form.appendChild(b);
    return b;
  }

  // post sends one step; on success the list refreshes (the stream would too).
  function post(f, verb, body, form) {
    if (state.busy) return;
    var h = form.querySelector('[name="handler"]');
    if (h && h.value) {
      body.handler = h.value.trim();
      try { localStorage.setItem("halld.fu.handler", body.handler); } catch (e) { /* private mode */ }
    }
    state.busy = true;
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    ctx.api("POST", "/api/v1/followups/" + encodeURIComponent(f.followup_id) + "/" + verb, body).then(function (r) {
      state.busy = false;
      gen++; // lists asked for before this step are out of date
      ctx.toast(f.number + " 号：" + ({ callback: "回访", rectify: "整改", feedback: "反馈", rating: "群众评价", appeal: "申诉",
        uphold: "复核", reject: "复核" }[verb]) + "已记录");
      if (r.followup) renderDetail(r.followup);
      refresh();
    }, function (e) {
      state.busy = false;
      form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      var m = form.querySelector(".fu-error");
      if (m) m.textContent = e.message;
      ctx.toast(e.message, true);
    });
  }
  function val(form, name) {
    var e = form.querySelector('[name="' + name + '"]:checked') || form.querySelector('[name="' + name + '"]');
    return e ? e.value.trim() : "";
  }

  function stepForm(f) {
    var form = el("form", "fu-form");
    form.dataset.step = f.due;
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    var cd = countdown(f);
    var head = el("h4", null, "办理：" + (f.due === "review" ? "申诉复核" : f.due_name));
    if (cd) head.appendChild(el("span", "fu-due " + cd.cls, cd.text + "（截止 " + md(f.due_by || f.deadline) + "）"));
    form.appendChild(head);
    switch (f.due) {
    case "callback":
      radios(form, "reached", [["yes", "已接通"], ["no", "未接通"]], true);
      field(form, "回访情况", textarea("note", "群众反映的问题、诉求（未接通可不填）"));
      handlerInput(form);
      button(form, "记录回访", null, function () {
        post(f, "callback", { reached: val(form, "reached") !== "no", note: val(form, "note") }, form);
      });
      if (f.attempts) form.appendChild(el("p", "fu-hint", "已拨打 " + f.attempts + " 次未接通；累计 " + ((state.data.rules || {}).call_attempts || 3) + " 次未接通后按“未接通”进入整改。"));
      break;
    case "rectify":
      field(form, "整改措施", textarea("note", "针对差评原因采取的整改措施"));
      handlerInput(form);
      button(form, "记录整改", null, function () { post(f, "rectify", { note: val(form, "note") }, form); });
      break;
    case "feedback":
      field(form, "反馈内容", textarea("note", "向群众反馈的整改结果"));
      handlerInput(form);
      button(form, "记录反馈", null, function () { post(f, "feedback", { note: val(form, "note") }, form); });
      break;
    case "rating":
      form.appendChild(el("p", "fu-hint", "请群众对整改结果评价。“不满意”将退回重新整改（最多 " +
        ((state.data.rules || {}).rectify_rounds || 2) + " 轮），之后按不满意办结。"));
      radios(form, "level", [["满意", "满意"], ["基本满意", "基本满意"], ["不满意", "不满意"], ["unreached", "未接通"]], false);
      field(form, "备注", textarea("note", "群众的意见（可不填）"));
      handlerInput(form);
      button(form, "记录群众评价", null, function () {
        var lv = val(form, "level");
        if (!lv) { form.querySelector(".fu-error").textContent = "请选择群众的评价"; return; }
        post(f, "rating", lv === "unreached" ? { reached: false, note: val(form, "note") } : { level: lv, note: val(form, "note") }, form);
      });
      break;
    case "review":
      field(form, "复核意见", textarea("note", "复核的依据与结论"));
      handlerInput(form);
      button(form, "申诉成立（不计入统计）", "btn-warn fu-uphold", function () { post(f, "uphold", { note: val(form, "note") }, form); });
      button(form, "申诉不成立（继续整改）", "btn-blue fu-reject", function () { post(f, "reject", { note: val(form, "note") }, form); });
      break;
    }
    form.appendChild(el("p", "fu-error"));
    return form;
  }

  function appealForm(f) {
    var det = el("details", "fu-appeal");
    det.appendChild(el("summary", null, "申诉（误评、恶意差评）"));
    var form = el("form", "fu-form");
    form.dataset.step = "appeal";
    field(form, "申诉理由", textarea("note", "申诉理由与证据（如监控、办件记录）"));
    handlerInput(form);
    button(form, "提交申诉", "btn-back", function () { post(f, "appeal", { note: val(form, "note") }, form); });
    form.appendChild(el("p", "fu-error"));
    det.appendChild(form);
    return det;
  }

  function renderDetail(f) {
    var box = root.querySelector("#fu-detail");
    // The same record as shown: only the countdown moves, so a form being
    // filled in is left alone (a refresh comes with every step and event).
    var sig = [f.followup_id, (f.history || []).length, f.due || "", !!f.due_overdue, !!f.closed].join("|");
    if (box.dataset.sig === sig) {
      var cd = countdown(f), due = box.querySelector(".fu-due");
      if (cd && due) {
        due.className = "fu-due " + cd.cls;
        due.textContent = cd.text + "（截止 " + md(f.due_by || f.deadline) + "）";
      }
      return;
    }
    box.dataset.sig = sig;
    var keepOpen = box.querySelector(".fu-appeal[open]") && box.dataset.id === f.followup_id;
    var typed = {};
    if (box.dataset.id === f.followup_id && box.dataset.due === (f.due || "")) {
      box.querySelectorAll("textarea, input:not([type=radio])").forEach(function (i) { typed[i.closest("form").dataset.step + i.name] = i.value; });
    }
    box.textContent = "";
    box.dataset.id = f.followup_id;
    box.dataset.due = f.due || "";
    var h = el("h3", null, f.number + " 号 · " + f.level);
    h.appendChild(el("small", null, (f.window_name || f.window) + (f.staff_name ? " · " + f.staff_name : "") + (f.service_name ? " · " + f.service_name : "")));
    box.appendChild(h);
    var info = el("p", "fu-info", "差评时间 " + ctx.day(f.opened_at) + " " + ctx.time(f.opened_at) + " · 整改反馈时限 " + ctx.day(f.deadline));
    box.appendChild(info);
    if ((f.reasons || []).length || f.comment) {
      var r = el("p", "fu-rtags");
      (f.reasons || []).forEach(function (x) { r.appendChild(el("span", "fu-tag", x)); });
      if (f.comment) r.appendChild(el("q", "fu-comment", f.comment));
      box.appendChild(r);
    }
    // The steps, done / awaited / to come.
    var steps = el("ol", "fu-steps");
    var order = { open: 0, callback: 1, rectify: 2, feedback: 3, rating: 4 };
    var awaited = f.due === "review" ? f.due_before_appeal : f.due;
    STEPS.forEach(function (s, i) {
      var li = el("li", null, s[1]);
      li.dataset.step = s[0];
      var done = f.closed ? true : (awaited ? i < STEPS.map(function (x) { return x[0]; }).indexOf(awaited) : i < (order[f.stage] || 0));
      li.className = done ? "done" : (s[0] === awaited ? "now" + (f.due_overdue ? " late" : "") : "");
      if ((f.overdue_steps || []).some(function (x) { return x === s[0]; })) li.appendChild(el("span", "fu-mark", "超期"));
      steps.appendChild(li);
    });
    box.appendChild(steps);
    if (f.closed) {
      var end = f.excluded ? "申诉成立：该差评不计入统计，已办结" : "已办结 · 群众对整改的评价：" + (f.satisfaction || "—");
      box.appendChild(el("p", "fu-closed" + (f.satisfaction === "不满意" ? " bad" : ""), end));
    } else {
      box.appendChild(stepForm(f));
      if (!f.appeals && f.due !== "review") box.appendChild(appealForm(f));
    }
    var hist = el("ol", "fu-history");
    hist.setAttribute("aria-label", "办理记录");
    (f.history || []).slice().reverse().forEach(function (e) {
      var li = el("li");
      li.appendChild(el("time", null, md(e.at)));
      var what = HIST_TEXT[e.stage] || e.stage;
      if (e.result) what += "：" + (RESULT_TEXT[e.result] || e.result) + (e.attempt ? "（第 " + e.attempt + " 次）" : "");
      li.appendChild(el("b", null, what));
      if (e.note) li.appendChild(el("span", "fu-note", e.note));
      var by = (e.handler ? "经办：" + e.handler : "") + (e.handler && e.by ? " · " : "") + (e.by ? "记录：" + e.by : "");
      if (by) li.appendChild(el("small", null, by));
      hist.appendChild(li);
    });
    box.appendChild(el("h4", null, "办理记录"));
    box.appendChild(hist);
    if (keepOpen) box.querySelector(".fu-appeal").open = true;
    box.querySelectorAll("textarea, input:not([type=radio])").forEach(function (i) {
      var k = i.closest("form").dataset.step + i.name;
      if (typed[k] != null) i.value = typed[k];
    });
  }

  // Tab CSS is this tab's own.
  var link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "followups.css";
  document.head.appendChild(link);

  window.Supervise.register({ id: "followups", title: "差评整改", order: 2, mount: mount, show: refresh });
})();
