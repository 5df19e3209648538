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
    var sale = event.target instanceof Element && event.target.closest(".sale-form");
    if (sale && event.target.matches("select[name$='product']")) syncSaleForm(sale);
  });

  // The sale form offers the chosen product's payment modes and terms and shows its premium
  // range; the server sends every offered product's options (json_script) and draws the
  // lists for the product chosen, so this runs only when the agent picks another product.
  function fillSelect(select, pairs) {
    if (!select) return;
    var current = select.value;
    Array.prototype.slice.call(select.options).forEach(function (option) {
      if (option.value !== "") option.remove();
    });
    var kept = false;
    pairs.forEach(function (pair) {
      var value = String(pair[0]);
      select.add(new Option(pair[1], value));
      if (value === current) kept = true;
    });
    select.value = kept ? current : "";
  }

  function syncSaleForm(form) {
    var source = form.querySelector("#sale-product-options");
    var product = form.querySelector("select[name$='product']");
    if (!source || !product) return;
    var all = JSON.parse(source.textContent);
    var chosen = all[product.value] || all[""];
    if (!chosen) return;
    fillSelect(form.querySelector("select[name$='payment_mode']"), chosen.modes);
    fillSelect(form.querySelector("select[name$='term_years']"), chosen.terms);
    var range = form.querySelector(".premium-range");
    if (range) range.textContent = chosen.range;
  }

  // Talk timer: mm:ss (h:mm:ss past an hour) since the customer answered. The server sends the seconds elapsed by
  // its own clock (data-elapsed); the page counts on from there with the browser's monotonic
  // clock, so a PC clock set wrong (or changed during the call) does not skew it.
  function tick() {
    var now = window.performance.now();
    document.querySelectorAll(".call-timer[data-elapsed]").forEach(function (el) {
      if (el._timerOrigin === undefined) {
        var elapsed = parseInt(el.getAttribute("data-elapsed"), 10);
        if (isNaN(elapsed)) return;
        el._timerOrigin = now - elapsed * 1000;
      }
      var s = Math.max(0, Math.floor((now - el._timerOrigin) / 1000));
      var hh = Math.floor(s / 3600);
      var mm = Math.floor((s % 3600) / 60);
      var ss = s % 60;
      // mm:ss, and h:mm:ss from an hour on (as the server's first text, talk_clock).
      el.textContent = (hh ? hh + ":" : "") + (mm < 10 ? "0" : "") + mm + ":" + (ss < 10 ? "0" : "") + ss;
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
