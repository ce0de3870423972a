/* newsmirror: the 繁/简 switch. Converts the page's Chinese text in the browser
   with OpenCC's tables (opencc-s2t.js, opencc-t2s.js: loaded on first use, as
   scripts, so that it works over file:// too) and remembers the choice
   (localStorage). Text is converted by the script its element says it is in
   (lang="zh-Hans" / "zh-Hant"); choosing the pressed button again shows the
   page as written. */
(function () {
  "use strict";
  var KEY = "newsmirror-script";
  var base = document.currentScript.src.replace(/[^\/]*$/, "");
  var SKIP = { SCRIPT: 1, STYLE: 1, NOSCRIPT: 1, TEXTAREA: 1, CODE: 1, PRE: 1, KBD: 1, SAMP: 1 };
  var ATTRS = ["title", "alt", "placeholder", "aria-label"];
  var TAGS = { hant: "zh-Hant", hans: "zh-Hans" };
  var COMPAT = /[\uf900-\ufaff]|\ud87e[\udc00-\ude1f]/;  // compatibility ideographs: normalised first
  var tables = {}, waiting = {};
  var texts = new Map();   // Text node -> its text as written
  var attrs = new Map();   // Element -> {attribute: value as written}
  var title = document.title;
  var current = "";        // "", "hant" or "hans": what the page shows
  var observer = null, group = null;

  // OpenCC's conversion: at each position the longest phrase that matches,
  // else the character's first candidate (after normalising compatibility
  // ideographs). Phrases are grouped by first character, and a group's map is
  // made when the page first has that character.
  function Table(normFrom, normTo, charsFrom, charsTo, heads, sections) {
    this.norm = pairs(normFrom, normTo);
    this.chars = pairs(charsFrom, charsTo);
    this.groups = new Map();
    var h = Array.from(heads), s = sections.split("\n");
    for (var i = 0; i < h.length; i++) this.groups.set(h[i], s[i]);
  }

  function pairs(from, to) {
    var map = new Map(), f = Array.from(from), t = Array.from(to);
    for (var i = 0; i < f.length; i++) map.set(f[i], t[i]);
    return map;
  }

  Table.prototype.group = function (head) {
    var g = this.groups.get(head);
    if (typeof g !== "string") return g;  // undefined: no phrase starts with it
    var map = new Map(), sizes = [], list = g.split("|"), i, space, key;
    for (i = 0; i < list.length; i++) {
      space = list[i].indexOf(" ");
      key = list[i].slice(0, space);
      map.set(key, list[i].slice(space + 1));
      if (sizes.indexOf(key.length) < 0) sizes.push(key.length);
    }
    sizes.sort(function (a, b) { return b - a; });
    g = { map: map, sizes: sizes };
    this.groups.set(head, g);
    return g;
  };

  Table.prototype.convert = function (text) {
    if (this.norm.size && COMPAT.test(text)) {
      text = Array.from(text, function (c) { return this.norm.get(c) || c; }, this).join("");
    }
    var out = [], i = 0, n = text.length, ch, code, g, k, size, value;
    outer: while (i < n) {
      code = text.charCodeAt(i);
      ch = code >= 0xd800 && code < 0xdc00 && i + 1 < n ? text.substr(i, 2) : text.charAt(i);
      if ((g = this.group(ch))) {
        for (k = 0; k < g.sizes.length; k++) {
          size = g.sizes[k];
          if (size > n - i) continue;
          value = g.map.get(text.substr(i, size));
          if (value !== undefined) { out.push(value); i += size; continue outer; }
        }
      }
      value = code >= 0x3400 ? this.chars.get(ch) : undefined;
      out.push(value === undefined ? ch : value);
      i += ch.length;
    }
    return out.join("");
  };

  window.nmOpenCC = {
    timings: {},
    define: function (name, normFrom, normTo, charsFrom, charsTo, heads, sections) {
      var started = performance.now();
      tables[name] = new Table(normFrom, normTo, charsFrom, charsTo, heads, sections);
      this.timings[name + "-parse"] = performance.now() - started;
    },
    convert: function (name, text) { return tables[name].convert(text); },
    show: show
  };

  function need(name, then) {
    if (tables[name]) return then();
    if (waiting[name]) return waiting[name].push(then);
    waiting[name] = [then];
    var started = performance.now(), tag = document.createElement("script");
    tag.src = base + "opencc-" + name + ".js";
    tag.onload = function () {
      window.nmOpenCC.timings[name + "-load"] = performance.now() - started;
      var calls = waiting[name]; waiting[name] = null;
      if (tables[name]) calls.forEach(function (f) { f(); });
    };
    document.head.appendChild(tag);
  }

  function scriptOf(el) {
    var holder = el && el.closest("[lang]"), lang = holder ? holder.getAttribute("lang") : "";
    if (/^zh-(hant|tw|hk|mo)\b/i.test(lang)) return "hant";
    if (/^zh\b/i.test(lang)) return "hans";
    return "";
  }

  function skipped(el) {
    for (; el && el !== document.body; el = el.parentElement) {
      if (SKIP[el.tagName] || el === group) return true;
    }
    return false;
  }

  // Every text node and attribute under `root` whose script is `from` goes through `table`.
  function convertUnder(root, from, table) {
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT), node, parent;
    var scripts = new Map();
    while ((node = walker.nextNode())) {
      parent = node.parentElement;
      if (!parent || !/[\u3400-\u9fff\uf900-\ufaff]/.test(node.data)) continue;
      if (!scripts.has(parent)) scripts.set(parent, skipped(parent) ? "" : scriptOf(parent));
      if (scripts.get(parent) !== from) continue;
      if (!texts.has(node)) texts.set(node, node.data);
      node.data = table.convert(node.data);
    }
    var els = root.querySelectorAll ? root.querySelectorAll("[title],[alt],[placeholder],[aria-label]") : [];
    Array.prototype.forEach.call(els, function (el) {
      if (skipped(el) || scriptOf(el) !== from) return;
      var saved = attrs.get(el) || {};
      ATTRS.forEach(function (a) {
        var v = el.getAttribute(a);
        if (v === null) return;
        if (!(a in saved)) saved[a] = v;
        el.setAttribute(a, table.convert(v));
      });
      attrs.set(el, saved);
    });
  }

  function relabel(root, from, to) {
    var els = [root].concat(Array.prototype.slice.call(root.querySelectorAll("[lang]")));
    els.forEach(function (el) {
      if (!el.getAttribute || !el.hasAttribute("lang") || scriptOf(el) !== from) return;
      var saved = attrs.get(el) || {};
      if (!("lang" in saved)) saved.lang = el.getAttribute("lang");
      attrs.set(el, saved);
      el.setAttribute("lang", TAGS[to]);
    });
  }

  function restore() {
    texts.forEach(function (data, node) { node.data = data; });
    attrs.forEach(function (saved, el) {
      for (var a in saved) el.setAttribute(a, saved[a]);
    });
    texts.clear(); attrs.clear();
    document.title = title;
  }

  function show(target, done) {
    if (observer) observer.disconnect();
    restore();
    current = "";
    mark();
    if (!target) return done && done();
    var from = target === "hant" ? "hans" : "hant", name = target === "hant" ? "s2t" : "t2s";
    need(name, function () {
      var started = performance.now(), table = tables[name];
      if (scriptOf(document.documentElement) === from) document.title = table.convert(title);
      convertUnder(document.body, from, table);
      relabel(document.documentElement, from, target);
      current = target;
      window.nmOpenCC.timings["convert"] = performance.now() - started;
      mark();
      watch(from, table, target);
      if (done) done();
    });
  }

  // Search results and other late content are converted as they come.
  function watch(from, table, target) {
    observer = new MutationObserver(function (records) {
      observer.disconnect();
      records.forEach(function (r) {
        r.addedNodes.forEach(function (n) {
          if (n.nodeType === 1) { convertUnder(n, from, table); relabel(n, from, target); }
          else if (n.nodeType === 3 && n.parentElement && scriptOf(n.parentElement) === from && !skipped(n.parentElement)) {
            if (!texts.has(n)) texts.set(n, n.data);
            n.data = table.convert(n.data);
          }
        });
      });
      observer.observe(document.body, { childList: true, subtree: true });
    });
    observer.observe(document.body, { childList: true, subtree: true });
  }

  function saved() {
    try { return localStorage.getItem(KEY) || ""; } catch (e) { return ""; }
  }

  function remember(value) {
    try {
      if (value) localStorage.setItem(KEY, value); else localStorage.removeItem(KEY);
    } catch (e) { /* storage off: the choice holds for this page only */ }
  }

  function mark() {
    if (!group) return;
    Array.prototype.forEach.call(group.children, function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-script") === current));
    });
  }

  function button(script, label, hint) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.title = hint;
    b.setAttribute("data-script", script);
    b.setAttribute("lang", TAGS[script]);
    b.addEventListener("click", function () {
      var target = current === script ? "" : script;
      remember(target);
      show(target);
    });
    return b;
  }

  function setUp() {
    var nav = document.querySelector("header.site nav") || document.querySelector("header") || document.body;
    group = document.createElement("span");
    group.className = "zh-switch";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "繁體 / 简体");
    group.appendChild(button("hant", "繁", "繁體中文"));
    group.appendChild(button("hans", "简", "简体中文"));
    nav.appendChild(group);
    var style = document.createElement("style");
    style.textContent = ".zh-switch{display:inline-flex;gap:.15rem;margin-left:.5rem}" +
      ".zh-switch button{font:inherit;padding:0 .35rem;border:1px solid currentColor;border-radius:.25rem;background:none;color:inherit;cursor:pointer;opacity:.7}" +
      ".zh-switch button[aria-pressed=true]{opacity:1;font-weight:bold}";
    document.head.appendChild(style);
    mark();
    var choice = saved();
    if (choice === "hant" || choice === "hans") show(choice);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
