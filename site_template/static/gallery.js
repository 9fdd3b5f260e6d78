/* Classic script (no modules, no fetch): works from file:// and from any static host.
   Data comes from classic scripts: on picture pages window.CATALOGUE (catalogue.js); the slideshow and the
   index's search load shards of 1000 pictures (data/slides-N.js, data/names-N.js) only when they need them. */
(function () {
  "use strict";

  var announce = document.getElementById("announce");
  function say(text) { if (announce) { announce.textContent = text; } }

  /* ---- film (issue 23): "Download the film" when `builder film` wrote one into this gallery (film.js) ---- */
  var film = window.GALLERY_FILM, filmActions = document.querySelector(".index .actions");
  if (film && film.href && filmActions) {
    var filmLink = document.createElement("a");
    filmLink.href = film.href;
    filmLink.id = "download-film";
    filmLink.setAttribute("download", "");
    var filmSecs = Math.round(film.duration || 0);
    filmLink.textContent = "Download the film (" + Math.floor(filmSecs / 60) + ":" + ("0" + filmSecs % 60).slice(-2) +
      ", " + Math.max(1, Math.round(film.size / 1048576)) + " MB)";
    filmActions.appendChild(document.createTextNode(" "));
    filmActions.appendChild(filmLink);
  }

  /* ---- shards: a classic script that sets window.GALLERY_SHARDS[name]; loaded once, callbacks queued ---- */
  var pending = {};
  function shard(name, done) {
    var all = window.GALLERY_SHARDS || {};
    if (all[name]) { done(all[name]); return; }
    if (pending[name]) { pending[name].push(done); return; }
    pending[name] = [done];
    var s = document.createElement("script");
    s.src = "data/" + name + ".js";
    function finish() {
      var rows = (window.GALLERY_SHARDS || {})[name] || null, waiting = pending[name];
      delete pending[name];
      waiting.forEach(function (cb) { cb(rows); });
    }
    s.onload = finish;
    s.onerror = finish;
    document.head.appendChild(s);
  }

  /* ---- search the index by name: the name shards are loaded on the first search, one after another ---- */
  var searchForm = document.getElementById("search-form");
  if (searchForm) {
    var box = document.getElementById("search"), status = document.getElementById("search-status");
    var results = document.getElementById("search-results"), shards = Number(searchForm.dataset.shards);
    var MAX_SHOWN = 60, generation = 0;
    searchForm.addEventListener("submit", function (ev) { ev.preventDefault(); });
    function search() {
      var query = box.value.trim().toLowerCase(), mine = ++generation, found = 0;
      while (results.firstChild) { results.removeChild(results.firstChild); }
      if (!query) { status.textContent = ""; return; }
      function take(k) {
        if (mine !== generation) { return; }  /* a newer search started */
        if (k >= shards) {
          status.textContent = found ? found + " picture" + (found === 1 ? "" : "s") + " named like “" + box.value.trim() + "”" + (found > MAX_SHOWN ? " (the first " + MAX_SHOWN + " shown)" : "") : "No picture is named like “" + box.value.trim() + "”";
          return;
        }
        status.textContent = "Searching… " + Math.round(100 * k / shards) + " %";
        shard("names-" + k, function (rows) {
          if (mine !== generation) { return; }
          (rows || []).forEach(function (row) {
            if (row[0].toLowerCase().indexOf(query) < 0) { return; }
            found += 1;
            if (found > MAX_SHOWN) { return; }
            var li = document.createElement("li"), a = document.createElement("a"), img = document.createElement("img");
            a.href = row[1];
            img.src = row[2];
            img.alt = "";
            img.loading = "lazy";
            a.appendChild(img);
            a.appendChild(document.createTextNode(row[0]));
            li.appendChild(a);
            results.appendChild(li);
          });
          take(k + 1);
        });
      }
      take(0);
    }
    var debounce = null;
    box.addEventListener("input", function () { window.clearTimeout(debounce); debounce = window.setTimeout(search, 200); });
  }

  /* ---- nearest tracks: exact search, same order as the Python index (distance, then catalogue order) ---- */
  function nearest(v, a, k) {
    var cat = window.CATALOGUE;
    if (!cat) { return []; }
    var rows = cat.tracks, scored = [];
    for (var i = 0; i < rows.length; i++) {
      var dv = rows[i][1] - v, da = rows[i][2] - a;
      scored.push([dv * dv + da * da, i]);
    }
    scored.sort(function (x, y) { return x[0] - y[0] || x[1] - y[1]; });
    return scored.slice(0, k).map(function (s) { return rows[s[1]]; });
  }
  window.galleryNearest = function (v, a, k) { return nearest(v, a, k).map(function (r) { return r[0]; }); };

  /* ---- audio: one plays at a time; the playing track is announced ---- */
  document.addEventListener("play", function (ev) {
    var el = ev.target;
    if (!el || el.tagName !== "AUDIO") { return; }
    Array.prototype.forEach.call(document.querySelectorAll("audio"), function (other) {
      if (other !== el && !other.paused && !other.dataset.fading) { other.pause(); }
    });
    if (el.dataset.title) { say("Now playing: " + el.dataset.title + (el.dataset.artist ? " by " + el.dataset.artist : "")); }
  }, true);

  function togglePlay() {
    var all = Array.prototype.slice.call(document.querySelectorAll("audio"));
    var playing = all.filter(function (el) { return !el.paused; });
    if (playing.length) { playing.forEach(function (el) { el.pause(); }); say("Paused"); return; }
    var last = all.filter(function (el) { return el.dataset.last; })[0] || all[0];
    if (last) { last.play(); }
  }
  document.addEventListener("pause", function (ev) {
    if (ev.target && ev.target.tagName === "AUDIO") {
      Array.prototype.forEach.call(document.querySelectorAll("audio[data-last]"), function (el) { delete el.dataset.last; });
      ev.target.dataset.last = "1";
    }
  }, true);

  /* ---- keys: arrows move, Esc goes back, space plays or pauses ---- */
  var pager = document.querySelector("nav.pager");
  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    var tag = (ev.target && ev.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") { return; }
    if (ev.shiftKey && ev.target && ev.target.id === "plane") { return; }  /* the plane uses Shift+arrows */
    if (document.body.classList.contains("slideshow")) { return; }  /* the slideshow has its own keys */
    if (ev.key === "ArrowLeft" && pager && pager.dataset.prev) {
      window.location.href = pager.dataset.prev;
    } else if (ev.key === "ArrowRight" && pager && pager.dataset.next) {
      window.location.href = pager.dataset.next;
    } else if (ev.key === "Escape" && document.getElementById("to-index")) {
      window.location.href = document.getElementById("to-index").getAttribute("href");
    } else if (ev.key === " " && tag !== "BUTTON" && tag !== "AUDIO" && tag !== "A") {
      ev.preventDefault();
      togglePlay();
    }
  });

  /* ---- explore the plane ---- */
  var plane = document.getElementById("plane");
  if (plane) {
    var size = Number(plane.dataset.size), pad = Number(plane.dataset.pad), span = size - 2 * pad;
    var probe = document.getElementById("probe"), list = document.getElementById("explore-results");
    var pointText = document.getElementById("explore-point"), here = { v: 0, a: 0 }, dragging = false;
    var root = (document.querySelector("link[rel=stylesheet]").getAttribute("href") || "").replace("static/style.css", "");

    function clamp(x) { return Math.max(-1, Math.min(1, x)); }
    function show(v, a) {
      here = { v: v, a: a };
      probe.setAttribute("cx", String(pad + (v + 1) / 2 * span));
      probe.setAttribute("cy", String(pad + (1 - a) / 2 * span));
      pointText.textContent = "Valence " + v.toFixed(2) + ", arousal " + a.toFixed(2) + ": the nearest tracks of the catalogue.";
      while (list.firstChild) { list.removeChild(list.firstChild); }
      nearest(v, a, 5).forEach(function (row) {
        var li = document.createElement("li");
        li.dataset.id = row[0];
        var strong = document.createElement("strong");
        strong.textContent = row[3];
        li.appendChild(strong);
        li.appendChild(document.createTextNode(row[4] ? " — " + row[4] : ""));
        var va = document.createElement("span");
        va.className = "va";
        va.textContent = "valence " + row[1].toFixed(2) + ", arousal " + row[2].toFixed(2) + (row[5] ? " · " + row[5] : "");
        li.appendChild(va);
        if (row[6]) {
          var audio = document.createElement("audio");
          audio.controls = true;
          audio.preload = "none";
          audio.src = root + row[6];
          audio.dataset.title = row[3];
          audio.dataset.artist = row[4] || "";
          li.appendChild(audio);
        } else {
          var none = document.createElement("span");
          none.className = "noaudio";
          none.textContent = "no audio file in this gallery";
          li.appendChild(none);
        }
        list.appendChild(li);
      });
    }
    function fromEvent(ev) {
      var box = plane.getBoundingClientRect();
      var x = (ev.clientX - box.left) / box.width * size, y = (ev.clientY - box.top) / box.height * size;
      show(clamp((x - pad) / span * 2 - 1), clamp(1 - (y - pad) / span * 2));
    }
    plane.setAttribute("tabindex", "0");
    plane.addEventListener("pointerdown", function (ev) { dragging = true; fromEvent(ev); });
    plane.addEventListener("pointermove", function (ev) { if (dragging) { fromEvent(ev); } });
    window.addEventListener("pointerup", function () { dragging = false; });
    plane.addEventListener("keydown", function (ev) {
      if (!ev.shiftKey) { return; }
      var step = 0.1, moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (moves[ev.key]) {
        ev.preventDefault();
        show(clamp(here.v + moves[ev.key][0]), clamp(here.a + moves[ev.key][1]));
      }
    });
    window.galleryExplore = show;
  }

  /* ---- slideshow: slides come from data/slides-N.js, loaded as the show reaches them ---- */
  var showMain = document.querySelector("main.show");
  if (document.body.classList.contains("slideshow") && showMain) {
    var total = Number(showMain.dataset.total), perShard = Number(showMain.dataset.shardSize);
    var img = document.getElementById("show-image"), cap = document.getElementById("show-caption");
    var startBtn = document.getElementById("show-start"), pauseBtn = document.getElementById("show-pause");
    var interval = document.getElementById("show-interval"), loop = document.getElementById("show-loop");
    var index = -1, timer = null, paused = true, current = null, FADE_MS = 2500;

    function slide(i, done) {  /* row: file, image, caption, title, artist, audio, audio title, audio artist */
      shard("slides-" + Math.floor(i / perShard), function (rows) {
        var row = rows && rows[i % perShard];
        if (row) { done({ file: row[0], image: row[1], caption: row[2], title: row[3], artist: row[4], audio: row[5], audioTitle: row[6], audioArtist: row[7] }); }
        if ((i % perShard) > perShard - 5 && i + 5 < total) { shard("slides-" + (Math.floor(i / perShard) + 1), function () {}); }
      });
    }

    function fade(el, from, to, ms, done) {
      var t0 = null;
      el.dataset.fading = "1";
      function step(ts) {
        if (t0 === null) { t0 = ts; }
        var k = Math.min(1, (ts - t0) / ms);
        el.volume = Math.max(0, Math.min(1, from + (to - from) * k));
        if (k < 1) { window.requestAnimationFrame(step); } else { delete el.dataset.fading; if (done) { done(); } }
      }
      window.requestAnimationFrame(step);
    }
    function playTrack(im) {
      var old = current;
      current = null;
      if (old) { fade(old, old.volume, 0, FADE_MS, function () { old.pause(); if (old.parentNode) { old.parentNode.removeChild(old); } }); }
      if (!im.audio) { say("No audio for " + im.file); return; }
      var el = document.createElement("audio");
      el.src = im.audio;
      el.loop = true;
      el.volume = 0;
      el.dataset.title = im.audioTitle;
      el.dataset.artist = im.audioArtist || "";
      document.body.appendChild(el);
      current = el;
      var p = el.play();
      if (p && p.catch) { p.catch(function () {}); }
      fade(el, 0, 1, FADE_MS);
    }
    function go(i) {
      if (!total) { return; }
      if (i >= total) {
        if (!loop.checked) { pause(); return; }
        i = 0;
      }
      if (i < 0) { i = total - 1; }
      index = i;
      slide(i, function (im) {
        if (index !== i) { return; }  /* moved on while the shard loaded */
        if (img.getAttribute("src") !== im.image) { img.src = im.image; }
        img.alt = im.caption || im.file;
        cap.textContent = im.file + (im.title ? " — " + im.title + (im.artist ? " by " + im.artist : "") : "");
        document.body.dataset.slide = String(i);
        if (!paused) { playTrack(im); schedule(); }
      });
    }
    function schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { go(index + 1); }, Number(interval.value) * 1000);
    }
    function start() {
      paused = false;
      startBtn.disabled = true;
      pauseBtn.disabled = false;
      pauseBtn.textContent = "Pause";
      go(index < 0 ? 0 : index);
    }
    function pause() {
      paused = true;
      window.clearTimeout(timer);
      if (current) { current.pause(); }
      startBtn.disabled = false;
      startBtn.textContent = "▶ Resume";
      pauseBtn.disabled = true;
      say("Slideshow paused");
    }
    startBtn.addEventListener("click", start);
    pauseBtn.addEventListener("click", pause);
    document.getElementById("show-next").addEventListener("click", function () { go(index + 1); });
    document.getElementById("show-prev").addEventListener("click", function () { go(index - 1); });
    interval.addEventListener("change", function () { if (!paused) { schedule(); } });
    document.addEventListener("keydown", function (ev) {
      var tag = (ev.target && ev.target.tagName) || "";
      if (tag === "SELECT" || tag === "INPUT") { return; }
      if (ev.key === "ArrowRight") { go(index + 1); }
      else if (ev.key === "ArrowLeft") { go(index - 1); }
      else if (ev.key === "Escape") { window.location.href = "index.html"; }
      else if (ev.key === " " && tag !== "BUTTON") { ev.preventDefault(); if (paused) { start(); } else { pause(); } }
    });
    window.gallerySlideshow = { total: total, go: go, state: function () { return { index: index, paused: paused }; } };
    go(0);
  }
})();
