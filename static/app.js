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
})();
