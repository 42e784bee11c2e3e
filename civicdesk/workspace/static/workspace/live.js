/* Live updates for the agent workspace.
 *
 * One WebSocket to /ws/workspace/ per page; it reconnects with exponential backoff (1 s … 30 s,
 * with jitter) and catches up with a refresh after a gap. Every event is {kind, data}, a typed
 * event declared in an app's events.py (kinds such as "case.opened"). On `case.*` events the inbox list
 * partial is refreshed (it listens for "cases-changed" on <body>); on a case page the timeline
 * refreshes when the event names that case ("case-changed"). Announcements go to the polite
 * live region. Server responses may trigger {"announce": {"message": "…"}} through HX-Trigger.
 */
(function () {
  "use strict";

  var body = document.body;
  if (!body || !body.dataset.userId) return; // signed-out pages have no live updates

  var userId = body.dataset.userId;
  var region = document.getElementById("live-region");
  var statusText = document.getElementById("live-status");
  var socket = null;
  var attempts = 0;
  var hadConnection = false;
  var stopped = false;
  // The same event can arrive twice in a row (once per group this socket joined: everyone's and
  // this user's); identical frames within this window are handled once.
  var DUPLICATE_WINDOW_MS = 250;
  var lastFrame = "";
  var lastFrameAt = 0;

  function announce(message) {
    if (!region || !message) return;
    // Empty first so that the same words said twice are announced twice.
    region.textContent = "";
    window.setTimeout(function () { region.textContent = message; }, 60);
  }
  window.civicdesk = window.civicdesk || {};
  window.civicdesk.announce = announce;

  function setStatus(text) {
    if (statusText) statusText.textContent = text;
  }

  function trigger(name, detail) {
    if (window.htmx) window.htmx.trigger(body, name, detail || {});
  }

  function currentCase() {
    return body.dataset.caseReference || "";
  }

  // A new case is followed at once by its first message: announce the case, not both.
  var justCreated = {};

  function describe(kind, data) {
    var ref = data.reference || "";
    var mine = String(data.assignee_id || "") === userId;
    switch (kind) {
      case "case.opened":
        justCreated[ref] = Date.now();
        return "New case " + ref + (mine ? ", assigned to you" : "");
      case "case.message.received":
        if (justCreated[ref] && Date.now() - justCreated[ref] < 5000) return "";
        return mine || ref === currentCase() ? "New message from the citizen on " + ref : "";
      case "case.assigned":
        return mine ? "Case " + ref + " assigned to you" : "";
      case "case.sla.warned":
      case "case.sla.breached":
        return mine ? slaWords(kind, data) : "";
      default:
        return "";
    }
  }

  function slaWords(kind, data) {
    var target = data.target === "resolution" ? "Resolution" : "First response";
    if (kind === "case.sla.breached") return target + " target missed on " + data.reference;
    return target + " target due soon on " + data.reference;
  }

  // A supervisor told of an escalation (their id in `notified_ids`) gets an alert that stays
  // until dismissed, announced assertively; others only see the inbox refresh.
  function alertSupervisor(kind, data) {
    var ids = (data.notified_ids || []).map(String);
    if (ids.indexOf(userId) === -1) return;
    var box = document.getElementById("sla-alerts");
    if (!box) return;
    var item = document.createElement("div");
    item.className = "sla-alert sla-alert--" + (kind === "case.sla.breached" ? "breached" : "warning");
    item.setAttribute("role", "alert");
    var link = document.createElement("a");
    // The inbox is the workspace root; case pages live under it.
    link.href = (body.dataset.inboxUrl || "/") + "cases/" + encodeURIComponent(data.reference || "") + "/";
    link.textContent = slaWords(kind, data);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "button button--secondary sla-alert__close";
    close.textContent = "Dismiss";
    close.addEventListener("click", function () { item.remove(); });
    item.appendChild(link);
    item.appendChild(document.createTextNode(" "));
    item.appendChild(close);
    box.appendChild(item);
  }

  function handle(event) {
    var kind = event.kind || "";
    var data = event.data || {};
    if (kind === "hello") return;
    var ref = data.reference || data.thread_reference || "";
    if (kind.indexOf("case.") === 0) {
      trigger("cases-changed", { kind: kind, reference: ref });
      announce(describe(kind, data));
      if (kind === "case.sla.warned" || kind === "case.sla.breached") alertSupervisor(kind, data);
    }
    if (ref && ref === currentCase()) {
      trigger("case-changed", { kind: kind, reference: ref });
    }
  }

  // The socket server: the page's own origin by default; the page's host on another port
  // (data-socket-port, one machine: `civicdesk serve`); or a full base address
  // (data-socket-url). Cookies belong to the host, not the port, so the login comes along.
  function socketAddress() {
    var base = body.dataset.socketUrl;
    if (base) return base.replace(/\/+$/, "") + "/ws/workspace/";
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var port = body.dataset.socketPort;
    var host = port ? window.location.hostname + ":" + port : window.location.host;
    return scheme + "//" + host + "/ws/workspace/";
  }

  function connect() {
    if (stopped) return;
    socket = new WebSocket(socketAddress());
    setStatus(hadConnection ? "reconnecting…" : "connecting…");

    socket.addEventListener("open", function () {
      if (hadConnection) {
        // Events sent while we were away are lost: refresh what is on screen.
        trigger("cases-changed", {});
        if (currentCase()) trigger("case-changed", { reference: currentCase() });
      }
      attempts = 0;
      hadConnection = true;
      setStatus("on");
    });

    socket.addEventListener("message", function (message) {
      var at = Date.now();
      if (message.data === lastFrame && at - lastFrameAt < DUPLICATE_WINDOW_MS) return;
      lastFrame = message.data;
      lastFrameAt = at;
      try {
        handle(JSON.parse(message.data));
      } catch (error) {
        if (window.console) window.console.warn("Ignored a live update:", error);
      }
    });

    socket.addEventListener("close", function (closing) {
      socket = null;
      if (closing.code === 4401) {
        stopped = true;
        setStatus("off — please sign in again");
        announce("Live updates stopped: please sign in again.");
        return;
      }
      setStatus("off — reconnecting");
      var delay = Math.min(30000, 1000 * Math.pow(2, attempts));
      attempts += 1;
      window.setTimeout(connect, delay / 2 + Math.random() * (delay / 2));
    });
  }

  body.addEventListener("announce", function (event) {
    var detail = event.detail || {};
    announce(detail.message || detail.value || "");
  });

  // After a swap, keep focus somewhere sensible. htmx puts focus back on an element with the
  // same id; if the focused element went away with the old content and has no twin, focus the
  // start of the new content rather than leaving it on <body>. Focus that was elsewhere (or
  // nowhere) is never moved, so live refreshes do not steal it.
  var focusLostId = "";
  body.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    var active = document.activeElement;
    focusLostId = target && target.id && active && active !== body && target.contains(active)
      ? target.id : "";
  });
  body.addEventListener("htmx:afterSettle", function () {
    if (!focusLostId) return;
    var id = focusLostId;
    focusLostId = "";
    var active = document.activeElement;
    if (active && active !== body && document.contains(active)) return;
    var container = document.getElementById(id);
    if (!container) return;
    var place = container.querySelector("[autofocus], h2, h3") || container;
    if (!place.hasAttribute("tabindex") && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(place.tagName)) {
      place.setAttribute("tabindex", "-1");
    }
    place.focus({ preventScroll: false });
  });

  window.addEventListener("pagehide", function () {
    stopped = true;
    if (socket) socket.close();
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && stopped) { stopped = false; connect(); }
  });

  connect();
})();
