/* A gallery built with --kiosk: its index opens on the slideshow in kiosk mode (slideshow.js),
   unless the address names a picture to show. Only such a gallery's index loads it, first. */
(function () {
  "use strict";

  if (document.body.dataset.kiosk && !window.location.hash) {
    window.location.replace(document.body.dataset.kiosk);
  }
})();
