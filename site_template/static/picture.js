/* A picture's page (after shared.js): its audio players, one playing at a time, each starting
   where its track stops being quiet (data-start), the playing track announced; and its keys: ← and
   → go to the previous and next page, Esc to the index, Space plays or pauses. */
(function (G) {
  "use strict";

  function audios() { return Array.prototype.slice.call(document.querySelectorAll("audio")); }

  document.addEventListener("play", function (ev) {
    var el = ev.target;
    if (!el || el.tagName !== "AUDIO" || el.dataset.managed) { return; }
    audios().forEach(function (other) {
      if (other !== el && !other.paused && !other.dataset.fading) { other.pause(); }
    });
    if (el.dataset.title) {
      var title = el.dataset.title + (el.dataset.artist ? " — " + el.dataset.artist : "");
      G.say(G.M("now_playing", { title: title }));
    }
  }, true);
  document.addEventListener("loadedmetadata", function (ev) {  /* a quiet opening is skipped */
    var el = ev.target, at = el && Number(el.dataset && el.dataset.start);
    if (el && el.tagName === "AUDIO" && at > 0 && el.currentTime < at && at < el.duration) {
      el.currentTime = at;
    }
  }, true);
  document.addEventListener("pause", function (ev) {  /* Space resumes the player paused last */
    if (ev.target && ev.target.tagName === "AUDIO" && !ev.target.dataset.managed) {
      audios().forEach(function (el) { delete el.dataset.last; });
      ev.target.dataset.last = "1";
    }
  }, true);

  function togglePlay() {
    var all = audios();
    var playing = all.filter(function (el) { return !el.paused; });
    if (playing.length) {
      playing.forEach(function (el) { el.pause(); });
      G.say(G.M("paused"));
      return;
    }
    var last = all.filter(function (el) { return el.dataset.last; })[0] || all[0];
    if (last) { last.play(); }
  }

  var pager = document.querySelector("body.picture-page nav.pager");
  if (!pager) { return; }
  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey || ev.defaultPrevented) { return; }
    if (G.ownsKeys(ev.target)) { return; }
    if (ev.shiftKey && ev.target && ev.target.id === "plane") { return; }  /* the plane's keys */
    var toIndex = document.getElementById("to-index");
    if (ev.key === "ArrowLeft" && pager.dataset.prev) {
      window.location.href = pager.dataset.prev;
    } else if (ev.key === "ArrowRight" && pager.dataset.next) {
      window.location.href = pager.dataset.next;
    } else if (ev.key === "Escape" && toIndex) {
      window.location.href = toIndex.getAttribute("href");
    } else if (ev.key === " " && ev.target.tagName !== "A") {
      ev.preventDefault();
      togglePlay();
    }
  });
})(window.Gallery);
