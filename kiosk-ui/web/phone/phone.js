// The citizen's phone page (/t/{token}): one ticket's progress, a warning
// when N are ahead, the call, then the rating of the visit. Plain ES5,
// WebSocket and XMLHttpRequest, so WeChat's built-in browser, Android Chrome
// and iOS Safari all run it as it is (README "The citizen's phone").
//
// Live: the page follows GET /api/v1/phone/{token}/live, a WebSocket that
// sends the ticket's view at once and whenever it changes; when it drops the
// page reconnects (1 s, 2 s, … 30 s) and asks GET /api/v1/phone/{token} once
// meanwhile. When the socket cannot open at all (some guest Wi-Fi proxies
// refuse WebSockets), it polls every SLOW_POLL seconds and tries the socket
// again every RETRY_LIVE.
(function () {
  "use strict";
  var m = /^\/t\/([A-Za-z0-9_-]+)$/.exec(location.pathname);
  var token = m ? m[1] : "";
  var api = "/api/v1/phone/" + token;
  var $ = function (id) { return document.getElementById(id); };
  var body = document.body;

  var last = null;        // the last view received
  var warnN = 3;          // warn when this many or fewer are ahead
  var warned = false;     // the warning for warnN has been given
  var calledKey = "";     // the call last announced (status, window, recalls)
  var audio = null;       // AudioContext, made on the first tap (browsers want a gesture)
  var failures = 0;
  var timer = 0;
  var stopped = false;
  var SLOW_POLL = 10;     // seconds between polls when no socket can open (500 phones: 50 a second)
  var RETRY_LIVE = 60;    // seconds between tries of the socket while polling
  var ws = null;          // the live socket
  var everLive = false;   // a socket has opened on this page
  var liveFails = 0;      // drops in a row
  var liveTimer = 0;
  var lastLiveTry = 0;
  var level = "";
  var tags = {};
  var sending = false;
  var ratedMsg = "";      // what this phone's own rating got ("duplicate", or the words shown)
  var silentSending = false; // a 无声叫号 change is on its way

  try {
    var saved = parseInt(localStorage.getItem("halld-phone-warn"), 10);
    if (saved > 0) { warnN = saved; }
  } catch (e) { /* private mode */ }
  $("warn-n").value = String(warnN);
  if ($("warn-n").value !== String(warnN)) { warnN = 3; $("warn-n").value = "3"; }

  function show(id, on) { $(id).className = $(id).className.replace(/\s*\bhide\b/g, "") + (on ? "" : " hide"); }
  function text(id, s) { $(id).textContent = s; }

  // ------------------------------------------------------------ alerts

  function unlockAudio() {
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) { return; }
    try {
      if (!audio) { audio = new AC(); }
      if (audio.resume) { audio.resume(); }
    } catch (e) { audio = null; }
  }

  // beep plays n tones; loud: longer, higher ones for the call.
  function beep(n, loud) {
    if (!audio) { return; }
    var t = audio.currentTime + 0.05;
    for (var i = 0; i < n; i++) {
      var o = audio.createOscillator(), g = audio.createGain();
      o.type = "square";
      o.frequency.value = loud ? (i % 2 ? 660 : 880) : 740;
      g.gain.value = loud ? 0.6 : 0.3;
      o.connect(g); g.connect(audio.destination);
      var d = loud ? 0.45 : 0.25;
      o.start(t); o.stop(t + d);
      t += d + 0.15;
    }
  }

  function vibrate(pattern) {
    try { if (navigator.vibrate) { navigator.vibrate(pattern); } } catch (e) { /* not on iOS */ }
  }

  function alertCount(kind) {
    var k = "data-" + kind + "-alerts";
    body.setAttribute(k, String((parseInt(body.getAttribute(k), 10) || 0) + 1));
  }

  function warnText(v) {
    text("warn", v.ahead === 0 ? "下一位就是您，请到窗口附近留意叫号" : "前面还有 " + v.ahead + " 人，请回到大厅留意叫号");
    show("warn", true);
  }

  function warnNow(v) {
    warnText(v);
    vibrate([300, 150, 300]);
    beep(2, false);
    alertCount("warn");
  }

  function announceCall(v) {
    var w = v.window;
    var where = w ? w.number + "号窗口" : "窗口";
    $("called").innerHTML = "";
    $("called").appendChild(document.createTextNode("请 " + v.number + " 号到 " + where + " 办理"));
    if (w && (w.name || w.area_name)) {
      var s = document.createElement("small");
      s.textContent = [w.area_name, w.name].filter(Boolean).join(" · ");
      $("called").appendChild(s);
    }
    if (v.silent) {
      var q = document.createElement("small");
      q.textContent = "无声叫号：大厅广播不念您的号码，请直接前往";
      $("called").appendChild(q);
    }
    show("called", true);
    vibrate([800, 200, 800, 200, 800]);
    beep(6, true);
    alertCount("call");
    document.title = "【叫号】" + v.number + " 请到" + where;
  }

  // ------------------------------------------------------------ drawing

  function draw(v) {
    last = v;
    body.setAttribute("data-state", "ok");
    body.setAttribute("data-status", v.status);
    body.setAttribute("data-ahead", v.ahead === null ? "" : String(v.ahead));
    body.setAttribute("data-rating", v.rating.state);
    show("gone", false);
    show("ticket", true);
    text("hall", v.hall.name);
    text("number", v.number);
    text("service", v.service_name + (v.priority === "green" ? "（绿色通道）" : v.priority === "appointment" ? "（预约）" : ""));
    text("status", v.status_text);
    var waiting = v.status === "waiting";
    text("ahead", waiting ? v.ahead_text : "");
    var est = "";
    if (waiting && v.estimate) {
      est = v.estimate.servable ? (v.ahead === 0 ? "即将叫号" : "预计等候" + v.estimate.text) : v.estimate.text;
    }
    text("estimate", est);
    show("remind", waiting || v.status === "called");
    if (!silentSending) { $("silent").checked = !!v.silent; }
    body.setAttribute("data-silent", v.silent ? "on" : "off");
    if (waiting) { document.title = v.number + " · " + v.ahead_text; }

    // Warn at N, once, while it stays at or below N.
    if (waiting && v.ahead !== null && v.ahead <= warnN) {
      if (!warned) { warned = true; warnNow(v); } else { warnText(v); }
    } else {
      warned = false;
      show("warn", false);
    }
    if (!waiting) { show("warn", false); }

    // The call: announced again at a recall.
    if (v.status === "called") {
      var key = v.called_at + "|" + v.recalls + "|" + (v.window ? v.window.number : "");
      if (key !== calledKey) { calledKey = key; announceCall(v); }
    } else {
      show("called", false);
      if (v.status === "serving" && v.window) {
        text("status", v.status_text + " · " + v.window.number + "号窗口");
      }
    }

    var list = $("notice-list");
    list.innerHTML = "";
    for (var i = 0; i < v.notices.length; i++) {
      var p = document.createElement("p");
      p.textContent = v.notices[i];
      list.appendChild(p);
    }
    show("notices", v.notices.length > 0);
    drawRating(v.rating);
    text("foot", v.hall.hotline ? "服务热线：" + v.hall.hotline : "");
  }

  function drawRating(r) {
    show("rate", r.state === "open");
    show("rated", r.state === "rated");
    if (r.state === "rated") {
      if (ratedMsg === "duplicate") {
        text("rated-text", "本次办件已评价过（每次办件只能评价一次），以第一次评价为准" + (r.level ? "：" + r.level : "。"));
      } else if (ratedMsg) {
        text("rated-text", ratedMsg);
      } else {
        text("rated-text", r.level ? "您的评价：" + r.level : "本次办件已评价");
      }
    }
    if (r.state !== "open") { return; }
    text("rate-title", r.late ? "补充评价（窗口评价已超时，您仍可在当天评价）" : "请对本次服务进行评价");
    var box = $("levels");
    if (box.childNodes.length === 0) {
      for (var i = 0; i < r.levels.length; i++) { box.appendChild(levelButton(r.levels[i])); }
      var tb = $("tags");
      for (var j = 0; j < r.reasons.length; j++) { tb.appendChild(tagButton(r.reasons[j])); }
    }
  }

  function bad(l) { return l === "不满意" || l === "非常不满意"; }

  function levelButton(l) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = l;
    b.setAttribute("data-level", l);
    b.onclick = function () {
      level = l;
      var bs = $("levels").getElementsByTagName("button");
      for (var i = 0; i < bs.length; i++) { bs[i].className = bs[i].getAttribute("data-level") === l ? "on" : ""; }
      show("tags-box", bad(l));
      text("rate-msg", "");
      $("rate-send").disabled = false;
    };
    return b;
  }

  function tagButton(t) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = t;
    b.setAttribute("data-reason", t);
    b.onclick = function () {
      tags[t] = !tags[t];
      b.className = tags[t] ? "on" : "";
    };
    return b;
  }

  function chosenTags() {
    var out = [];
    for (var t in tags) { if (tags.hasOwnProperty(t) && tags[t]) { out.push(t); } }
    return out;
  }

  function sendRating() {
    if (!level || sending) { return; }
    var reasons = bad(level) ? chosenTags() : [];
    var comment = $("comment").value.replace(/^\s+|\s+$/g, "");
    if (bad(level) && reasons.length === 0 && !comment) {
      text("rate-msg", "请选择不满意的原因，或填写意见");
      return;
    }
    sending = true;
    $("rate-send").disabled = true;
    request("POST", api + "/rating", JSON.stringify({ level: level, reasons: reasons, comment: comment }), function (status, data) {
      sending = false;
      if ((status === 200 || status === 201) && data && data.ok) {
        show("rate", false);
        show("rated", true);
        body.setAttribute("data-rating", "rated");
        body.setAttribute("data-rated", data.duplicate ? "duplicate" : data.late ? "late" : "new");
        if (data.duplicate) {
          ratedMsg = "duplicate";
          text("rated-text", "本次办件已评价过（每次办件只能评价一次），以第一次评价为准。");
        } else {
          ratedMsg = (data.late ? "已收到您的补充评价：" : "您的评价：") + level;
          text("rated-text", ratedMsg);
        }
        poll();
        return;
      }
      $("rate-send").disabled = false;
      text("rate-msg", data && data.error ? data.error.message : "提交失败，请检查网络后重试");
    });
  }

  // ------------------------------------------------------------ network

  function request(method, url, payload, done) {
    var x = new XMLHttpRequest();
    x.open(method, url, true);
    x.timeout = 10000;
    if (payload) { x.setRequestHeader("Content-Type", "application/json"); }
    x.onreadystatechange = function () {
      if (x.readyState !== 4) { return; }
      var data = null;
      try { data = JSON.parse(x.responseText); } catch (e) { /* not JSON */ }
      done(x.status, data);
    };
    x.send(payload || null);
  }

  function schedule(seconds) {
    clearTimeout(timer);
    if (!stopped) { timer = setTimeout(poll, seconds * 1000); }
  }

  function finished(v) {
    return v.rating.state === "rated" || v.rating.state === "closed" || v.status === "expired";
  }

  function gone() {
    stopped = true;
    closeLive();
    body.setAttribute("data-state", "gone");
    show("gone", true);
    show("ticket", false); show("remind", false); show("rate", false); show("called", false); show("warn", false);
  }

  // got takes a view, from the socket or a poll.
  function got(v) {
    failures = 0;
    show("conn", false);
    draw(v);
    // Nothing more will change once the visit is rated.
    if (finished(v)) { stopped = true; closeLive(); clearTimeout(timer); }
  }

  function poll() {
    clearTimeout(timer);
    request("GET", api, null, function (status, data) {
      if (status === 200 && data && data.number) {
        got(data);
        if (!stopped && !live()) {
          schedule(SLOW_POLL);
          // Now and then, try the socket again (another network, a proxy that relented).
          if (new Date().getTime() - lastLiveTry > RETRY_LIVE * 1000) { connect(); }
        }
        return;
      }
      if (status === 404) { gone(); return; }
      failures++;
      if (last) { show("conn", true); }
      if (!live()) { schedule(status === 429 ? 10 : Math.min(3 * Math.pow(2, failures - 1), 30)); }
    });
  }

  function live() { return ws !== null && ws.readyState === 1; }

  function closeLive() {
    clearTimeout(liveTimer);
    if (ws) { var w = ws; ws = null; w.onclose = null; try { w.close(); } catch (e) { /* closed */ } }
    body.setAttribute("data-live", "off");
  }

  function connect() {
    if (stopped || ws || !window.WebSocket) { return; }
    clearTimeout(liveTimer);
    lastLiveTry = new Date().getTime();
    var opened = false;
    var w;
    try {
      w = new WebSocket((location.protocol === "https:" ? "wss:" : "ws:") + "//" + location.host + api + "/live");
    } catch (e) { fallback(); return; }
    ws = w;
    w.onopen = function () {
      opened = true; everLive = true; liveFails = 0;
      clearTimeout(timer); // the socket replaces the poll
      body.setAttribute("data-live", "socket");
    };
    w.onmessage = function (ev) {
      var f = null;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (f && f.type === "view" && f.data) { got(f.data); }
      else if (f && f.type === "gone") { gone(); }
    };
    w.onclose = function () {
      if (ws === w) { ws = null; }
      if (stopped) { return; }
      if (!opened && !everLive) { fallback(); return; }
      // A drop: say so, ask once meanwhile, and reconnect.
      liveFails++;
      body.setAttribute("data-live", "reconnecting");
      if (liveFails > 1 && last) { show("conn", true); }
      poll();
      liveTimer = setTimeout(connect, Math.min(1000 * Math.pow(2, liveFails - 1), 30000));
    };
  }

  // fallback: no socket can open here; poll slowly (poll tries the socket again now and then).
  function fallback() {
    ws = null;
    body.setAttribute("data-live", "poll");
    schedule(SLOW_POLL);
  }

  // ------------------------------------------------------------ wiring

  $("warn-n").onchange = function () {
    warnN = parseInt($("warn-n").value, 10) || 3;
    try { localStorage.setItem("halld-phone-warn", String(warnN)); } catch (e) { /* private mode */ }
    warned = false;
    unlockAudio();
    if (last) { draw(last); }
  };
  $("warn-on").onclick = function () {
    unlockAudio();
    vibrate(50);
    text("warn-state", "提醒已开启：前面剩 " + warnN + " 人和叫号时振动并响铃。请勿关闭本页面。");
    body.setAttribute("data-reminder", "on");
  };
  $("rate-send").onclick = sendRating;
  // 无声叫号: the hall's voice leaves this number out; this phone alerts.
  $("silent").onchange = function () {
    var on = $("silent").checked;
    unlockAudio();
    silentSending = true;
    request("POST", api + "/silent", JSON.stringify({ silent: on }), function (status, data) {
      silentSending = false;
      if (status === 200 && data && data.ok) {
        body.setAttribute("data-silent", on ? "on" : "off");
        text("silent-text", on ? "已开启无声叫号：大厅广播不念您的号码，叫到您时本手机响铃振动。请勿关闭本页面。"
          : "已关闭无声叫号：叫到您时大厅广播照常念号。");
        return;
      }
      $("silent").checked = !on;
      text("silent-text", data && data.error ? data.error.message : "设置失败，请检查网络后重试");
    });
  };
  // Any tap may unlock the sound (iOS allows it only in a gesture).
  document.addEventListener("touchend", unlockAudio, false);
  document.addEventListener("click", unlockAudio, false);
  document.addEventListener("visibilitychange", function () {
    // A phone that slept may have lost its socket without a close.
    if (!document.hidden && !stopped) { poll(); if (!live()) { closeLive(); connect(); } }
  }, false);

  if (!token) {
    body.setAttribute("data-state", "gone");
    show("gone", true);
    return;
  }
  poll();
  connect();
})();
