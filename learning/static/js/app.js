// Behaviour every page shares, without inline script (the Content-Security-Policy forbids it):
//   <form data-confirm="…">        asks before submitting
//   <form data-submit-once>         disables its submit button once sent (no double entries)
//   <button data-print>             prints the page
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    if (form.hasAttribute("data-submit-once")) {
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; }
    }
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) { window.print(); }
  });
})();
