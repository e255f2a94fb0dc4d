// Attempt page: saves each answer as it is given, counts down by the server's remaining time and
// submits when it runs out.  Campaign page: refreshes the leaderboards every 15 seconds.
// The page works without this script too (the form submits every answer at once).
(function () {
  "use strict";
  var csrf = document.querySelector("meta[name=csrf-token]");
  var headers = {"Content-Type": "application/json", "X-CSRFToken": csrf ? csrf.content : ""};

  var form = document.getElementById("attempt");
  if (form) {
    var status = document.getElementById("save-status");
    var clock = document.getElementById("countdown");
    var base = form.dataset.answerUrl.replace(/\/0$/, "/");
    var submitting = false;

    var save = function (fieldset) {
      var position = fieldset.dataset.position;
      var body = {};
      if (fieldset.dataset.kind === "fill_blank") {
        body.text = fieldset.querySelector("input[type=text]").value.trim();
        if (!body.text) return;
      } else {
        body.choices = Array.prototype.map.call(fieldset.querySelectorAll("input:checked"), function (i) { return i.value; });
        if (!body.choices.length) return;
      }
      fetch(base + position, {method: "PUT", headers: headers, credentials: "same-origin", body: JSON.stringify(body)})
        .then(function (r) {
          if (r.ok) { fieldset.classList.add("saved"); status.textContent = form.dataset.saved + " · " + position; return; }
          return r.json().then(function (p) {
            status.textContent = form.dataset.failed.replace("{reason}", p.detail || p.title);
            if (p.code === "time_up" || p.code === "finished") submit();
          });
        })
        .catch(function () { status.textContent = form.dataset.failed.replace("{reason}", "offline"); });
    };

    var timers = {};
    form.addEventListener("change", function (event) {
      var fieldset = event.target.closest("fieldset");
      if (fieldset) save(fieldset);
    });
    form.addEventListener("input", function (event) {
      if (event.target.type !== "text") return;
      var fieldset = event.target.closest("fieldset");
      clearTimeout(timers[fieldset.dataset.position]);
      timers[fieldset.dataset.position] = setTimeout(function () { save(fieldset); }, 800);
    });

    var submit = function () {
      if (submitting) return;
      submitting = true;
      form.submit();
    };
    form.addEventListener("submit", function (event) {
      var button = document.getElementById("submit");
      if (!submitting && !window.confirm(button.dataset.confirm)) { event.preventDefault(); return; }
      submitting = true;
    });

    var deadline = Date.now() + parseInt(clock.dataset.seconds, 10) * 1000;
    var tick = function () {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      clock.textContent = Math.floor(left / 60) + ":" + ("0" + (left % 60)).slice(-2);
      if (left <= 0) { status.textContent = form.dataset.timeUp; submit(); return; }
      setTimeout(tick, 1000);
    };
    tick();
  }

  var board = document.getElementById("leaderboard");
  if (board) {
    var cell = function (text, numeric) {
      var td = document.createElement("td");
      if (numeric) td.className = "num";
      td.textContent = text;
      return td;
    };
    var fill = function (id, rows, columns) {
      var body = document.querySelector("#" + id + " tbody");
      if (!rows.length) return;
      body.textContent = "";
      rows.forEach(function (row) {
        var tr = document.createElement("tr");
        if (row.mine) tr.className = "mine";
        columns.forEach(function (c) { tr.appendChild(cell(c[0](row), c[1])); });
        body.appendChild(tr);
      });
    };
    var refresh = function () {
      fetch(board.dataset.url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
        fill("member-board", data.members, [
          [function (r) { return r.rank; }, true], [function (r) { return r.name; }], [function (r) { return r.organisation; }],
          [function (r) { return r.levels_passed; }, true], [function (r) { return Math.round(r.score); }, true],
          [function (r) { return r.seconds; }, true]]);
        fill("branch-board", data.branches, [
          [function (r) { return r.rank; }, true], [function (r) { return r.name; }],
          [function (r) { return Math.round(r.participation * 100) + "%"; }, true],
          [function (r) { return r.average_score; }, true], [function (r) { return r.levels_per_member; }, true]]);
        if (data.me) {
          document.getElementById("my-rank").textContent = document.getElementById("my-rank-text").innerHTML
            .replace("{rank}", data.me.rank).replace("{levels}", data.me.levels_passed)
            .replace("{score}", Math.round(data.me.score));
        }
      }).catch(function () {});
    };
    setInterval(refresh, (parseInt(board.dataset.interval, 10) || 15) * 1000);
  }
})();
