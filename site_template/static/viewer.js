/* The index's in-page viewer (after shared.js, data/columns.js, PhotoSwipe and music.js):
   every picture of the gallery, in gallery order (data/view-N.js, loaded as it reaches them), in
   one page; the music flows from picture to picture (music.js). The address follows the picture
   (index.html#<id>); Back closes it, Forward reopens it; Esc gives focus back to its card.
   window.galleryViewer: open(i, push), isOpen(), index(), for the browser tests. */
(function (G) {
  "use strict";

  var grid = document.querySelector("main[data-viewer]");
  if (!grid || !grid.dataset.viewer || !window.PhotoSwipe) { return; }
  var M = G.M, view = G.columns("view");
  var total = Number(grid.dataset.total), perShard = Number(grid.dataset.shardSize);
  var music = G.Music(document.getElementById("music")), pswp = null, opened = null, reopen = null;
  var bar = null;

  function rowAt(i) {
    var rows = (window.GALLERY_SHARDS || {})["view-" + Math.floor(i / perShard)];
    return rows ? rows[i % perShard] : null;
  }
  function loadRow(i, done) {
    G.shard("view-" + Math.floor(i / perShard), function () { done(rowAt(i)); });
  }
  function findIndex(id, done) {  /* a card of this page, else the shards in order */
    var cards = grid.querySelectorAll("a.card[data-id]");
    for (var c = 0; c < cards.length; c++) {
      if (cards[c].dataset.id === id) { done(Number(cards[c].dataset.index)); return; }
    }
    var count = Math.ceil(total / perShard);
    (function scan(k) {
      if (k >= count) { done(-1); return; }
      G.shard("view-" + k, function (rows) {
        for (var j = 0; rows && j < rows.length; j++) {
          if (view(rows[j], "id") === id) { done(k * perShard + j); return; }
        }
        scan(k + 1);
      });
    })(0);
  }
  function barHeight() {
    var el = document.querySelector(".pswp-bar");
    return el ? el.offsetHeight : 88;
  }

  /* ---- the bar under the photo: title, playing track, play/pause, and why this music ---- */
  function buildBar(el) {
    el.innerHTML = "";
    function node(parent, tag, cls, text) {
      var n = document.createElement(tag);
      if (cls) { n.className = cls; }
      if (text) { n.textContent = text; }
      parent.appendChild(n);
      return n;
    }
    var text = node(el, "div", "pswp-bar__text");
    var title = node(text, "p", "pswp-bar__title");
    title.id = "viewer-title";
    title.setAttribute("translate", "no");  /* the curator's words */
    var caption = node(text, "p", "pswp-bar__caption");
    caption.id = "viewer-caption";
    caption.setAttribute("translate", "no");
    var track = node(text, "p", "pswp-bar__track");
    track.id = "viewer-track";
    track.setAttribute("translate", "no");
    var play = node(el, "button", "pswp-bar__button pswp-bar__play", M("play_music"));
    play.type = "button";
    play.id = "viewer-play";
    play.setAttribute("aria-pressed", "false");
    var why = node(el, "button", "pswp-bar__button pswp-bar__why", M("why_this_music"));
    why.type = "button";
    why.id = "viewer-why";
    why.setAttribute("aria-expanded", "false");
    why.setAttribute("aria-controls", "viewer-why-panel");
    node(el, "span", "keys hint", M("hint_viewer"));
    var panel = node(el, "div", "pswp-why");
    panel.id = "viewer-why-panel";
    panel.hidden = true;
    var whyText = node(panel, "p");
    var summary = node(panel, "p", "summary");
    var moved = node(panel, "p");
    var seen = node(panel, "p");
    var more = node(panel, "a", "", M("all_details"));
    more.id = "viewer-details";
    play.addEventListener("click", function () { music.toggle(); showPlaying(); });
    why.addEventListener("click", function () {
      panel.hidden = !panel.hidden;
      why.setAttribute("aria-expanded", panel.hidden ? "false" : "true");
      if (pswp) { pswp.updateSize(true); }  /* the photo makes room for the reasons, and back */
    });
    bar = {
      title: title, caption: caption, track: track, play: play, whyText: whyText, summary: summary, moved: moved,
      seen: seen, more: more
    };
  }
  /* what the classifier saw: its labels as it names them, in English (marked so) */
  function showSeen(el, labels) {
    el.textContent = "";
    if (!labels.length) { return; }
    el.appendChild(document.createTextNode(M("classifier_saw") + " "));
    labels.forEach(function (label, k) {
      var span = document.createElement("span");
      span.lang = "en";
      span.textContent = label;
      if (k) { el.appendChild(document.createTextNode(M("list_join"))); }
      el.appendChild(span);
    });
    el.appendChild(document.createTextNode(M("full_stop")));
  }
  function showPlaying() {
    if (!bar) { return; }
    var on = music.isOn();
    bar.play.textContent = on ? M("pause_music") : M("play_music");
    bar.play.setAttribute("aria-pressed", on ? "true" : "false");
  }
  function showRow(i) {
    var row = rowAt(i);
    if (!bar || !row) { return; }
    var track = G.trackOf(view(row, "track")), stop = M("full_stop");
    function sentence(cell) { return cell ? cell + stop : ""; }
    bar.title.textContent = view(row, "title");
    bar.caption.textContent = view(row, "caption") || "";
    bar.caption.hidden = !view(row, "caption");
    bar.track.textContent = G.trackLine(track);
    var why = view(row, "why");
    bar.whyText.textContent = why ? M("why_prefix") + " " + sentence(why) : "";
    bar.summary.textContent = sentence(view(row, "summary"));
    bar.moved.textContent = sentence(view(row, "moved"));
    showSeen(bar.seen, view(row, "seen") || []);
    bar.more.href = view(row, "page");
    document.body.dataset.viewing = view(row, "id");
    music.want(track);
    showPlaying();
  }

  /* ---- the address: index.html#<id> names the open picture ---- */
  function address(id, push) {
    var url = window.location.pathname + window.location.search + (id ? "#" + id : "");
    try {
      if (push) {
        window.history.pushState({ viewer: id }, "", url);
      } else {
        window.history.replaceState(id ? { viewer: id } : null, "", url);
      }
    } catch (e) { /* some browsers refuse history on file://: the viewer works on without it */ }
  }
  function hashId() {  /* any address survives: a hash that is no picture's id opens nothing */
    var raw = window.location.hash.replace(/^#/, "");
    if (raw.length > 512) { return ""; }  /* no id is that long */
    try { return decodeURIComponent(raw); } catch (e) { return raw; }  /* "#%": not encoded */
  }
  function fromAddress() {
    var id = hashId();
    if (!id) { if (pswp) { opened = null; pswp.close(); } return; }
    findIndex(id, function (i) { if (i >= 0) { openAt(i, false); } });
  }

  /* ---- PhotoSwipe over every picture ---- */
  function itemFor(i) {
    var row = rowAt(i);
    if (!row) {
      loadRow(i, function () {
        if (pswp) { pswp.refreshSlideContent(i); if (pswp.currIndex === i) { showRow(i); } }
      });
      return { html: "<div class=\"pswp-wait\"></div>" };
    }
    return {
      src: view(row, "image"), srcset: view(row, "srcset") || undefined,
      width: view(row, "width"), height: view(row, "height"), alt: view(row, "alt"),
      msrc: view(row, "thumb")
    };
  }
  function listen() {
    pswp.addFilter("itemData", function (data, index) { return itemFor(index); });
    pswp.on("uiRegister", function () {
      pswp.ui.registerElement({
        name: "gallery-bar", appendTo: "root", order: 20, isButton: false, html: "",
        onInit: function (el) { el.className += " pswp-bar"; buildBar(el); }
      });
    });
    pswp.on("change", function () {
      var k = pswp.currIndex;
      loadRow(k, function () { showRow(k); });
      [k - 2, k - 1, k + 1, k + 2].forEach(function (n) {
        if (n >= 0 && n < total) { loadRow(n, function () {}); }
      });
      var row = rowAt(k);
      /* init's own change is the opening */
      if (row && opened && opened.ready) { address(view(row, "id"), false); }
    });
    pswp.on("keydown", function (e) {  /* a focused control keeps its keys */
      var ev = e.originalEvent;
      if (G.ownsKeys(ev.target) && ev.key !== "Escape") { e.preventDefault(); }
    });
    pswp.on("openingAnimationEnd", function () { if (opened) { opened.shown = true; } });
    pswp.on("close", function () {
      var k = pswp.currIndex, row = rowAt(k);
      var card = row && grid.querySelector("a.card[data-index=\"" + k + "\"]");
      music.pause();
      delete document.body.dataset.viewing;
      if (opened && opened.pushed) {
        opened = null;
        window.history.back();
      } else {
        address("", false);
      }
      window.setTimeout(function () {  /* after PhotoSwipe has left: focus returns to the card */
        var target = card || grid.querySelector("a.card");
        if (target) {
          target.focus();
          if (target.scrollIntoView && card) { target.scrollIntoView({ block: "nearest" }); }
        }
      }, 0);
    });
    pswp.on("destroy", function () {
      pswp = null;
      bar = null;
      if (reopen) { var again = reopen; reopen = null; openAt(again[0], again[1]); }
    });
  }
  function openAt(i, push) {
    if (i < 0 || i >= total) { return; }
    /* opens again once the closing one is gone */
    if (pswp && pswp.isDestroying) { reopen = [i, push]; return; }
    if (pswp) { pswp.goTo(i); return; }
    loadRow(i, function (row) {
      if (!row) { return; }
      opened = { pushed: push };
      pswp = new window.PhotoSwipe({
        dataSource: { length: total },
        index: i,
        bgOpacity: 1,
        returnFocus: false,
        showHideAnimationType: G.reducedMotion ? "none" : "fade",
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
      listen();
      pswp.init();
      pswp.element.setAttribute("aria-label", M("viewer_label"));
      showRow(i);
      address(view(row, "id"), push);
      opened.ready = true;
    });
  }

  grid.addEventListener("click", function (ev) {
    var card = ev.target.closest && ev.target.closest("a.card[data-index]");
    if (!card || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) {
      return;
    }
    ev.preventDefault();
    openAt(Number(card.dataset.index), true);
  });
  document.addEventListener("keydown", function (ev) {  /* Space plays or pauses, from the start */
    if (!pswp || ev.key !== " " || ev.altKey || ev.ctrlKey || ev.metaKey || G.ownsKeys(ev.target)) {
      return;
    }
    ev.preventDefault();
    music.toggle();
    showPlaying();
  });
  window.addEventListener("popstate", fromAddress);
  fromAddress();
  window.galleryViewer = {
    open: openAt,
    isOpen: function () { return !!(pswp && !pswp.isDestroying && opened && opened.shown); },
    index: function () { return pswp ? pswp.currIndex : -1; }
  };
})(window.Gallery);
