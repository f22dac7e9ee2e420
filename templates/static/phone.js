// The demo phone pages reload themselves before their code expires (data-refresh-in, seconds);
// the payment page also every data-poll seconds, so a payment awaiting the PIN appears; never
// while a PIN is being typed.
(function () {
  "use strict";
  var code = document.getElementById("code");
  var due = code ? Number(code.getAttribute("data-refresh-in")) : 5;
  var poll = code && code.hasAttribute("data-poll") ? Number(code.getAttribute("data-poll")) : 0;
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
    var polled = poll > 0 && elapsed >= poll && !document.querySelector("form.confirm");
    if ((elapsed >= due || polled) && !typing()) {
      window.location.replace(window.location.pathname);
    }
  }, 1000);
})();
