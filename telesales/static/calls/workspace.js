/* The agent workspace: the "next lead" shortcut (N), the callback time shown only for outcomes
 * that book a next call, and the talk timer. Plain JS, no build step; htmx does the requests. */
(function () {
  "use strict";

  function typing(target) {
    if (!target || !(target instanceof Element)) return false;
    if (target.isContentEditable) return true;
    return Boolean(target.closest("input, textarea, select, [contenteditable]"));
  }

  // N (no modifier, not while typing): the "Next lead" button.
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.repeat) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key !== "n" && event.key !== "N") return;
    if (typing(event.target)) return;
    var button = document.getElementById("next-lead");
    if (!button || button.disabled) return;
    event.preventDefault();
    button.click();
  });

  // The "next call at" field only for outcomes that book one (interested, callback).
  function syncCallbackField(form) {
    var select = form.querySelector("select[name$='disposition']");
    var field = form.querySelector(".callback-field");
    if (!select || !field) return;
    var codes = (form.getAttribute("data-callback-codes") || "").split(" ");
    var hasError = field.querySelector(".invalid-feedback");
    field.classList.toggle("d-none", !hasError && codes.indexOf(select.value) < 0);
  }

  document.addEventListener("change", function (event) {
    var form = event.target instanceof Element && event.target.closest(".disposition-form");
    if (form) syncCallbackField(form);
  });

  // Talk timer: mm:ss since the customer answered.
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".call-timer[data-since]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("data-since"));
      if (isNaN(since)) return;
      var s = Math.max(0, Math.floor((now - since) / 1000));
      var mm = Math.floor(s / 60);
      var ss = s % 60;
      el.textContent = (mm < 10 ? "0" : "") + mm + ":" + (ss < 10 ? "0" : "") + ss;
    });
  }

  function init(root) {
    root = root || document;
    if (root instanceof Element && root.matches(".disposition-form")) syncCallbackField(root);
    if (root.querySelectorAll) root.querySelectorAll(".disposition-form").forEach(syncCallbackField);
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
  window.setInterval(tick, 1000);
})();
