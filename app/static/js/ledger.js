/* Screen 5: the classification type-ahead, select-all, and a confirmation before every
   change or restore. */
(function () {
  "use strict";
  // Classifications (~1,000 in a large hospital) are a type-ahead: 50 at a time from
  // /ledger/classifications, those whose name contains what is typed (width and case ignored).
  // The empty choice (all / no change) is the placeholder, and × clears back to it.
  var $ = window.jQuery;
  if ($ && $.fn.select2) {
    $("select[data-options-url]").each(function () {
      var select = this;
      $(select).select2({
        theme: "bootstrap",
        width: "22em",
        allowClear: true,
        placeholder: {id: "", text: select.getAttribute("data-placeholder")},
        ajax: {
          url: select.getAttribute("data-options-url"),
          dataType: "json",
          delay: 200,
          data: function (params) { return {q: params.term || "", page: params.page || 1}; }
        }
      });
    });
  }
  var all = document.getElementById("ledger-select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input.ledger-select").forEach(function (box) { box.checked = all.checked; });
    });
  }
  // The question is the button's data-confirm (the page's language), asked in the shared
  // in-page dialog (dialog.js); on OK the form is sent as if the button had been pressed.
  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (button.getAttribute("data-confirmed") === "true") {
        button.removeAttribute("data-confirmed");
        return;
      }
      event.preventDefault();
      window.OptiServeDialog.confirm(button.getAttribute("data-confirm")).then(function (ok) {
        if (!ok) { return; }
        button.setAttribute("data-confirmed", "true");
        button.click();
      });
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
