/* halld /board/ — 大厅叫号显示屏（综合屏，1920×1080 横屏） */
(function () {
  "use strict";

  var OVERLAY_GRACE_MS = 3000;      // short blips do not cover the board
  var FLASH_MS = 6000;              // a called window's tile flashes this long
  var REFETCH_MS = 300;             // debounce of the snapshot re-fetch after events
  var REFETCH_GAP_MS = 2000;        // at most one re-fetch this often: a busy hall's events do not each cost one
  var RECENT_MAX = 20;
  var SPEAK_TIMES = 2;              // calls are announced twice, as in real halls
  var SPEAK_GAP_MS = 700;           // pause between two utterances
  var STALE_SPEECH_MS = 120000;     // events replayed after a long outage are shown, not spoken
  var QUEUE_MAX = 16;               // utterances waiting at most (oldest dropped)
  var VOICE_KEY = "halld.board.voice";
  var PUBLIC_PAUSE_REASONS = { "会议": true, "用餐": true, "业务培训": true };

  // ---------------------------------------------------------------- state
  var state = {
    hall: null,
    services: [],
    windows: [],          // server order
    byWindow: {},         // id -> window
    recent: [],           // newest first
    notices: [],
    tickets: {},          // id -> ticket (status, for local waiting counts)
    clockOffset: 0,
    haveServerTime: false,
    lastEventSeq: null,
    loaded: false
  };

  // ---------------------------------------------------------------- helpers
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function str(v) { return v === undefined || v === null ? "" : String(v); }
  function num(v) { return typeof v === "number" && isFinite(v) ? v : null; }
  function setText(node, text) { text = str(text); if (node.textContent !== text) node.textContent = text; }
  function setAttr(node, name, value) { value = str(value); if (node.getAttribute(name) !== value) node.setAttribute(name, value); }
  function now() { return Date.now() + state.clockOffset; }
  function parseTs(ts) {
    if (ts === undefined || ts === null || ts === "") return NaN;
    if (typeof ts === "number") return ts > 1e12 ? ts : ts * 1000;
    return Date.parse(ts);
  }

  function fmt(opts) {
    try { return new Intl.DateTimeFormat("zh-CN", Object.assign({ timeZone: "Asia/Shanghai" }, opts)); }
    catch (e) { return new Intl.DateTimeFormat("zh-CN", opts); }
  }
  var fmtClock = fmt({ hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  var fmtHM = fmt({ hour: "2-digit", minute: "2-digit", hour12: false });
  var fmtDate = fmt({ year: "numeric", month: "long", day: "numeric", weekday: "long" });
  function hm(ts) { var t = parseTs(ts); return isNaN(t) ? "" : fmtHM.format(new Date(t)); }

  function windowLabel(w, fallbackNumber, fallbackName) {
    var n = w ? w.number : fallbackNumber;
    if (n !== undefined && n !== null && n !== "") return n + "号窗口";
    return str(w ? w.name : fallbackName) || "窗口";
  }

  // ---------------------------------------------------------------- clock
  function tickClock() {
    var d = new Date(now());
    setText($("clock-time"), fmtClock.format(d));
    setText($("clock-date"), fmtDate.format(d).replace(/日(星期)/, "日 $1"));
  }

  // ---------------------------------------------------------------- windows
  var tiles = {}; // window id -> {root, refs…}

  function buildTile(id) {
    var t = {};
    var root = t.root = el("article", "window-tile");
    root.setAttribute("data-window", id);
    var head = el("header", "wt-head");
    t.no = el("span", "wt-no");
    t.unit = el("span", "wt-unit", "号窗口");
    t.name = el("span", "wt-name");
    t.staff = el("span", "wt-staff");
    head.appendChild(t.no);
    head.appendChild(t.unit);
    head.appendChild(t.name);
    head.appendChild(t.staff);
    var body = el("div", "wt-body");
    t.label = el("div", "wt-label");
    t.number = el("div", "current-number");
    t.idle = el("div", "wt-idle", "等待叫号");
    t.state = el("div", "wt-state");
    t.stateSub = el("div", "wt-state-sub");
    body.appendChild(t.label);
    body.appendChild(t.number);
    body.appendChild(t.idle);
    body.appendChild(t.state);
    body.appendChild(t.stateSub);
    var foot = el("footer", "wt-foot");
    t.prio = el("span", "wt-prio");
    t.waiting = el("span", "wt-waiting");
    t.covering = el("span", "wt-covering");
    foot.appendChild(t.prio);
    foot.appendChild(t.waiting);
    foot.appendChild(t.covering);
    root.appendChild(head);
    root.appendChild(body);
    root.appendChild(foot);
    return t;
  }

  function pausedText(w) {
    var p = w.paused || {};
    var reason = str(p.reason);
    var main = reason === "临时外出" ? "临时外出" : "暂停服务";
    var sub = [];
    if (PUBLIC_PAUSE_REASONS[reason]) sub.push(reason);
    if (p.overdue) sub.push("请稍候，工作人员即将回来");
    else if (p.until) { var back = hm(p.until); if (back) sub.push("预计 " + back + " 回来"); }
    return [main, sub.join(" · ")];
  }

  function updateTile(t, w) {
    var status = w.status === "paused" || w.status === "closed" ? w.status : "open";
    setAttr(t.root, "data-status", status);
    setText(t.no, w.number !== undefined && w.number !== null ? w.number : "");
    t.unit.hidden = w.number === undefined || w.number === null || w.number === "";
    setText(t.name, w.name);
    setText(t.staff, w.staff && w.staff.name ? w.staff.name : "");
    t.staff.hidden = !(w.staff && w.staff.name);

    var cur = status === "open" ? w.current : null;
    setText(t.number, cur ? cur.number : "");
    setAttr(t.root, "data-ticket", cur ? cur.ticket_id : "");
    t.number.hidden = !cur;
    t.idle.hidden = !!cur || status !== "open";
    t.label.hidden = !cur;
    setText(t.label, cur ? (cur.status === "serving" ? "正在办理" : "请到本窗口办理") : "");
    t.root.classList.toggle("serving", !!cur && cur.status === "serving");
    if (!cur && t.root.classList.contains("flash")) { clearTimeout(t.flashTimer); t.root.classList.remove("flash"); }
    if (cur) setAttr(t.number, "data-len", str(cur.number).length > 4 ? "long" : "");

    if (status === "paused") {
      var pt = pausedText(w);
      setText(t.state, pt[0]);
      setText(t.stateSub, pt[1]);
    } else if (status === "closed") {
      setText(t.state, "未开放");
      setText(t.stateSub, "");
    } else {
      setText(t.state, "");
      setText(t.stateSub, "");
    }
    t.state.hidden = status === "open";
    t.stateSub.hidden = status === "open" || !t.stateSub.textContent;
    t.root.classList.toggle("overdue", status === "paused" && !!(w.paused && w.paused.overdue));

    var prio = cur ? cur.priority : "";
    setText(t.prio, prio === "green" ? "绿色通道" : (prio === "appointment" ? "预约" : ""));
    setAttr(t.prio, "data-priority", prio || "");
    t.prio.hidden = !t.prio.textContent;
    var waiting = num(w.waiting);
    setText(t.waiting, status !== "closed" && waiting !== null ? "等候 " + waiting + " 人" : "");
    t.waiting.hidden = !t.waiting.textContent;
    var cov = status !== "closed" && Array.isArray(w.covering) ? w.covering : []; // a closed window serves no one
    setText(t.covering, cov.length ? "兼办 " + cov.map(function (id) {
      var o = state.byWindow[id];
      return o ? windowLabel(o) : id;
    }).join("、") + " 业务" : "");
    t.covering.hidden = !cov.length;
  }

  function renderWindows() {
    var grid = $("window-grid");
    var seen = {};
    state.windows.forEach(function (w, i) {
      var id = str(w.id);
      seen[id] = true;
      var t = tiles[id] || (tiles[id] = buildTile(id));
      updateTile(t, w);
      if (grid.children[i] !== t.root) grid.insertBefore(t.root, grid.children[i] || null);
    });
    Object.keys(tiles).forEach(function (id) {
      if (!seen[id]) { clearTimeout(tiles[id].flashTimer); tiles[id].root.remove(); delete tiles[id]; }
    });
    var empty = $("windows-empty");
    empty.hidden = state.windows.length > 0;
    empty.textContent = state.loaded ? "暂无窗口信息" : "正在获取窗口信息…";
    layoutGrid();
  }

  // Choose columns × rows so the called numbers come out as large as possible.
  var lastLayout = "";
  function layoutGrid() {
    var grid = $("window-grid");
    var n = state.windows.length;
    if (!n) return;
    var W = grid.clientWidth || 1300, H = grid.clientHeight || 800, gap = 20;
    var best = 1, bestScore = -1;
    for (var cols = 1; cols <= n; cols++) {
      var rows = Math.ceil(n / cols);
      var tw = (W - gap * (cols - 1)) / cols, th = (H - gap * (rows - 1)) / rows;
      // the number is ~4 glyphs wide (≈2.6 em) and ~45 % of the tile's height
      var score = Math.min(tw / 3.0, th * 0.42);
      if (score > bestScore + 0.5) { bestScore = score; best = cols; }
    }
    var r = Math.ceil(n / best);
    var key = best + "x" + r;
    if (key === lastLayout) return;
    lastLayout = key;
    grid.style.gridTemplateColumns = "repeat(" + best + ", minmax(0, 1fr))";
    grid.style.gridTemplateRows = "repeat(" + r + ", minmax(0, 1fr))";
    grid.setAttribute("data-layout", key);
  }

  function flash(id) {
    var t = tiles[str(id)];
    if (!t) return;
    clearTimeout(t.flashTimer);
    t.root.classList.remove("flash");
    void t.root.offsetWidth; // restart the animation
    t.root.classList.add("flash");
    t.flashTimer = setTimeout(function () { t.root.classList.remove("flash"); }, FLASH_MS);
  }

  // ---------------------------------------------------------------- recent calls
  function renderRecent() {
    var ul = $("recent-calls");
    var frag = document.createDocumentFragment();
    state.recent.slice(0, RECENT_MAX).forEach(function (c, i) {
      var li = el("li", (c.recall ? "recall" : "") + (i === 0 ? " latest" : ""));
      li.setAttribute("data-ticket", str(c.ticket_id));
      li.setAttribute("data-window", str(c.window));
      li.appendChild(el("span", "rc-number", c.number));
      li.appendChild(el("span", "rc-window", windowLabel(state.byWindow[c.window], c.window_number, c.window_name)));
      li.appendChild(el("span", "rc-time", hm(c.at)));
      if (c.recall) li.appendChild(el("span", "rc-tag", "重呼"));
      frag.appendChild(li);
    });
    ul.textContent = "";
    ul.appendChild(frag);
    $("recent-empty").hidden = state.recent.length > 0;
    clipRows(ul);
  }

  // Rows that do not fit whole are hidden rather than cut in half.
  function clipRows(ul) {
    var h = ul.clientHeight;
    for (var i = 0; i < ul.children.length; i++) {
      var li = ul.children[i];
      li.style.visibility = "";
      if (h && li.offsetTop + li.offsetHeight > h + 1) li.style.visibility = "hidden";
    }
  }

  // ---------------------------------------------------------------- waiting per service
  function renderWaiting() {
    var ul = $("waiting-list");
    var frag = document.createDocumentFragment();
    state.services.forEach(function (s) {
      var li = el("li");
      li.setAttribute("data-service", str(s.id));
      li.appendChild(el("span", "ws-prefix", str(s.prefix) || "·"));
      li.appendChild(el("span", "ws-name", str(s.name) || str(s.id)));
      var n = el("span", "ws-count");
      n.appendChild(el("b", null, String(num(s.waiting) || 0)));
      n.appendChild(document.createTextNode("人"));
      li.appendChild(n);
      frag.appendChild(li);
    });
    ul.textContent = "";
    ul.appendChild(frag);
    ul.classList.toggle("two-col", state.services.length > 6);
  }

  // ---------------------------------------------------------------- notices
  var noticeKey = null;
  function renderNotices() {
    var t = now();
    var texts = [];
    if (state.hall && state.hall.open === false) texts.push("当前为非办公时间，暂停取号。");
    state.notices.forEach(function (n) {
      if (!n || !n.text) return;
      if (Array.isArray(n.where) && n.where.length && n.where.indexOf("board") < 0) return;
      var until = parseTs(n.until);
      if (!isNaN(until) && until < t) return;
      texts.push(str(n.text));
    });
    var key = texts.join("\u0001");
    if (key === noticeKey) return;
    noticeKey = key;
    var bar = $("notice-bar"), span = $("notice-text");
    bar.hidden = texts.length === 0;
    span.textContent = texts.join("　　◆　　");
    // constant reading speed: ~120 px/s whatever the length
    var chars = span.textContent.length;
    span.style.animationDuration = Math.max(14, Math.round((chars * 46 + 1900) / 120)) + "s";
    lastLayout = "";
    layoutGrid();
    clipRows($("recent-calls"));
  }

  // ---------------------------------------------------------------- hall
  function applyHall() {
    var h = state.hall || {};
    if (h.name) { setText($("hall-name"), h.name); document.title = "叫号显示屏 · " + h.name; }
    if (h.hotline) setText($("hotline"), h.hotline);
    if (h.now) {
      var t = Date.parse(h.now);
      if (!isNaN(t)) { state.clockOffset = t - Date.now(); state.haveServerTime = true; }
    }
    tickClock();
  }

  function renderAll() {
    applyHall();
    renderNotices();
    renderWaiting();
    renderWindows();
    renderRecent();
  }

  // ---------------------------------------------------------------- voice
  var voice = {
    remembered: loadVoicePref(),  // someone enabled it on this screen before
    gesture: false,               // a click or key press on this page load
    queue: [],
    busy: false,
    utter: null,                  // keep the utterance referenced (Chrome drops onend otherwise)
    audio: null,
    watchdog: null,
    started: Date.now(),
    mode: ""
  };
  var synth = window.speechSynthesis || null;

  function loadVoicePref() {
    try { return window.localStorage.getItem(VOICE_KEY) === "1"; } catch (e) { return false; }
  }
  function saveVoicePref() {
    try { window.localStorage.setItem(VOICE_KEY, "1"); } catch (e) { /* private mode */ }
  }

  function zhVoice() {
    if (!synth || typeof synth.getVoices !== "function") return null;
    var vs = synth.getVoices() || [];
    var best = null, bestRank = 99;
    for (var i = 0; i < vs.length; i++) {
      var lang = str(vs[i].lang).toLowerCase().replace("_", "-");
      if (lang.indexOf("zh") !== 0 && lang.indexOf("cmn") !== 0) continue;
      var rank = lang === "zh-cn" || lang === "cmn-hans-cn" ? 0 : (lang.indexOf("hk") >= 0 || lang.indexOf("yue") >= 0 ? 3 : (lang.indexOf("tw") >= 0 ? 2 : 1));
      if (vs[i].localService) rank -= 0.5; // works without internet
      if (rank < bestRank) { bestRank = rank; best = vs[i]; }
    }
    return best;
  }

  function updateVoiceUI() {
    $("voice-enable").hidden = voice.gesture || voice.remembered;
    var v = zhVoice();
    voice.mode = v ? "synth" : "server";
    var s = $("voice-state");
    s.textContent = !(voice.gesture || voice.remembered) ? "语音未启用" : (v ? "语音：" + str(v.name) : "语音：服务器合成");
    s.setAttribute("data-mode", voice.mode);
  }

  function voiceBlocked() {
    // The browser refused to play without a user gesture: ask for one.
    voice.queue.length = 0;
    voice.remembered = false;
    updateVoiceUI();
  }

  function onGesture() {
    if (voice.gesture) return;
    voice.gesture = true;
    voice.remembered = true;
    saveVoicePref();
    updateVoiceUI();
    // speaking inside the gesture unlocks speech for the rest of the page's life
    if (synth && zhVoice()) enqueue("语音播报已启用", 1);
  }

  // speak queues text (twice for calls) and shows it in #last-spoken.
  function speak(text, times) {
    text = str(text).trim();
    if (!text) return;
    setText($("last-spoken"), text);
    enqueue(text, times || 1);
  }

  function enqueue(text, times) {
    for (var i = 0; i < times; i++) voice.queue.push(text);
    if (voice.queue.length > QUEUE_MAX) voice.queue.splice(0, voice.queue.length - QUEUE_MAX);
    pump();
  }

  function pump() {
    if (voice.busy || !voice.queue.length) return;
    // Voices load asynchronously: give them a moment on a fresh page.
    if (synth && synth.getVoices && synth.getVoices().length === 0 && Date.now() - voice.started < 3000) {
      setTimeout(pump, 300);
      return;
    }
    var text = voice.queue.shift();
    voice.busy = true;
    var finished = false;
    function done() {
      if (finished) return;
      finished = true;
      clearTimeout(voice.watchdog);
      voice.utter = null;
      voice.audio = null;
      setTimeout(function () { voice.busy = false; pump(); }, SPEAK_GAP_MS);
    }
    // Never wait forever for an end event that does not come.
    voice.watchdog = setTimeout(done, 4000 + text.length * 600);
    var v = zhVoice();
    if (v) speakSynth(text, v, done);
    else speakServer(text, done);
  }

  // forSynth writes a ticket number's digits as Chinese digits for a browser
  // voice, which reads "A1000" as A一千 and "A015" as A十五: A零一五, as
  // daemon/voice does for espeak-ng. Window numbers stay numbers (12号 → 十二号).
  var ZH_DIGITS = "零一二三四五六七八九";
  function forSynth(text) {
    return text.replace(/([A-Za-z])([0-9]+)/g, function (m, letter, digits) {
      return letter + digits.replace(/[0-9]/g, function (d) { return ZH_DIGITS.charAt(+d); });
    });
  }

  function speakSynth(text, v, done) {
    var u;
    try {
      u = new window.SpeechSynthesisUtterance(forSynth(text));
    } catch (e) { speakServer(text, done); return; }
    u.lang = "zh-CN";
    u.voice = v;
    u.rate = 0.9;
    u.pitch = 1;
    u.volume = 1;
    u.onend = done;
    u.onerror = function (e) {
      if (e && e.error === "not-allowed") voiceBlocked();
      done();
    };
    voice.utter = u;
    try {
      if (synth.paused) synth.resume();
      synth.speak(u);
    } catch (e) { done(); }
  }

  function speakServer(text, done) {
    var a;
    try { a = new window.Audio(window.HallAuth.url("/api/v1/tts?text=" + encodeURIComponent(text))); }
    catch (e) { done(); return; }
    voice.audio = a;
    a.onended = done;
    a.onerror = done;
    try {
      var p = a.play();
      if (p && typeof p.then === "function") {
        p.then(null, function (err) {
          if (err && err.name === "NotAllowedError") voiceBlocked();
          done();
        });
      }
    } catch (e) { done(); }
  }

  function fresh(ev) {
    if (!state.haveServerTime) return true;
    var t = parseTs(ev.ts);
    return isNaN(t) || now() - t < STALE_SPEECH_MS;
  }

  // ---------------------------------------------------------------- snapshot
  function applySnapshot(data) {
    data = data || {};
    if (data.hall) state.hall = data.hall;
    state.services = Array.isArray(data.services) ? data.services.slice() : [];
    state.windows = Array.isArray(data.windows) ? data.windows.slice() : [];
    state.windows.sort(function (a, b) {
      var x = num(a.number), y = num(b.number);
      if (x !== null && y !== null && x !== y) return x - y;
      return str(a.id).localeCompare(str(b.id), "zh-CN", { numeric: true });
    });
    state.byWindow = {};
    state.windows.forEach(function (w) { if (w && w.id !== undefined) state.byWindow[w.id] = w; });
    state.recent = Array.isArray(data.recent_calls) ? data.recent_calls.slice(0, RECENT_MAX) : [];
    state.notices = Array.isArray(data.notices) ? data.notices.slice() : [];
    state.tickets = {};
    (Array.isArray(data.tickets) ? data.tickets : []).forEach(function (t) { if (t && t.id !== undefined) state.tickets[t.id] = t; });
    state.loaded = true;
    renderAll();
  }

  function onSnapshot(data, seq) {
    state.lastEventSeq = typeof seq === "number" ? seq : state.lastEventSeq;
    applySnapshot(data);
  }

  // Events update what is obvious at once; the snapshot re-fetch makes it
  // exact (the waiting counts of every window a call or a ticket touches). At
  // 100 events a second a re-fetch after each would be three a second per
  // board, each a whole hall's view: the first comes REFETCH_MS after an
  // event, and then at most one every REFETCH_GAP_MS while events keep coming.
  var refetchTimer = null, fetching = false, fetchAgain = false, staleAnswers = 0, lastFetchAt = -Infinity;
  function scheduleRefetch() {
    if (refetchTimer) return;
    var wait = Math.max(REFETCH_MS, lastFetchAt + REFETCH_GAP_MS - Date.now());
    refetchTimer = setTimeout(refetch, wait);
  }
  function refetch() {
    clearTimeout(refetchTimer);
    refetchTimer = null;
    if (fetching) { fetchAgain = true; return; }
    fetching = true;
    lastFetchAt = Date.now();
    fetchAgain = false;
    fetch("/api/v1/snapshot", window.HallAuth.headers({ headers: { Accept: "application/json" }, cache: "no-store" }))
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (body) {
        if (!body || !body.data) return;
        if (typeof body.seq === "number" && state.lastEventSeq !== null && body.seq < state.lastEventSeq) {
          // older than what the stream already showed: ask again (a few times at most)
          if (++staleAnswers <= 3) fetchAgain = true;
          return;
        }
        staleAnswers = 0;
        applySnapshot(body.data);
      })
      .catch(function () { /* the stream keeps the board going */ })
      .then(function () {
        fetching = false;
        if (fetchAgain) { fetchAgain = false; scheduleRefetch(); }
      });
  }

  // ---------------------------------------------------------------- events
  var NO_REFETCH = { "device.state": 1, "ticket.printed": 1, "ticket.print_failed": 1, "rating.submitted": 1, "rating.timeout": 1, "alert.raised": 1 };

  function win(id) { return state.byWindow[id] || null; }
  function clearCurrent(ev) {
    var w = win(ev.window);
    if (w && w.current && (ev.ticket_id === undefined || w.current.ticket_id === ev.ticket_id)) w.current = null;
    if (ev.from_window !== undefined) {
      var f = win(ev.from_window);
      if (f && f.current && f.current.ticket_id === ev.ticket_id) f.current = null;
    }
  }
  function bumpWaiting(serviceId, delta) {
    state.services.forEach(function (s) {
      if (s.id === serviceId) s.waiting = Math.max(0, (num(s.waiting) || 0) + delta);
    });
  }

  function onCall(ev) {
    var w = win(ev.window);
    var t = state.tickets[ev.ticket_id];
    if (!ev.recall && t && (t.status || "waiting") === "waiting") {
      bumpWaiting(t.service || ev.service, -1);
      if (w && num(w.waiting)) w.waiting = Math.max(0, w.waiting - 1);
    }
    if (t) { t.status = "called"; t.window = ev.window; }
    if (w) {
      w.current = {
        ticket_id: ev.ticket_id, number: ev.number, service_name: ev.service_name,
        status: "called", called_at: ev.ts, priority: ev.priority
      };
      if (w.status !== "paused") w.status = "open";
    }
    state.recent.unshift({
      ticket_id: ev.ticket_id, number: ev.number, window: ev.window,
      window_number: ev.window_number !== undefined ? ev.window_number : (w ? w.number : undefined),
      window_name: ev.window_name !== undefined ? ev.window_name : (w ? w.name : undefined),
      at: ev.ts, voice: ev.voice, recall: !!ev.recall
    });
    if (state.recent.length > RECENT_MAX) state.recent.length = RECENT_MAX;
    renderWaiting();
    renderWindows();
    renderRecent();
    flash(ev.window);
    // 无声叫号: the citizen asked on their phone to be called without the
    // voice (their phone alerts instead); the board shows the call as usual.
    if (fresh(ev) && !ev.silent) {
      var n = ev.window_number !== undefined ? ev.window_number : (w ? w.number : "");
      speak(ev.voice || ("请" + str(ev.number) + "号到" + (n !== "" && n !== undefined ? n + "号窗口" : windowLabel(w, "", ev.window_name)) + "办理"), SPEAK_TIMES);
    }
  }

  function onEvent(ev, seq) {
    if (!ev || !ev.type) return;
    if (typeof seq === "number") state.lastEventSeq = seq;
    var w = win(ev.window);
    switch (ev.type) {
      case "notice.posted":
      case "notice.expired":
        scheduleRefetch();
        break;
      case "ticket.called":
      case "ticket.recalled":
        onCall(ev);
        break;
      case "ticket.issued":
        if (ev.ticket && ev.ticket.id !== undefined) {
          if (!state.tickets[ev.ticket.id]) bumpWaiting(ev.ticket.service, 1);
          state.tickets[ev.ticket.id] = ev.ticket;
          renderWaiting();
        }
        break;
      case "ticket.no_show":
      case "ticket.held":
      case "ticket.transferred":
      case "service.finished":
        clearCurrent(ev);
        renderWindows();
        break;
      case "service.started":
        if (w && w.current && w.current.ticket_id === ev.ticket_id) { w.current.status = "serving"; w.current.started_at = ev.ts; }
        renderWindows();
        break;
      case "window.paused":
        if (w) {
          w.status = "paused";
          w.paused = { reason: ev.reason, since: ev.ts, until: ev.until || null, overdue: false };
          w.current = null;
          renderWindows();
        }
        if (fresh(ev) && ev.voice) speak(ev.voice, 1);
        break;
      case "window.resumed":
        if (w) { w.status = "open"; w.paused = null; renderWindows(); }
        break;
      case "window.pause_overdue":
        if (w && w.paused) { w.paused.overdue = true; renderWindows(); }
        break;
      case "staff.signed_in":
        if (w) {
          w.staff = { id: ev.staff, name: ev.staff_name };
          if (w.status === "closed") w.status = "open";
          renderWindows();
        }
        break;
      case "staff.signed_out":
        if (w) { w.staff = null; w.status = "closed"; w.current = null; w.paused = null; renderWindows(); }
        break;
    }
    if (!NO_REFETCH[ev.type]) scheduleRefetch();
  }

  var overlayTimer = null;
  function onStatus(st) {
    var overlay = $("conn-overlay");
    if (st.state === "connected") {
      clearTimeout(overlayTimer);
      overlayTimer = null;
      overlay.hidden = true;
      return;
    }
    if (overlay.hidden && !overlayTimer) {
      overlayTimer = setTimeout(function () {
        overlayTimer = null;
        if (stream.state !== "connected") overlay.hidden = false;
      }, OVERLAY_GRACE_MS);
    }
  }

  // ---------------------------------------------------------------- wiring
  document.addEventListener("click", onGesture, true);
  document.addEventListener("keydown", onGesture, true);
  document.addEventListener("touchend", onGesture, true);
  $("voice-enable").addEventListener("click", onGesture);
  if (synth && typeof synth.addEventListener === "function") synth.addEventListener("voiceschanged", updateVoiceUI);
  window.addEventListener("resize", function () { lastLayout = ""; layoutGrid(); clipRows($("recent-calls")); });

  updateVoiceUI();
  renderAll();
  setInterval(function () { tickClock(); renderNotices(); }, 1000);

  var stream = new window.HallStream();
  stream.onSnapshot(onSnapshot).onEvent(onEvent).onStatus(onStatus).connect();

  // For tests and hall IT in the console.
  window.halldBoard = { state: state, stream: stream, speak: speak, refresh: refetch, voice: voice };
})();
