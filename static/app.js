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
      var status = box.querySelector("[data-geolocate-status]");
      box.querySelector("button").addEventListener("click", function () {
        status.textContent = "…";
        navigator.geolocation.getCurrentPosition(function (position) {
          form.elements.latitude.value = position.coords.latitude.toFixed(6);
          form.elements.longitude.value = position.coords.longitude.toFixed(6);
          status.textContent = "✓ " + form.elements.latitude.value + ", " +
            form.elements.longitude.value;
        }, function () { status.textContent = "✗"; }, { timeout: 10000 });
      });
    });
  }
  // Board on a desktop: drop a card on another column to move it. The card's own Move form
  // does the work, so the rules (won needs an amount, lost a reason) stay on the server;
  // when the move needs one of those, the form opens and asks instead of posting.
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
    var form = card.querySelector("form");
    var stage = column.dataset.stage;
    var needs = stage === "lost" ? "reason" : (stage === "won" && !card.dataset.amount ? "amount" : null);
    form.elements.stage.value = stage;
    if (needs && !form.elements[needs].value) {
      card.querySelector("details").open = true;
      form.elements[needs].focus();
    } else {
      form.requestSubmit();
    }
  });
  document.addEventListener("DOMContentLoaded", function () { offerGeolocation(document); });
  document.addEventListener("htmx:load", function (event) { offerGeolocation(event.target); });
})();
