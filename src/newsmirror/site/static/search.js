/* newsmirror search: loads index shards as <script> files, so it also works from file://.
   Tokenising must match textutil.search_tokens: the query NFKC-normalised, lower-cased
   and folded to simplified script (window.nmFold, from scriptfold.js: the table the
   index was folded with), then CJK bigrams (one CJK char alone is a unigram), and other
   letters/digits as words. */
(function () {
  "use strict";
  var M = window.nmSearchManifest;
  var shards = {}, docs = {}, loading = {};
  window.nmSearchShard = function (seg, i, data) { shards[seg + "/" + i] = data; };
  window.nmSearchDocs = function (k, rows) { docs[k] = rows; };

  // util/text.py's SEARCH_CJK (tests/util/test_text.py checks this copy).
  function isCJK(c) {
    return (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) ||
      (c >= 0xf900 && c <= 0xfaff) || (c >= 0x3040 && c <= 0x30ff) || (c >= 0xac00 && c <= 0xd7af);
  }
  var WORD = /[\p{L}\p{N}]/u, DIGITS = /^\p{Nd}+$/u, FOLD = window.nmFold || new Map();

  function fold(s) {
    var out = "";
    for (var ch of s) out += FOLD.get(ch) || ch;
    return out;
  }

  function tokens(q) {
    var out = new Set(), cjk = [], word = "";
    function flushCJK() {
      if (cjk.length === 1) out.add(cjk[0]);
      for (var i = 0; i + 1 < cjk.length; i++) out.add(cjk[i] + cjk[i + 1]);
      cjk = [];
    }
    function flushWord() {
      if (word.length > 1 || DIGITS.test(word)) out.add(word);
      word = "";
    }
    for (var ch of fold(q.normalize("NFKC").toLowerCase())) {
      var c = ch.codePointAt(0);
      if (isCJK(c)) { flushWord(); cjk.push(ch); }
      else if (WORD.test(ch)) { flushCJK(); word += ch; }
      else { flushCJK(); flushWord(); }
    }
    flushCJK(); flushWord();
    return Array.from(out);
  }

  function fnv1a(s) {
    var h = 0x811c9dc5;
    for (var ch of s) { h = Math.imul(h ^ ch.codePointAt(0), 16777619) >>> 0; }
    return h;
  }

  function load(src) {
    if (!loading[src]) {
      loading[src] = new Promise(function (resolve) {
        var el = document.createElement("script");
        el.src = src + "?v=" + M.v;
        el.onload = el.onerror = function () { resolve(); };
        document.head.appendChild(el);
      });
    }
    return loading[src];
  }

  function decode(gaps) {
    var ids = [], last = 0;
    gaps.split(",").forEach(function (g, i) { last = i ? last + Number(g) : Number(g); ids.push(last); });
    return ids;
  }

  async function search(q) {
    var terms = tokens(q), found = new Set();
    if (!terms.length) return [];
    var tomb = new Set(M.tomb);
    for (var seg of M.segments) {
      var files = terms.map(function (t) { return seg.name + "/" + (fnv1a(t) % seg.shards); });
      await Promise.all(files.map(function (f) { return load("search/" + f + ".js"); }));
      var hit = null;
      terms.forEach(function (t, i) {
        var gaps = (shards[files[i]] || {})[t];
        var ids = new Set(gaps ? decode(gaps) : []);
        hit = hit === null ? ids : new Set([...hit].filter(function (x) { return ids.has(x); }));
      });
      hit.forEach(function (id) { if (seg.name !== "main" || !tomb.has(id)) found.add(id); });
    }
    var ids = Array.from(found).sort(function (a, b) { return b - a; }).slice(0, 300);
    var chunks = new Set(ids.map(function (id) { return Math.floor(id / M.docChunk); }));
    await Promise.all(Array.from(chunks).map(function (k) { return load("search/docs/" + k + ".js"); }));
    var lower = fold(q.normalize("NFKC").toLowerCase());
    return ids.map(function (id) { var r = (docs[Math.floor(id / M.docChunk)] || [])[id % M.docChunk]; return r || null; })
      .filter(Boolean)
      .sort(function (a, b) {
        var ta = fold(a[0].normalize("NFKC").toLowerCase()).indexOf(lower) >= 0,
          tb = fold(b[0].normalize("NFKC").toLowerCase()).indexOf(lower) >= 0;
        return ta !== tb ? (ta ? -1 : 1) : (a[2] < b[2] ? 1 : a[2] > b[2] ? -1 : 0);
      });
  }

  function show(results, q) {
    var list = document.getElementById("search-results"), status = document.getElementById("search-status");
    list.textContent = "";
    status.textContent = results.length ? results.length + " " + status.dataset.results : status.dataset.none;
    results.slice(0, 100).forEach(function (r) {
      var li = document.createElement("li"), a = document.createElement("a"), meta = document.createElement("span");
      a.href = encodeURI(r[1]); a.textContent = r[0]; li.lang = r[4];
      meta.className = "meta"; meta.textContent = r[3] + " · " + r[2];
      li.appendChild(a); li.appendChild(meta); list.appendChild(li);
    });
  }

  var input = document.getElementById("q");
  var q = new URLSearchParams(location.search).get("q") || "";
  if (input && M) {
    input.value = q;
    if (q) {
      document.getElementById("search-status").textContent = document.getElementById("search-status").dataset.loading;
      search(q).then(function (r) { show(r, q); });
    }
  }
  window.nmSearch = search;
  window.nmSearchTokens = tokens;
})();
