/* Screen 5: the classification type-ahead, select-all, and a confirmation before every
   change or restore, asked once the form is complete. */
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
  // What the server would refuse in the change form, said before asking to confirm (the
  // server checks again): the words are the form's data-* (the page's language).
  function refusal(button) {
    var form = button.form;
    if (!form || form.id !== "ledger-change") { return null; }
    var target = form.querySelector("input[name=target]:checked");
    var kind = target ? target.value : "";
    if (kind === "selected" && !form.querySelector("input.ledger-select:checked")) { return form.dataset.noneSelected; }
    if (kind === "model" && !form.elements.model_number.value.trim()) { return form.dataset.noModel; }
    if (kind === "filter" && form.dataset.total === "0") { return form.dataset.noneMatch; }
    if (!button.hasAttribute("formaction") && !form.elements.counts.value && !form.elements.classification_id.value) {
      return form.dataset.nothingToChange;
    }
    return null;
  }
  // The question is the button's data-confirm (the page's language), asked in the shared
  // in-page dialog (dialog.js) once the form is complete; on OK the form is sent as if the
  // button had been pressed.
  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (button.getAttribute("data-confirmed") === "true") {
        button.removeAttribute("data-confirmed");
        return;
      }
      event.preventDefault();
      var refused = refusal(button);
      if (refused) { window.OptiServeDialog.alert(refused); return; }
      if (button.form && !button.hasAttribute("formnovalidate") && !button.form.reportValidity()) { return; }
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
