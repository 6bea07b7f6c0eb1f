// Admin forms: send JSON with the token as Authorization: Bearer; show the answer as text.
(function () {
  "use strict";
  var tokenInput = document.getElementById("token");
  var result = document.getElementById("admin-result");
  var KEY = "imagegolf-admin-token";
  try { tokenInput.value = window.sessionStorage.getItem(KEY) || ""; } catch (e) { /* storage off */ }

  function keys(text) {
    return text.split(/[\s,]+/).filter(function (k) { return k.length > 0; })
      .map(function (k) { return /^\d+$/.test(k) ? Number(k) : k; });
  }

  function body(form) {
    if (form.id === "disqualify") {
      return { submission: form.elements.submission.value.trim(), reason: form.elements.reason.value };
    }
    if (form.elements.all.checked) return { all: true };
    return { submissions: keys(form.elements.submissions.value) };
  }

  function send(event) {
    event.preventDefault();
    var form = event.target;
    var token = tokenInput.value.trim();
    try { window.sessionStorage.setItem(KEY, token); } catch (e) { /* storage off */ }
    result.textContent = "sending…";
    fetch(form.getAttribute("data-endpoint"), {
      method: "POST",
      headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token },
      body: JSON.stringify(body(form)),
    })
      .then(function (r) {
        return r.text().then(function (text) { result.textContent = r.status + " " + r.statusText + "\n" + text; });
      })
      .catch(function (err) { result.textContent = "failed: " + err; });
  }

  document.getElementById("disqualify").addEventListener("submit", send);
  document.getElementById("rejudge").addEventListener("submit", send);
  document.getElementById("admin-token").addEventListener("submit", function (e) { e.preventDefault(); });
})();
