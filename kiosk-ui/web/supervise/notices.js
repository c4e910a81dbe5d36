/* 公告与事项 (issue 16): post and expire notices, open/close a service for
 * today, a window's services for today (潮汐窗口). All through the API with
 * this page's token (supervisor scope), each change a journal event under
 * its name; live from the stream. */
(function () {
  "use strict";
  var S = window.Supervise;
  if (!S) return;
  var PLACES = [["board", "叫号屏"], ["kiosk", "取号机"], ["phone", "手机"]];
  var ctx, root, data = null, timer = null;

  function refresh() {
    if (timer) return;
    timer = setTimeout(function () {
      timer = null;
      ctx.api("GET", "/api/v1/roster").then(function (d) { data = d; render(); },
        function (e) { root.textContent = ""; root.appendChild(ctx.el("p", "s-empty", "无法读取：" + e.message)); });
    }, 150);
  }

  function act(method, path, body, done) {
    return ctx.api(method, path, body).then(function () { ctx.toast(done); refresh(); },
      function (e) { ctx.toast(e.message, true); throw e; });
  }

  function until(choice, custom) {
    // The hall's clock (the snapshot's hall.now), not the browser's.
    var snap = ctx.snapshot && ctx.snapshot(), now = Date.now();
    var hallNow = snap && snap.hall && Date.parse(snap.hall.now);
    if (hallNow && !isNaN(hallNow)) now = hallNow;
    if (choice === "1h") return new Date(now + 3600e3).toISOString();
    if (choice === "2h") return new Date(now + 7200e3).toISOString();
    if (choice === "today") {
      var d = new Date(now + 8 * 3600e3); // hall time
      d.setUTCHours(23, 59, 59, 0);
      return new Date(d.getTime() - 8 * 3600e3).toISOString();
    }
    if (choice === "custom" && custom) return new Date(custom + ":00+08:00").toISOString();
    return null;
  }

  function noticeCard() {
    var el = ctx.el, card = el("section", "sa-card");
    card.appendChild(el("h2", "", "公告"));
    var text = el("textarea");
    text.id = "notice-text";
    text.maxLength = 200;
    text.placeholder = "公告内容（最多 200 字），例如：今日 15:00–16:00 系统升级，暂停办理不动产登记";
    card.appendChild(text);
    var row = el("div", "sa-row");
    row.appendChild(el("span", "", "显示在："));
    PLACES.forEach(function (p) {
      var l = el("label"), c = el("input");
      c.type = "checkbox"; c.value = p[0]; c.checked = true; c.className = "notice-where";
      l.appendChild(c); l.appendChild(document.createTextNode(p[1]));
      row.appendChild(l);
    });
    row.appendChild(el("span", "", "　截止："));
    var sel = el("select");
    sel.id = "notice-until";
    [["today", "今天结束"], ["1h", "1 小时后"], ["2h", "2 小时后"], ["none", "不限（手动撤下）"], ["custom", "指定时间…"]].forEach(function (o) {
      sel.appendChild(new Option(o[1], o[0]));
    });
    var custom = el("input");
    custom.type = "datetime-local"; custom.hidden = true; custom.id = "notice-custom";
    sel.addEventListener("change", function () { custom.hidden = sel.value !== "custom"; });
    row.appendChild(sel); row.appendChild(custom);
    var post = el("button", "sa-btn primary", "发布公告");
    post.type = "button"; post.id = "notice-post";
    post.addEventListener("click", function () {
      var where = [];
      Array.prototype.forEach.call(card.querySelectorAll(".notice-where"), function (c) { if (c.checked) where.push(c.value); });
      if (!text.value.trim()) { ctx.toast("请填写公告内容", true); return; }
      if (!where.length) { ctx.toast("请至少选择一个显示位置", true); return; }
      var body = { text: text.value.trim(), where: where.length === PLACES.length ? [] : where };
      var u = until(sel.value, custom.value);
      if (u) body.until = u;
      post.disabled = true;
      act("POST", "/api/v1/notices", body, "公告已发布").then(function () { text.value = ""; }, function () {})
        .then(function () { post.disabled = false; });
    });
    row.appendChild(post);
    card.appendChild(row);
    var list = (data && data.notices) || [];
    if (!list.length) card.appendChild(el("p", "sa-note", "当前没有公告。"));
    else {
      var t = el("table", "sa-table"), h = el("tr");
      t.id = "notice-list";
      ["内容", "显示在", "截止", "发布", ""].forEach(function (x) { h.appendChild(el("th", "", x)); });
      t.appendChild(h);
      list.forEach(function (n) {
        var tr = el("tr");
        tr.setAttribute("data-notice", n.id);
        tr.appendChild(el("td", "", n.text));
        var w = el("td");
        var names = (n.where && n.where.length ? n.where : ["board", "kiosk", "phone"]).map(function (p) {
          for (var i = 0; i < PLACES.length; i++) if (PLACES[i][0] === p) return PLACES[i][1];
          return p;
        });
        names.forEach(function (x) { w.appendChild(el("span", "sa-tag", x)); });
        tr.appendChild(w);
        tr.appendChild(el("td", "", n.until ? ctx.day(n.until) + " " + ctx.time(n.until) : "不限"));
        tr.appendChild(el("td", "sa-note", (n.by || "中心") + (n.posted_at ? " · " + ctx.time(n.posted_at) : "")));
        var td = el("td"), b = el("button", "sa-btn bad", "撤下");
        b.type = "button";
        b.addEventListener("click", function () {
          b.disabled = true;
          act("POST", "/api/v1/notices/" + encodeURIComponent(n.id) + "/expire", undefined, "公告已撤下").catch(function () { b.disabled = false; });
        });
        td.appendChild(b); tr.appendChild(td);
        t.appendChild(tr);
      });
      card.appendChild(t);
    }
    return card;
  }

  function serviceCard() {
    var el = ctx.el, card = el("section", "sa-card");
    card.appendChild(el("h2", "", "事项今日取号"));
    card.appendChild(el("p", "sa-note", "暂停只限今天：次日按 devices.yaml 恢复。"));
    var t = el("table", "sa-table"), h = el("tr");
    t.id = "service-list";
    ["事项", "状态", "原因", ""].forEach(function (x) { h.appendChild(el("th", "", x)); });
    t.appendChild(h);
    ((data && data.services) || []).forEach(function (s) {
      var tr = el("tr");
      tr.setAttribute("data-service", s.id);
      tr.appendChild(el("td", "", s.name));
      var st = el("td");
      st.appendChild(el("span", "sa-tag " + (s.open ? "ok" : "bad"), s.open ? "可取号" : (s.for_today ? "今日暂停" : "暂停取号")));
      tr.appendChild(st);
      var reason = el("td");
      var td = el("td"), b;
      if (s.open) {
        var inp = el("input");
        inp.type = "text"; inp.placeholder = "暂停原因（可不填）"; inp.maxLength = 200;
        reason.appendChild(inp);
        b = el("button", "sa-btn bad", "今日暂停取号");
        b.addEventListener("click", function () {
          b.disabled = true;
          act("POST", "/api/v1/services/" + encodeURIComponent(s.id) + "/close", { reason: inp.value.trim() }, s.name + " 今日暂停取号")
            .catch(function () { b.disabled = false; });
        });
      } else {
        reason.textContent = s.reason || "—";
        b = el("button", "sa-btn primary", "恢复取号");
        b.addEventListener("click", function () {
          b.disabled = true;
          act("POST", "/api/v1/services/" + encodeURIComponent(s.id) + "/open", undefined, s.name + " 已恢复取号")
            .catch(function () { b.disabled = false; });
        });
      }
      b.type = "button";
      tr.appendChild(reason);
      td.appendChild(b); tr.appendChild(td);
      t.appendChild(tr);
    });
    card.appendChild(t);
    return card;
  }

  function windowCard() {
    var el = ctx.el, card = el("section", "sa-card");
    card.appendChild(el("h2", "", "窗口今日业务（潮汐窗口）"));
    card.appendChild(el("p", "sa-note", "调整只限今天，日终后恢复 devices.yaml 的设置；每个窗口至少办理一项业务。"));
    var services = (data && data.services) || [];
    var t = el("table", "sa-table"), h = el("tr");
    t.id = "window-services";
    ["窗口", "今日业务", ""].forEach(function (x) { h.appendChild(el("th", "", x)); });
    t.appendChild(h);
    ((data && data.windows) || []).forEach(function (w) {
      var tr = el("tr");
      tr.setAttribute("data-window", w.id);
      tr.appendChild(el("td", "", (w.number ? w.number + "号 " : "") + (w.name || w.id)));
      var td = el("td"), row = el("div", "sa-row");
      services.forEach(function (s) {
        var l = el("label"), c = el("input");
        c.type = "checkbox"; c.value = s.id; c.checked = w.services.indexOf(s.id) >= 0;
        l.appendChild(c); l.appendChild(document.createTextNode(s.name));
        row.appendChild(l);
      });
      td.appendChild(row);
      if (w.changed_by) td.appendChild(el("span", "sa-tag warn", "今日已调整 · " + w.changed_by));
      tr.appendChild(td);
      var a = el("td"), box = el("div", "sa-actions");
      var save = el("button", "sa-btn primary", "保存");
      save.type = "button";
      save.addEventListener("click", function () {
        var picked = [];
        Array.prototype.forEach.call(row.querySelectorAll("input"), function (c) { if (c.checked) picked.push({ service: c.value }); });
        act("POST", "/api/v1/windows/" + encodeURIComponent(w.id) + "/services", { services: picked }, "窗口业务已调整（今日）").catch(function () {});
      });
      box.appendChild(save);
      if (w.changed_by) {
        var reset = el("button", "sa-btn", "恢复默认");
        reset.type = "button";
        reset.addEventListener("click", function () {
          act("POST", "/api/v1/windows/" + encodeURIComponent(w.id) + "/services", { reset: true }, "已恢复默认业务").catch(function () {});
        });
        box.appendChild(reset);
      }
      a.appendChild(box); tr.appendChild(a);
      t.appendChild(tr);
    });
    card.appendChild(t);
    return card;
  }

  function render() {
    var keep = document.getElementById("notice-text");
    var draft = keep ? keep.value : "";
    root.textContent = "";
    if (!data) { root.appendChild(ctx.el("p", "s-empty", "正在读取…")); return; }
    root.appendChild(noticeCard());
    root.appendChild(serviceCard());
    root.appendChild(windowCard());
    if (draft) document.getElementById("notice-text").value = draft;
  }

  S.register({
    id: "notices", title: "公告与事项", order: 3,
    mount: function (el, c) {
      ctx = c; root = el;
      render();
      refresh();
      ctx.onEvent(function (ev) {
        var t = ev && ev.type || "";
        if (t.indexOf("notice.") === 0 || t === "service.opened" || t === "service.closed" ||
            t.indexOf("window.services") === 0 || t === "day.closed") refresh();
      });
      ctx.onSnapshot(refresh);
    },
    show: refresh
  });
})();
