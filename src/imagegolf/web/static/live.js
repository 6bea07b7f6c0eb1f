// Live board: every 2 s, ask for the server-rendered fragment of this page with
// If-None-Match: <the version shown>. Nothing changed: the server answers 304 from its version
// counter alone (no query, no rendering, no body). Something changed: the new fragment (already
// HTML-escaped by the server) is swapped in with its ETag. No framework, no CDN.
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
    // cache "no-store": the browser neither answers from its cache nor adds its own validators;
    // the conditional request is ours, with the tag of what this page shows (RFC 9110 §13.1.2).
    var headers = current ? { "If-None-Match": '"' + current + '"' } : {};
    fetch(target.getAttribute("data-live"), { cache: "no-store", headers: headers })
      .then(function (r) {
        var now = r.headers.get("X-Imagegolf-Now"); // the server's clock, for the countdown
        if (now) document.dispatchEvent(new CustomEvent("imagegolf:server-time", { detail: now }));
        if (r.status === 304) return null;
        if (!r.ok) throw new Error("HTTP " + r.status);
        var etag = r.headers.get("X-Imagegolf-Etag") || "";
        return r.text().then(function (html) { swap(html, etag); });
      })
      .then(function () { show("live", "ok"); })
      .catch(function () { show("offline: retrying", "down"); })
      .then(function () { window.setTimeout(tick, PERIOD_MS); });
  }

  show("live", "ok");
  // The first look at once: a page shown from the browser's cache, or rendered a while ago for
  // an earlier viewer, learns the server's clock (and any newer board) without waiting.
  tick();
})();
