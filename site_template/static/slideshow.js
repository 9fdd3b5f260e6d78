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
  var img = document.getElementById("show-image"), slideEl = document.getElementById("show-slide");
  var stage = document.getElementById("show-stage"), band = document.getElementById("show-band");
  var titleEl = document.getElementById("show-title"), cap = document.getElementById("show-caption");
  var trackEl = document.getElementById("show-track");
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
          track: G.trackOf(slideCell(row, "track")),
          name: slideCell(row, "name") || slideCell(row, "file"),
          caption: slideCell(row, "caption") || "",
          width: Number(slideCell(row, "width")) || 0, height: Number(slideCell(row, "height")) || 0,
          background: slideCell(row, "background")
        });
      }
      if ((i % perShard) > perShard - 5 && i + 5 < total) {  /* the next shard, ahead of time */
        G.shard("slides-" + (Math.floor(i / perShard) + 1), function () {});
      }
    });
  }

  /* ---- the wall: the picture contained in the stage above its band, as large as it can be but
     never past MAX_ZOOM times its own pixels (then centred on its calm colour) ---- */
  var MAX_ZOOM = 2, FADE_MS = 600, shown = null;
  function fit() {
    if (!shown || !shown.width || !shown.height) { return; }
    var w = stage.clientWidth, h = stage.clientHeight - band.offsetHeight;
    var k = Math.min(w / shown.width, h / shown.height, MAX_ZOOM);
    if (!(k > 0)) { return; }
    img.style.width = Math.floor(shown.width * k) + "px";
    img.style.height = Math.floor(shown.height * k) + "px";
  }
  function show(im, i) {
    shown = im;
    document.body.dataset.slide = String(i);
    if (img.getAttribute("src") !== im.image) { img.src = im.image; }
    img.alt = im.alt || im.name;
    titleEl.textContent = im.name;
    cap.textContent = im.caption;
    cap.hidden = !im.caption;
    band.classList.toggle("no-caption", !im.caption);
    trackEl.textContent = im.track ?  /* the licence is on the credits page */
      G.M("track_line", { title: im.track.title, artist: im.track.artist || "" }).replace(/ — $/, "") :
      "";
    if (im.background) { stage.style.backgroundColor = im.background; }
    fit();
    slideEl.classList.remove("fading");
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
      music.want(im.track);
      if (!paused) { schedule(); }
      if (shown && shown.file !== im.file && !G.reducedMotion) {  /* the band fades with it */
        slideEl.classList.add("fading");
        window.setTimeout(function () { if (index === i) { show(im, i); } }, FADE_MS);
      } else {
        show(im, i);
      }
    });
  }
  function offerStudy() {
    offer.hidden = false;
    window.clearTimeout(offerTimer);
    offerTimer = window.setTimeout(function () { offer.hidden = true; }, OFFER_MS);
  }
  window.addEventListener("resize", fit);
  document.addEventListener("fullscreenchange", fit);
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
    startBtn.querySelector(".word").textContent = M("resume");
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
    state: function () { return { index: index, paused: paused, kiosk: kiosk }; },
    shown: function () { return shown ? shown.file : null; }
  };
  go(0);
})(window.Gallery);
