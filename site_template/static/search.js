/* Searching the index by title or file name (after shared.js and data/columns.js): the name shards
   (data/names-N.js) are read on the first search, one after another; the first MAX_SHOWN matches
   are listed with their thumbnails. */
(function (G) {
  "use strict";

  var form = document.getElementById("search-form");
  if (!form) { return; }
  var box = document.getElementById("search"), status = document.getElementById("search-status");
  var results = document.getElementById("search-results"), shards = Number(form.dataset.shards);
  var MAX_SHOWN = 60, generation = 0, name = G.columns("names");

  function found(n, query) {
    if (!n) { return G.M("search_none", { query: query }); }
    var more = n > MAX_SHOWN ? " " + G.M("search_first_shown", { n: MAX_SHOWN }) : "";
    return G.MN("search_found", n, { query: query }) + more;
  }
  function result(row) {
    var li = document.createElement("li"), a = document.createElement("a");
    var img = document.createElement("img");
    a.href = name(row, "page");
    img.src = name(row, "thumb");
    img.alt = "";
    img.loading = "lazy";
    a.appendChild(img);
    var label = document.createElement("span");
    label.textContent = name(row, "title");
    label.setAttribute("translate", "no");  /* a title is the curator's words */
    a.appendChild(label);
    li.appendChild(a);
    return li;
  }
  function search() {
    var query = box.value.trim().toLowerCase(), mine = ++generation, count = 0;
    while (results.firstChild) { results.removeChild(results.firstChild); }
    if (!query) { status.textContent = ""; return; }
    function take(k) {
      if (mine !== generation) { return; }  /* a newer search started */
      if (k >= shards) { status.textContent = found(count, box.value.trim()); return; }
      status.textContent = G.M("searching", { percent: Math.round(100 * k / shards) });
      G.shard("names-" + k, function (rows) {
        if (mine !== generation) { return; }
        (rows || []).forEach(function (row) {
          var named = (name(row, "title") + "\n" + name(row, "file")).toLowerCase();
          if (named.indexOf(query) < 0) { return; }
          count += 1;
          if (count <= MAX_SHOWN) { results.appendChild(result(row)); }
        });
        take(k + 1);
      });
    }
    take(0);
  }
  form.addEventListener("submit", function (ev) { ev.preventDefault(); });
  var debounce = null;
  box.addEventListener("input", function () {
    window.clearTimeout(debounce);
    debounce = window.setTimeout(search, 200);
  });
})(window.Gallery);
