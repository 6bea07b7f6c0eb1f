// Countdown to the freeze and to the end: each [data-at] in #countdown gets "— in 1 d 02:03:04"
// after its time, counted on the server's clock (data-now when the page was rendered, corrected
// by the X-Imagegolf-Now of every live answer: live.js sends it as an "imagegolf:server-time"
// event). Without JavaScript the page shows the times themselves.
(function () {
  "use strict";
  var box = document.getElementById("countdown");
  if (!box) return;
  var offset = 0; // server clock minus this browser's
  var rendered = Date.parse(box.getAttribute("data-now") || "");
  if (!isNaN(rendered)) offset = rendered - Date.now();
  document.addEventListener("imagegolf:server-time", function (event) {
    var server = Date.parse(event.detail);
    if (!isNaN(server)) offset = server - Date.now();
    tick();
  });

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function left(ms) {
    var s = Math.ceil(ms / 1000);
    var days = Math.floor(s / 86400);
    var rest = two(Math.floor((s % 86400) / 3600)) + ":" + two(Math.floor((s % 3600) / 60)) + ":" + two(s % 60);
    return days > 0 ? days + " d " + rest : rest;
  }

  function tick() {
    var now = Date.now() + offset;
    var items = box.querySelectorAll("[data-at]");
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      var out = item.querySelector(".left");
      if (!out) continue;
      var remaining = Date.parse(item.getAttribute("data-at")) - now;
      if (remaining > 0) {
        out.textContent = " — in " + left(remaining);
        item.classList.remove("passed");
      } else {
        out.textContent = " — " + (item.getAttribute("data-done") || "now");
        item.classList.add("passed");
      }
    }
  }

  tick();
  window.setInterval(tick, 1000);
})();
