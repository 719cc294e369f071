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
