// Arrowhook console: the few behaviours htmx does not cover. No inline script anywhere (the
// Content-Security-Policy forbids it); everything here is bound to data attributes.
"use strict";

(function () {
  // Live alerts: poll for alerts received since the newest shown (the server re-reads a margin before
  // it) and add those not on the page yet, in time order. An alert is never shown twice: rows carry
  // ids, and while a "Load more" row is there, an alert older than the last row shown is left to it
  // (the margin reaches into the next page after a burst; adding those here would show them twice).
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
  function followLiveAlerts(body) {
    var url = body.getAttribute("data-live-url");
    var newest = body.getAttribute("data-newest");
    var busy = false;
    function tick() {
      if (busy || document.hidden) { return; }
      busy = true;
      fetch(url + "&after=" + encodeURIComponent(newest), { headers: { "HX-Request": "true" }, credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 401) { window.location.assign("/console/login"); return ""; }
          return response.ok ? response.text() : "";
        })
        .then(function (html) {
          if (!html) { return; }
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
        })
        .catch(function () { /* the next tick retries */ })
        .finally(function () { busy = false; });
    }
    window.setInterval(tick, 1000);
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
  function drawCharts() {
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
    var live = document.querySelector("[data-live-url]");
    if (live) { followLiveAlerts(live); }
    document.querySelectorAll("[data-copy]").forEach(copyOnClick);
  });
})();
