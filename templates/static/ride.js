// The demo ride page shows its batch of transit codes one after the other, each in its own
// validity window, without asking the platform again (the phone is offline on the bus); it
// reloads for a new batch shortly before the last code expires.
(function () {
  "use strict";
  var ride = document.getElementById("ride");
  if (!ride) { return; }
  var offset = Number(ride.getAttribute("data-now")) - Date.now() / 1000;
  var started = Date.now();
  var due = Number(ride.getAttribute("data-refresh-in"));
  var codes = ride.querySelectorAll("li[data-code]");
  function show() {
    var now = Date.now() / 1000 + offset;
    for (var i = 0; i < codes.length; i++) {
      var from = Number(codes[i].getAttribute("data-valid-from"));
      var until = Number(codes[i].getAttribute("data-expires-at"));
      codes[i].hidden = !(from <= now && now < until);
    }
    if ((Date.now() - started) / 1000 >= due) { window.location.replace("/demo/phone/ride"); }
  }
  show();
  setInterval(show, 1000);
})();
