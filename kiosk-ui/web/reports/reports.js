/* halld /reports/ — 效能监督报表（大厅管理）
 *
 * Reads GET /api/v1/reports (JSON; CSV links for export) and GET /api/v1/stars.
 * Days are the hall's days (Asia/Shanghai) as the server counts them: the
 * page learns "today" from the server's own answer, never from the browser's
 * clock. Charts use the vendored Chart.js (../vendor/chart.umd.min.js).
 */
(function () {
  "use strict";

  var BY_TEXT = { service: "事项", window: "窗口", staff: "工作人员", day: "日", hour: "时段" };
  var LEVELS = [
    ["very_satisfied", "非常满意", "#17803d"],
    ["satisfied", "满意", "#5fb36f"],
    ["basically_satisfied", "基本满意", "#e9c46a"],
    ["dissatisfied", "不满意", "#ee8a3c"],
    ["very_dissatisfied", "非常不满意", "#c8161d"]
  ];
  var COLORS = { issued: "#1459b8", served: "#17803d", noShows: "#b86200", called: "#8a5cc2",
    waitMed: "#6c9bd8", waitP90: "#0b3d82", svcMed: "#8fd0a0", svcP90: "#17803d" };
  var FONT = '"WenQuanYi Zen Hei", "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif';

  var state = {
    today: "",        // the server's today, YYYY-MM-DD
    range: "today",
    from: "", to: "", // to exclusive
    by: "service",
    gen: 0
  };
  var charts = {};

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  // ---------------------------------------------------------------- dates (civil days, no time zone)
  function parseDay(s) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || "");
    return m ? Date.UTC(+m[1], +m[2] - 1, +m[3]) : NaN;
  }
  function fmtDay(ms) { return new Date(ms).toISOString().slice(0, 10); }
  function addDays(s, n) { return fmtDay(parseDay(s) + n * 86400000); }
  function rangeOf(name, today) {
    var d = new Date(parseDay(today));
    var end = addDays(today, 1);
    switch (name) {
      case "week": // Monday first
        return [addDays(today, -((d.getUTCDay() + 6) % 7)), end];
      case "month":
        return [today.slice(0, 8) + "01", end];
      case "quarter":
        var q = Math.floor(d.getUTCMonth() / 3);
        return [fmtDay(Date.UTC(d.getUTCFullYear(), q * 3, 1)), end];
      default:
        return [today, end];
    }
  }
  function quarterOf(day) {
    var d = new Date(parseDay(day));
    return d.getUTCFullYear() + "Q" + (Math.floor(d.getUTCMonth() / 3) + 1);
  }
  function periodText(from, to) {
    var last = addDays(to, -1);
    return last === from ? from : from + " 至 " + last;
  }

  // ---------------------------------------------------------------- formatting
  function num(n) { return n == null ? "—" : String(n); }
  function minutes(sec, count) {
    if (count === 0 || sec == null) return "—";
    var m = sec / 60;
    return m >= 10 ? m.toFixed(0) : m.toFixed(1);
  }
  function duration(sec, count) {
    if (!count) return "—";
    if (sec < 60) return Math.round(sec) + " 秒";
    if (sec < 3600) return (sec / 60).toFixed(1) + " 分";
    return (sec / 3600).toFixed(1) + " 时";
  }
  function pct(rate) { return rate == null ? "—" : (rate * 100).toFixed(1) + "%"; }

  function groupLabel(row, by) {
    if (!row.key) {
      return by === "service" ? "（无事项：暂停、考勤）" : by === "window" ? "（未到窗口）" :
        by === "staff" ? "（无工作人员）" : "（其他）";
    }
    if (by === "hour") return row.key + ":00";
    if (by === "day") return row.key;
    return row.name ? row.name : row.key;
  }

  // ---------------------------------------------------------------- HTTP
  function getJSON(url) {
    return fetch(url, window.HallAuth.headers({ headers: { Accept: "application/json" }, cache: "no-store" })).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) {
          var msg = body && body.error ? body.error.message + "（" + body.error.code + "）" : "HTTP " + r.status;
          throw new Error(msg);
        }
        return body;
      });
    });
  }
  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      if (params[k] !== "" && params[k] != null) parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(params[k]));
    });
    return parts.join("&");
  }
  function showError(id, err) {
    var box = $(id);
    if (!err) { box.hidden = true; box.textContent = ""; return; }
    box.hidden = false;
    box.textContent = "加载失败：" + (err && err.message ? err.message : err);
  }

  // ---------------------------------------------------------------- report
  function load() {
    var gen = ++state.gen;
    var base = { from: state.from, to: state.to };
    $("status").textContent = "正在加载…";
    var main = getJSON("/api/v1/reports?" + query({ from: base.from, to: base.to, by: state.by }));
    var hours = state.by === "hour" ? main : getJSON("/api/v1/reports?" + query({ from: base.from, to: base.to, by: "hour" }));
    return Promise.all([main, hours]).then(function (res) {
      if (gen !== state.gen) return;
      var rep = res[0];
      if (!state.today) { // first answer: learn the server's today, then fill in the range
        state.today = rep.from;
        var r = rangeOf(state.range, state.today);
        state.from = r[0]; state.to = r[1];
      }
      showError("report-error", null);
      render(rep, res[1]);
      $("status").textContent = "已更新";
    }).catch(function (err) {
      if (gen !== state.gen) return;
      showError("report-error", err);
      $("status").textContent = "加载失败";
    });
  }

  function render(rep, hourly) {
    var by = rep.by || state.by;
    $("seq").textContent = rep.seq;
    $("as-of").textContent = rep.as_of ? rep.as_of.replace("T", " ").slice(0, 19) : "—";
    $("period").textContent = periodText(rep.from, rep.to);
    $("group-head").textContent = BY_TEXT[by] || by;
    $("volume-by").textContent = "（按" + (BY_TEXT[by] || by) + "）";
    var csv = query({ from: rep.from, to: rep.to, by: by });
    $("csv-report").href = window.HallAuth.url("/api/v1/reports?" + csv + "&format=csv");
    $("csv-attendance").href = window.HallAuth.url("/api/v1/reports?" + csv + "&format=attendance.csv");
    renderKPIs(rep.totals);
    renderTable(rep.rows, rep.totals, by);
    renderRates(rep, by);
    renderCharts(rep.rows, by, hourly.rows);
    document.body.setAttribute("data-loaded", rep.from + "/" + rep.to + "/" + by);
  }

  function renderKPIs(t) {
    $("kpi-issued").textContent = t.issued;
    $("kpi-served").textContent = t.served;
    $("kpi-noshow").textContent = t.no_shows;
    $("kpi-wait").textContent = duration(t.wait.mean_seconds, t.wait.count);
    $("kpi-wait-sub").textContent = t.wait.count ? "P90 " + duration(t.wait.p90_seconds, 1) : "";
    $("kpi-service").textContent = duration(t.service.mean_seconds, t.service.count);
    $("kpi-service-sub").textContent = t.service.count ? "P90 " + duration(t.service.p90_seconds, 1) : "";
    $("kpi-satisfaction").textContent = pct(t.ratings.satisfaction_rate);
    $("kpi-rated").textContent = "共 " + t.ratings.rated + " 条评价";
    $("kpi-bad").textContent = t.ratings.bad;
    $("kpi-followups").textContent = t.followups.open ? "回访未结 " + t.followups.open : "";
    $("kpi-overdue").textContent = t.pauses.overdue;
    $("kpi-pauses").textContent = "暂停 " + t.pauses.count + " 次";
  }

  function cells(r) {
    var rt = r.ratings;
    return [
      r.issued, r.called, r.recalls, r.served, r.no_shows, r.held, r.transferred_out,
      minutes(r.wait.mean_seconds, r.wait.count), minutes(r.wait.median_seconds, r.wait.count),
      minutes(r.wait.p90_seconds, r.wait.count), minutes(r.wait.max_seconds, r.wait.count),
      minutes(r.service.mean_seconds, r.service.count), minutes(r.service.median_seconds, r.service.count),
      minutes(r.service.p90_seconds, r.service.count), minutes(r.service.max_seconds, r.service.count),
      r.pauses.count, minutes(r.pauses.total_seconds, r.pauses.count), r.pauses.overdue,
      rt.rated, rt.very_satisfied, rt.satisfied, rt.basically_satisfied, rt.dissatisfied, rt.very_dissatisfied,
      pct(rt.satisfaction_rate), rt.bad, rt.timeouts,
      r.followups.opened, r.followups.open, r.followups.overdue,
      r.attendance.signed_in_minutes ? (r.attendance.signed_in_minutes / 60).toFixed(1) : "—", r.attendance.sign_ins
    ];
  }

  function tableRow(label, values, tag) {
    var tr = document.createElement("tr");
    var th = el("th", "r-group", label);
    th.scope = "row";
    tr.appendChild(th);
    values.forEach(function (v) { tr.appendChild(el(tag || "td", "num", num(v))); });
    return tr;
  }

  function renderTable(rows, totals, by) {
    var body = $("report-rows");
    body.textContent = "";
    if (!rows.length) {
      var tr = el("tr", "empty-row");
      var td = el("td", null, "所选时间内没有记录");
      td.colSpan = 34;
      tr.appendChild(td);
      body.appendChild(tr);
    }
    rows.forEach(function (r) {
      var tr = tableRow(groupLabel(r, by), cells(r));
      tr.setAttribute("data-key", r.key);
      if (!r.key) tr.className = "r-unassigned";
      body.appendChild(tr);
    });
    var foot = $("report-totals");
    foot.textContent = "";
    foot.appendChild(tableRow("合计", cells(totals)));
  }

  // ---------------------------------------------------------------- 好评率, 主动评价好评率, 未评价率, 预计准确度
  // A panel of its own under the table (built here: the table's columns
  // stay as they are), with the report's own definitions beside the numbers.
  function estimateText(e) {
    if (!e || !e.samples || e.p80_error_minutes == null) return "—";
    return "80% 的预计在 ±" + Math.ceil(e.p80_error_minutes) + " 分钟内（" + e.samples + " 张，区间内 " + pct(e.within_band_rate) + "）";
  }
  function renderRates(rep, by) {
    var box = $("report-rates");
    if (!box) {
      var table = $("report-table");
      var panel = table && table.closest ? table.closest("section") : null;
      if (!panel || !panel.parentNode) return;
      box = el("section", "panel r-rates");
      box.id = "report-rates";
      panel.parentNode.insertBefore(box, panel.nextSibling);
    }
    box.textContent = "";
    var head = el("div", "panel-head");
    head.appendChild(el("h2", null, "好评率 · 主动评价好评率 · 未评价率 · 等候预计"));
    box.appendChild(head);
    var wrap = el("div", "r-table-wrap");
    var table = el("table", "r-table");
    var thead = el("thead");
    var hr = el("tr");
    [BY_TEXT[by] || "范围", "好评率", "主动评价好评率", "未评价率", "未评价", "日终过号", "日终过期", "等候预计"].forEach(function (h) { hr.appendChild(el("th", null, h)); });
    thead.appendChild(hr);
    table.appendChild(thead);
    var tbody = el("tbody");
    function line(label, r, key) {
      var rt = r.ratings || {}, o = r.outcomes || {};
      var tr = el("tr");
      if (key != null) tr.setAttribute("data-key", key);
      var th = el("th", "r-group", label);
      th.scope = "row";
      tr.appendChild(th);
      [pct(rt.good_rate), pct(rt.unprompted_good_rate) + (rt.unprompted ? "（" + rt.unprompted + " 条）" : ""), pct(rt.unrated_rate),
        num(rt.unrated), num(o.no_show), num(o.expired)].forEach(function (v) { tr.appendChild(el("td", "num", v)); });
      tr.appendChild(el("td", "r-estimate", estimateText(r.estimate)));
      tbody.appendChild(tr);
    }
    (rep.rows || []).forEach(function (r) { line(groupLabel(r, by), r, r.key); });
    line("合计", rep.totals || {}, null);
    table.appendChild(tbody);
    wrap.appendChild(table);
    box.appendChild(wrap);
    var defs = rep.definitions || {};
    var dl = el("dl", "r-definitions");
    Object.keys(defs).sort().forEach(function (k) {
      dl.appendChild(el("dt", null, k));
      dl.appendChild(el("dd", null, defs[k]));
    });
    box.appendChild(dl);
  }

  // ---------------------------------------------------------------- charts
  function chart(id, config) {
    if (typeof Chart === "undefined") return null;
    if (charts[id]) charts[id].destroy();
    charts[id] = new Chart($(id), config);
    return charts[id];
  }
  function axes(stacked, yTitle) {
    return {
      x: { stacked: !!stacked, ticks: { autoSkip: true, maxRotation: 45 } },
      y: { stacked: !!stacked, beginAtZero: true, title: { display: !!yTitle, text: yTitle || "" },
        ticks: { precision: 0 } }
    };
  }
  function opts(stacked, yTitle) {
    return { responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { position: "bottom" } }, scales: axes(stacked, yTitle) };
  }

  function renderCharts(rows, by, hourRows) {
    if (typeof Chart === "undefined") {
      document.body.setAttribute("data-charts", "missing");
      return;
    }
    Chart.defaults.font.family = FONT;
    Chart.defaults.font.size = 13;
    Chart.defaults.color = "#4f5b6b";
    // Groups with something to show; the unassigned row only when it has tickets.
    var shown = rows.filter(function (r) { return r.key || r.issued || r.served; });
    var labels = shown.map(function (r) { return groupLabel(r, by); });
    var pick = function (f) { return shown.map(f); };

    chart("chart-volume", { type: "bar", data: { labels: labels, datasets: [
      { label: "取号", data: pick(function (r) { return r.issued; }), backgroundColor: COLORS.issued },
      { label: "办结", data: pick(function (r) { return r.served; }), backgroundColor: COLORS.served },
      { label: "过号", data: pick(function (r) { return r.no_shows; }), backgroundColor: COLORS.noShows }
    ] }, options: opts(false, "件") });

    var min = function (s) { return Math.round(s / 6) / 10; };
    var timeOpts = opts(false, "分钟");
    timeOpts.scales.y.ticks = {};
    chart("chart-times", { type: "bar", data: { labels: labels, datasets: [
      { label: "等候 中位", data: pick(function (r) { return min(r.wait.median_seconds); }), backgroundColor: COLORS.waitMed },
      { label: "等候 P90", data: pick(function (r) { return min(r.wait.p90_seconds); }), backgroundColor: COLORS.waitP90 },
      { label: "办理 中位", data: pick(function (r) { return min(r.service.median_seconds); }), backgroundColor: COLORS.svcMed },
      { label: "办理 P90", data: pick(function (r) { return min(r.service.p90_seconds); }), backgroundColor: COLORS.svcP90 }
    ] }, options: timeOpts });

    var rated = shown.filter(function (r) { return r.ratings.rated > 0; });
    chart("chart-ratings", { type: "bar", data: {
      labels: rated.map(function (r) { return groupLabel(r, by); }),
      datasets: LEVELS.map(function (l) {
        return { label: l[1], data: rated.map(function (r) { return r.ratings[l[0]]; }), backgroundColor: l[2] };
      })
    }, options: (function () { var o = opts(true, "条"); o.indexAxis = "y"; o.scales = {
      x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } }; return o; })() });
    $("chart-ratings").parentNode.setAttribute("data-empty", rated.length ? "false" : "true");

    // By hour: every hour 00–23 with data, padded to the hall's usual day.
    var byHour = {};
    hourRows.forEach(function (r) { if (r.key) byHour[r.key] = r; });
    var lo = 8, hi = 18;
    Object.keys(byHour).forEach(function (k) { var h = +k; lo = Math.min(lo, h); hi = Math.max(hi, h); });
    var hours = [];
    for (var h = lo; h <= hi; h++) hours.push((h < 10 ? "0" : "") + h);
    var hv = function (f) { return hours.map(function (k) { return byHour[k] ? f(byHour[k]) : 0; }); };
    chart("chart-hours", { type: "line", data: { labels: hours.map(function (k) { return k + ":00"; }), datasets: [
      { label: "取号", data: hv(function (r) { return r.issued; }), borderColor: COLORS.issued, backgroundColor: COLORS.issued, cubicInterpolationMode: "monotone" },
      { label: "叫号", data: hv(function (r) { return r.called; }), borderColor: COLORS.called, backgroundColor: COLORS.called, cubicInterpolationMode: "monotone" },
      { label: "办结", data: hv(function (r) { return r.served; }), borderColor: COLORS.served, backgroundColor: COLORS.served, cubicInterpolationMode: "monotone" }
    ] }, options: opts(false, "件") });
    document.body.setAttribute("data-charts", "rendered");
  }

  // ---------------------------------------------------------------- 政务服务之星
  function loadStars() {
    var q = $("quarter").value.trim().toUpperCase();
    showError("stars-error", null);
    $("stars-meta").textContent = "正在评选…";
    var hc = $("headcount").value.trim();
    return getJSON("/api/v1/stars?" + query({ quarter: q, headcount: hc })).then(renderStars).catch(function (err) {
      showError("stars-error", err);
      $("stars-meta").textContent = "—";
    });
  }

  function renderStars(rk) {
    $("quarter").value = rk.quarter;
    $("stars-meta").textContent = rk.quarter + "（" + periodText(rk.from, rk.to) + "）· 工作日 " + rk.workdays +
      " · 基数人数 " + rk.headcount + " · 名额 " + rk.quota + "（不超过 " + rk.formula.share_percent + "%）";
    var named = $("stars-named");
    named.textContent = "";
    (rk.named || []).forEach(function (c) {
      var li = el("li", "r-star");
      var head = el("div", "r-star-head");
      head.appendChild(el("span", "r-star-badge", "★"));
      head.appendChild(el("b", "r-star-name", c.name || c.staff));
      head.appendChild(el("span", "r-star-score", c.score.toFixed(2) + " 分"));
      li.appendChild(head);
      li.appendChild(el("p", "r-star-why", c.explanation));
      named.appendChild(li);
    });
    var note = $("stars-note");
    if (!(rk.named || []).length) {
      note.hidden = false;
      var eligible = (rk.candidates || []).filter(function (c) { return c.eligible; }).length;
      if (rk.quota === 0 && rk.headcount > 0) {
        note.textContent = "本季度未评出政务服务之星：名额不超过在岗人数的 " + rk.formula.share_percent + "%，" +
          rk.headcount + " 人按比例取整后名额为 0。";
      } else if (!rk.candidates || !rk.candidates.length) {
        note.textContent = "本季度尚无工作人员的办件记录，暂无候选人。";
      } else if (!eligible) {
        note.textContent = "本季度暂无符合条件的候选人（至少办件 " + rk.formula.min_cases + " 件）。";
      } else {
        note.textContent = "本季度未评出政务服务之星。";
      }
    } else {
      note.hidden = true;
    }
    var warns = $("stars-warnings");
    warns.textContent = "";
    (rk.warnings || []).forEach(function (w) { warns.appendChild(el("li", null, w)); });
    warns.hidden = !(rk.warnings || []).length;

    var body = $("stars-rows");
    body.textContent = "";
    if (!(rk.candidates || []).length) {
      var tr0 = el("tr", "empty-row");
      var td0 = el("td", null, "暂无候选人");
      td0.colSpan = 6;
      tr0.appendChild(td0);
      body.appendChild(tr0);
    }
    (rk.candidates || []).forEach(function (c) {
      var tr = el("tr", c.named ? "r-named" : "");
      tr.appendChild(el("td", "num", c.rank));
      tr.appendChild(el("td", null, (c.name || c.staff) + (c.name ? "（" + c.staff + "）" : "")));
      tr.appendChild(el("td", "num", c.score.toFixed(2)));
      var comp = el("td", "r-components");
      (c.components || []).forEach(function (p) {
        comp.appendChild(el("span", "r-comp", p.name + " " + p.points.toFixed(2) + "/" + p.weight + (p.detail ? "（" + p.detail + "）" : "")));
      });
      tr.appendChild(comp);
      var pen = el("td", "r-components");
      (c.penalties || []).forEach(function (p) {
        if (p.count) pen.appendChild(el("span", "r-comp bad", p.name + " ×" + p.count + " " + p.points.toFixed(2)));
      });
      if (!pen.childNodes.length) pen.textContent = "—";
      tr.appendChild(pen);
      tr.appendChild(el("td", null, c.named ? "★ 当选" : c.eligible ? "候选" : "不符合条件"));
      tr.title = c.explanation || "";
      body.appendChild(tr);
    });
    document.body.setAttribute("data-stars", rk.quarter);
  }

  // ---------------------------------------------------------------- controls
  function setRange(name) {
    state.range = name;
    Array.prototype.forEach.call(document.querySelectorAll(".r-range"), function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-range") === name ? "true" : "false");
    });
    $("custom-range").hidden = name !== "custom";
    if (name === "custom") {
      if (!$("from").value) $("from").value = state.from;
      if (!$("to").value) $("to").value = addDays(state.to, -1);
      return; // waits for 查询
    }
    if (state.today) {
      var r = rangeOf(name, state.today);
      state.from = r[0]; state.to = r[1];
    }
    load();
  }

  function applyCustom() {
    var f = $("from").value, t = $("to").value;
    if (isNaN(parseDay(f)) || isNaN(parseDay(t)) || parseDay(t) < parseDay(f)) {
      showError("report-error", "请选择有效的起止日期（结束日期不早于开始日期）");
      return;
    }
    state.from = f; state.to = addDays(t, 1);
    load();
  }

  function loadHall() {
    getJSON("/api/v1/snapshot").then(function (s) {
      var hall = (s && (s.hall || (s.data && s.data.hall))) || {};
      if (hall.name) { $("hall-name").textContent = hall.name; document.title = "效能监督报表 · " + hall.name; }
    }).catch(function () { /* the name is decoration */ });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll(".r-range"), function (b) {
      b.addEventListener("click", function () { setRange(b.getAttribute("data-range")); });
    });
    $("by").addEventListener("change", function () { state.by = $("by").value; load(); });
    $("apply-custom").addEventListener("click", applyCustom);
    $("refresh").addEventListener("click", function () { load(); loadStars(); });
    $("stars-load").addEventListener("click", loadStars);
    $("headcount").addEventListener("keydown", function (e) { if (e.key === "Enter") loadStars(); });
    $("quarter").addEventListener("keydown", function (e) { if (e.key === "Enter") loadStars(); });
    state.by = $("by").value || "service";
    loadHall();
    load().then(function () {
      if (state.today && !$("quarter").value) $("quarter").value = quarterOf(state.today);
      loadStars();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
