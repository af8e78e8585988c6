// Logging that survives a dead network (loaded by the log form, the recording upload page
// and the "waiting to send" page, which do without htmx). Uses window.crmOffline from
// static/app.js (IndexedDB: outbox, recordings, chunks).
//
// - The log form keeps a draft of what is typed (localStorage) and, on Save, puts the
//   follow-up in the outbox before sending it; with no network it stays there ("saved on
//   this phone") and app.js sends it when the network is back. The submission key makes a
//   resend save once.
// - A recording is written to IndexedDB as it is recorded (one-second slices), at a speech
//   bitrate; a picked file is copied there too. It leaves only when the server has it all.
// - Uploads go in pieces; each answer confirms an offset. No progress for 15 s is a stall:
//   the request is dropped and, like after an error, resumed with backoff from the offset
//   the server confirms.
(function () {
  "use strict";
  var box = window.crmOffline;
  // Pieces last about six seconds on the network they go over: 64 KB to 1 MB, so a piece
  // lost on a slow line costs little, and a fast one is not slowed by round trips.
  var PIECE = 256 * 1024;
  var MIN_PIECE = 64 * 1024;
  var MAX_PIECE = 1024 * 1024;
  var STALL_MS = 15000;
  var SPEECH_BITS = 24000;
  var sending = 0;  // uploads running on this page
  var recording = null;  // the recorder running on this page

  function clock(seconds) {
    var s = Math.floor(seconds);
    return Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
  }
  function newKey() {
    var bytes = new Uint8Array(24);
    crypto.getRandomValues(bytes);
    return btoa(String.fromCharCode.apply(null, bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=/g, "");
  }
  function csrf() { return document.querySelector("meta[name=csrf-token]").content; }
  function range(id) { return IDBKeyRange.bound([id, 0], [id, Infinity]); }

  // Recordings kept on the phone ----------------------------------------------------------
  function audioOf(rec) {
    return box.store("chunks").then(function (s) { return box.done(s.getAll(range(rec.id))); })
      .then(function (rows) { return new Blob(rows.map(function (r) { return r.blob; }), { type: rec.type }); });
  }
  function forget(rec) {
    return box.store("chunks", "readwrite").then(function (s) { return box.done(s.delete(range(rec.id))); })
      .then(function () { return box.remove("recordings", rec.id); }).then(box.refresh);
  }
  function keepFile(file, action) {
    var rec = { id: "f" + newKey(), action: action, type: file.type || "application/octet-stream",
                at: Date.now(), seconds: 0, state: "ready", name: file.name };
    return box.put("chunks", { rec: rec.id, seq: 0, blob: file })
      .then(function () { return box.put("recordings", rec); }).then(function () { return rec; });
  }
  function speechType() {
    return ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4;codecs=mp4a.40.2",
            "audio/mp4"].filter(function (t) { return MediaRecorder.isTypeSupported(t); })[0] || "";
  }

  // Record in the page: every second's audio goes to IndexedDB as it comes.
  function offerRecorder(scope, action, label, onRecorded) {
    var holder = scope.querySelector("[data-recorder]");
    if (!holder || !window.MediaRecorder || !navigator.mediaDevices ||
        !navigator.mediaDevices.getUserMedia) { return; }
    holder.hidden = false;
    var button = holder.querySelector("[data-recorder-toggle]");
    var text = button.querySelector("span");
    var status = holder.querySelector("[data-recorder-status]");
    var running = holder.querySelector("[data-recorder-clock]");
    button.addEventListener("click", function () {
      if (recording) { recording.stop(); return; }
      navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true,
                                                     noiseSuppression: true } }).then(function (stream) {
        var type = speechType();
        var recorder = new MediaRecorder(stream, type ? { mimeType: type, audioBitsPerSecond: SPEECH_BITS }
                                                       : { audioBitsPerSecond: SPEECH_BITS });
        var started = Date.now();
        var seq = 0;
        var rec = { id: "r" + newKey(), action: action, label: label(), at: started, seconds: 0,
                    type: recorder.mimeType || type || "audio/webm", state: "recording" };
        var writes = box.put("recordings", rec);
        var timer = setInterval(function () { running.textContent = clock((Date.now() - started) / 1000); }, 500);
        recorder.ondataavailable = function (event) {
          if (!event.data.size) { return; }
          var n = seq++;
          rec.seconds = (Date.now() - started) / 1000;
          writes = writes.then(function () { return box.put("chunks", { rec: rec.id, seq: n, blob: event.data }); })
            .then(function () { return box.put("recordings", rec); });
        };
        recorder.onstop = function () {
          stream.getTracks().forEach(function (track) { track.stop(); });
          clearInterval(timer);
          recording = null;
          rec.state = "ready";
          writes.then(function () { return box.put("recordings", rec); }).then(function () {
            running.textContent = "";
            status.textContent = "✓ " + status.dataset.done + " " + clock(rec.seconds);
            text.textContent = button.dataset.start;
            onRecorded(rec);
            box.refresh();
          });
        };
        recording = recorder;
        recorder.start(1000);
        text.textContent = button.dataset.stop;
        status.textContent = "● " + status.dataset.busy;
      }, function () { status.textContent = "✗ " + status.dataset.failed; });
    });
    if (/[?&]record=1/.test(window.location.search)) { button.click(); }  // "visit with recording"
  }

  function consentGiven(scope) {
    var tick = scope.querySelector("input[name=consent]");
    if (!tick || tick.checked) { return true; }
    tick.setCustomValidity(tick.dataset.required || "!");
    tick.reportValidity();
    tick.addEventListener("change", function () { tick.setCustomValidity(""); }, { once: true });
    return false;
  }

  // Resumable upload ------------------------------------------------------------------------
  function request(method, url, body, finish, onProgress) {
    var xhr = new XMLHttpRequest();
    var timer = null;
    var stalled = false;
    function arm() {
      clearTimeout(timer);
      timer = setTimeout(function () { stalled = true; xhr.abort(); }, STALL_MS);
    }
    xhr.open(method, url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", csrf());
    if (body instanceof Blob) { xhr.setRequestHeader("Content-Type", "application/octet-stream"); }
    xhr.upload.onprogress = function (event) { arm(); if (onProgress) { onProgress(event.loaded); } };
    xhr.onprogress = arm;
    xhr.onloadend = function () {
      clearTimeout(timer);
      var json = null;
      try { json = JSON.parse(xhr.responseText); } catch (e) { json = null; }
      finish(xhr.status, json, stalled);
    };
    arm();
    xhr.send(body);
  }

  // Send a kept recording to rec.uploadUrl (the follow-up's uploads); report(fraction) or
  // report(null, "stalled" | "offline"). Resolves with the server's last answer.
  function upload(rec, report) {
    sending += 1;
    return audioOf(rec).then(function (blob) {
      return new Promise(function (resolve, reject) {
        var offset = 0;
        var delay = 1000;
        var piece = PIECE;
        function start() {
          if (rec.upload) { ask(); return; }
          var body = new FormData();
          body.append("size", String(blob.size));
          if (rec.consent) { body.append("consent", "y"); }
          request("POST", rec.uploadUrl, body, function (status, json) {
            if (status === 201) {
              rec.upload = { url: json.url, chunks: json.chunks };
              box.put("recordings", rec);
              offset = 0;
              next();
            } else if (status === 0 || status >= 500) { again(status); } else { reject(json && json.error); }
          });
        }
        function ask() {
          request("GET", rec.upload.url, null, function (status, json) {
            if (status === 200) { offset = json.offset; next(); } else if (status === 404) {
              rec.upload = null;
              start();
            } else { again(status); }
          });
        }
        function next() {
          report(offset / blob.size);
          var began = Date.now();
          request("POST", rec.upload.chunks + "?offset=" + offset, blob.slice(offset, offset + piece),
            function (status, json, stalled) {
              if (status === 201) { resolve(json); } else if ((status === 200 || status === 409) && json) {
                var seconds = Math.max((Date.now() - began) / 1000, 0.05);
                if (status === 200) {
                  piece = Math.max(MIN_PIECE, Math.min(MAX_PIECE, Math.round((json.offset - offset) / seconds * 6)));
                }
                offset = json.offset;
                delay = 1000;
                next();
              } else if (status === 0 || status >= 500) { again(status, stalled); } else { reject(json && json.error); }
            }, function (sent) { report((offset + sent) / blob.size); });
        }
        function again(status, stalled) {
          report(null, stalled ? "stalled" : "offline");
          var go = function () { window.removeEventListener("online", go); clearTimeout(timer); ask2(); };
          var timer = setTimeout(go, delay);
          if (!navigator.onLine) { window.addEventListener("online", go); }
          delay = Math.min(delay * 2, 30000);
        }
        function ask2() { if (rec.upload) { ask(); } else { start(); } }
        start();
      });
    }).then(function (answer) {
      sending -= 1;
      return forget(rec).then(function () { return answer; });
    }, function (error) { sending -= 1; throw error; });
  }

  // The progress box of a form: bar, percent and what went wrong.
  function progressOf(scope) {
    var holder = scope.querySelector("[data-upload-progress]");
    var bar = holder.querySelector("progress");
    var percent = holder.querySelector("[data-upload-percent]");
    var error = holder.querySelector("[data-upload-error]");
    return function (fraction, trouble) {
      holder.hidden = false;
      if (trouble) {
        error.textContent = holder.dataset[trouble];
        return;
      }
      error.textContent = "";
      bar.value = Math.round(100 * fraction);
      percent.textContent = bar.value + "%";
    };
  }
  function failed(scope, message) {
    var holder = scope.querySelector("[data-upload-progress]");
    holder.hidden = false;
    holder.querySelector("[data-upload-error]").textContent = message || holder.dataset.failed;
    scope.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    scope.querySelectorAll("[data-retry-label]").forEach(function (b) { b.textContent = b.dataset.retryLabel; });
  }
  function busy(form, on) {
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = on; });
  }

  // The log form ----------------------------------------------------------------------------
  function fields(form, withToken) {
    var pairs = [];
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string" && name !== "consent" && (withToken || name !== "csrf_token")) {
        pairs.push([name, value]);
      }
    });
    return pairs;
  }

  function logForm(form) {
    var picker = form.querySelector("[data-recording-picker]");
    var action = form.getAttribute("action");
    var draftName = "crm-draft:" + action;
    var input = picker.querySelector("[data-audio-file]");
    var chosen = null;  // the recording kept for this form
    var label = function () {
      return form.dataset.customer + " · " + (form.elements.summary.value || "").slice(0, 40);
    };
    picker.hidden = false;
    picker.disabled = false;
    offerCheckIn(form);
    form.querySelectorAll("[data-without-script]").forEach(function (b) { b.hidden = true; });

    var draft = null;
    try { draft = JSON.parse(localStorage.getItem(draftName) || "null"); } catch (e) { draft = null; }
    if (draft) {
      draft.forEach(function (pair) {
        var field = form.elements[pair[0]];
        if (field && field.type !== "select-multiple" && field.type !== "file") { field.value = pair[1]; }
      });
      form.querySelectorAll("[data-draft-restored]").forEach(function (n) { n.hidden = false; });
    } else {
      // A fresh key for each visit logged, also when the page came from the phone's cache.
      form.elements.submission_key.value = newKey();
    }
    function keepDraft() { localStorage.setItem(draftName, JSON.stringify(fields(form, false))); }
    form.addEventListener("input", keepDraft);
    form.addEventListener("change", keepDraft);

    input.addEventListener("change", function () { chosen = null; });
    offerRecorder(picker, action, label, function (rec) { chosen = rec; input.value = ""; keepDraft(); });

    // A recording this form did not send (the tab closed, the phone slept): offer it back.
    box.all("recordings").then(function (recs) {
      var left = recs.filter(function (r) { return r.action === action && !r.uploadUrl && !r.key; })[0];
      var offer = form.querySelector("[data-unsent-offer]");
      if (!left || !offer) { return; }
      offer.hidden = false;
      offer.querySelector("[data-unsent-what]").textContent =
        clock(left.seconds) + " · " + new Date(left.at).toLocaleString();
      offer.querySelector("[data-unsent-use]").addEventListener("click", function () {
        left.state = "ready";
        box.put("recordings", left);
        chosen = left;
        offer.hidden = true;
        var status = picker.querySelector("[data-recorder-status]");
        status.textContent = "✓ " + status.dataset.done + " " + clock(left.seconds);
      });
      offer.querySelector("[data-unsent-discard]").addEventListener("click", function () {
        forget(left);
        offer.hidden = true;
      });
    });

    function sendAudio(rec) {
      busy(form, true);
      upload(rec, progressOf(form)).then(function (answer) {
        window.location.assign(answer.redirect);
      }, function (message) { failed(form, message); });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (form.dataset.saved) {  // the notes are saved: send the audio (again)
        var file = input.files && input.files[0];
        if (file) {
          keepFile(file, action).then(function (rec) {
            rec.uploadUrl = form.dataset.saved;
            rec.key = "saved";
            var tick = picker.querySelector("input[name=consent]");
            rec.consent = !tick || tick.checked;
            return box.put("recordings", rec).then(function () {
              if (chosen) { forget(chosen); }
              chosen = rec;
              input.value = "";
              sendAudio(rec);
            });
          });
        } else if (chosen) { sendAudio(chosen); }
        return;
      }
      if (recording) { recording.stop(); }
      var file = input.files && input.files[0];
      if (!form.reportValidity() || ((file || chosen) && !consentGiven(picker))) { return; }
      busy(form, true);
      var consent = picker.querySelector("input[name=consent]");
      var item = { key: form.elements.submission_key.value, url: action, at: Date.now(),
                   fields: fields(form, true), label: label() };
      (file ? keepFile(file, action) : Promise.resolve(chosen)).then(function (rec) {
        chosen = rec;
        if (rec) {
          rec.key = item.key;
          rec.label = item.label;
          rec.consent = !consent || consent.checked;
          item.rec = rec.id;
          return box.put("recordings", rec);
        }
      }).then(function () { return box.put("outbox", item); }).then(function () {
        var notes = new FormData();
        item.fields.forEach(function (pair) { notes.append(pair[0], pair[1]); });
        return box.patient(action, { method: "POST", body: notes, credentials: "same-origin",
                                     headers: { "Accept": "application/json" } });
      }).then(function (response) {
        if (response.status !== 201) {
          // Let the server show what is wrong with the notes (the recording waits here).
          return box.remove("outbox", item.key).then(function () {
            if (chosen) { chosen.key = null; return box.put("recordings", chosen); }
          }).then(function () {
            picker.disabled = true;
            HTMLFormElement.prototype.submit.call(form);
          });
        }
        localStorage.removeItem(draftName);
        return response.json().then(function (saved) {
          return box.remove("outbox", item.key).then(function () {
            if (!chosen) { window.location.assign(saved.redirect); return; }
            form.dataset.saved = saved.uploads;
            chosen.uploadUrl = saved.uploads;
            form.querySelectorAll("[data-notes-saved]").forEach(function (n) { n.hidden = false; });
            Array.prototype.forEach.call(form.children, function (child) {
              if (child !== picker && !child.matches("[data-notes-saved], .form-actions")) { child.hidden = true; }
            });
            return box.put("recordings", chosen).then(function () { sendAudio(chosen); });
          });
        });
      }).catch(function () {
        // No network: the follow-up (and its recording) wait on this phone.
        localStorage.removeItem(draftName);
        box.refresh();
        form.hidden = true;
        document.querySelectorAll("[data-saved-offline]").forEach(function (n) { n.hidden = false; });
      });
    });
  }

  // Check in at the customer: position, accuracy and the distance the server works out.
  // Flagged when far or imprecise, never refused; a visit is saved with or without it.
  function offerCheckIn(form) {
    var holder = form.querySelector("[data-check-in]");
    if (!holder || !navigator.geolocation) { return; }
    holder.hidden = false;
    var status = holder.querySelector("[data-check-in-status]");
    var setting = holder.querySelector("[data-set-location]");
    var out = holder.querySelector("[data-check-out]");
    setting.hidden = Boolean(holder.dataset.hasLocation);
    function post(url, body) {
      return fetch(url, { method: "POST", body: body, credentials: "same-origin",
                          headers: { "Accept": "application/json", "X-CSRFToken": csrf() } })
        .then(function (response) { return response.json(); });
    }
    holder.querySelector("[data-check-in-button]").addEventListener("click", function () {
      if (!navigator.onLine) { status.textContent = status.dataset.offline; return; }
      status.textContent = status.dataset.busy;
      navigator.geolocation.getCurrentPosition(function (position) {
        var body = new FormData();
        body.append("latitude", position.coords.latitude);
        body.append("longitude", position.coords.longitude);
        body.append("accuracy", position.coords.accuracy);
        if (!setting.hidden && setting.querySelector("input").checked) { body.append("set_location", "y"); }
        form.elements.latitude.value = position.coords.latitude.toFixed(6);
        form.elements.longitude.value = position.coords.longitude.toFixed(6);
        post(holder.dataset.url, body).then(function (answer) {
          status.textContent = answer.message || answer.error;
          holder.classList.toggle("flagged", Boolean(answer.far || answer.inaccurate));
          if (answer.ok) {
            setting.hidden = true;
            out.hidden = false;
            out.dataset.url = answer.check_out;
          }
        }, function () { status.textContent = status.dataset.offline; });
      }, function () { status.textContent = status.dataset.failed; },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 });
    });
    out.addEventListener("click", function () {
      post(out.dataset.url, new FormData()).then(function (answer) {
        status.textContent = answer.message;
        out.hidden = true;
      }, function () { status.textContent = status.dataset.offline; });
    });
  }

  // The recording upload page (the follow-up is saved already).
  function uploadForm(form) {
    var input = form.querySelector("[data-audio-file]");
    var chosen = null;
    offerRecorder(form, form.getAttribute("action"), function () { return form.dataset.customer; },
                  function (rec) { chosen = rec; input.value = ""; });
    input.addEventListener("change", function () { chosen = null; });
    form.addEventListener("submit", function (event) {
      var file = input.files && input.files[0];
      if (!file && !chosen) { return; }  // the server says what is missing
      event.preventDefault();
      if (!consentGiven(form)) { return; }
      busy(form, true);
      var consent = form.querySelector("input[name=consent]");
      (file ? keepFile(file, form.getAttribute("action")) : Promise.resolve(chosen)).then(function (rec) {
        chosen = rec;
        input.value = "";
        rec.uploadUrl = form.dataset.uploads;
        rec.key = "saved";
        rec.label = form.dataset.customer;
        rec.consent = !consent || consent.checked;
        return box.put("recordings", rec).then(function () { return upload(rec, progressOf(form)); });
      }).then(function (answer) { window.location.assign(answer.redirect); },
              function (message) { failed(form, message); });
    });
  }

  // The waiting page: what is kept here, with send and discard.
  function waitingList(list) {
    var outbox = list.querySelector("[data-outbox-items]");
    var recordings = list.querySelector("[data-recording-items]");
    var says = list.dataset;
    if (!navigator.onLine && window.location.pathname !== list.dataset.here) {
      document.querySelectorAll("[data-needs-server]").forEach(function (n) { n.hidden = false; });
    }
    function row(text, buttons) {
      var li = document.createElement("li");
      var span = document.createElement("span");
      span.textContent = text;
      li.appendChild(span);
      buttons.forEach(function (b) {
        var button = document.createElement(b.href ? "a" : "button");
        button.className = "button";
        if (b.href) { button.href = b.href; } else { button.type = "button"; button.addEventListener("click", b.run); }
        button.textContent = b.text;
        li.appendChild(button);
      });
      return li;
    }
    function formOf(url) { return url + "/new"; }
    function draw(lists) {
      outbox.textContent = "";
      recordings.textContent = "";
      lists[0].forEach(function (item) {
        var state = item.error ? says.refused : says.queued;
        outbox.appendChild(row(item.label + " · " + new Date(item.at).toLocaleString() + " · " + state, [
          { text: says.send, run: function () { delete item.error; box.put("outbox", item).then(box.flush); } },
          { text: says.discard, run: function () { if (window.confirm(says.confirm)) { box.remove("outbox", item.key).then(box.refresh); } } }]));
      });
      lists[1].forEach(function (rec) {
        var actions = [];
        if (rec.uploadUrl) {
          actions.push({ text: says.send, run: function (event) {
            var button = event.target;
            button.disabled = true;
            upload(rec, function (fraction, trouble) {
              button.textContent = trouble ? says[trouble] : Math.round(100 * fraction) + "%";
            }).then(box.refresh, function (message) { button.textContent = message || says.failed; });
          } });
        } else if (!rec.key && rec.action) {
          actions.push({ text: says.open, href: formOf(rec.action) });
        }
        actions.push({ text: says.discard, run: function () { if (window.confirm(says.confirm)) { forget(rec); } } });
        recordings.appendChild(row((rec.label || rec.name || "") + " · " + clock(rec.seconds || 0) +
          " · " + new Date(rec.at).toLocaleString(), actions));
      });
      list.querySelector("[data-nothing-waiting]").hidden = lists[0].length + lists[1].length > 0;
    }
    document.addEventListener("crm:waiting", function (event) { draw(event.detail); });
    box.refresh();
  }

  // Recordings whose follow-up is saved go up by themselves on these pages.
  function resumeSaved() {
    if (!navigator.onLine || sending) { return; }
    box.all("recordings").then(function (recs) {
      recs.filter(function (r) { return r.uploadUrl; }).forEach(function (rec) {
        upload(rec, function () {}).then(box.refresh, function () { /* shown on the waiting page */ });
      });
    });
  }

  // Leaving with audio not yet sent asks first.
  window.addEventListener("beforeunload", function (event) {
    if (recording || sending) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-follow-up-form]").forEach(logForm);
    document.querySelectorAll("form[data-recording-upload]").forEach(uploadForm);
    document.querySelectorAll("[data-waiting-list]").forEach(waitingList);
    resumeSaved();
  });
  window.addEventListener("online", function () { box.flush().then(resumeSaved); });
})();
