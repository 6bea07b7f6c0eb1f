// Live board: every 2 s, ask for the server-rendered fragment of this page (this board's, this
// page's) with If-None-Match: <the version shown>. Nothing changed: the server answers 304 from
// its version counter alone (no query, no rendering, no body). Something changed: the new
// fragment (already HTML-escaped by the server) is swapped in with its ETag. No framework, no CDN.
//
// A new record: the fragment names the board's current record (data-record, data-record-size on
// section.board). When a swap brings a smaller one on the same metric, the banner the server
// rendered for it (.record-news, hidden until then) is shown and the holder's row gets the class
// new-record, for HIGHLIGHT_MS; the stylesheet flashes them, or only colours them when the reader
// prefers reduced motion. A record that goes back up (a disqualification) is not news.
(function () {
  "use strict";
  var target = document.querySelector("[data-live]");
  if (!target || !window.fetch) return;
  var state = document.getElementById("live-state");
  var current = target.getAttribute("data-etag");
  var PERIOD_MS = 2000;
  var HIGHLIGHT_MS = 6000;
  var record = recordOf();
  var news = null; // { id, until }: the record being highlighted, and until when

  function show(text, cls) {
    if (!state) return;
    state.textContent = text;
    state.className = "live-state " + cls;
  }

  function recordOf() {
    var board = target.querySelector("section.board");
    if (!board) return { id: "", size: NaN, metric: "" };
    return {
      id: board.getAttribute("data-record") || "",
      size: Number(board.getAttribute("data-record-size") || "NaN"),
      metric: board.getAttribute("data-metric") || "",
    };
  }

  function isNews(before, after) {
    if (!after.id || after.id === before.id || !/^\d+$/.test(after.id)) return false;
    if (!before.id) return true; // the first record of the board
    return after.metric === before.metric && after.size < before.size;
  }

  // Mark what the fragment now shows of the record in the news (the banner, the holder's row);
  // called again after each swap while the highlight lasts, since a swap replaces the nodes.
  function highlight() {
    var on = news !== null && Date.now() < news.until;
    var banner = target.querySelector(".record-news");
    if (banner) banner.hidden = !on;
    var rows = target.querySelectorAll("tr.new-record");
    for (var i = 0; i < rows.length; i++) rows[i].classList.remove("new-record");
    if (!on) {
      news = null;
      return;
    }
    var row = target.querySelector('tr[data-submission="' + news.id + '"]');
    if (row) row.classList.add("new-record");
  }

  function swap(html, etag) {
    var template = document.createElement("template");
    template.innerHTML = html; // server-rendered, autoescaped; scripts in a template never run
    target.replaceChildren(template.content);
    target.setAttribute("data-etag", etag);
    current = etag;
    var before = record;
    record = recordOf();
    if (isNews(before, record)) {
      news = { id: record.id, until: Date.now() + HIGHLIGHT_MS };
      window.setTimeout(highlight, HIGHLIGHT_MS + 50);
    }
    if (news !== null) highlight();
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
