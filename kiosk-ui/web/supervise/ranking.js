/* /supervise/ tab 窗口排名: the monthly and quarterly window ranking (GET /api/v1/rankings).
 *
 * A month or quarter picker (the hall's own current month comes from the first answer, so the
 * browser's clock does not matter), the table with each part's points and what they are made of,
 * the 连续两月排名末位 mark, windows with too little data set apart, ties explained, the formula,
 * and links to the CSV export and the one-page PDF for the notice board (the page's token rides
 * in the link: a link cannot send a header).
 */
(function (root) {
  "use strict";
  var S = root.Supervise;
  if (!S) return;

  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = "ranking.css";
  document.head.appendChild(css);

  var ctx, el, ui = {}, current = null, loading = 0, mounted = false;
  var PARTS = [
    { key: "satisfaction", name: "满意度" },
    { key: "participation", name: "参评率" },
    { key: "timeliness", name: "办理时效" },
    { key: "attendance", name: "在岗率" }
  ];

  function url(period, format) {
    var u = "/api/v1/rankings?period=" + encodeURIComponent(period) + (format ? "&format=" + format : "");
    return root.HallAuth ? root.HallAuth.url(u) : u;
  }

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  // Periods to offer, newest first, from the hall's current month "YYYY-MM".
  function months(now) {
    var y = +now.slice(0, 4), m = +now.slice(5, 7), out = [];
    for (var i = 0; i < 24; i++) {
      out.push({ v: y + "-" + pad(m), t: y + "年" + m + "月" });
      if (--m === 0) { m = 12; y--; }
    }
    return out;
  }
  function quarters(now) {
    var y = +now.slice(0, 4), q = Math.floor((+now.slice(5, 7) - 1) / 3) + 1, out = [];
    for (var i = 0; i < 8; i++) {
      out.push({ v: y + "Q" + q, t: y + "年第" + q + "季度" });
      if (--q === 0) { q = 4; y--; }
    }
    return out;
  }

  function fill(kind) {
    var list = kind === "quarter" ? quarters(ui.today) : months(ui.today);
    ui.period.innerHTML = "";
    list.forEach(function (o) {
      var opt = ctx.el("option", null, o.t);
      opt.value = o.v;
      ui.period.appendChild(opt);
    });
  }

  function num(x, places) { return (Math.round(x * Math.pow(10, places)) / Math.pow(10, places)).toFixed(places); }

  function partCell(ws, key) {
    var c = null;
    (ws.components || []).forEach(function (x) { if (x.key === key) c = x; });
    var td = ctx.el("td", "num rk-part");
    if (!c) return td;
    td.dataset.part = key;
    td.appendChild(ctx.el("b", null, num(c.points, 2)));
    td.appendChild(ctx.el("small", null, num(c.score, 1) + "分"));
    td.title = c.name + "：" + c.detail + "；得分 " + num(c.score, 2) + " × 权重 " + c.weight + "% = " + num(c.points, 2);
    return td;
  }

  function deductionCell(ws) {
    var td = ctx.el("td", "rk-ded"), total = 0, parts = [];
    (ws.deductions || []).forEach(function (d) {
      total += d.points;
      if (d.count > 0) parts.push(d.name + " " + d.count + " 次 × " + d.each);
    });
    td.appendChild(ctx.el("b", total ? "rk-minus" : null, total ? num(total, 2) : "0"));
    if (parts.length) td.appendChild(ctx.el("small", null, parts.join("，")));
    return td;
  }

  function placesCell(ws) {
    var td = ctx.el("td", "rk-months");
    (ws.month_ranks || []).forEach(function (m) {
      var s = ctx.el("span", "rk-month" + (m.bottom ? " rk-bottom" : ""),
        m.month.slice(5) + "月 " + (m.rank ? m.rank + "/" + m.of : "—"));
      s.title = m.month + (m.rank ? " 第 " + m.rank + " 名（共 " + m.of + " 个参与排名）" : " 未参与排名") + (m.bottom ? "，处于末位" : "");
      td.appendChild(s);
    });
    return td;
  }

  function marksCell(ws) {
    var td = ctx.el("td", "rk-marks");
    (ws.marks || []).forEach(function (m) {
      var s = ctx.el("span", "rk-mark", m.name);
      s.dataset.mark = m.key;
      s.title = m.detail;
      td.appendChild(s);
    });
    if (!ws.ranked) td.appendChild(ctx.el("span", "rk-insufficient-tag", "数据不足"));
    if (ws.tie) {
      var t = ctx.el("span", "rk-tie-tag", "同分");
      t.title = ws.tie;
      td.appendChild(t);
    }
    return td;
  }

  function render(rk) {
    current = rk;
    el.setAttribute("data-period", rk.period);
    var partial = rk.partial ? "（临时结果：本期尚未结束）" : "";
    ui.summary.textContent = rk.name + partial + " · 统计 " + rk.from + " 起 · 参与排名 " + rk.ranked + " 个窗口" +
      (rk.windows.length > rk.ranked ? "，数据不足 " + (rk.windows.length - rk.ranked) + " 个" : "") +
      (rk.as_of ? " · 数据截至 " + ctx.day(rk.as_of) + " " + ctx.time(rk.as_of) : "");
    ui.csv.href = url(rk.period, "csv");
    ui.pdf.href = url(rk.period, "pdf");
    ui.formula.textContent = rk.formula_text;
    ui.tie.textContent = "同分：" + rk.tie_rule + "。";
    ui.mark.textContent = "连续两月排名末位：" + rk.mark_rule + "。";
    ui.notes.innerHTML = "";
    (rk.notes || []).forEach(function (n) { ui.notes.appendChild(ctx.el("li", null, n)); });
    ui.notes.hidden = !(rk.notes || []).length;

    ui.head.innerHTML = "";
    var hr = ctx.el("tr");
    ["名次", "窗口", "总分"].forEach(function (h) { hr.appendChild(ctx.el("th", null, h)); });
    PARTS.forEach(function (p) { hr.appendChild(ctx.el("th", null, p.name + "（" + (rk.formula[p.key] || 0) + "）")); });
    ["扣分", "办结/评价", "各月名次", "标记"].forEach(function (h) { hr.appendChild(ctx.el("th", null, h)); });
    ui.head.appendChild(hr);

    ui.body.innerHTML = "";
    var marked = 0, cols = 11;
    if (!rk.windows.length) {
      var er = ctx.el("tr", "rk-empty"), td = ctx.el("td", null, "本期没有窗口数据");
      td.colSpan = cols;
      er.appendChild(td);
      ui.body.appendChild(er);
    }
    rk.windows.forEach(function (ws) {
      if ((ws.marks || []).length) marked++;
      var tr = ctx.el("tr", "rk-row" + ((ws.marks || []).length ? " rk-marked" : "") + (ws.ranked ? "" : " rk-insufficient"));
      tr.dataset.window = ws.window;
      tr.tabIndex = 0;
      tr.appendChild(ctx.el("td", "rk-rank", ws.ranked ? String(ws.rank) : "—"));
      var name = ctx.el("th", "rk-name", ws.name);
      name.scope = "row";
      tr.appendChild(name);
      tr.appendChild(ctx.el("td", "num rk-score", num(ws.score, 2)));
      PARTS.forEach(function (p) { tr.appendChild(partCell(ws, p.key)); });
      tr.appendChild(deductionCell(ws));
      tr.appendChild(ctx.el("td", "num", ws.served + " / " + ws.rated));
      tr.appendChild(placesCell(ws));
      tr.appendChild(marksCell(ws));
      var detail = ctx.el("tr", "rk-detail");
      detail.hidden = true;
      var dd = ctx.el("td");
      dd.colSpan = cols;
      dd.appendChild(ctx.el("div", null, "计算：" + ws.explanation));
      (ws.components || []).forEach(function (c) { dd.appendChild(ctx.el("div", "muted", c.name + "：" + c.detail)); });
      if (ws.insufficient) dd.appendChild(ctx.el("div", "rk-why", ws.insufficient + "，不参与排名"));
      if (ws.tie) dd.appendChild(ctx.el("div", "rk-why", "同分：" + ws.tie));
      (ws.marks || []).forEach(function (m) { dd.appendChild(ctx.el("div", "rk-why rk-bad", m.name + "：" + m.detail)); });
      detail.appendChild(dd);
      function toggle() { detail.hidden = !detail.hidden; tr.classList.toggle("rk-open", !detail.hidden); }
      tr.addEventListener("click", toggle);
      tr.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); } });
      ui.body.appendChild(tr);
      ui.body.appendChild(detail);
    });
    ctx.badge("ranking", marked);
    ui.error.hidden = true;
    el.setAttribute("data-state", "loaded");
  }

  function load(period) {
    var mine = ++loading;
    el.setAttribute("data-state", "loading");
    ui.load.disabled = true;
    // ctx.api sends the token as a header; only the links carry it in the address.
    return ctx.api("GET", "/api/v1/rankings" + (period ? "?period=" + encodeURIComponent(period) : "")).then(function (rk) {
      if (mine !== loading) return;
      ui.load.disabled = false;
      if (!ui.today) { // the hall's own month: the picker is built from it
        ui.today = rk.period;
        fill("month");
        ui.period.value = rk.period;
      }
      render(rk);
    }, function (err) {
      if (mine !== loading) return;
      ui.load.disabled = false;
      ui.error.textContent = err.message + (err.code ? "（" + err.code + "）" : "");
      ui.error.hidden = false;
      el.setAttribute("data-state", "error");
    });
  }

  function mount(panel, c) {
    ctx = c;
    el = panel;
    el.classList.add("rk");
    var bar = ctx.el("div", "rk-bar");
    var kind = ctx.el("div", "rk-kind");
    kind.setAttribute("role", "radiogroup");
    kind.setAttribute("aria-label", "排名周期");
    [["month", "月度"], ["quarter", "季度"]].forEach(function (k, i) {
      var b = ctx.el("button", "rk-kind-btn", k[1]);
      b.type = "button";
      b.dataset.kind = k[0];
      b.setAttribute("role", "radio");
      b.setAttribute("aria-checked", i === 0 ? "true" : "false");
      b.addEventListener("click", function () {
        if (!ui.today) return;
        kind.querySelectorAll("button").forEach(function (x) { x.setAttribute("aria-checked", x === b ? "true" : "false"); });
        fill(k[0]);
        load(ui.period.value);
      });
      kind.appendChild(b);
    });
    bar.appendChild(kind);
    ui.period = ctx.el("select", "rk-period");
    ui.period.id = "rk-period";
    ui.period.setAttribute("aria-label", "统计期间");
    ui.period.addEventListener("change", function () { load(ui.period.value); });
    bar.appendChild(ui.period);
    ui.load = ctx.el("button", "rk-btn", "刷新");
    ui.load.type = "button";
    ui.load.id = "rk-load";
    ui.load.addEventListener("click", function () { load(ui.period.value || null); });
    bar.appendChild(ui.load);
    bar.appendChild(ctx.el("span", "spacer"));
    ui.csv = ctx.el("a", "rk-btn rk-link", "导出 CSV");
    ui.csv.id = "rk-csv";
    ui.csv.setAttribute("download", "");
    ui.pdf = ctx.el("a", "rk-btn rk-link rk-primary", "打印公示 PDF");
    ui.pdf.id = "rk-pdf";
    ui.pdf.target = "_blank";
    ui.pdf.rel = "noopener";
    bar.appendChild(ui.csv);
    bar.appendChild(ui.pdf);
    el.appendChild(bar);

    ui.summary = ctx.el("p", "rk-summary");
    ui.summary.id = "rk-summary";
    el.appendChild(ui.summary);
    ui.error = ctx.el("div", "panel-error rk-error");
    ui.error.id = "rk-error";
    ui.error.setAttribute("role", "alert");
    ui.error.hidden = true;
    el.appendChild(ui.error);

    var wrap = ctx.el("div", "rk-table-wrap");
    var table = ctx.el("table", "rk-table");
    table.id = "rk-table";
    ui.head = ctx.el("thead");
    ui.body = ctx.el("tbody");
    table.appendChild(ui.head);
    table.appendChild(ui.body);
    wrap.appendChild(table);
    el.appendChild(wrap);
    el.appendChild(ctx.el("p", "rk-hint muted", "点击一行查看计算过程；鼠标停在分数上可见其构成。"));

    var foot = ctx.el("div", "rk-foot");
    ui.formula = ctx.el("p", "rk-formula");
    ui.formula.id = "rk-formula";
    ui.tie = ctx.el("p", "muted");
    ui.mark = ctx.el("p", "muted");
    ui.notes = ctx.el("ul", "rk-notes");
    ui.notes.id = "rk-notes";
    [ui.formula, ui.tie, ui.mark, ui.notes].forEach(function (x) { foot.appendChild(x); });
    el.appendChild(foot);
    mounted = true;
    load(null);
  }

  S.register({
    id: "ranking", title: "窗口排名", order: 5, mount: mount,
    show: function () { if (mounted && current && el.getAttribute("data-state") !== "loading") load(current.period); }
  });
})(window);
