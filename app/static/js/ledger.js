/* Screen 5: select-all, and a confirmation before every change or restore. */
(function () {
  "use strict";
  var all = document.getElementById("ledger-select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input.ledger-select").forEach(function (box) { box.checked = all.checked; });
    });
  }
  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
  var dirty = false;
  var form = document.getElementById("ledger-change");
  if (form) {
    form.addEventListener("change", function () { dirty = true; });
    form.addEventListener("submit", function () { dirty = false; });
    window.addEventListener("beforeunload", function (event) {
      if (dirty) { event.preventDefault(); event.returnValue = ""; }
    });
  }
}());
