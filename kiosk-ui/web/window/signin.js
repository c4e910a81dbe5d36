/* Sign-in as oneself at the window page (issue 16).
 *
 * window.js calls WindowSignIn.start(staffId, label) when 签到 is pressed with
 * a name chosen. When the hall has PINs (GET /api/v1/staff → pin_required) a
 * PIN pad opens: big keys for a touch screen, the PIN masked, the server's
 * answer shown as it is (wrong PIN: attempts left; locked: until when). When
 * the person is signed in at another window the server answers 409 with that
 * window, and the pad asks before signing in again with confirm: true.
 */
(function () {
  "use strict";
  var W = window.halldWindow;
  if (!W) return;
  var MAX = 12;
  var pin = "", who = null, busy = false, askConfirm = false, locked = false;
  var modal, dots, err, confirmBox, okBtn, title, heading, pad;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function build() {
    modal = el("div", "w-modal");
    modal.id = "pin-dialog";
    modal.hidden = true;
    var d = el("div", "w-dialog pin-dialog");
    d.setAttribute("role", "dialog");
    d.setAttribute("aria-modal", "true");
    d.setAttribute("aria-labelledby", "pin-title");
    var h = heading = el("h2", "", "输入签到密码");
    h.id = "pin-title";
    title = el("p", "pin-who");
    title.id = "pin-who";
    dots = el("div", "pin-dots");
    dots.id = "pin-dots";
    dots.setAttribute("aria-live", "polite");
    pad = el("div", "pin-pad");
    pad.id = "pin-pad";
    ["1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "back"].forEach(function (k) {
      var b = el("button", k.length > 1 ? "pin-fn" : "", k === "clear" ? "清除" : (k === "back" ? "退格" : k));
      b.type = "button";
      b.setAttribute("data-key", k);
      b.addEventListener("click", function () { key(k); });
      pad.appendChild(b);
    });
    err = el("p", "w-dialog-error");
    err.id = "pin-error";
    err.setAttribute("role", "alert");
    err.hidden = true;
    confirmBox = el("p", "pin-confirm");
    confirmBox.id = "pin-confirm";
    confirmBox.hidden = true;
    var actions = el("div", "w-dialog-actions");
    var cancel = el("button", "w-btn", "取消");
    cancel.type = "button";
    cancel.id = "pin-cancel";
    cancel.addEventListener("click", close);
    okBtn = el("button", "w-btn w-btn-primary", "签到");
    okBtn.type = "button";
    okBtn.id = "pin-ok";
    okBtn.addEventListener("click", submit);
    actions.appendChild(cancel);
    actions.appendChild(okBtn);
    [h, title, dots, pad, err, confirmBox, actions].forEach(function (c) { d.appendChild(c); });
    modal.appendChild(d);
    document.body.appendChild(modal);
    document.addEventListener("keydown", function (e) {
      if (modal.hidden) return;
      if (e.key >= "0" && e.key <= "9") { key(e.key); e.preventDefault(); }
      else if (e.key === "Backspace") { key("back"); e.preventDefault(); }
      else if (e.key === "Enter") { submit(); e.preventDefault(); }
      else if (e.key === "Escape") { close(); e.preventDefault(); }
    }, true);
  }

  function render() {
    dots.textContent = "";
    if (!pin) dots.appendChild(el("span", "pin-empty", "请输入 4–12 位数字密码"));
    else dots.appendChild(document.createTextNode(new Array(pin.length + 1).join("●")));
    okBtn.disabled = busy || locked || (who && who.needPIN && pin.length < 4);
    okBtn.textContent = askConfirm ? "确认在本窗口签到" : "签到";
  }

  function key(k) {
    if (busy || locked) return;
    if (k === "clear") pin = "";
    else if (k === "back") pin = pin.slice(0, -1);
    else if (pin.length < MAX) pin += k;
    render();
  }

  function showErr(msg, isLock) {
    err.textContent = msg;
    err.hidden = !msg;
    err.className = "w-dialog-error" + (isLock ? " pin-locked" : "");
  }

  function open() {
    pin = ""; busy = false; askConfirm = false; locked = false;
    showErr("");
    confirmBox.hidden = true;
    title.textContent = "签到人员：" + who.label;
    heading.textContent = who.needPIN ? "输入签到密码" : "确认签到";
    dots.hidden = pad.hidden = !who.needPIN; // no PINs in this hall: only the question
    modal.hidden = false;
    render();
  }

  function close() {
    modal.hidden = true;
    pin = "";
    who = null;
  }

  function post() {
    var body = { staff: who.id };
    if (who.needPIN) body.pin = pin;
    if (askConfirm) body.confirm = true;
    busy = true;
    render();
    return W.api("POST", W.winURL("sign-in"), body).then(function (res) {
      busy = false;
      if (!modal.hidden) close();
      W.hideError();
      if (res.window) W.applyWindow(res.window);
      W.refresh();
    }, function (e) {
      busy = false;
      if (e.code === "signed_in_elsewhere") {
        // Ask first: the server names the other window in the message.
        if (modal.hidden) open();
        askConfirm = true;
        confirmBox.textContent = e.message;
        confirmBox.hidden = false;
        showErr("");
      } else if (e.code === "pin_locked") {
        if (modal.hidden) open();
        locked = true;
        pin = "";
        showErr(e.message, true);
      } else {
        if (modal.hidden) open();
        pin = "";
        showErr(e.message);
      }
      render();
    });
  }

  function submit() {
    if (!who || busy || locked) return;
    if (who.needPIN && pin.length < 4) { showErr("密码为 4–12 位数字"); return; }
    post();
  }

  function start(id, label) {
    if (!modal) build();
    who = { id: id, label: label, needPIN: true };
    W.api("GET", "/api/v1/staff").then(function (b) {
      who.needPIN = !!b.pin_required;
      if (who.needPIN) open();
      else post();
    }, function () { open(); });
  }

  window.WindowSignIn = { start: start };
})();
