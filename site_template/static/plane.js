/* Exploring the feeling space on a picture's page (after shared.js and catalogue.js): a click, a
   drag or Shift + arrow keys on the plane list the five nearest tracks of the whole catalogue
   (window.CATALOGUE), playable where the gallery has their audio. The search is exact and ranks by
   (distance, catalogue order), as the Python index does: window.galleryNearest(v, a, k) gives the
   ids, for the browser test that compares both. */
(function (G) {
  "use strict";

  var cat = window.CATALOGUE, col = {};
  if (cat) { cat.columns.forEach(function (name, i) { col[name] = i; }); }

  /* the k nearest tracks to (v, a): rows of the catalogue */
  function nearest(v, a, k) {
    if (!cat) { return []; }
    var rows = cat.tracks, scored = [];
    for (var i = 0; i < rows.length; i++) {
      var dv = rows[i][col.valence] - v, da = rows[i][col.arousal] - a;
      scored.push([dv * dv + da * da, i]);
    }
    scored.sort(function (x, y) { return x[0] - y[0] || x[1] - y[1]; });
    return scored.slice(0, k).map(function (s) { return rows[s[1]]; });
  }
  window.galleryNearest = function (v, a, k) {
    return nearest(v, a, k).map(function (r) { return r[col.id]; });
  };

  var plane = document.getElementById("plane");
  if (!plane) { return; }
  var size = Number(plane.dataset.size), pad = Number(plane.dataset.pad), span = size - 2 * pad;
  var probe = document.getElementById("probe"), list = document.getElementById("explore-results");
  var pointText = document.getElementById("explore-point"), here = { v: 0, a: 0 }, dragging = false;
  var style = document.querySelector("link[rel=stylesheet]").getAttribute("href") || "";
  var root = style.replace("static/style.css", "");

  function clamp(x) { return Math.max(-1, Math.min(1, x)); }
  function track(row) {
    var li = document.createElement("li");
    li.dataset.id = row[col.id];
    var strong = document.createElement("strong");
    strong.textContent = row[col.title];
    li.appendChild(strong);
    li.appendChild(document.createTextNode(row[col.artist] ? " — " + row[col.artist] : ""));
    var va = document.createElement("span");
    va.className = "va";
    va.textContent = G.M("va", {
      valence: row[col.valence].toFixed(2), arousal: row[col.arousal].toFixed(2)
    }) + (row[col.genre] ? " · " + row[col.genre] : "");
    li.appendChild(va);
    if (row[col.audio]) {
      var audio = document.createElement("audio");
      audio.controls = true;
      audio.preload = "none";
      audio.src = root + row[col.audio];
      audio.dataset.title = row[col.title];
      audio.dataset.artist = row[col.artist] || "";
      li.appendChild(audio);
    } else {
      var none = document.createElement("span");
      none.className = "noaudio";
      none.textContent = G.M("no_audio_here");
      li.appendChild(none);
    }
    return li;
  }
  function show(v, a) {
    here = { v: v, a: a };
    probe.setAttribute("cx", String(pad + (v + 1) / 2 * span));
    probe.setAttribute("cy", String(pad + (1 - a) / 2 * span));
    pointText.textContent = G.M("explore_point", { valence: v.toFixed(2), arousal: a.toFixed(2) });
    while (list.firstChild) { list.removeChild(list.firstChild); }
    nearest(v, a, 5).forEach(function (row) { list.appendChild(track(row)); });
  }
  function fromEvent(ev) {
    var box = plane.getBoundingClientRect();
    var x = (ev.clientX - box.left) / box.width * size;
    var y = (ev.clientY - box.top) / box.height * size;
    show(clamp((x - pad) / span * 2 - 1), clamp(1 - (y - pad) / span * 2));
  }
  plane.setAttribute("tabindex", "0");
  plane.addEventListener("pointerdown", function (ev) { dragging = true; fromEvent(ev); });
  plane.addEventListener("pointermove", function (ev) { if (dragging) { fromEvent(ev); } });
  window.addEventListener("pointerup", function () { dragging = false; });
  plane.addEventListener("keydown", function (ev) {
    if (!ev.shiftKey) { return; }
    var step = 0.1, moves = {
      ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step]
    };
    if (moves[ev.key]) {
      ev.preventDefault();
      show(clamp(here.v + moves[ev.key][0]), clamp(here.a + moves[ev.key][1]));
    }
  });
  window.galleryExplore = show;
})(window.Gallery);
