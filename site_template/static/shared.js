/* What the scripts of every feature share. Each feature is a classic script of its own in static/
   (no modules, no fetch: they work from file:// and from any static host, under the pages' security
   policy); a page loads only those it uses, after static/messages.js (window.GALLERY_MESSAGES, the
   visitor's words in the gallery's language) and this one, which sets window.Gallery:
     M(key, values), MN(key, n, values)  a message in the gallery's language (MN: by the number)
     say(text)        announced through the page's aria-live region
     ownsKeys(el)     whether a focused control keeps the arrow keys and Space
     reducedMotion    the visitor asked for less motion
     shard(name, done)  a data shard (data/<name>.js, a classic script), loaded once
     columns(kind)    reads a data row's cells by column name (data/columns.js) */
(function () {
  "use strict";

  var announce = document.getElementById("announce");
  function say(text) { if (announce) { announce.textContent = text; } }

  /* ---- words: M(key, {name: value}) from the gallery's message catalogue ---- */
  var MESSAGES = window.GALLERY_MESSAGES || {};
  function M(key, values) {
    var text = Object.prototype.hasOwnProperty.call(MESSAGES, key) ? MESSAGES[key] : key;
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return values && name in values ? String(values[name]) : all;
    });
  }
  function MN(key, n, values) {
    var v = values || {};
    v.n = n;
    return M(key + (n === 1 ? "_one" : "_other"), v);
  }
  var reducedMotion = !!(window.matchMedia &&
    window.matchMedia("(prefers-reduced-motion: reduce)").matches);

  /* ---- keys yield to focused controls: arrows and Space in a player, a button, a field ---- */
  function ownsKeys(el) {
    if (!el || !el.tagName) { return false; }
    if (el.classList && el.classList.contains("pswp__button")) { return false; }  /* the viewer's */
    return /^(AUDIO|VIDEO|BUTTON|SELECT|INPUT|TEXTAREA|SUMMARY)$/.test(el.tagName) ||
      el.isContentEditable;
  }

  /* ---- shards: a classic script that sets window.GALLERY_SHARDS[name]; loaded once ---- */
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

  /* ---- columns: a shard's rows are arrays; data/columns.js names their cells, by kind ----
     columns("view")(row, "title") is the row's title; a name the data does not have is an error. */
  function columns(kind) {
    var names = (window.GALLERY_COLUMNS || {})[kind], at = {};
    if (!names) { throw new Error("no columns of " + kind + " in data/columns.js"); }
    names.forEach(function (name, i) { at[name] = i; });
    return function (row, name) {
      if (!Object.prototype.hasOwnProperty.call(at, name)) {
        throw new Error(kind + " has no column " + name);
      }
      return row ? row[at[name]] : undefined;
    };
  }

  window.Gallery = {
    M: M, MN: MN, say: say, ownsKeys: ownsKeys, reducedMotion: reducedMotion, shard: shard,
    columns: columns
  };
})();
