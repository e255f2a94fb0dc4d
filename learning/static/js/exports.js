// The progress of a background export (exports/detail.html): polls its status every two seconds
// and shows the download link when the file is ready.
(function () {
  "use strict";
  var box = document.querySelector("[data-export-status]");
  if (!box || !window.fetch) { return; }
  var bar = box.querySelector("[data-export-bar]");
  var percent = box.querySelector("[data-export-percent]");
  var text = box.querySelector("[data-export-text]");
  var error = box.querySelector("[data-export-error]");
  var file = box.querySelector("[data-export-file]");
  var waiting = box.querySelector("[data-export-waiting]");
  var started = Date.now();
  var words = {
    requested: box.dataset.textRequested, running: box.dataset.textRunning,
    ready: box.dataset.textReady, failed: box.dataset.textFailed
  };
  function number(n) { return Number(n).toLocaleString("zh-CN"); }
  function show(state) {
    box.dataset.state = state.status;
    bar.value = state.percent;
    bar.textContent = state.percent + "%";
    percent.textContent = state.percent;
    var said = words[state.status] || "";
    text.textContent = said.replace("{done}", number(state.rows_done)).replace("{total}", number(state.rows_total));
    if (state.error) { error.textContent = state.error; error.hidden = false; }
    waiting.hidden = !(state.status === "requested" && Date.now() - started > 60000);
    if (state.file) { file.href = state.file; file.hidden = false; }
  }
  function poll() {
    fetch(box.dataset.exportStatus, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (state) { show(state); }
        if (!state || state.status === "requested" || state.status === "running") { window.setTimeout(poll, 2000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  if (box.dataset.state === "requested" || box.dataset.state === "running") { window.setTimeout(poll, 1000); }
})();
