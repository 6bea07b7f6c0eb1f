// Live board: poll /api/version every 2 s; when its etag changes, fetch the server-rendered
// fragment (already HTML-escaped by the server) and swap it in. No framework, no CDN.
(function () {
  "use strict";
  var target = document.querySelector("[data-live]");
  if (!target || !window.fetch) return;
  var state = document.getElementById("live-state");
  var current = target.getAttribute("data-etag");
  var PERIOD_MS = 2000;

  function show(text, cls) {
    if (!state) return;
    state.textContent = text;
    state.className = "live-state " + cls;
  }

  function swap(html, etag) {
    var template = document.createElement("template");
    template.innerHTML = html; // server-rendered, autoescaped; scripts in a template never run
    target.replaceChildren(template.content);
    target.setAttribute("data-etag", etag);
    current = etag;
  }

  function tick() {
    if (document.hidden) { // a background tab does not poll; it catches up when shown
      window.setTimeout(tick, PERIOD_MS);
      return;
    }
    fetch("/api/version", { cache: "no-store" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (v) {
        if (v.etag === current) return null;
        return fetch(target.getAttribute("data-live"), { cache: "no-store" }).then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          var etag = r.headers.get("X-Imagegolf-Etag") || v.etag;
          return r.text().then(function (html) { swap(html, etag); });
        });
      })
      .then(function () { show("live", "ok"); })
      .catch(function () { show("offline: retrying", "down"); })
      .then(function () { window.setTimeout(tick, PERIOD_MS); });
  }

  show("live", "ok");
  window.setTimeout(tick, PERIOD_MS);
})();
