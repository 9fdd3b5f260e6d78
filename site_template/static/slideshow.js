/* The slideshow and the kiosk (after shared.js, data/columns.js and music.js): slides come from
   data/slides-N.js, loaded as the show reaches them, crossfading between tracks (music.js).
   slideshow.html#kiosk: one tap starts it full screen; it loops for ever, keeps the screen awake,
   hides its controls and the cursor when idle (IDLE_MS), and after a visitor's touch resumes by
   itself (RESUME_MS). In a gallery built with --kiosk --study, each loop ends by offering the study
   (#study-offer, for OFFER_MS). window.gallerySlideshow: total, go(i), state(), for the browser
   tests. */
(function (G) {
  "use strict";

  var main = document.querySelector("main.show");
  if (!document.body.classList.contains("slideshow") || !main) { return; }
  var M = G.M, slideCell = G.columns("slides");
  var total = Number(main.dataset.total), perShard = Number(main.dataset.shardSize);
  var img = document.getElementById("show-image"), cap = document.getElementById("show-caption");
  var startBtn = document.getElementById("show-start");
  var pauseBtn = document.getElementById("show-pause");
  var interval = document.getElementById("show-interval");
  var loop = document.getElementById("show-loop");
  var index = -1, timer = null, paused = true, music = G.Music(document.body);
  var kiosk = window.location.hash === "#kiosk", IDLE_MS = 3000, RESUME_MS = 30000;
  var idleTimer = null, resumeTimer = null, wakeLock = null;
  /* a kiosk of a gallery built with --study offers it between loops, for OFFER_MS */
  var offer = document.getElementById("study-offer"), offerTimer = null, OFFER_MS = 20000;

  function slide(i, done) {
    G.shard("slides-" + Math.floor(i / perShard), function (rows) {
      var row = rows && rows[i % perShard];
      if (row) {
        done({
          file: slideCell(row, "file"), image: slideCell(row, "image"), alt: slideCell(row, "alt"),
          title: slideCell(row, "title"), artist: slideCell(row, "artist"),
          track: G.trackOf(slideCell(row, "track")),
          name: slideCell(row, "name") || slideCell(row, "file")
        });
      }
      if ((i % perShard) > perShard - 5 && i + 5 < total) {  /* the next shard, ahead of time */
        G.shard("slides-" + (Math.floor(i / perShard) + 1), function () {});
      }
    });
  }
  function go(i) {
    if (!total) { return; }
    if (i >= total) {
      if (!loop.checked && !kiosk) { pause(); return; }
      i = 0;
      if (kiosk && offer) { offerStudy(); }
    }
    if (i < 0) { i = total - 1; }
    index = i;
    slide(i, function (im) {
      if (index !== i) { return; }  /* moved on while the shard loaded */
      if (img.getAttribute("src") !== im.image) { img.src = im.image; }
      img.alt = im.alt || im.file;
      var by = im.artist ? " · " + im.artist : "";
      cap.textContent = im.file + (im.title ? " — " + im.title + by : "");
      if (im.name !== im.file) { cap.textContent = im.name + " (" + cap.textContent + ")"; }
      document.body.dataset.slide = String(i);
      music.want(im.track);
      if (!paused) { schedule(); }
    });
  }
  function offerStudy() {
    offer.hidden = false;
    window.clearTimeout(offerTimer);
    offerTimer = window.setTimeout(function () { offer.hidden = true; }, OFFER_MS);
  }
  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () { go(index + 1); }, Number(interval.value) * 1000);
  }
  function awake() {  /* Wake Lock where the browser allows; released when the page is hidden */
    if (navigator.wakeLock && navigator.wakeLock.request && !wakeLock) {
      navigator.wakeLock.request("screen").then(function (lock) {
        wakeLock = lock;
        lock.addEventListener("release", function () { wakeLock = null; });
      }, function () {});
    }
  }
  function start() {
    paused = false;
    window.clearTimeout(resumeTimer);
    startBtn.disabled = true;
    pauseBtn.disabled = false;
    music.play();
    if (kiosk) { awake(); }
    go(index < 0 ? 0 : index);
  }
  function pause() {
    paused = true;
    window.clearTimeout(timer);
    music.pause();
    startBtn.disabled = false;
    startBtn.textContent = M("resume");
    pauseBtn.disabled = true;
    G.say(M("slideshow_paused"));
    if (kiosk) { resumeLater(); }
  }
  function resumeLater() {  /* kiosk: a visitor's touch pauses or moves; the show goes on alone */
    window.clearTimeout(resumeTimer);
    resumeTimer = window.setTimeout(function () {
      if (paused) { start(); } else { schedule(); }
    }, RESUME_MS);
  }
  function fullScreen() {
    var el = document.documentElement;
    if (!document.fullscreenElement && el.requestFullscreen) {
      el.requestFullscreen().catch(function () {});
    }
  }

  startBtn.addEventListener("click", start);
  pauseBtn.addEventListener("click", pause);
  document.getElementById("show-fullscreen").addEventListener("click", fullScreen);
  document.getElementById("show-next").addEventListener("click", function () { go(index + 1); });
  document.getElementById("show-prev").addEventListener("click", function () { go(index - 1); });
  interval.addEventListener("change", function () { if (!paused) { schedule(); } });
  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    if (G.ownsKeys(ev.target)) { return; }
    if (ev.key === "ArrowRight") { go(index + 1); }
    else if (ev.key === "ArrowLeft") { go(index - 1); }
    else if (ev.key === "Escape" && !kiosk) { window.location.href = "index.html"; }
    else if (ev.key === " ") { ev.preventDefault(); if (paused) { start(); } else { pause(); } }
    else { return; }
    if (kiosk && !paused) { resumeLater(); }
  });

  if (kiosk) {
    document.body.classList.add("kiosk");
    loop.checked = true;
    var gate = document.getElementById("kiosk-start"), tap = document.getElementById("kiosk-go");
    gate.hidden = false;
    /* music first: full screen uses up the gesture */
    tap.addEventListener("click", function () { gate.hidden = true; start(); fullScreen(); });
    tap.focus();
    var active = function () {
      document.body.classList.remove("idle");
      window.clearTimeout(idleTimer);
      idleTimer = window.setTimeout(function () { document.body.classList.add("idle"); }, IDLE_MS);
    };
    ["pointermove", "pointerdown", "keydown"].forEach(function (type) {
      document.addEventListener(type, active, true);
    });
    document.addEventListener("pointerdown", function () { if (!paused) { resumeLater(); } }, true);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && !paused) { awake(); }
    });
    active();
  }
  window.gallerySlideshow = {
    total: total, go: go,
    state: function () { return { index: index, paused: paused, kiosk: kiosk }; }
  };
  go(0);
})(window.Gallery);
