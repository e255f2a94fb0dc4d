// Behaviour every page shares, without inline script (the Content-Security-Policy forbids it):
//   <form data-confirm="…">        asks before submitting (<button data-confirm-click="…">: only that button asks)
//   <form data-submit-once>         disables its submit button once sent (no double entries)
//   <button data-print>             prints the page
//   <form data-submit-on-load>      is sent once the page has loaded (a scanned check-in QR code)
//   <input data-select-all>         ticks or unticks every checkbox of its form (a page of members)
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var ask = (event.submitter && event.submitter.dataset.confirmClick) || form.dataset.confirm;
    if (ask && !window.confirm(ask)) {
      event.preventDefault();
      return;
    }
    if (form.hasAttribute("data-submit-once")) {
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; }
    }
  });
  document.addEventListener("change", function (event) {
    var all = event.target;
    if (!all.matches || !all.matches("input[data-select-all]") || !all.form) { return; }
    all.form.querySelectorAll("input[type=checkbox]:not([data-select-all])").forEach(function (box) {
      box.checked = all.checked;
    });
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) { window.print(); }
  });
  if ("serviceWorker" in navigator && window.isSecureContext) {
    // Installable as an app: the worker caches the shell and shows the offline page without a network.
    window.addEventListener("load", function () { navigator.serviceWorker.register("/sw.js").catch(function () {}); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-submit-on-load]");
    if (form) {
      form.removeAttribute("data-submit-on-load");
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    }
  });
})();
