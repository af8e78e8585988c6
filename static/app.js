// The one small script: progressive enhancements only; every page works without it.
(function () {
  "use strict";

  // The side bar's entries scroll when they outgrow the screen: keep this page's in sight.
  document.addEventListener("DOMContentLoaded", function () {
    var here = document.querySelector(".sidenav-groups [aria-current=page]");
    if (here && here.scrollIntoView) { here.scrollIntoView({block: "nearest"}); }
  });

  // Buttons or forms with data-confirm ask before a destructive post.
  document.addEventListener("submit", function (event) {
    var source = event.submitter && event.submitter.dataset.confirm
      ? event.submitter : event.target;
    var message = source.dataset ? source.dataset.confirm : null;
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  }, true);

  // Focus and announcements around htmx swaps. A swap replaces the control the keyboard was
  // on: focus goes back to the same control in the new copy (htmx itself does that only for
  // elements with an id), or, when the answer shows errors, to the first invalid field (its
  // error is its description), or to the piece's heading. Text the answer marks with
  // data-announce is read out through the page's live region (#announcer, in base.html).
  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region || !text) { return; }
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 100);
  }
  function focusables(root) {
    return Array.prototype.filter.call(root.querySelectorAll(
      "a[href], button, input, select, textarea, summary, [tabindex]"), function (element) {
      return element.type !== "hidden" && !element.disabled &&
        element.getClientRects().length > 0;
    });
  }
  function controlKey(element) {
    var form = element.form || element.closest("form");
    return [element.tagName, element.name || "", element.type || "",
            form ? form.getAttribute("action") : "",
            /^(BUTTON|A|SUMMARY)$/.test(element.tagName) || /radio|checkbox/.test(element.type)
              ? (element.value || "") + "|" + element.textContent.trim() : ""].join("\n");
  }
  function focusOn(element) {
    if (!element) { return false; }
    if (!element.matches("a[href], button, input, select, textarea, summary, [tabindex]")) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus();
    return document.activeElement === element;
  }
  var pendingSwap = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var active = document.activeElement;
    var config = event.detail.requestConfig || {};
    pendingSwap = { xhr: event.detail.xhr, target: target,
                    sent: (config.verb || "").toLowerCase() === "post", key: null };
    if (target && active && active !== document.body && target.contains(active)) {
      pendingSwap.key = controlKey(active);
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var swap = pendingSwap;
    if (!swap || swap.xhr !== event.detail.xhr) { return; }
    pendingSwap = null;
    var target = swap.target;
    var root = target.isConnected ? target
      : (target.id && document.getElementById(target.id)) || event.target;
    if (!root || !root.isConnected) { return; }
    var said = root.querySelector("[data-announce]");
    if (said) { announce(said.textContent.replace(/\s+/g, " ").trim()); }
    var active = document.activeElement;
    var lost = !active || active === document.body || !active.isConnected;
    if (swap.sent && focusOn(root.querySelector("[aria-invalid=true]"))) { return; }
    if (!lost || !swap.key) { return; }  // focus was elsewhere, and still is
    if (swap.sent && focusOn(root.querySelector("[role=alert]"))) { return; }
    var again = swap.key && focusables(root).filter(function (element) {
      return controlKey(element) === swap.key;
    })[0];
    if (focusOn(again)) { return; }
    var heading = Array.prototype.filter.call(root.querySelectorAll("h2, h3"), function (h) {
      return h.getClientRects().length > 0;
    })[0];
    focusOn(heading || focusables(root)[0] || root);
  });
  // A page re-rendered with errors (a form posted without script): start at the first.
  document.addEventListener("DOMContentLoaded", function () {
    var invalid = document.querySelector("[aria-invalid=true]");
    if (invalid) { invalid.focus(); }
  });

  // The review sheet's Print button: shown only where script can print (see app.css).
  document.documentElement.classList.add("has-js");
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) { window.print(); }
  });

  // A survey's share text: "Copy" puts it on the clipboard (without script, select it).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-copy-status"));
    function said(text) { if (status) { status.textContent = text; } }
    if (navigator.clipboard && source) {
      navigator.clipboard.writeText(source.value).then(function () {
        said(button.getAttribute("data-copied"));
      }, function () { source.select(); });
    } else if (source) { source.select(); }
  });

  // "Use my location" on the follow-up form: offered where the browser can, never required.
  function offerGeolocation(root) {
    root.querySelectorAll("[data-geolocate]").forEach(function (box) {
      if (!navigator.geolocation || box.dataset.ready) { return; }
      box.dataset.ready = "1";
      box.hidden = false;
      var form = box.closest("form");
      var status = box.querySelector("[data-geolocate-status]");  // a live region
      box.querySelector("button").addEventListener("click", function () {
        status.textContent = status.dataset.busy;
        navigator.geolocation.getCurrentPosition(function (position) {
          form.elements.latitude.value = position.coords.latitude.toFixed(6);
          form.elements.longitude.value = position.coords.longitude.toFixed(6);
          status.textContent = "✓ " + status.dataset.done + " " +
            form.elements.latitude.value + ", " + form.elements.longitude.value;
        }, function () { status.textContent = "✗ " + status.dataset.failed; },
        { timeout: 10000 });
      });
    });
  }
  // The waveform under a player shows how far it has played, and seeks where it is clicked.
  document.addEventListener("timeupdate", function (event) {
    var player = event.target;
    if (!player.dataset || !player.dataset.player || !player.duration) { return; }
    var wave = document.querySelector("[data-waveform='" + player.dataset.player + "']");
    if (!wave) { return; }
    var width = wave.viewBox.baseVal.width;
    wave.querySelector(".waveform-played").setAttribute(
      "width", String(width * player.currentTime / player.duration));
  }, true);
  document.addEventListener("click", function (event) {
    var wave = event.target.closest && event.target.closest("[data-waveform]");
    if (!wave) { return; }
    var player = document.querySelector("[data-player='" + wave.dataset.waveform + "']");
    var box = wave.getBoundingClientRect();
    var duration = player.duration || parseFloat(wave.dataset.duration);
    player.currentTime = duration * (event.clientX - box.left) / box.width;
    player.play();
  });

  // Reviews. A comment's time plays the recording from there (without script the link
  // opens the audio at #t=); "Comment here" takes the player's current moment.
  function playerFor(id) { return document.querySelector("[data-player='" + id + "']"); }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-seek]");
    if (link) {
      var player = playerFor(link.dataset.seekPlayer);
      if (!player) { return; }
      event.preventDefault();
      player.currentTime = parseFloat(link.dataset.seek);
      player.play().catch(function () { /* seeking alone is enough */ });
      return;
    }
    var here = event.target.closest && event.target.closest("[data-comment-here]");
    if (here) {
      var source = playerFor(here.dataset.commentHere);
      var tenths = Math.floor(source.currentTime * 10);
      here.form.elements.at.value = Math.floor(tenths / 600) + ":" +
        ("0" + ((tenths % 600) / 10).toFixed(1)).slice(-4);
      source.pause();
      here.form.elements.body.focus();
    }
  });
  function offerReviewTools(root) {
    root.querySelectorAll("[data-comment-here]").forEach(function (b) { b.hidden = false; });
    // Scores save as they are picked; the button is for pages without script.
    root.querySelectorAll("form[data-autosave] [data-without-script]").forEach(
      function (b) { b.hidden = true; });
  }
  document.addEventListener("DOMContentLoaded", function () { offerReviewTools(document); });
  document.addEventListener("htmx:load", function (event) { offerReviewTools(event.target); });

  // Board: cards carry a Move link, not a form each; the board's one dialog moves any card
  // (the rules, won needs an amount and lost a reason, stay on the server). Without script
  // the link opens the deal page and its Move form.
  function moveDialog() { return document.getElementById("move-dialog"); }

  function openMove(card, stage) {
    var dialog = moveDialog();
    var link = card.querySelector(".move-link[data-move]");
    if (!dialog || !link || typeof dialog.showModal !== "function") { return false; }
    var form = dialog.querySelector("form");
    form.reset();
    form.action = link.dataset.move;
    form.dataset.card = card.id;
    form.elements.version.value = link.dataset.version;
    form.elements.stage.value = stage || link.dataset.stage;
    dialog.querySelector("h2").textContent = link.dataset.title;
    dialog.showModal();
    return form;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".move-link[data-move]");
    if (link && openMove(link.closest(".deal-card"))) {
      event.preventDefault();
      moveDialog().querySelector("select[name=stage]").focus();
    }
    if (event.target.closest && event.target.closest("[data-close-dialog]")) {
      event.target.closest("dialog").close();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-board-move]") || !window.htmx) { return; }
    event.preventDefault();
    var target = "#" + form.dataset.card;
    htmx.ajax("POST", form.action, {source: form, target: target, swap: "outerHTML"});
    form.closest("dialog").close();
  });

  // The review sheet: Enter in a row's note sends that row (the rows share one form).
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.key !== "Enter" || !input.dataset || !input.dataset.enter) { return; }
    var button = document.getElementById(input.dataset.enter);
    if (button) { event.preventDefault(); button.click(); }
  });

  // On a desktop, drop a card on another column to move it: at once, unless the stage needs
  // a word first (an amount to win, a reason to lose), which the dialog then asks for.
  var dragged = null;
  document.addEventListener("dragstart", function (event) {
    dragged = event.target.closest ? event.target.closest(".deal-card[draggable]") : null;
    if (dragged) { event.dataTransfer.effectAllowed = "move"; }
  });
  document.addEventListener("dragover", function (event) {
    if (dragged && event.target.closest(".board-column")) { event.preventDefault(); }
  });
  document.addEventListener("drop", function (event) {
    var column = dragged && event.target.closest(".board-column");
    var card = dragged;
    dragged = null;
    if (!column || card.closest(".board-column") === column) { return; }
    event.preventDefault();
    moveCard(card, column.dataset.stage);
  });

  function moveCard(card, stage) {
    var needs = stage === "lost" ? "reason" : (stage === "won" && !card.dataset.amount ? "amount" : null);
    var form = openMove(card, stage);
    if (!form) { return; }
    if (needs) {
      form.elements[needs].focus();
    } else {
      form.requestSubmit();
    }
  }

  document.addEventListener("DOMContentLoaded", function () { offerGeolocation(document); });
  document.addEventListener("htmx:load", function (event) { offerGeolocation(event.target); });

  // Offline. A service worker keeps the app shell and the log form usable without network;
  // what is saved on this phone waits in IndexedDB: follow-ups in "outbox" (sent here when
  // the network is back, with their submission key, so a resend saves once) and recordings
  // in "recordings" and "chunks" (written while recording by static/offline.js, which also
  // sends them). The navigation and Today count what is waiting.
  var database = null;
  function db() {
    return database || (database = new Promise(function (ok, fail) {
      if (!window.indexedDB) { fail(new Error("no IndexedDB")); return; }
      var open = indexedDB.open("crm-offline", 1);
      open.onupgradeneeded = function () {
        var d = open.result;
        d.createObjectStore("outbox", { keyPath: "key" });
        d.createObjectStore("recordings", { keyPath: "id" });
        d.createObjectStore("chunks", { keyPath: ["rec", "seq"] });
      };
      open.onsuccess = function () { ok(open.result); };
      open.onerror = function () { fail(open.error); };
    }));
  }
  function done(request) {
    return new Promise(function (ok, fail) {
      request.onsuccess = function () { ok(request.result); };
      request.onerror = function () { fail(request.error); };
    });
  }
  function store(name, mode) {
    return db().then(function (d) { return d.transaction(name, mode || "readonly").objectStore(name); });
  }
  function all(name) { return store(name).then(function (s) { return done(s.getAll()); }); }
  function put(name, value) { return store(name, "readwrite").then(function (s) { return done(s.put(value)); }); }
  function remove(name, key) { return store(name, "readwrite").then(function (s) { return done(s.delete(key)); }); }

  function refresh() {
    return Promise.all([all("outbox"), all("recordings")]).then(function (lists) {
      var count = lists[0].length + lists[1].length;
      document.querySelectorAll("[data-waiting]").forEach(function (box) {
        box.hidden = count === 0;
        box.querySelectorAll("[data-waiting-count]").forEach(function (n) { n.textContent = count; });
      });
      document.dispatchEvent(new CustomEvent("crm:waiting", { detail: lists }));
      return lists;
    }, function () { return [[], []]; });
  }

  // Send what waits in the outbox, oldest first; stop at the first network error.
  var flushing = null;
  function flush() {
    if (flushing || !navigator.onLine) { return flushing || refresh(); }
    flushing = all("outbox").then(function (items) {
      items.sort(function (a, b) { return a.at - b.at; });
      return items.reduce(function (previous, item) {
        return previous.then(function () { return sendSaved(item); });
      }, Promise.resolve());
    }).catch(function () { /* offline again: the next "online" tries again */ })
      .then(function () { flushing = null; return refresh(); });
    return flushing;
  }
  function sendSaved(item) {
    var body = new FormData();
    item.fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
    return patient(item.url, { method: "POST", body: body, credentials: "same-origin",
                               headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (response.status !== 201) {
          // Refused (the session ended, the form is wrong): kept, and shown where to fix it.
          item.error = response.status;
          return put("outbox", item);
        }
        return response.json().then(function (saved) {
          return (item.rec ? store("recordings", "readwrite").then(function (s) {
            return done(s.get(item.rec)).then(function (rec) {
              if (rec) { rec.uploadUrl = saved.uploads; rec.done = saved.redirect; return done(s.put(rec)); }
            });
          }) : Promise.resolve()).then(function () { return remove("outbox", item.key); });
        });
      });
  }
  // fetch, given up after 20 s without an answer (packets stop, the connection stays open).
  function patient(url, options) {
    var control = window.AbortController ? new AbortController() : null;
    var timer = control && setTimeout(function () { control.abort(); }, 20000);
    if (control) { options.signal = control.signal; }
    return fetch(url, options).then(function (response) { clearTimeout(timer); return response; },
      function (error) { clearTimeout(timer); throw error; });
  }
  window.crmOffline = { patient: patient, db: db, done: done, store: store, all: all, put: put, remove: remove,
                        refresh: refresh, flush: flush };

  function showConnection() {
    document.querySelectorAll("[data-when-offline]").forEach(function (note) {
      note.hidden = navigator.onLine;
    });
  }
  window.addEventListener("online", function () { showConnection(); flush(); });
  window.addEventListener("offline", showConnection);
  document.addEventListener("DOMContentLoaded", function () {
    showConnection();
    flush();
    var worker = document.body.dataset.serviceWorker;
    if (worker && navigator.serviceWorker) {
      navigator.serviceWorker.register(worker).catch(function () { /* works without */ });
    }
  });
  // Signing out leaves no pages of this account in the phone's cache.
  document.addEventListener("submit", function (event) {
    if (event.target.matches("[data-sign-out]") && window.caches) {
      caches.keys().then(function (keys) { keys.forEach(function (k) { caches.delete(k); }); });
    }
  });
})();
