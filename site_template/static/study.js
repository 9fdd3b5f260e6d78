/* The visitors' study (study.html, after shared.js and data/study.js; docs/study.md).

   A visit: the first screen, then for each of the visit's pictures two steps. Place: the picture
   and a pad whose point is two ARIA sliders (valence and arousal, -1..1); the arrow keys move the
   point (Shift: further), Enter places it; a click, a tap or a drag places it too. Rate: one
   excerpt per track the conditions picked, labelled A, B, C in an order shuffled per picture,
   each played from where its track stops being quiet for GALLERY_STUDY.excerpt seconds and rated
   by five radios named 1-5 (digits 1-5 rate the excerpt that has focus). Nothing says which
   condition chose which.

   Every judgement is written to localStorage as it is made, one key per judgement (a later one of
   the same thing replaces it), and so is the visit (its visitor id, pictures, step and excerpt
   order): a reload goes on where it stopped, losing at most the judgement being made. Each visit
   has a new random visitor id. A visit draws its pictures quadrant by quadrant in turn (the
   quadrants the gallery reads, in a shuffled order), from each the picture placed least often on
   this device (ties at random), so pictures are judged about equally often and the quadrants
   evenly. "Download my answers" writes the visitor's answers as JSON Lines (a Blob: no request).

   study.html#kiosk: visitor after visitor; without a touch for IDLE_MS (END_MS on the last
   screen) the visit ends, its answers kept, and the kiosk goes back to its slideshow.
   study.html#export, or a long press (LONG_PRESS_MS) on the heading: the curator's export of every
   answer kept on this device. window.galleryStudy.state(): where the visit is, for the tests. */
(function (G) {
  "use strict";

  var S = window.GALLERY_STUDY, main = document.querySelector("main.study");
  if (!S || !main) { return; }
  var M = G.M;
  var ANSWER = "gallery-study:", VISIT = "gallery-study-visit:" + S.gallery;
  var IDLE_MS = 120000, END_MS = 45000, LONG_PRESS_MS = 1500, STEP = 0.05, BIG = 0.25;
  var LABELS = "ABCDEFGHIJ";
  var kiosk = window.location.hash === "#kiosk";
  var byFile = {};
  S.pictures.forEach(function (p) { byFile[p.file] = p; });

  function $(id) { return document.getElementById(id); }
  var steps = {
    intro: $("study-intro"), place: $("study-place"), rate: $("study-rate"), end: $("study-end")
  };
  var pad = $("pad"), sliderV = $("pad-valence"), sliderA = $("pad-arousal");
  var dot = $("pad-point"), list = $("excerpts"), own = $("study-own");

  /* ---- storage: one key per judgement; a storage that refuses is said, never silent ---- */
  var store = null;
  try { store = window.localStorage; store.getItem(VISIT); } catch (e) { store = null; }
  function problem(text) {
    var p = $("study-problem");
    p.textContent = text;
    p.hidden = !text;
  }
  function put(key, value) {
    try { store.setItem(key, value); return true; } catch (e) {
      problem(M("study_storage_failed"));
      return false;
    }
  }
  function read(key) {
    var text = store ? store.getItem(key) : null;
    if (!text) { return null; }
    try { return JSON.parse(text); } catch (e) { return null; }
  }
  /* every answer kept on this device (of any gallery: answers are never lost by a rebuild), as
     [at, line, object], oldest first; keep(object) chooses */
  function answers(keep) {
    var out = [];
    for (var i = 0; store && i < store.length; i++) {
      var key = store.key(i);
      if (!key || key.indexOf(ANSWER) !== 0) { continue; }
      var text = store.getItem(key), obj = null;
      try { obj = JSON.parse(text); } catch (e) { continue; }
      if (obj && typeof obj === "object" && (!keep || keep(obj))) {
        out.push([String(obj.at || ""), text, obj]);
      }
    }
    out.sort(function (x, y) { return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] < y[1] ? -1 : 1; });
    return out;
  }

  /* ---- the visit: {visitor, files, i, step, orders: {file: [excerpt index, ...]}} ---- */
  var visit = null, point = { v: 0, a: 0, placed: false };
  function saveVisit() { if (visit) { put(VISIT, JSON.stringify(visit)); } }
  function randomId() {
    var bytes = new Uint8Array(8), hex = "";
    window.crypto.getRandomValues(bytes);
    for (var i = 0; i < bytes.length; i++) { hex += (bytes[i] + 256).toString(16).slice(1); }
    return "v-" + hex;
  }
  function shuffle(items) {
    var a = items.slice(), r = new Uint32Array(1);
    for (var i = a.length - 1; i > 0; i--) {
      window.crypto.getRandomValues(r);
      var j = r[0] % (i + 1), t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
  function key(picture, kind, condition) {
    return ANSWER + JSON.stringify([S.gallery, visit.visitor, picture, kind, condition || ""]);
  }
  function judgement(picture, kind, condition) { return read(key(picture, kind, condition)); }
  /* one judgement as the export writes it: gallery, visitor, picture, kind, [condition], fields,
     at */
  function record(picture, kind, condition, fields) {
    var line = { gallery: S.gallery, visitor: visit.visitor, picture: picture, kind: kind };
    if (condition) { line.condition = condition; }
    Object.keys(fields).forEach(function (k) { line[k] = fields[k]; });
    line.at = new Date().toISOString();
    if (put(key(picture, kind, condition), JSON.stringify(line))) {
      own.hidden = false;
      return true;
    }
    return false;
  }

  /* pictures for a visit: quadrant by quadrant in turn, the least placed first */
  function draw() {
    var placed = {}, groups = {};
    answers(function (o) { return o.gallery === S.gallery && o.kind === "place"; })
      .forEach(function (a) { placed[a[2].picture] = (placed[a[2].picture] || 0) + 1; });
    shuffle(S.pictures).forEach(function (p) {
      (groups[p.quadrant] = groups[p.quadrant] || []).push(p.file);
    });
    Object.keys(groups).forEach(function (q) {  /* a stable sort: ties stay shuffled */
      groups[q].sort(function (x, y) { return (placed[x] || 0) - (placed[y] || 0); });
    });
    var order = shuffle(Object.keys(groups)), chosen = [];
    var want = Math.min(S.size, S.pictures.length);
    while (chosen.length < want) {
      for (var k = 0; k < order.length && chosen.length < want; k++) {
        if (groups[order[k]].length) { chosen.push(groups[order[k]].shift()); }
      }
    }
    return shuffle(chosen);
  }
  function start() {
    visit = { visitor: randomId(), files: draw(), i: 0, step: "place", orders: {} };
    own.hidden = true;
    problem("");
    saveVisit();
    show(true);
  }
  function resume() {
    var kept = read(VISIT);
    if (!kept || !kept.visitor || !Array.isArray(kept.files) || !kept.files.length ||
        !kept.files.every(function (f) { return byFile[f]; }) ||
        ["place", "rate", "end"].indexOf(kept.step) < 0) { return false; }
    visit = kept;
    visit.orders = visit.orders || {};
    visit.i = Math.max(0, Math.min(Number(visit.i) || 0, visit.files.length - 1));
    own.hidden = !answers(function (o) {
      return o.gallery === S.gallery && o.visitor === visit.visitor;
    }).length;
    return true;
  }

  /* ---- the steps ---- */
  function picture() { return byFile[visit.files[visit.i]]; }
  function heading(id) {
    $(id).textContent = M("study_picture_of", { i: visit.i + 1, n: visit.files.length });
  }
  function image(id, p) {
    var img = $(id);
    if (img.getAttribute("src") !== p.image) { img.src = p.image; }
    img.alt = p.alt || p.file;
    img.width = p.width;
    img.height = p.height;
  }
  function show(focus) {
    var step = visit ? visit.step : "intro";
    Object.keys(steps).forEach(function (name) { steps[name].hidden = name !== step; });
    stopAll();
    if (step === "place") { showPlace(); }
    if (step === "rate") { showRate(); }
    document.body.dataset.step = step;
    if (focus) {
      var target = { intro: "study-start", place: "place-heading", rate: "rate-heading",
        end: "end-heading" }[step];
      $(target).focus();
    }
    idle();
  }
  function next() {
    if (visit.i + 1 < visit.files.length) {
      visit.i += 1;
      visit.step = "place";
    } else {
      visit.step = "end";
    }
    saveVisit();
    show(true);
  }

  /* place: the pad */
  function round(x) { return Math.round(Math.max(-1, Math.min(1, x)) * 100) / 100; }
  function word(value, low, high) {
    return value > 0 ? M(high) : value < 0 ? M(low) : M("study_neither");
  }
  function valueText(value, low, high) {
    var text = M("study_value", { value: value.toFixed(2), word: word(value, low, high) });
    return point.placed ? text : M("study_value_pending", { value: text });
  }
  function drawPoint() {
    dot.style.left = ((point.v + 1) / 2 * 100) + "%";
    dot.style.top = ((1 - point.a) / 2 * 100) + "%";
    dot.classList.toggle("placed", point.placed);
    sliderV.setAttribute("aria-valuenow", point.v.toFixed(2));
    sliderA.setAttribute("aria-valuenow", point.a.toFixed(2));
    sliderV.setAttribute("aria-valuetext", valueText(point.v, "axis_unpleasant", "axis_pleasant"));
    sliderA.setAttribute("aria-valuetext", valueText(point.a, "axis_calm", "axis_excited"));
  }
  function moveTo(v, a) {
    v = round(v);
    a = round(a);
    if (v !== point.v || a !== point.a) { point.placed = false; }
    point.v = v;
    point.a = a;
    drawPoint();
  }
  function place() {
    var p = picture();
    if (!record(p.file, "place", null, { valence: point.v, arousal: point.a })) { return; }
    point.placed = true;
    $("place-wait").hidden = true;
    drawPoint();
    G.say(M("study_placed", {
      valence: valueText(point.v, "axis_unpleasant", "axis_pleasant"),
      arousal: valueText(point.a, "axis_calm", "axis_excited")
    }));
  }
  function showPlace() {
    var p = picture(), kept = judgement(p.file, "place");
    heading("place-heading");
    image("place-image", p);
    point = kept ? { v: round(kept.valence), a: round(kept.arousal), placed: true }
      : { v: 0, a: 0, placed: false };
    $("place-wait").hidden = true;
    drawPoint();
  }
  function fromPointer(ev) {
    var box = pad.getBoundingClientRect();
    moveTo((ev.clientX - box.left) / box.width * 2 - 1,
      1 - (ev.clientY - box.top) / box.height * 2);
  }
  var dragging = false;
  pad.addEventListener("pointerdown", function (ev) {
    if (ev.button > 0) { return; }
    ev.preventDefault();
    dragging = true;
    if (pad.setPointerCapture) { pad.setPointerCapture(ev.pointerId); }
    fromPointer(ev);
  });
  pad.addEventListener("pointermove", function (ev) { if (dragging) { fromPointer(ev); } });
  pad.addEventListener("pointerup", function (ev) {
    if (!dragging) { return; }
    dragging = false;
    fromPointer(ev);
    place();
  });
  pad.addEventListener("pointercancel", function () { dragging = false; });
  [sliderV, sliderA].forEach(function (slider) {
    var axis = slider === sliderV ? "v" : "a";
    slider.addEventListener("keydown", function (ev) {
      if (ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
      var d = ev.shiftKey ? BIG : STEP, v = point.v, a = point.a;
      var set = function (x) { if (axis === "v") { v = x; } else { a = x; } };
      var get = axis === "v" ? v : a;
      switch (ev.key) {
        case "ArrowLeft": v -= d; break;
        case "ArrowRight": v += d; break;
        case "ArrowUp": a += d; break;
        case "ArrowDown": a -= d; break;
        case "PageUp": set(get + BIG); break;
        case "PageDown": set(get - BIG); break;
        case "Home": set(-1); break;
        case "End": set(1); break;
        case "Enter": ev.preventDefault(); place(); return;
        default: return;
      }
      ev.preventDefault();
      moveTo(v, a);
    });
  });
  $("place-next").addEventListener("click", function () {
    if (!point.placed) {
      $("place-wait").hidden = false;
      G.say(M("study_place_first"));
      sliderV.focus();
      return;
    }
    visit.step = "rate";
    saveVisit();
    show(true);
  });

  /* rate: the excerpts, in this visit's order for the picture */
  function excerpts(p) {
    var order = visit.orders[p.file];
    var whole = order && order.length === p.excerpts.length && order.every(function (k) {
      return p.excerpts[k];
    });
    if (!whole) {
      order = shuffle(p.excerpts.map(function (e, k) { return k; }));
      visit.orders[p.file] = order;
      saveVisit();
    }
    return order.map(function (k, j) { return { label: LABELS[j], excerpt: p.excerpts[k] }; });
  }
  function scoreOf(p, e) {
    var kept = judgement(p.file, "rate", e.conditions[0]);
    return kept && kept.track === e.track ? kept.score : null;
  }
  function rate(p, e, label, score) {
    var ok = true;
    e.conditions.forEach(function (c) {
      var fields = { track: e.track, score: score };
      if (e.conditions.length > 1) { fields.shared = e.conditions.slice(); }
      ok = record(p.file, "rate", c, fields) && ok;
    });
    if (ok) {
      $("rate-wait").hidden = true;
      G.say(M("study_rated", { label: label, score: score }));
    }
  }
  function excerptItem(p, item) {
    var e = item.excerpt, label = item.label, li = document.createElement("li");
    li.className = "excerpt";
    li.id = "excerpt-" + label;
    li.dataset.label = label;
    var name = document.createElement("h3");
    name.id = "excerpt-" + label + "-name";
    name.textContent = M("study_excerpt", { label: label });
    li.appendChild(name);
    var audio = document.createElement("audio");
    audio.preload = "none";
    audio.src = e.audio;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "play";
    button.textContent = M("study_play", { label: label });
    button.addEventListener("click", function () { toggle(li, audio, button, e, label); });
    audio.addEventListener("timeupdate", function () {
      if (audio.currentTime >= e.start + S.excerpt) { halt(audio, button, label); }
    });
    audio.addEventListener("ended", function () { halt(audio, button, label); });
    li.appendChild(button);
    var group = document.createElement("div");
    group.className = "scores";
    group.setAttribute("role", "radiogroup");
    group.setAttribute("aria-label", M("study_rate_group", { label: label }));
    var chosen = scoreOf(p, e);
    for (var s = 1; s <= 5; s++) {
      var box = document.createElement("label"), input = document.createElement("input");
      input.type = "radio";
      input.name = "score-" + label;
      input.value = String(s);
      input.checked = chosen === s;
      input.addEventListener("change", function (ev) {
        if (ev.target.checked) { rate(p, e, label, Number(ev.target.value)); }
      });
      box.appendChild(input);
      box.appendChild(document.createTextNode(String(s)));
      group.appendChild(box);
    }
    li.appendChild(group);
    li.appendChild(audio);
    return li;
  }
  function showRate() {
    var p = picture();
    heading("rate-heading");
    image("rate-image", p);
    p.fails.forEach(function (c) {  /* the paper's failure: this condition had nothing to offer */
      if (!judgement(p.file, "fail", c)) { record(p.file, "fail", c, {}); }
    });
    while (list.firstChild) { list.removeChild(list.firstChild); }
    excerpts(p).forEach(function (item) { list.appendChild(excerptItem(p, item)); });
    $("no-music").hidden = p.excerpts.length > 0;
    $("rate-wait").hidden = true;
  }
  function halt(audio, button, label) {
    if (!audio.paused) { audio.pause(); }
    button.textContent = M("study_play", { label: label });
  }
  function stopAll() {
    Array.prototype.forEach.call(list.querySelectorAll(".excerpt"), function (li) {
      halt(li.querySelector("audio"), li.querySelector("button.play"), li.dataset.label);
    });
  }
  function toggle(li, audio, button, e, label) {
    if (!audio.paused) { halt(audio, button, label); return; }
    stopAll();
    audio.currentTime = e.start;
    button.textContent = M("study_stop", { label: label });
    var playing = audio.play();
    if (playing && playing.catch) {
      playing.catch(function () { button.textContent = M("study_play", { label: label }); });
    }
  }
  /* digits 1-5 rate the excerpt that has focus (its button or one of its radios) */
  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey || !/^[1-5]$/.test(ev.key)) { return; }
    var li = document.activeElement && document.activeElement.closest &&
      document.activeElement.closest(".excerpt");
    if (!li || !visit || visit.step !== "rate") { return; }
    var input = li.querySelector("input[value='" + ev.key + "']");
    ev.preventDefault();
    if (document.activeElement.type === "radio") { input.focus(); }  /* as the arrow keys do */
    if (!input.checked) {
      input.checked = true;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
  $("rate-next").addEventListener("click", function () {
    var p = picture(), unrated = null;
    excerpts(p).forEach(function (item) {
      if (!unrated && scoreOf(p, item.excerpt) === null) { unrated = item.label; }
    });
    if (unrated) {
      $("rate-wait").hidden = false;
      G.say(M("study_rate_all"));
      $("excerpt-" + unrated).querySelector("button.play").focus();
      return;
    }
    next();
  });

  /* ---- downloads: JSON Lines from a Blob, never a request ---- */
  function download(lines, name) {
    var blob = new Blob([lines.map(function (a) { return a[1]; }).join("\n") + "\n"], {
      type: "application/x-ndjson"
    });
    var url = URL.createObjectURL(blob), a = document.createElement("a");
    a.href = url;
    a.download = name;
    a.hidden = true;
    document.body.appendChild(a);
    a.click();
    document.body.removeChild(a);
    window.setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }
  $("study-download").addEventListener("click", function () {
    if (!visit) { return; }
    download(answers(function (o) {
      return o.gallery === S.gallery && o.visitor === visit.visitor;
    }), "study-" + S.gallery + "-" + visit.visitor + ".jsonl");
  });
  function showExport() {
    var all = answers(), here = all.filter(function (a) { return a[2].gallery === S.gallery; });
    $("export-count").textContent = M("study_export_count", {
      lines: all.length, here: here.length
    });
    $("study-export").hidden = false;
  }
  $("study-export-all").addEventListener("click", function () {
    var stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
    download(answers(), "study-answers-" + S.gallery + "-" + stamp + ".jsonl");
    showExport();
  });
  var press = null;
  var heading1 = $("study-heading");
  heading1.addEventListener("pointerdown", function () {
    window.clearTimeout(press);
    press = window.setTimeout(showExport, LONG_PRESS_MS);
  });
  ["pointerup", "pointerleave", "pointercancel"].forEach(function (type) {
    heading1.addEventListener(type, function () { window.clearTimeout(press); });
  });
  window.addEventListener("hashchange", function () {
    if (window.location.hash === "#export") { showExport(); }
  });

  /* ---- the kiosk: back to the slideshow when nobody answers ---- */
  var idleTimer = null;
  function idle() {
    if (!kiosk) { return; }
    window.clearTimeout(idleTimer);
    idleTimer = window.setTimeout(function () {
      if (visit) {
        visit.step = "end";
        saveVisit();
      }
      window.location.href = "slideshow.html#kiosk";
    }, visit && visit.step !== "end" ? IDLE_MS : END_MS);
  }
  if (kiosk) {
    document.body.classList.add("kiosk-study");
    $("study-leave").hidden = true;
    ["pointerdown", "keydown"].forEach(function (type) {
      document.addEventListener(type, idle, true);
    });
  }

  $("study-start").addEventListener("click", start);
  $("study-again").addEventListener("click", start);
  if (!store) {
    problem(M("study_storage_off"));
    $("study-start").disabled = true;
  } else if (!S.pictures.length) {  /* no picture of the gallery could be written */
    $("study-start").disabled = true;
  } else if (resume() && !(kiosk && visit.step === "end")) {
    if (visit.step !== "end") { G.say(M("study_resumed")); }
  } else {
    visit = null;
  }
  show(false);
  if (window.location.hash === "#export") { showExport(); }

  window.galleryStudy = {
    state: function () {
      return {
        step: visit ? visit.step : "intro",
        visitor: visit ? visit.visitor : null,
        picture: visit && visit.step !== "end" ? visit.files[visit.i] : null,
        index: visit ? visit.i : -1,
        pictures: visit ? visit.files.slice() : [],
        point: { valence: point.v, arousal: point.a, placed: point.placed },
        kiosk: kiosk
      };
    }
  };
})(window.Gallery);
