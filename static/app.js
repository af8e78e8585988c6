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
  document.addEventListener("DOMContentLoaded", function () { offerGeolocation(document); });
  document.addEventListener("htmx:load", function (event) { offerGeolocation(event.target); });
})();
