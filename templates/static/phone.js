// The demo phone page reloads itself before its payment code expires (data-refresh-in, seconds),
// and every few seconds so a payment awaiting the PIN appears; never while a PIN is being typed.
(function () {
  "use strict";
  var code = document.getElementById("code");
  var due = code ? Number(code.getAttribute("data-refresh-in")) : 5;
  var started = Date.now();
  function typing() {
    var pins = document.querySelectorAll("input[name=pin]");
    for (var i = 0; i < pins.length; i++) {
      if (pins[i].value !== "" || document.activeElement === pins[i]) { return true; }
    }
    return false;
  }
  setInterval(function () {
    var elapsed = (Date.now() - started) / 1000;
    if (elapsed >= due || (!typing() && elapsed >= 5 && !document.querySelector("form.confirm"))) {
      if (!typing()) { window.location.replace("/demo/phone"); }
    }
  }, 1000);
})();
