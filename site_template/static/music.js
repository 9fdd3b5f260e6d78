/* Music that flows, for the viewer and the slideshow (after shared.js): one track at a time,
   crossfading to the next; the same track plays on. Adds to window.Gallery:
     Music(box)       a player whose audio elements sit in box (data-managed): want(track), play(),
                      pause(), toggle(), isOn()
     trackOf(cell)    a data row's "track" cell ({id, title, artist, licence, audio, start}) or null
     trackLine(track) the track in one line: title, artist, licence */
(function (G) {
  "use strict";

  var FADE_MS = 1500;

  function Music(box) {
    var current = null, currentId = null, wanted = null, on = false;
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
        el.addEventListener("loadedmetadata", function () {
          if (el.currentTime < at && at < el.duration) { el.currentTime = at; }
        });
      }
      el.src = track.audio;
      box.appendChild(el);
      var p = el.play();
      if (p && p.catch) { p.catch(function () {}); }
      ramp(el, 1, FADE_MS);
      var title = (track.title || "") + (track.artist ? " — " + track.artist : "");
      G.say(G.M("now_playing", { title: title }));
      return el;
    }
    function sound() {
      var track = wanted;
      if (track && current && currentId === track.id) {  /* the same track: it plays on */
        if (current.paused) {
          var p = current.play();
          if (p && p.catch) { p.catch(function () {}); }
        }
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
        G.say(G.M("paused"));
      },
      toggle: function () { if (on) { this.pause(); } else { this.play(); } return on; },
      isOn: function () { return on; }
    };
  }

  var cell = null;  /* read once data/columns.js is there: pages without music never ask */
  function trackOf(row) {
    if (!row) { return null; }
    cell = cell || G.columns("track");
    return {
      id: cell(row, "id"), title: cell(row, "title"), artist: cell(row, "artist"),
      licence: cell(row, "licence"), audio: cell(row, "audio"), start: cell(row, "start")
    };
  }
  function trackLine(track) {
    if (!track) { return G.M("no_audio"); }
    var line = G.M("track_line", { title: track.title, artist: track.artist || "" });
    return line.replace(/ — $/, "") + (track.licence ? " · " + track.licence : "");
  }

  G.Music = Music;
  G.trackOf = trackOf;
  G.trackLine = trackLine;
})(window.Gallery);
