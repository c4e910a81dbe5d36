/* 人员与窗口 (issue 16): add/remove staff, their windows, set/reset a PIN,
 * unlock a locked sign-in. A roster change lasts until devices.yaml is edited
 * for that person; a conflict with the file is shown at the top. Live from
 * the stream (sign-ins, PIN events, roster events). */
(function () {
  "use strict";
  var S = window.Supervise;
  if (!S) return;
  var ctx, root, data = null, timer = null, editing = null;

  function refresh() {
    if (timer) return;
    timer = setTimeout(function () {
      timer = null;
      ctx.api("GET", "/api/v1/roster").then(function (d) { data = d; render(); },
        function (e) { root.textContent = ""; root.appendChild(ctx.el("p", "s-empty", "无法读取：" + e.message)); });
    }, 150);
  }

  function act(path, body, done) {
    return ctx.api("POST", path, body).then(function () { ctx.toast(done); refresh(); },
      function (e) { ctx.toast(e.message, true); throw e; });
  }

  function windowName(id) {
    var ws = (data && data.windows) || [];
    for (var i = 0; i < ws.length; i++) if (ws[i].id === id) return (ws[i].number ? ws[i].number + "号" : "") + (ws[i].name ? " " + ws[i].name : "");
    return id;
  }

  function form() {
    var el = ctx.el, card = el("section", "sa-card");
    card.id = "staff-form";
    card.appendChild(el("h2", "", editing ? "修改人员：" + editing.id : "添加人员"));
    var row = el("div", "sa-row");
    function field(label, id, value, max) {
      var l = el("label", "", label), i = el("input");
      i.type = "text"; i.id = id; i.value = value || ""; i.maxLength = max;
      l.appendChild(i); row.appendChild(l);
      return i;
    }
    var id = field("工号", "staff-id", editing && editing.id, 32);
    if (editing) id.disabled = true;
    var name = field("姓名", "staff-name", editing && editing.name, 32);
    var title = field("岗位", "staff-title", editing && editing.title, 32);
    card.appendChild(row);
    var wrow = el("div", "sa-row");
    wrow.id = "staff-windows";
    wrow.appendChild(el("span", "", "窗口（第一个为评价器签到键所在窗口）："));
    ((data && data.windows) || []).forEach(function (w) {
      var l = el("label"), c = el("input");
      c.type = "checkbox"; c.value = w.id; c.checked = !!(editing && editing.windows.indexOf(w.id) >= 0);
      l.appendChild(c); l.appendChild(document.createTextNode(windowName(w.id)));
      wrow.appendChild(l);
    });
    card.appendChild(wrow);
    var arow = el("div", "sa-row");
    var save = el("button", "sa-btn primary", editing ? "保存修改" : "添加");
    save.type = "button"; save.id = "staff-save";
    save.addEventListener("click", function () {
      var ws = [];
      if (editing) editing.windows.forEach(function (w) { var c = wrow.querySelector('input[value="' + w + '"]'); if (c && c.checked) ws.push(w); });
      Array.prototype.forEach.call(wrow.querySelectorAll("input"), function (c) { if (c.checked && ws.indexOf(c.value) < 0) ws.push(c.value); });
      var body = { id: id.value.trim(), name: name.value.trim(), title: title.value.trim(), windows: ws };
      act("/api/v1/staff", body, editing ? "已修改 " + body.name : "已添加 " + body.name).then(function () { editing = null; }, function () {});
    });
    arow.appendChild(save);
    if (editing) {
      var cancel = el("button", "sa-btn", "取消");
      cancel.type = "button";
      cancel.addEventListener("click", function () { editing = null; render(); });
      arow.appendChild(cancel);
    }
    arow.appendChild(el("span", "sa-note", "运行中的修改保留到 devices.yaml 修改此人为止。"));
    card.appendChild(arow);
    return card;
  }

  function pinCell(s) {
    var el = ctx.el, td = el("td"), p = s.pin || {};
    if (!p.set) td.appendChild(el("span", "sa-tag", "未设置"));
    else if (p.locked_until) td.appendChild(el("span", "sa-tag bad", "已锁定至 " + ctx.time(p.locked_until)));
    else if (p.failures) td.appendChild(el("span", "sa-tag warn", "已设置 · 连续错误 " + p.failures + " 次"));
    else td.appendChild(el("span", "sa-tag ok", "已设置"));
    return td;
  }

  function table() {
    var el = ctx.el, card = el("section", "sa-card");
    card.appendChild(el("h2", "", "人员名单"));
    var pr = data.pin_required ? "签到需要本人密码" : "签到暂不需要密码（尚未设置任何密码）";
    if (data.pin_mode === "off") pr = "签到密码已关闭（hall.staff_pin.mode: off）";
    card.appendChild(el("p", "sa-note", pr));
    var t = el("table", "sa-table"), h = el("tr");
    t.id = "staff-list";
    ["工号", "姓名", "岗位", "窗口", "来源", "签到", "签到密码", ""].forEach(function (x) { h.appendChild(el("th", "", x)); });
    t.appendChild(h);
    data.staff.forEach(function (s) {
      var tr = el("tr");
      tr.setAttribute("data-staff", s.id);
      tr.appendChild(el("td", "", s.id));
      tr.appendChild(el("td", "", s.name));
      tr.appendChild(el("td", "", s.title || "—"));
      tr.appendChild(el("td", "", s.windows.map(windowName).join("、") || "—"));
      tr.appendChild(el("td", "sa-note", s.source === "runtime" ? "运行中修改 · " + (s.changed_by || "") : "devices.yaml"));
      var sg = el("td");
      sg.appendChild(s.signed_in_at ? el("span", "sa-tag ok", windowName(s.signed_in_at)) : el("span", "sa-note", "未签到"));
      tr.appendChild(sg);
      tr.appendChild(pinCell(s));
      var a = el("td"), box = el("div", "sa-actions");
      var edit = el("button", "sa-btn", "修改");
      edit.type = "button";
      edit.addEventListener("click", function () { editing = s; render(); });
      box.appendChild(edit);
      var pin = el("input");
      pin.type = "password"; pin.inputMode = "numeric"; pin.maxLength = 12; pin.placeholder = "新密码 4–12 位"; pin.size = 10;
      pin.className = "staff-pin"; pin.autocomplete = "new-password";
      box.appendChild(pin);
      var set = el("button", "sa-btn", s.pin && s.pin.set ? "重置密码" : "设置密码");
      set.type = "button"; set.className += " staff-pin-set";
      set.addEventListener("click", function () {
        if (!/^[0-9]{4,12}$/.test(pin.value)) { ctx.toast("签到密码须为 4–12 位数字", true); return; }
        act("/api/v1/staff/" + encodeURIComponent(s.id) + "/pin", { pin: pin.value }, s.name + " 的签到密码已设置").catch(function () {});
        pin.value = "";
      });
      box.appendChild(set);
      if (s.pin && (s.pin.locked_until || s.pin.failures)) {
        var un = el("button", "sa-btn primary", "解锁");
        un.type = "button"; un.className += " staff-unlock";
        un.addEventListener("click", function () { act("/api/v1/staff/" + encodeURIComponent(s.id) + "/unlock", undefined, s.name + " 已解锁").catch(function () {}); });
        box.appendChild(un);
      }
      var del = el("button", "sa-btn bad", "删除");
      del.type = "button";
      del.disabled = !!s.signed_in_at;
      del.title = s.signed_in_at ? "正在签到，请先签退" : "";
      del.addEventListener("click", function () {
        if (!window.confirm("删除人员 " + s.name + "（" + s.id + "）？")) return;
        act("/api/v1/staff/" + encodeURIComponent(s.id) + "/remove", undefined, "已删除 " + s.name).catch(function () {});
      });
      box.appendChild(del);
      a.appendChild(box); tr.appendChild(a);
      t.appendChild(tr);
    });
    card.appendChild(t);
    return card;
  }

  function render() {
    root.textContent = "";
    if (!data) { root.appendChild(ctx.el("p", "s-empty", "正在读取…")); return; }
    (data.conflicts || []).forEach(function (c) { root.appendChild(ctx.el("p", "sa-conflict", c.message)); });
    if (data.pin_store_error) root.appendChild(ctx.el("p", "sa-conflict", data.pin_store_error));
    root.appendChild(form());
    root.appendChild(table());
    var locked = 0;
    data.staff.forEach(function (s) { if (s.pin && s.pin.locked_until) locked++; });
    ctx.badge("staff", locked);
  }

  S.register({
    id: "staff", title: "人员与窗口", order: 4,
    mount: function (el, c) {
      ctx = c; root = el;
      render();
      refresh();
      ctx.onEvent(function (ev) {
        var t = ev && ev.type || "";
        if (t.indexOf("staff.") === 0 || t.indexOf("window.services") === 0) refresh();
      });
      ctx.onSnapshot(refresh);
    },
    show: refresh
  });
})();
