// Admin forms: send JSON with the token as Authorization: Bearer; show the answer as text. The
// real board (every result, frozen public board or not) is read with the same token.
(function () {
  "use strict";
  var tokenInput = document.getElementById("token");
  var result = document.getElementById("admin-result");
  var KEY = "imagegolf-admin-token";
  try { tokenInput.value = window.sessionStorage.getItem(KEY) || ""; } catch (e) { /* storage off */ }

  function token() {
    var value = tokenInput.value.trim();
    try { window.sessionStorage.setItem(KEY, value); } catch (e) { /* storage off */ }
    return value;
  }

  function keys(text) {
    return text.split(/[\s,]+/).filter(function (k) { return k.length > 0; })
      .map(function (k) { return /^\d+$/.test(k) ? Number(k) : k; });
  }

  function changed(el) {
    if (el.tagName === "SELECT") {
      for (var i = 0; i < el.options.length; i++) {
        if (el.options[i].selected !== el.options[i].defaultSelected) return true;
      }
      return false;
    }
    return el.value !== el.defaultValue;
  }

  function typed(el) {
    var value = el.value.trim();
    switch (el.getAttribute("data-type")) {
      case "int": return value === "" ? null : Number(value);
      case "float": return value === "" ? null : Number(value);
      case "bool": return value === "true";
      default: return value === "" ? null : value;
    }
  }

  // Only what the organiser changed: a setting changed elsewhere since this page was shown is
  // not sent back with its old value.
  function settings(form) {
    var body = {};
    var fields = form.querySelectorAll("[data-type]");
    for (var i = 0; i < fields.length; i++) {
      if (changed(fields[i])) body[fields[i].name] = typed(fields[i]);
    }
    return body;
  }

  function body(form) {
    if (form.id === "disqualify" || form.id === "reinstate") {
      return { submission: form.elements.submission.value.trim(), reason: form.elements.reason.value };
    }
    if (form.id === "settings") return settings(form);
    if (form.id === "unfreeze") return {};
    if (form.elements.all.checked) return { all: true };
    return { submissions: keys(form.elements.submissions.value) };
  }

  function send(event) {
    event.preventDefault();
    var form = event.target;
    var sent = body(form);
    if (form.id === "settings" && Object.keys(sent).length === 0) {
      result.textContent = "nothing changed in the form: nothing sent";
      return;
    }
    result.textContent = "sending…";
    fetch(form.getAttribute("data-endpoint"), {
      method: "POST",
      headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token() },
      body: JSON.stringify(sent),
    })
      .then(function (r) {
        return r.text().then(function (text) {
          result.textContent = r.status + " " + r.statusText + "\n" + text;
          if (r.ok) {
            if (form.id === "settings") accept(form);
            loadBoard();
          }
        });
      })
      .catch(function (err) { result.textContent = "failed: " + err; });
  }

  // The values sent are the form's values now: the next change is measured from them.
  function accept(form) {
    var fields = form.querySelectorAll("[data-type]");
    for (var i = 0; i < fields.length; i++) {
      var el = fields[i];
      if (el.tagName === "SELECT") {
        for (var j = 0; j < el.options.length; j++) el.options[j].defaultSelected = el.options[j].selected;
      } else {
        el.defaultValue = el.value;
      }
    }
  }

  var rows = document.getElementById("real-board-rows");

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
  }

  function loadBoard() {
    var value = token();
    if (!value || !rows) return;
    fetch("/api/board", { cache: "no-store", headers: { "Authorization": "Bearer " + value } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status)); })
      .then(function (data) {
        rows.replaceChildren();
        data.board.forEach(function (row) {
          var tr = document.createElement("tr");
          cell(tr, String(row.place), "num place");
          cell(tr, row.entrant, "entrant");
          cell(tr, row.size.toLocaleString("en") + " B", "num size");
          cell(tr, "#" + row.submission);
          cell(tr, row.tag, "tag");
          rows.appendChild(tr);
        });
        if (data.board.length === 0) {
          var tr = document.createElement("tr");
          cell(tr, "no accepted submission yet", "muted");
          rows.appendChild(tr);
        }
      })
      .catch(function (err) { result.textContent = "the real board: " + err; });
  }

  // The webhooks and their newest deliveries (GET /api/admin/notifications): text only.
  var webhookRows = document.getElementById("webhook-rows");
  var deliveryRows = document.getElementById("delivery-rows");

  function empty(body, columns, text) {
    var tr = document.createElement("tr");
    var td = document.createElement("td");
    td.colSpan = columns;
    td.className = "muted";
    td.textContent = text;
    tr.appendChild(td);
    body.appendChild(tr);
  }

  function loadNotifications() {
    var value = token();
    if (!value || !webhookRows || !deliveryRows) return;
    fetch("/api/admin/notifications", { cache: "no-store", headers: { "Authorization": "Bearer " + value } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status)); })
      .then(function (data) {
        webhookRows.replaceChildren();
        data.webhooks.forEach(function (w) {
          var tr = document.createElement("tr");
          cell(tr, String(w.id), "num");
          cell(tr, w.target + "/…");
          cell(tr, w.format);
          cell(tr, w.on.join(", ") + (w.boards.length ? " (records of " + w.boards.join(", ") + ")" : ""));
          cell(tr, Object.keys(w.deliveries).filter(function (k) { return w.deliveries[k] > 0; })
            .map(function (k) { return w.deliveries[k] + " " + k; }).join(", ") || "none yet");
          cell(tr, w.removed_at ? "removed " + w.removed_at : (w.retry_at ? "waiting until " + w.retry_at : "active"));
          webhookRows.appendChild(tr);
        });
        if (data.webhooks.length === 0) empty(webhookRows, 6, "no webhook: imagegolf contest notify add URL");
        deliveryRows.replaceChildren();
        data.deliveries.forEach(function (d) {
          var tr = document.createElement("tr");
          cell(tr, String(d.id), "num");
          cell(tr, "#" + d.webhook, "num");
          cell(tr, d.kind + (d.board ? " (" + d.board + ")" : ""));
          cell(tr, d.entrant || "", "entrant");
          cell(tr, d.submission === null ? "" : "#" + d.submission, "num");
          cell(tr, d.state + (d.last_status ? " (" + d.last_status + ")" : ""));
          cell(tr, String(d.attempts), "num");
          cell(tr, d.last_error || "");
          cell(tr, d.next_at || (d.delivered_at ? "delivered " + d.delivered_at : ""), "when");
          deliveryRows.appendChild(tr);
        });
        if (data.deliveries.length === 0) empty(deliveryRows, 9, "nothing sent yet");
      })
      .catch(function (err) { result.textContent = "the notifications: " + err; });
  }

  ["settings", "disqualify", "reinstate", "rejudge", "unfreeze"].forEach(function (id) {
    var form = document.getElementById(id);
    if (form) form.addEventListener("submit", send);
  });
  document.getElementById("load-board").addEventListener("click", loadBoard);
  document.getElementById("load-notifications").addEventListener("click", loadNotifications);
  document.getElementById("admin-token").addEventListener("submit", function (e) { e.preventDefault(); });
})();
