// Heartbeats for a lesson page.  The server measures study time by its own clock; this script
// only tells it, every few seconds, that the lesson is visible (and, for media, playing).
(function () {
  "use strict";
  var article = document.getElementById("lesson");
  if (!article) return;
  var csrf = document.querySelector("meta[name=csrf-token]");
  var headers = {"Content-Type": "application/json", "X-CSRFToken": csrf ? csrf.content : ""};
  var interval = parseInt(article.dataset.interval, 10) * 1000;
  var minGap = parseInt(article.dataset.minGap, 10) * 1000;
  var player = document.getElementById("player");
  var bar = document.getElementById("study-progress");
  var status = document.getElementById("study-status");
  var resume = document.getElementById("resume");
  var token = null, seq = 0, timer = null, stopped = false, lastSent = 0;

  function say(text) { status.textContent = text; }

  function start() {
    stopped = false;
    resume.hidden = true;
    return fetch(article.dataset.startUrl, {method: "POST", headers: headers, credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (body) { token = body.token; seq = 0; schedule(); });
  }

  function active() {
    if (document.visibilityState !== "visible") return false;
    if (player) return !player.paused && !player.ended;
    return true;
  }

  function beat() {
    if (!token || stopped) return;
    if (!active() && !(player && player.ended)) return;  // hidden or paused: send nothing
    seq += 1;
    lastSent = Date.now();
    var payload = {seq: seq, visible: document.visibilityState === "visible"};
    if (player) { payload.playing = !player.paused || player.ended; payload.position = player.currentTime; }
    fetch(article.dataset.beatUrl.replace("TOKEN", token), {
      method: "POST", headers: headers, credentials: "same-origin", body: JSON.stringify(payload)
    }).then(function (r) {
      return r.json().then(function (body) { return {ok: r.ok, body: body}; });
    }).then(function (res) {
      if (!res.ok) {
        if (res.body.code === "paused") {
          stopped = true;
          say(article.dataset.textPaused);
          resume.hidden = false;
        }
        return;
      }
      bar.value = res.body.lesson_seconds;
      if (res.body.course_completed) say(article.dataset.textCourseDone);
      else if (res.body.lesson_completed) say(article.dataset.textDone);
    }).catch(function () { /* offline for a moment: the next beat carries on */ });
  }

  function schedule() {
    if (timer) clearInterval(timer);
    timer = setInterval(beat, interval);
  }

  // When media ends, tell the server at once so the lesson completes without waiting a whole
  // interval; but never sooner than the server accepts a beat, or the end would be refused.
  function beatAtEnd() {
    if (timer) clearInterval(timer);
    var wait = minGap - (Date.now() - lastSent) + 250;
    setTimeout(function () { beat(); schedule(); }, Math.max(0, wait));
  }

  resume.addEventListener("click", start);
  if (player) player.addEventListener("ended", beatAtEnd);
  start();
})();
