// The one small script: progressive enhancements only; every page works without it.
(function () {
  "use strict";

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
  // Recordings. The notes are saved first and the audio follows by its own request, with a
  // progress bar; when the upload fails the notes stay saved and the audio alone is retried.
  function clock(seconds) {
    var s = Math.floor(seconds);
    return Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
  }

  // The audio to send: the last thing recorded here, or the file picked.
  function audioSource(scope) {
    var input = scope.querySelector("[data-audio-file]");
    var source = { recorded: null };
    source.file = function () { return source.recorded || (input.files && input.files[0]) || null; };
    input.addEventListener("change", function () { source.recorded = null; });
    offerRecorder(scope, function (file) { source.recorded = file; input.value = ""; });
    return source;
  }

  function offerRecorder(scope, setFile) {
    var box = scope.querySelector("[data-recorder]");
    if (!box || !window.MediaRecorder || !navigator.mediaDevices ||
        !navigator.mediaDevices.getUserMedia) { return; }
    box.hidden = false;
    var button = box.querySelector("[data-recorder-toggle]");
    var label = button.querySelector("span");
    // The status is a live region and says what changed (recording, recorded, refused);
    // the running clock beside it is not read out every half second.
    var status = box.querySelector("[data-recorder-status]");
    var running = box.querySelector("[data-recorder-clock]");
    var recorder = null;
    var timer = null;
    button.addEventListener("click", function () {
      if (recorder) { recorder.stop(); return; }
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        var chunks = [];
        var started = Date.now();
        recorder = new MediaRecorder(stream);
        recorder.ondataavailable = function (event) { chunks.push(event.data); };
        recorder.onstop = function () {
          stream.getTracks().forEach(function (track) { track.stop(); });
          clearInterval(timer);
          var type = recorder.mimeType || "audio/webm";
          var ext = type.indexOf("mp4") >= 0 ? "m4a" : (type.indexOf("ogg") >= 0 ? "ogg" : "webm");
          setFile(new File(chunks, "recording." + ext, { type: type }));
          running.textContent = "";
          status.textContent = "✓ " + status.dataset.done + " " +
            clock((Date.now() - started) / 1000);
          label.textContent = button.dataset.start;
          recorder = null;
        };
        recorder.start(1000);
        label.textContent = button.dataset.stop;
        status.textContent = "● " + status.dataset.busy;
        timer = setInterval(function () {
          running.textContent = clock((Date.now() - started) / 1000);
        }, 500);
      }, function () { status.textContent = "✗ " + status.dataset.failed; });
    });
  }

  function consentGiven(scope) {
    var box = scope.querySelector("input[name=consent]");
    if (!box || box.checked) { return true; }
    box.setCustomValidity(box.dataset.required || "!");
    box.reportValidity();
    box.addEventListener("change", function () { box.setCustomValidity(""); }, { once: true });
    return false;
  }

  function sendAudio(scope, url, file, csrfToken) {
    var progressBox = scope.querySelector("[data-upload-progress]");
    var bar = progressBox.querySelector("progress");
    var percent = progressBox.querySelector("[data-upload-percent]");
    var error = progressBox.querySelector("[data-upload-error]");
    var consent = scope.querySelector("input[name=consent]");
    var data = new FormData();
    data.append("csrf_token", csrfToken);
    data.append("audio", file, file.name || "recording");
    if (consent && consent.checked) { data.append("consent", "y"); }
    progressBox.hidden = false;
    error.textContent = "";
    bar.value = 0;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = function (event) {
      if (event.lengthComputable) {
        bar.value = Math.round(100 * event.loaded / event.total);
        percent.textContent = bar.value + "%";
      }
    };
    xhr.onload = function () {
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      if (xhr.status === 201 && body) { window.location.assign(body.redirect); return; }
      error.textContent = (body && body.error) || progressBox.dataset.failed;
      scope.dispatchEvent(new CustomEvent("crm:upload-failed"));
    };
    xhr.onerror = function () {
      error.textContent = progressBox.dataset.offline;
      scope.dispatchEvent(new CustomEvent("crm:upload-failed"));
    };
    xhr.send(data);
  }

  function busy(form, on) {
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = on; });
  }

  function offerRecordingPicker(root) {
    root.querySelectorAll("[data-recording-picker]").forEach(function (picker) {
      if (picker.dataset.ready) { return; }
      picker.dataset.ready = "1";
      picker.hidden = false;
      picker.disabled = false;
      var form = picker.closest("form");
      var source = audioSource(picker);
      form.querySelectorAll("[data-without-script]").forEach(function (b) { b.hidden = true; });
      form.addEventListener("crm:upload-failed", function () {
        busy(form, false);
        form.querySelectorAll("[data-retry-label]").forEach(function (b) {
          b.textContent = b.dataset.retryLabel;
        });
      });
      form.addEventListener("submit", function (event) {
        var file = source.file();
        if (!file) { picker.disabled = true; return; }  // notes only: a plain post
        event.preventDefault();
        if (form.dataset.uploadUrl) {  // the notes are saved: retry the audio alone
          busy(form, true);
          sendAudio(form, form.dataset.uploadUrl, file, form.elements.csrf_token.value);
          return;
        }
        if (!form.reportValidity() || !consentGiven(picker)) { return; }
        var notes = new FormData(form);
        notes.delete("audio");
        notes.delete("consent");
        busy(form, true);
        fetch(form.action, { method: "POST", body: notes, credentials: "same-origin",
                             headers: { "Accept": "application/json" } })
          .then(function (response) {
            if (response.status !== 201) { throw { refused: true }; }
            return response.json();
          })
          .then(function (saved) {
            form.dataset.uploadUrl = saved.upload_url;
            form.querySelectorAll("[data-notes-saved]").forEach(function (n) { n.hidden = false; });
            // Only the audio part is left to send; the saved notes step aside.
            Array.prototype.forEach.call(form.children, function (child) {
              if (child !== picker && !child.matches("[data-notes-saved], .form-actions")) {
                child.hidden = true;
              }
            });
            sendAudio(form, saved.upload_url, file, form.elements.csrf_token.value);
          })
          .catch(function (error) {
            if (error && error.refused) {
              // Let the server show what is wrong with the notes (the audio waits).
              picker.disabled = true;
              HTMLFormElement.prototype.submit.call(form);
              return;
            }
            // The network dropped: everything typed and the audio stay; Save tries again
            // (the form's submission key stops a second copy if the first one arrived).
            var box = picker.querySelector("[data-upload-progress]");
            box.hidden = false;
            box.querySelector("[data-upload-error]").textContent = box.dataset.offline;
            busy(form, false);
          });
      });
    });
    root.querySelectorAll("form[data-recording-upload]").forEach(function (form) {
      if (form.dataset.ready) { return; }
      form.dataset.ready = "1";
      var source = audioSource(form);
      form.addEventListener("crm:upload-failed", function () { busy(form, false); });
      form.addEventListener("submit", function (event) {
        var file = source.file();
        if (!file) { return; }  // the server says what is missing
        event.preventDefault();
        if (!consentGiven(form)) { return; }
        busy(form, true);
        sendAudio(form, form.action, file, form.elements.csrf_token.value);
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

  document.addEventListener("DOMContentLoaded", function () { offerRecordingPicker(document); });
  document.addEventListener("htmx:load", function (event) { offerRecordingPicker(event.target); });

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
})();
