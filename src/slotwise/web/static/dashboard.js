/* Dashboard enhancements — the pages work without this file. The day view follows the
   business's appointment events (server-sent) and reloads only its grid, keeps the "now"
   line on the current time, and destructive forms ask before they are sent. */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
  });

  var holder = document.getElementById("day-grid");
  if (!holder) return;

  function markNow() {
    var rows = holder.querySelectorAll("tr[data-at]");
    var table = holder.querySelector("table[data-step]");
    if (!table) return;
    var step = parseInt(table.getAttribute("data-step"), 10) * 60000;
    var now = Date.now();
    rows.forEach(function (row) {
      var at = Date.parse(row.getAttribute("data-at"));
      row.classList.toggle("now", at <= now && now < at + step);
    });
  }

  var loading = null;
  var again = false;
  function reload() {
    if (loading) { again = true; return; }
    loading = fetch(holder.getAttribute("data-grid-url"), {
      headers: { Accept: "text/html" },
      credentials: "same-origin"
    })
      .then(function (response) {
        if (response.redirected || !response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var root = doc.querySelector("[data-grid-root]");
        var current = holder.querySelector("[data-grid-root]");
        if (root && current) current.replaceWith(document.importNode(root, true));
        markNow();
      })
      .catch(function () { /* keep the grid shown; the next event or focus retries */ })
      .then(function () {
        loading = null;
        if (again) { again = false; reload(); }
      });
  }

  var status = document.querySelector("[data-live-status]");
  var events = holder.getAttribute("data-events");
  if (events && window.EventSource) {
    var source = new EventSource(events);
    var timer = null;
    var onChange = function () {
      if (timer) return;
      timer = setTimeout(function () { timer = null; reload(); }, 150);
    };
    source.addEventListener("appointment", onChange);
    source.addEventListener("resync", onChange);
    source.onopen = function () {
      if (status) status.textContent = holder.getAttribute("data-live-text") || "";
    };
    source.onerror = function () { if (status) status.textContent = ""; };
    window.addEventListener("pagehide", function () { source.close(); });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") reload();
  });
  setInterval(markNow, 60000);
  markNow();
})();
