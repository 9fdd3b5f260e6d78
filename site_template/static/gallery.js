/* Classic script (no modules, no fetch): works from file:// and any static host. */
(function () {
  "use strict";
  var pager = document.querySelector("nav.pager");
  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    var tag = (ev.target && ev.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA") return;
    if (!pager) return;
    if (ev.key === "ArrowLeft" && pager.dataset.prev) {
      window.location.href = pager.dataset.prev;
    } else if (ev.key === "ArrowRight" && pager.dataset.next) {
      window.location.href = pager.dataset.next;
    } else if (ev.key === "Escape") {
      window.location.href = document.getElementById("to-index").getAttribute("href");
    }
  });
})();
