/* Every page: when an htmx request fails in a way the page cannot show in place (a server
   error, a status htmx does not swap, or no answer at all), say so above the content instead of
   doing nothing. The texts come translated from base.html (#request-problem). */
(function () {
  "use strict";

  function box() {
    return document.getElementById("request-problem");
  }

  function show(message) {
    var el = box();
    if (!el || !message) {
      return;
    }
    el.querySelector("[data-role=text]").textContent = message;
    el.hidden = false;
    el.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("htmx:responseError", function (event) {
    var el = box();
    var xhr = event.detail && event.detail.xhr;
    var status = xhr ? String(xhr.status) : "?";
    if (el) {
      show(el.dataset.server.replace("{status}", status));
    }
  });

  document.addEventListener("htmx:sendError", function () {
    var el = box();
    if (el) {
      show(el.dataset.network);
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    // A later request that succeeded clears an earlier problem.
    var el = box();
    if (el && !el.hidden && event.detail && event.detail.successful) {
      el.hidden = true;
    }
  });

  document.addEventListener("click", function (event) {
    var close = event.target.closest && event.target.closest("#request-problem [data-role=close]");
    if (close) {
      box().hidden = true;
    }
  });
})();
