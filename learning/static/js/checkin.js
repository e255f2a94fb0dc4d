// The organiser's check-in screen: the code and its QR change every 30 seconds; the present count follows.
(function () {
  "use strict";
  var screen = document.getElementById("code-screen");
  if (!screen) { return; }
  var source = screen.getAttribute("data-source");
  var left = document.getElementById("code-left");
  var digits = document.getElementById("code-digits");
  var qr = document.getElementById("code-qr");
  var present = document.getElementById("code-present");
  var remaining = parseInt(left.textContent, 10) || 0;
  var polls = 0;

  function refresh() {
    fetch(source, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        digits.textContent = data.code;
        qr.innerHTML = data.qr;  // SVG made by the server from our own link
        remaining = data.seconds_left;
        left.textContent = remaining;
        present.textContent = data.present + " / " + data.expected;
      })
      .catch(function () { /* offline for a moment: the next tick tries again */ });
  }

  refresh();
  setInterval(function () {
    remaining -= 1;
    polls += 1;
    if (remaining <= 0 || polls % 5 === 0) { refresh(); }
    left.textContent = Math.max(remaining, 0);
  }, 1000);
})();
