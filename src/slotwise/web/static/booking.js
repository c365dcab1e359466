/* Booking and manage pages: progressive enhancement only — every link and form works
   without this file. It loads another day's times in place, refreshes a day when the
   server says its availability changed (or when the page comes back into view), and sends
   the details form with fetch to show the server's messages next to the fields and the
   alternatives of a taken time as one-click buttons. No innerHTML of user data: fragments
   are server-rendered and escaped; everything else is built with textContent. */
(function () {
  "use strict";
  var slots = document.getElementById("slots");
  var strip = document.querySelector("[data-strip]");
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function shownDate() {
    var current = slots && slots.querySelector("[data-slots-for]");
    return current ? current.getAttribute("data-slots-for") : "";
  }

  function dayLink(date) {
    return strip ? strip.querySelector('a[data-date="' + date + '"]') : null;
  }

  function markSelected(date) {
    if (!strip) return;
    strip.querySelectorAll("a[data-date]").forEach(function (a) {
      if (a.getAttribute("data-date") === date) a.setAttribute("aria-current", "date");
      else a.removeAttribute("aria-current");
    });
  }

  function updateCell(date, root) {
    var link = dayLink(date);
    if (!link || !root) return;
    var free = parseInt(root.getAttribute("data-free") || "0", 10);
    var label = link.querySelector("[data-free]");
    if (label) label.textContent = root.getAttribute("data-free-text") || "";
    link.classList.toggle("full", free === 0);
  }

  var inflight = {};
  function load(date, show) {
    if (!slots || !date) return Promise.resolve();
    if (inflight[date]) return inflight[date];
    var url = slots.getAttribute("data-fragment") + "&date=" + encodeURIComponent(date);
    if (show) {
      slots.style.minHeight = slots.offsetHeight + "px";
      slots.setAttribute("aria-busy", "true");
    }
    var request = fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var root = doc.querySelector("[data-slots-for]");
        updateCell(date, root);
        if (root && (show || shownDate() === date)) {
          slots.replaceChildren(document.importNode(root, true));
        }
      })
      .catch(function () {
        if (show) {
          var p = document.createElement("p");
          p.className = "alert";
          p.textContent = slots.getAttribute("data-failed") || "";
          slots.replaceChildren(p);
        }
      })
      .then(function () {
        delete inflight[date];
        if (show) {
          slots.removeAttribute("aria-busy");
          slots.style.minHeight = "";
        }
      });
    inflight[date] = request;
    return request;
  }

  if (strip && slots) {
    strip.addEventListener("click", function (event) {
      var link = event.target.closest("a[data-date]");
      if (!link || event.metaKey || event.ctrlKey || event.shiftKey) return;
      event.preventDefault();
      var date = link.getAttribute("data-date");
      markSelected(date);
      history.replaceState(null, "", link.getAttribute("href"));
      load(date, true);
    });

    var pending = {};
    var events = slots.getAttribute("data-events");
    if (events && window.EventSource) {
      var source = new EventSource(events);
      var refresh = function (date) {
        if (!date || !dayLink(date) || pending[date]) return;
        pending[date] = setTimeout(function () {
          delete pending[date];
          load(date, false);
        }, 150);
      };
      source.addEventListener("availability", function (event) {
        var data;
        try { data = JSON.parse(event.data); } catch (e) { return; }
        refresh((data && data.date) || shownDate());
      });
      source.addEventListener("resync", function () { refresh(shownDate()); });
      window.addEventListener("pagehide", function () { source.close(); });
    }

    var refreshShown = function () {
      if (document.visibilityState === "visible") load(shownDate(), false);
    };
    document.addEventListener("visibilitychange", refreshShown);
    window.addEventListener("focus", refreshShown);
  }

  /* ---- details form: inline validation and one-click alternatives ---- */
  var form = document.querySelector("[data-booking-form]");
  if (!form) return;
  var alertBox = form.querySelector("[data-form-alert]");
  var conflictBox = form.querySelector("[data-conflict]");
  var submit = form.querySelector("[data-submit]");

  function clearErrors() {
    form.querySelectorAll("[data-error-for]").forEach(function (el) { el.textContent = ""; });
    form.querySelectorAll('[aria-invalid="true"]').forEach(function (el) {
      el.removeAttribute("aria-invalid");
    });
    if (alertBox) { alertBox.hidden = true; alertBox.replaceChildren(); }
  }

  function showAlert(box, text) {
    var p = document.createElement("p");
    p.textContent = text;
    box.replaceChildren(p);
    box.hidden = false;
    box.focus();
  }

  function showErrors(problem) {
    var first = null;
    (problem.errors || []).forEach(function (item) {
      var name = String(item.field || "").split(".").pop();
      var slot = form.querySelector('[data-error-for="' + name + '"]');
      var input = form.elements.namedItem(name);
      if (slot) slot.textContent = item.message || "";
      if (input && input.setAttribute) {
        input.setAttribute("aria-invalid", "true");
        if (!first) first = input;
      }
    });
    if (alertBox) showAlert(alertBox, problem.detail || "");
    if (first) first.focus();
  }

  function showAlternatives(problem) {
    if (!conflictBox) return;
    var title = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = problem.detail || "";
    title.appendChild(strong);
    var children = [title];
    var alternatives = problem.alternatives || [];
    if (alternatives.length) {
      var hint = document.createElement("p");
      hint.textContent = conflictBox.getAttribute("data-pick") || "";
      var list = document.createElement("ul");
      list.className = "alternatives";
      alternatives.forEach(function (alt) {
        var item = document.createElement("li");
        var button = document.createElement("button");
        button.type = "submit";
        button.className = "slot";
        button.name = "alternative";
        button.value = alt.value;
        button.textContent = alt.label;
        item.appendChild(button);
        list.appendChild(item);
      });
      children.push(hint, list);
    }
    conflictBox.replaceChildren.apply(conflictBox, children);
    conflictBox.hidden = false;
    conflictBox.focus();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData(form);
    var by = event.submitter;
    if (by && by.name) data.set(by.name, by.value);
    clearErrors();
    if (submit) submit.disabled = true;
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(data),
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf }
    })
      .then(function (response) {
        return response.json().then(function (body) { return { status: response.status, body: body }; });
      })
      .then(function (result) {
        if (result.status < 300 && result.body.redirect) {
          window.location.assign(result.body.redirect);
          return;
        }
        if (submit) submit.disabled = false;
        if (result.body.code === "slot_unavailable") showAlternatives(result.body);
        else if (result.body.errors) showErrors(result.body);
        else if (alertBox) showAlert(alertBox, result.body.detail || "");
      })
      .catch(function () {
        if (submit) submit.disabled = false;
        form.submit();
      });
  });
})();
