// The delivery monitor refreshes its rows every N seconds while the box is ticked, the page
// is visible and nobody is working inside the table (a keyboard user's focus is never lost).
(function () {
  "use strict";
  var table = document.querySelector("table[data-refresh]");
  var box = document.getElementById("auto-refresh");
  var said = document.getElementById("refreshed");
  if (!table || !box) { return; }
  var seconds = parseInt(table.getAttribute("data-refresh"), 10) || 15;
  var rows = document.getElementById("monitor-rows");
  function refresh() {
    if (!box.checked || document.visibilityState !== "visible") { return; }
    if (table.contains(document.activeElement)) { return; }
    var url = new URL(window.location.href);
    url.searchParams.set("partial", "1");
    fetch(url.toString(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        rows.innerHTML = html;
        if (said) { said.textContent = "已刷新 " + new Date().toLocaleTimeString("zh-CN"); }
      })
      .catch(function () { if (said) { said.textContent = "刷新失败，稍后再试"; } });
  }
  window.setInterval(refresh, seconds * 1000);
}());

// Compose and update forms: a live preview. While the user types (800 ms after the last key)
// and when a choice or a file changes, the form is posted to its ".../preview" route, which
// answers the check result and the per-channel previews alone; they replace #previews (an
// aria-live region). Focus never moves. Without script, the 预览 button does the same.
(function () {
  "use strict";
  var form = document.querySelector("form[data-preview]");
  var region = document.getElementById("previews");
  if (!form || !region || !window.fetch || !window.FormData) { return; }
  var url = form.getAttribute("data-preview");
  var timer = null;
  var asked = 0;
  function ask() {
    timer = null;
    var mine = ++asked;
    var data = new FormData(form);
    data.set("action", "preview");
    region.setAttribute("aria-busy", "true");
    fetch(url, { method: "POST", body: data, credentials: "same-origin",
                 headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        if (mine !== asked) { return; }  // an older answer arriving late
        region.innerHTML = html;
        ["errors", "warnings"].forEach(function (id) {  // the last full page's, now stale
          var old = document.getElementById(id);
          if (old) { old.parentNode.removeChild(old); }
        });
      })
      .catch(function () { /* keep the last preview; the 预览 button still works */ })
      .then(function () { if (mine === asked) { region.removeAttribute("aria-busy"); } });
  }
  function later(ms) {
    if (timer !== null) { window.clearTimeout(timer); }
    timer = window.setTimeout(ask, ms);
  }
  form.addEventListener("input", function (e) {
    var t = e.target;
    if (t && (t.tagName === "SELECT" || t.type === "file" || t.type === "checkbox")) { return; }
    later(800);
  });
  form.addEventListener("change", function (e) {
    var t = e.target;
    if (t && (t.tagName === "SELECT" || t.type === "file" || t.type === "checkbox")) { later(50); }
  });
}());
