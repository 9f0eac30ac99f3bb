// Arrowhook console: the few behaviours htmx does not cover. No inline script anywhere (the
// Content-Security-Policy forbids it); everything here is bound to data attributes.
"use strict";

(function () {
  // Live alerts (docs/live.md): the page holds a WebSocket to the stack's live API, opened with a
  // ticket from its session. It keeps the position of the last alert it heard of and, after every
  // (re)connect, asks the server to resend what arrived after it, so nothing pushed while the socket was
  // closed is missed; an alert heard twice (pushed and resent) counts once, by id. No HTTP request while
  // idle: a ping frame after five quiet minutes keeps the socket open. While it cannot connect, it tries
  // again with a growing pause (1 s ... 30 s) and, from the second failure, `poll` runs every 30 s.
  var PING_AFTER_MS = 5 * 60 * 1000;
  var SLOW_POLL_MS = 30 * 1000;
  var LONGEST_PAUSE_MS = 30 * 1000;
  var STATUS = {
    connecting: "Connecting to live alerts\u2026",
    live: "Live: new alerts appear here as they arrive.",
    reconnecting: "Reconnecting\u2026",
    polling: "Not live: reconnecting; meanwhile new alerts are checked every 30 s."
  };
  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; }
    catch (error) { return ""; }
  }
  function followLive(element, onAlert, poll) {
    var status = document.getElementById("live-status");
    var last = element.getAttribute("data-live-from") || "";
    var heard = {};
    var pause = 1000;
    var failures = 0;
    var pingTimer = null;
    var pollTimer = null;
    function show(state) {
      if (!status) { return; }
      status.setAttribute("data-state", state);
      status.textContent = STATUS[state];
    }
    function send(socket, frame) {
      if (socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(frame)); }
    }
    function quiet(socket) {
      window.clearTimeout(pingTimer);
      pingTimer = window.setTimeout(function () { send(socket, { action: "ping" }); quiet(socket); }, PING_AFTER_MS);
    }
    function heardFrame(socket, frame) {
      if (frame.type === "alert" && !heard[frame.alert.alert_id]) {
        heard[frame.alert.alert_id] = true;
        if (frame.position > last) { last = frame.position; }
        onAlert(frame);
      } else if (frame.type === "pong" && !last) {
        last = frame.position;
      } else if (frame.type === "resumed" && !frame.complete && frame.last) {
        send(socket, { action: "resume", after: frame.last });  // not `last`: a newer push may be in it
      }
    }
    function retry() {
      failures += 1;
      if (failures >= 2 && poll && pollTimer === null) {
        poll();
        pollTimer = window.setInterval(poll, SLOW_POLL_MS);
      }
      show(pollTimer === null ? "reconnecting" : "polling");
      window.setTimeout(connect, pause / 2 + Math.random() * pause / 2);
      pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
    }
    function open(issued) {
      var socket = new WebSocket(issued.url + "?ticket=" + encodeURIComponent(issued.ticket));
      socket.addEventListener("open", function () {
        failures = 0;
        pause = 1000;
        if (pollTimer !== null) { window.clearInterval(pollTimer); pollTimer = null; }
        show("live");
        send(socket, last ? { action: "resume", after: last } : { action: "ping" });
        quiet(socket);
      });
      socket.addEventListener("message", function (event) {
        quiet(socket);
        try { heardFrame(socket, JSON.parse(event.data)); } catch (error) { /* not a frame of ours */ }
      });
      socket.addEventListener("close", function () {
        window.clearTimeout(pingTimer);
        retry();
      });
    }
    function connect() {
      fetch("/console/live/ticket", {
        method: "POST",
        headers: { "X-CSRF-Token": csrfToken(), "HX-Request": "true" },
        credentials: "same-origin"
      })
        .then(function (response) {
          if (response.status === 401) { window.location.assign("/console/login"); }
          if (!response.ok) { throw new Error("no ticket: HTTP " + response.status); }
          return response.json();
        })
        .then(open)
        .catch(retry);
    }
    show("connecting");
    connect();
  }

  // The alerts table: a heard alert is a doorbell. The page fetches the rows received since the newest it
  // shows (the server re-reads a margin before it), filtered and drawn by the server like the rest of the
  // table, and adds those not on the page yet, in time order; fetches never overlap (one more follows if
  // the bell rang meanwhile). An alert is never shown twice: rows carry ids, and while a "Load more" row
  // is there, an alert older than the last row shown is left to it (the margin reaches into the next page
  // after a burst; adding those here would show them twice).
  function order(row) {
    return row.getAttribute("data-received") + " " + row.getAttribute("data-id");
  }
  function belowThePage(body, row) {
    if (!body.querySelector("tr.more")) { return false; }
    var shown = body.querySelectorAll("tr[data-id]");
    return shown.length > 0 && order(row) < order(shown[shown.length - 1]);
  }
  function insertInOrder(body, row) {
    var rows = body.querySelectorAll("tr[data-id]");
    for (var index = 0; index < rows.length; index++) {
      if (order(rows[index]) < order(row)) { body.insertBefore(row, rows[index]); return; }
    }
    body.insertBefore(row, body.querySelector("tr.more"));
  }
  function liveRows(body) {
    var url = body.getAttribute("data-live-url");
    var newest = body.getAttribute("data-newest");
    var busy = false;
    var again = false;
    function addRows(html) {
      var holder = document.createElement("template");
      holder.innerHTML = html;
      var rows = holder.content.querySelectorAll("tr[data-id]");
      rows.forEach(function (row) {
        if (document.getElementById(row.id) || belowThePage(body, row)) { return; }
        row.classList.add("fresh");
        insertInOrder(body, row);
        var received = row.getAttribute("data-received");
        if (received > newest) { newest = received; }
      });
      var empty = document.querySelector(".empty");
      if (rows.length && empty) { empty.remove(); }
    }
    function fetchRows() {
      if (busy) { again = true; return; }
      busy = true;
      again = false;
      fetch(url + "&after=" + encodeURIComponent(newest), { headers: { "HX-Request": "true" }, credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 401) { window.location.assign("/console/login"); return ""; }
          return response.ok ? response.text() : "";
        })
        .then(function (html) { if (html) { addRows(html); } })
        .catch(function () { again = true; })
        .finally(function () {
          busy = false;
          if (again) { window.setTimeout(fetchRows, 250); }
        });
    }
    followLive(body, fetchRows, fetchRows);
  }

  // The overview's counters: each alert heard adds to the 48-hour figures and to its strategy's last alert.
  function liveCounters(section) {
    var total = document.getElementById("alerts-48h");
    var withIssues = document.getElementById("issues-48h");
    var rate = document.getElementById("issue-rate");
    followLive(section, function (frame) {
      var alert = frame.alert;
      var count = Number(total.getAttribute("data-count")) + 1;
      var issues = Number(withIssues.getAttribute("data-count")) + (alert.parse_issues.length ? 1 : 0);
      total.setAttribute("data-count", String(count));
      total.textContent = String(count);
      withIssues.setAttribute("data-count", String(issues));
      withIssues.textContent = String(issues);
      rate.textContent = (issues * 100 / count).toFixed(1);
      document.querySelectorAll("[data-total-48h]").forEach(function (cell) { cell.textContent = String(count); });
      var cell = document.querySelector("[data-last-alert=\"" + CSS.escape(alert.strategy) + "\"]");
      var shown = alert.received_at.slice(0, 19).replace("T", " ");
      if (cell && (cell.textContent === "never" || shown > cell.textContent)) { cell.textContent = shown; }
    }, null);
  }

  // Copy buttons: data-copy names the element whose text is copied.
  function copyOnClick(button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) { return; }
      var done = function () { button.textContent = "Copied"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(source.textContent).then(done);
      } else {
        var range = document.createRange();
        range.selectNodeContents(source);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        document.execCommand("copy");
        done();
      }
    });
  }

  // Overview charts: the data is a JSON block on the page (not a script), drawn with uPlot.
  var PALETTE = ["#1f6feb", "#b3261e", "#137333", "#8a5a00", "#6f42c1", "#0b7285", "#c2255c", "#5c940d"];
  // A test alert from a strategy's row: the same alert `arrowhook strategies test` sends (marked as a
  // test, `timenow` now, so each is distinct), posted by the browser to the stack's public webhook with
  // the secret typed in: the console's function never sees the secret, and nothing keeps it.
  function sendTestAlerts(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var result = form.querySelector(".test-result");
      var secret = form.querySelector("input[name=secret]");
      var body = { key: secret.value, ticker: "ARROWHOOK-TEST", side: "buy", price: "1",
        comment: "arrowhook test", timenow: new Date().toISOString(), test: true };
      result.textContent = "Sending\u2026";
      fetch("/webhook", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
        credentials: "omit" })
        .then(function (response) { return response.json().then(function (answer) { return [response.status, answer]; }); })
        .then(function (pair) {
          secret.value = "";
          result.textContent = "";
          if (pair[0] !== 200) {
            result.textContent = "Refused (HTTP " + pair[0] + "): " + (pair[1].message || pair[1].error || "");
            return;
          }
          var link = document.createElement("a");
          link.href = "/console/alerts/" + encodeURIComponent(pair[1].alert_id);
          link.textContent = "Stored: see it and its deliveries";
          result.appendChild(link);
        })
        .catch(function (error) { result.textContent = "Not sent: " + error; });
    });
  }

  // The ledger's equity curve: realized profit after each closed trade.
  function drawEquity() {
    var block = document.getElementById("ledger-data");
    var element = document.querySelector("[data-chart=equity]");
    if (!block || !element || typeof uPlot === "undefined") { return; }
    var data = JSON.parse(block.textContent);
    if (!data.times.length) { element.textContent = "No closed trade yet."; return; }
    new uPlot({
      width: Math.max(280, element.clientWidth),
      height: 220,
      scales: { x: { time: true } },
      series: [{}, { label: "realized profit", stroke: PALETTE[0], width: 2, points: { show: data.times.length < 200 } }],
      axes: [{}, { size: 60 }]
    }, [data.times, data.equity], element);
  }
  function drawCharts() {
    drawEquity();
    var block = document.getElementById("overview-data");
    if (!block || typeof uPlot === "undefined") { return; }
    var data = JSON.parse(block.textContent);
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var kind = element.getAttribute("data-chart");
      var labels = kind === "hours" ? data.hours : data.days;
      var series = kind === "hours" ? data.per_hour : data.per_day;
      var names = Object.keys(series);
      var xs = labels.map(function (label) { return Date.parse(kind === "hours" ? label : label + "T00:00:00Z") / 1000; });
      var options = {
        width: Math.max(280, element.clientWidth),
        height: 220,
        scales: { x: { time: true } },
        series: [{}].concat(names.map(function (name, index) {
          return { label: name, stroke: PALETTE[index % PALETTE.length], width: 2, points: { show: kind === "days" } };
        })),
        axes: [{}, { size: 40 }]
      };
      var rows = [xs].concat(names.map(function (name) { return series[name]; }));
      if (!names.length) { element.textContent = "No alerts in this period."; return; }
      new uPlot(options, rows, element);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    var rows = document.querySelector("[data-live-url]");
    if (rows) { liveRows(rows); }
    var counters = document.querySelector("[data-live-counters]");
    if (counters) { liveCounters(counters); }
    document.querySelectorAll("[data-copy]").forEach(copyOnClick);
    document.querySelectorAll("[data-test-alert]").forEach(sendTestAlerts);
  });
})();
