// The PC scan-to-sign-in page (docs/scan-signin.md): polls its status endpoint (bound to this
// browser by the essc_scan cookie) every 2 s, shows the number once the phone has scanned,
// submits the completion form once approved, and fetches a new code before a waiting one expires.
(function () {
  "use strict";
  var box = document.getElementById("scan-box");
  if (!box) { return; }
  var statusUrl = box.getAttribute("data-status");
  var refreshAt = Date.now() + Number(box.getAttribute("data-refresh-in")) * 1000;
  var shown = "waiting";
  var stopped = false;
  function show(state) {
    ["waiting", "scanned", "approved", "denied", "expired"].forEach(function (s) {
      document.getElementById("state-" + s).hidden = s !== state;
    });
    var finished = state === "denied" || state === "expired";
    document.getElementById("qr").hidden = state !== "waiting";
    document.getElementById("again").hidden = !finished;
    var more = document.getElementById("more-time");  // 长辈版: "more time" while waiting only
    if (more) { more.hidden = state !== "waiting"; }
    shown = state;
  }
  function poll() {
    if (stopped) { return; }
    if (shown === "waiting" && Date.now() >= refreshAt) {
      stopped = true;
      window.location.replace(window.location.pathname + window.location.search);
      return;
    }
    fetch(statusUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : { state: "expired" }; })
      .then(function (s) {
        if (s.state === "scanned" && s.number) {
          document.getElementById("number").textContent = String(s.number);
        }
        show(s.state);
        if (s.state === "approved") {
          stopped = true;
          document.getElementById("complete").submit();
        } else if (s.state === "denied" || s.state === "expired") {
          stopped = true;
        }
      })
      .catch(function () { /* a lost poll is retried on the next tick */ });
  }
  setInterval(poll, 2000);
})();
