/* relay-pages.js: the little scripting of the relay service's pages (no library, no network
   beyond this service).  The request form asks the service for the passes of the typed window
   while the person types; a run's progress is polled until it ends; the window fields shown
   follow the chosen mode (UTC or sol + LMST).  Every page works without it. */
(function () {
  "use strict";

  function debounce(fn, ms) {
    var t = null;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }

  function requestForm(form) {
    var target = document.getElementById("window-passes");
    var button = document.getElementById("show-passes");
    function showMode() {
      var sol = form.querySelector("#mode-sol").checked;
      form.querySelectorAll(".mode-sol").forEach(function (el) { el.hidden = !sol; });
      form.querySelectorAll(".mode-utc").forEach(function (el) { el.hidden = sol; });
    }
    function complete() {
      var sol = form.querySelector("#mode-sol").checked;
      var f = function (n) { var el = form.elements[n]; return el && el.value.trim() !== ""; };
      return f("asset") && (sol ? f("sol") && f("lmst_window") : f("start") && f("end"));
    }
    function load(force) {
      if (!target || (!force && !complete())) { return; }
      var data = new FormData(form);
      data.delete("csrfmiddlewaretoken");
      data.delete("version");
      var url = form.getAttribute("data-passes") + "?" + new URLSearchParams(data).toString();
      target.setAttribute("aria-busy", "true");
      fetch(url, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
        .then(function (r) { return r.text(); })
        .then(function (html) { target.innerHTML = html; target.removeAttribute("aria-busy"); })
        .catch(function () { target.removeAttribute("aria-busy"); });
    }
    form.querySelectorAll("input[name=mode]").forEach(function (el) {
      el.addEventListener("change", function () { showMode(); load(false); });
    });
    form.addEventListener("input", debounce(function () { load(false); }, 400));
    if (button) { button.addEventListener("click", function () { load(true); }); }
    showMode();
    load(false);
  }

  function runProgress(box) {
    var url = box.getAttribute("data-progress");
    var text = box.querySelector(".progress-text");
    function poll() {
      fetch(url, {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (run) {
          text.textContent = "Run " + run.id + ": " + run.status + " (" + run.progress + ")";
          if (run.status === "done" || run.status === "failed") {
            if (run.plan) { window.location.href = "/plans/" + run.plan; } else { window.location.reload(); }
          } else {
            setTimeout(poll, 700);
          }
        })
        .catch(function () { setTimeout(poll, 2000); });
    }
    poll();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("request-form");
    if (form) { requestForm(form); }
    var box = document.getElementById("run-progress");
    if (box) { runProgress(box); }
  });
}());
