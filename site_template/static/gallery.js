/* Classic script (no modules, no fetch): works from file:// and from any static host.
   Data comes from classic scripts: the visitor's words in window.GALLERY_MESSAGES (static/messages.js, the
   gallery's language); on picture pages window.CATALOGUE (catalogue.js); the index's viewer, the slideshow and
   the search load shards of 1000 pictures (data/view-N.js, data/slides-N.js, data/names-N.js) when they need them. */
(function () {
  "use strict";

  var announce = document.getElementById("announce");
  function say(text) { if (announce) { announce.textContent = text; } }

  /* ---- words: M(key, {name: value}) from the gallery's message catalogue ---- */
  var MESSAGES = window.GALLERY_MESSAGES || {};
  function M(key, values) {
    var text = Object.prototype.hasOwnProperty.call(MESSAGES, key) ? MESSAGES[key] : key;
    return text.replace(/\{(\w+)\}/g, function (all, name) { return values && name in values ? String(values[name]) : all; });
  }
  function MN(key, n, values) {
    var v = values || {};
    v.n = n;
    return M(key + (n === 1 ? "_one" : "_other"), v);
  }
  var reducedMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  /* ---- keys yield to focused controls: arrows and Space in a player, button, field or list are theirs ---- */
  function ownsKeys(el) {
    if (!el || !el.tagName) { return false; }
    if (el.classList && el.classList.contains("pswp__button")) { return false; }  /* the viewer's own arrows and close */
    return /^(AUDIO|VIDEO|BUTTON|SELECT|INPUT|TEXTAREA|SUMMARY)$/.test(el.tagName) || el.isContentEditable;
  }

  /* ---- film (issue 23): "Download the film" when `builder film` wrote one into this gallery (film.js) ---- */
  var film = window.GALLERY_FILM, filmActions = document.querySelector(".index .actions");
  if (film && film.href && filmActions) {
    var filmLink = document.createElement("a");
    filmLink.href = film.href;
    filmLink.id = "download-film";
    filmLink.setAttribute("download", "");
    var filmSecs = Math.round(film.duration || 0);
    filmLink.textContent = M("download_film", { length: Math.floor(filmSecs / 60) + ":" + ("0" + filmSecs % 60).slice(-2),
      mb: Math.max(1, Math.round(film.size / 1048576)) });
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

  /* ---- kiosk: a gallery built with --kiosk opens on the slideshow in kiosk mode ---- */
  if (document.body.dataset.kiosk && !window.location.hash) {
    window.location.replace(document.body.dataset.kiosk);
    return;
  }

  /* ---- search the index by name: the name shards are loaded on the first search, one after another ---- */
  var searchForm = document.getElementById("search-form");
  if (searchForm) {
    var box = document.getElementById("search"), status = document.getElementById("search-status");
    var results = document.getElementById("search-results"), shards = Number(searchForm.dataset.shards);
    var MAX_SHOWN = 60, generation = 0;
    searchForm.addEventListener("submit", function (ev) { ev.preventDefault(); });
    var search = function () {
      var query = box.value.trim().toLowerCase(), mine = ++generation, found = 0;
      while (results.firstChild) { results.removeChild(results.firstChild); }
      if (!query) { status.textContent = ""; return; }
      function take(k) {
        if (mine !== generation) { return; }  /* a newer search started */
        if (k >= shards) {
          status.textContent = found ? MN("search_found", found, { query: box.value.trim() }) + (found > MAX_SHOWN ? " " + M("search_first_shown", { n: MAX_SHOWN }) : "") : M("search_none", { query: box.value.trim() });
          return;
        }
        status.textContent = M("searching", { percent: Math.round(100 * k / shards) });
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
    };
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

  /* ---- audio players on picture pages: one plays at a time; the playing track is announced ---- */
  document.addEventListener("play", function (ev) {
    var el = ev.target;
    if (!el || el.tagName !== "AUDIO" || el.dataset.managed) { return; }  /* Music() runs its own */
    Array.prototype.forEach.call(document.querySelectorAll("audio"), function (other) {
      if (other !== el && !other.paused && !other.dataset.fading) { other.pause(); }
    });
    if (el.dataset.title) { say(M("now_playing", { title: el.dataset.title + (el.dataset.artist ? " — " + el.dataset.artist : "") })); }
  }, true);
  document.addEventListener("loadedmetadata", function (ev) {  /* a quiet opening is skipped (track.start) */
    var el = ev.target, at = el && Number(el.dataset && el.dataset.start);
    if (el && el.tagName === "AUDIO" && at > 0 && el.currentTime < at && at < el.duration) { el.currentTime = at; }
  }, true);

  function togglePlay() {
    var all = Array.prototype.slice.call(document.querySelectorAll("audio"));
    var playing = all.filter(function (el) { return !el.paused; });
    if (playing.length) { playing.forEach(function (el) { el.pause(); }); say(M("paused")); return; }
    var last = all.filter(function (el) { return el.dataset.last; })[0] || all[0];
    if (last) { last.play(); }
  }
  document.addEventListener("pause", function (ev) {
    if (ev.target && ev.target.tagName === "AUDIO" && !ev.target.dataset.managed) {
      Array.prototype.forEach.call(document.querySelectorAll("audio[data-last]"), function (el) { delete el.dataset.last; });
      ev.target.dataset.last = "1";
    }
  }, true);

  /* ---- keys on picture pages: arrows move, Esc goes back, space plays or pauses ---- */
  var pager = document.querySelector("body.picture-page nav.pager");
  if (pager) {
    document.addEventListener("keydown", function (ev) {
      if (ev.altKey || ev.ctrlKey || ev.metaKey || ev.defaultPrevented) { return; }
      if (ownsKeys(ev.target)) { return; }
      if (ev.shiftKey && ev.target && ev.target.id === "plane") { return; }  /* the plane uses Shift+arrows */
      if (ev.key === "ArrowLeft" && pager.dataset.prev) {
        window.location.href = pager.dataset.prev;
      } else if (ev.key === "ArrowRight" && pager.dataset.next) {
        window.location.href = pager.dataset.next;
      } else if (ev.key === "Escape" && document.getElementById("to-index")) {
        window.location.href = document.getElementById("to-index").getAttribute("href");
      } else if (ev.key === " " && ev.target.tagName !== "A") {
        ev.preventDefault();
        togglePlay();
      }
    });
  }

  /* ---- Music: one track at a time, crossfading to the next; the same track plays on ----
     track: {id, title, artist, licence, audio, start}; audio elements sit in `box` (data-managed). */
  function Music(box) {
    var FADE_MS = 1500, current = null, currentId = null, wanted = null, on = false;
    function ramp(el, to, ms, done) {
      window.clearInterval(el.rampTimer);
      var from = el.volume, t0 = Date.now();
      el.rampTimer = window.setInterval(function () {
        var k = Math.min(1, (Date.now() - t0) / ms);
        el.volume = Math.max(0, Math.min(1, from + (to - from) * k));
        if (k >= 1) { window.clearInterval(el.rampTimer); if (done) { done(); } }
      }, 40);
    }
    function drop(el) {
      window.clearInterval(el.rampTimer);
      el.pause();
      if (el.parentNode) { el.parentNode.removeChild(el); }
    }
    function begin(track) {
      var el = document.createElement("audio");
      el.dataset.managed = "1";
      el.dataset.id = track.id;
      el.dataset.title = track.title || "";
      el.preload = "auto";
      el.loop = true;  /* the music never stops, also on a picture looked at for long */
      el.volume = 0;
      var at = Number(track.start) || 0;
      if (at > 0) {
        el.addEventListener("loadedmetadata", function () { if (el.currentTime < at && at < el.duration) { el.currentTime = at; } });
      }
      el.src = track.audio;
      box.appendChild(el);
      var p = el.play();
      if (p && p.catch) { p.catch(function () {}); }
      ramp(el, 1, FADE_MS);
      say(M("now_playing", { title: (track.title || "") + (track.artist ? " — " + track.artist : "") }));
      return el;
    }
    function sound() {
      var track = wanted;
      if (track && current && currentId === track.id) {  /* the same track: it plays on */
        if (current.paused) { var p = current.play(); if (p && p.catch) { p.catch(function () {}); } }
        ramp(current, 1, FADE_MS / 3);
        return;
      }
      if (current) {
        var old = current;
        old.dataset.fading = "1";
        ramp(old, 0, FADE_MS, function () { drop(old); });
      }
      current = null;
      currentId = null;
      if (track && track.audio) { current = begin(track); currentId = track.id; }
    }
    return {
      want: function (track) { wanted = track; if (on) { sound(); } },
      play: function () { on = true; sound(); },
      pause: function () {
        on = false;
        Array.prototype.slice.call(box.querySelectorAll("audio")).forEach(function (el) {
          if (el === current) { window.clearInterval(el.rampTimer); el.pause(); } else { drop(el); }
        });
        say(M("paused"));
      },
      toggle: function () { if (on) { this.pause(); } else { this.play(); } return on; },
      isOn: function () { return on; }
    };
  }
  function trackOf(row) {  /* [id, title, artist, licence, audio, start] */
    return row ? { id: row[0], title: row[1], artist: row[2], licence: row[3], audio: row[4], start: row[5] } : null;
  }
  function trackLine(track) {
    if (!track) { return M("no_audio"); }
    return M("track_line", { title: track.title, artist: track.artist || "" }).replace(/ — $/, "") + (track.licence ? " · " + track.licence : "");
  }

  /* ---- the viewer: every picture of the gallery (data/view-N.js, gallery order) in PhotoSwipe, one page ---- */
  var grid = document.querySelector("main[data-viewer]");
  if (grid && grid.dataset.viewer && window.PhotoSwipe) {
    var vTotal = Number(grid.dataset.total), vPer = Number(grid.dataset.shardSize);
    var musicBox = document.getElementById("music"), music = Music(musicBox), pswp = null, opened = null, reopen = null;
    var VIEW = { id: 0, page: 1, image: 2, width: 3, height: 4, srcset: 5, title: 6, alt: 7, track: 8, quadrant: 9, why: 10, summary: 11, thumb: 12, seen: 13, moved: 14 };  /* site.VIEW_COLUMNS */
    var rowAt = function (i) {
      var rows = (window.GALLERY_SHARDS || {})["view-" + Math.floor(i / vPer)];
      return rows ? rows[i % vPer] : null;
    };
    var loadRow = function (i, done) { shard("view-" + Math.floor(i / vPer), function () { done(rowAt(i)); }); };
    var findIndex = function (id, done) {  /* a card of this page, else the shards in order */
      var cards = grid.querySelectorAll("a.card[data-id]");
      for (var c = 0; c < cards.length; c++) { if (cards[c].dataset.id === id) { done(Number(cards[c].dataset.index)); return; } }
      var count = Math.ceil(vTotal / vPer);
      (function scan(k) {
        if (k >= count) { done(-1); return; }
        shard("view-" + k, function (rows) {
          for (var j = 0; rows && j < rows.length; j++) { if (rows[j][VIEW.id] === id) { done(k * vPer + j); return; } }
          scan(k + 1);
        });
      })(0);
    };
    var barHeight = function () { var bar = document.querySelector(".pswp-bar"); return bar ? bar.offsetHeight : 88; };

    var bar = null;
    var buildBar = function (el) {
      el.innerHTML = "";
      function node(tag, cls, text) { var n = document.createElement(tag); if (cls) { n.className = cls; } if (text) { n.textContent = text; } el.appendChild(n); return n; }
      var text = node("div", "pswp-bar__text");
      var title = document.createElement("p"); title.className = "pswp-bar__title"; title.id = "viewer-title"; text.appendChild(title);
      var track = document.createElement("p"); track.className = "pswp-bar__track"; track.id = "viewer-track"; text.appendChild(track);
      var play = node("button", "pswp-bar__button pswp-bar__play", M("play_music"));
      play.type = "button";
      play.id = "viewer-play";
      play.setAttribute("aria-pressed", "false");
      var why = node("button", "pswp-bar__button pswp-bar__why", M("why_this_music"));
      why.type = "button";
      why.id = "viewer-why";
      why.setAttribute("aria-expanded", "false");
      why.setAttribute("aria-controls", "viewer-why-panel");
      node("span", "keys hint", M("hint_viewer"));
      var panel = node("div", "pswp-why");
      panel.id = "viewer-why-panel";
      panel.hidden = true;
      var whyText = document.createElement("p"); panel.appendChild(whyText);
      var summary = document.createElement("p"); summary.className = "summary"; panel.appendChild(summary);
      var moved = document.createElement("p"); panel.appendChild(moved);
      var seen = document.createElement("p"); panel.appendChild(seen);
      var more = document.createElement("a"); more.id = "viewer-details"; more.textContent = M("all_details"); panel.appendChild(more);
      play.addEventListener("click", function () { music.toggle(); showPlaying(); });
      why.addEventListener("click", function () {
        panel.hidden = !panel.hidden;
        why.setAttribute("aria-expanded", panel.hidden ? "false" : "true");
        if (pswp) { pswp.updateSize(true); }  /* the photo makes room for the reasons, and takes it back */
      });
      bar = { el: el, title: title, track: track, play: play, why: why, panel: panel, whyText: whyText, summary: summary, moved: moved, seen: seen, more: more };
    };
    var showPlaying = function () {
      if (!bar) { return; }
      var on = music.isOn();
      bar.play.textContent = on ? M("pause_music") : M("play_music");
      bar.play.setAttribute("aria-pressed", on ? "true" : "false");
    };
    var showRow = function (i) {
      var row = rowAt(i);
      if (!bar || !row) { return; }
      var track = trackOf(row[VIEW.track]);
      bar.title.textContent = row[VIEW.title];
      bar.track.textContent = trackLine(track);
      var stop = M("full_stop");
      bar.whyText.textContent = row[VIEW.why] ? M("why_prefix") + " " + row[VIEW.why] + stop : "";
      bar.summary.textContent = row[VIEW.summary] ? row[VIEW.summary] + stop : "";
      bar.moved.textContent = row[VIEW.moved] ? row[VIEW.moved] + stop : "";
      bar.seen.textContent = row[VIEW.seen] ? row[VIEW.seen] + stop : "";
      bar.more.href = row[VIEW.page];
      document.body.dataset.viewing = row[VIEW.id];
      music.want(track);
      showPlaying();
    };
    var address = function (id, push) {
      var url = window.location.pathname + window.location.search + (id ? "#" + id : "");
      try {
        if (push) { window.history.pushState({ viewer: id }, "", url); } else { window.history.replaceState(id ? { viewer: id } : null, "", url); }
      } catch (e) { /* some browsers refuse history on file://: the viewer works on without it */ }
    };
    var itemFor = function (i) {
      var row = rowAt(i);
      if (!row) {
        loadRow(i, function () { if (pswp) { pswp.refreshSlideContent(i); if (pswp.currIndex === i) { showRow(i); } } });
        return { html: "<div class=\"pswp-wait\"></div>" };
      }
      return { src: row[VIEW.image], srcset: row[VIEW.srcset] || undefined, width: row[VIEW.width], height: row[VIEW.height], alt: row[VIEW.alt], msrc: row[VIEW.thumb] };
    };
    var openAt = function (i, push) {
      if (i < 0 || i >= vTotal) { return; }
      if (pswp && pswp.isDestroying) { reopen = [i, push]; return; }  /* opens again once the closing one is gone */
      if (pswp) { pswp.goTo(i); return; }
      loadRow(i, function (row) {
        if (!row) { return; }
        opened = { pushed: push };
        pswp = new window.PhotoSwipe({
          dataSource: { length: vTotal },
          index: i,
          bgOpacity: 1,
          returnFocus: false,
          showHideAnimationType: reducedMotion ? "none" : "fade",
          preload: [1, 2],
          wheelToZoom: false,
          closeTitle: M("close"),
          zoomTitle: M("zoom"),
          arrowPrevTitle: M("previous_picture"),
          arrowNextTitle: M("next_picture"),
          errorMsg: M("image_error"),
          indexIndicatorSep: " / ",
          paddingFn: function () { return { top: 0, bottom: barHeight(), left: 0, right: 0 }; }
        });
        pswp.addFilter("itemData", function (data, index) { return itemFor(index); });
        pswp.on("uiRegister", function () {
          pswp.ui.registerElement({ name: "gallery-bar", appendTo: "root", order: 20, isButton: false, html: "", onInit: function (el) { el.className += " pswp-bar"; buildBar(el); } });
        });
        pswp.on("change", function () {
          var k = pswp.currIndex;
          loadRow(k, function () { showRow(k); });
          [k - 2, k - 1, k + 1, k + 2].forEach(function (n) { if (n >= 0 && n < vTotal) { loadRow(n, function () {}); } });
          var row = rowAt(k);
          if (row && opened && opened.ready) { address(row[VIEW.id], false); }  /* init's own change is the opening */
        });
        pswp.on("keydown", function (e) {
          var ev = e.originalEvent;
          if (ownsKeys(ev.target) && ev.key !== "Escape") { e.preventDefault(); }  /* a focused control keeps its keys */
        });
        pswp.on("openingAnimationEnd", function () { if (opened) { opened.shown = true; } });
        pswp.on("close", function () {
          var k = pswp.currIndex, row = rowAt(k), card = row && grid.querySelector("a.card[data-index=\"" + k + "\"]");
          music.pause();
          delete document.body.dataset.viewing;
          if (opened && opened.pushed) { opened = null; window.history.back(); } else { address("", false); }
          window.setTimeout(function () {  /* after PhotoSwipe has left: focus returns to the picture's card */
            var target = card || grid.querySelector("a.card");
            if (target) { target.focus(); if (target.scrollIntoView && card) { target.scrollIntoView({ block: "nearest" }); } }
          }, 0);
        });
        pswp.on("destroy", function () {
          pswp = null;
          bar = null;
          if (reopen) { var again = reopen; reopen = null; openAt(again[0], again[1]); }
        });
        pswp.init();
        pswp.element.setAttribute("aria-label", M("viewer_label"));
        showRow(i);
        address(row[VIEW.id], push);
        opened.ready = true;
      });
    };
    grid.addEventListener("click", function (ev) {
      var card = ev.target.closest && ev.target.closest("a.card[data-index]");
      if (!card || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) { return; }
      ev.preventDefault();
      openAt(Number(card.dataset.index), true);
    });
    var fromAddress = function () {
      var id = decodeURIComponent(window.location.hash.replace(/^#/, ""));
      if (!id) { if (pswp) { opened = null; pswp.close(); } return; }
      findIndex(id, function (i) { if (i >= 0) { openAt(i, false); } });
    };
    document.addEventListener("keydown", function (ev) {  /* Space plays or pauses, from the moment it opens */
      if (!pswp || ev.key !== " " || ev.altKey || ev.ctrlKey || ev.metaKey || ownsKeys(ev.target)) { return; }
      ev.preventDefault();
      music.toggle();
      showPlaying();
    });
    window.addEventListener("popstate", fromAddress);
    fromAddress();
    window.galleryViewer = { open: openAt, isOpen: function () { return !!(pswp && !pswp.isDestroying && opened && opened.shown); }, index: function () { return pswp ? pswp.currIndex : -1; } };
  }

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
      pointText.textContent = M("explore_point", { valence: v.toFixed(2), arousal: a.toFixed(2) });
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
        va.textContent = M("va", { valence: row[1].toFixed(2), arousal: row[2].toFixed(2) }) + (row[5] ? " · " + row[5] : "");
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
          none.textContent = M("no_audio_here");
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

  /* ---- slideshow: slides come from data/slides-N.js, loaded as the show reaches them ----
     slideshow.html#kiosk: one tap starts it full screen; it loops for ever, keeps the screen awake, hides its
     controls and the cursor when idle, and after a visitor's touch resumes by itself. */
  var showMain = document.querySelector("main.show");
  if (document.body.classList.contains("slideshow") && showMain) {
    var total = Number(showMain.dataset.total), perShard = Number(showMain.dataset.shardSize);
    var img = document.getElementById("show-image"), cap = document.getElementById("show-caption");
    var startBtn = document.getElementById("show-start"), pauseBtn = document.getElementById("show-pause");
    var interval = document.getElementById("show-interval"), loop = document.getElementById("show-loop");
    var index = -1, timer = null, paused = true, showMusic = Music(document.body);
    var kiosk = window.location.hash === "#kiosk", IDLE_MS = 3000, RESUME_MS = 30000, idleTimer = null, resumeTimer = null, wakeLock = null;

    var slide = function (i, done) {  /* row: file, image, alt, title, artist, audio, audio title, audio artist, track, picture title */
      shard("slides-" + Math.floor(i / perShard), function (rows) {
        var row = rows && rows[i % perShard];
        if (row) { done({ file: row[0], image: row[1], alt: row[2], title: row[3], artist: row[4], track: trackOf(row[8]), name: row[9] || row[0] }); }
        if ((i % perShard) > perShard - 5 && i + 5 < total) { shard("slides-" + (Math.floor(i / perShard) + 1), function () {}); }
      });
    };
    var go = function (i) {
      if (!total) { return; }
      if (i >= total) {
        if (!loop.checked && !kiosk) { pause(); return; }
        i = 0;
      }
      if (i < 0) { i = total - 1; }
      index = i;
      slide(i, function (im) {
        if (index !== i) { return; }  /* moved on while the shard loaded */
        if (img.getAttribute("src") !== im.image) { img.src = im.image; }
        img.alt = im.alt || im.file;
        cap.textContent = im.file + (im.title ? " — " + im.title + (im.artist ? " · " + im.artist : "") : "");
        if (im.name !== im.file) { cap.textContent = im.name + " (" + cap.textContent + ")"; }
        document.body.dataset.slide = String(i);
        showMusic.want(im.track);
        if (!paused) { schedule(); }
      });
    };
    var schedule = function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { go(index + 1); }, Number(interval.value) * 1000);
    };
    var awake = function () {  /* Wake Lock where the browser allows; it is released when the page is hidden */
      if (navigator.wakeLock && navigator.wakeLock.request && !wakeLock) {
        navigator.wakeLock.request("screen").then(function (lock) { wakeLock = lock; lock.addEventListener("release", function () { wakeLock = null; }); }, function () {});
      }
    };
    var start = function () {
      paused = false;
      window.clearTimeout(resumeTimer);
      startBtn.disabled = true;
      pauseBtn.disabled = false;
      showMusic.play();
      if (kiosk) { awake(); }
      go(index < 0 ? 0 : index);
    };
    var pause = function () {
      paused = true;
      window.clearTimeout(timer);
      showMusic.pause();
      startBtn.disabled = false;
      startBtn.textContent = M("resume");
      pauseBtn.disabled = true;
      say(M("slideshow_paused"));
      if (kiosk) { resumeLater(); }
    };
    var resumeLater = function () {  /* kiosk: a visitor's touch pauses or moves; the show goes on by itself */
      window.clearTimeout(resumeTimer);
      resumeTimer = window.setTimeout(function () { if (paused) { start(); } else { schedule(); } }, RESUME_MS);
    };
    var fullScreen = function () {
      var el = document.documentElement;
      if (!document.fullscreenElement && el.requestFullscreen) { el.requestFullscreen().catch(function () {}); }
    };
    startBtn.addEventListener("click", start);
    pauseBtn.addEventListener("click", pause);
    document.getElementById("show-fullscreen").addEventListener("click", fullScreen);
    document.getElementById("show-next").addEventListener("click", function () { go(index + 1); });
    document.getElementById("show-prev").addEventListener("click", function () { go(index - 1); });
    interval.addEventListener("change", function () { if (!paused) { schedule(); } });
    document.addEventListener("keydown", function (ev) {
      if (ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
      if (ownsKeys(ev.target)) { return; }
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
      var gate = document.getElementById("kiosk-start"), go1 = document.getElementById("kiosk-go");
      gate.hidden = false;
      go1.addEventListener("click", function () { gate.hidden = true; start(); fullScreen(); });  /* play first: full screen uses up the gesture */
      go1.focus();
      var active = function () {
        document.body.classList.remove("idle");
        window.clearTimeout(idleTimer);
        idleTimer = window.setTimeout(function () { document.body.classList.add("idle"); }, IDLE_MS);
      };
      ["pointermove", "pointerdown", "keydown"].forEach(function (type) { document.addEventListener(type, active, true); });
      document.addEventListener("pointerdown", function () { if (!paused) { resumeLater(); } }, true);
      document.addEventListener("visibilitychange", function () { if (document.visibilityState === "visible" && !paused) { awake(); } });
      active();
    }
    window.gallerySlideshow = { total: total, go: go, state: function () { return { index: index, paused: paused, kiosk: kiosk }; } };
    go(0);
  }
})();
