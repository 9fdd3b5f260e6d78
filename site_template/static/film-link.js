/* "Download the film" on the index (after shared.js and film.js), when `builder film` wrote a film
   into this gallery: film.js then sets window.GALLERY_FILM to its {href, size, duration}. */
(function (G) {
  "use strict";

  var film = window.GALLERY_FILM, actions = document.querySelector(".index .actions");
  if (!film || !film.href || !actions) { return; }
  var link = document.createElement("a");
  link.href = film.href;
  link.id = "download-film";
  link.setAttribute("download", "");
  var secs = Math.round(film.duration || 0);
  link.textContent = G.M("download_film", {
    length: Math.floor(secs / 60) + ":" + ("0" + secs % 60).slice(-2),
    mb: Math.max(1, Math.round(film.size / 1048576))
  });
  actions.appendChild(document.createTextNode(" "));
  actions.appendChild(link);
})(window.Gallery);
