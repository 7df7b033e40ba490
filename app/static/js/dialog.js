/* One in-page dialog for every screen, instead of the browser's confirm()/alert(): those
   speak the browser's language ("このページの内容:" / "OK"), cannot be styled and are
   blocked by some browsers. OptiServeDialog.confirm(message) and .alert(message) return a
   Promise (true for OK). The button words come from this script tag's data attributes
   (Babel, the reader's language); Escape cancels, Tab stays inside, and the focus returns
   to where it was. */
(function () {
  "use strict";
  var script = document.currentScript;
  var words = {
    ok: (script && script.getAttribute("data-ok")) || "OK",
    cancel: (script && script.getAttribute("data-cancel")) || "Cancel"
  };
  var count = 0;

  function button(label, primary) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = primary ? "btn btn-primary" : "btn btn-default";
    b.textContent = label;
    return b;
  }

  function open(message, withCancel) {
    return new Promise(function (resolve) {
      var returnTo = document.activeElement;
      var id = "os-dialog-" + (++count);
      var backdrop = document.createElement("div");
      backdrop.className = "os-dialog-backdrop";
      var box = document.createElement("div");
      box.className = "os-dialog";
      box.id = id;
      box.setAttribute("role", "alertdialog");
      box.setAttribute("aria-modal", "true");
      box.setAttribute("aria-describedby", id + "-text");
      box.setAttribute("aria-labelledby", id + "-text");
      var text = document.createElement("p");
      text.id = id + "-text";
      text.className = "os-dialog-text";
      text.textContent = message;
      var actions = document.createElement("div");
      actions.className = "os-dialog-actions";
      var ok = button(words.ok, true);
      ok.setAttribute("data-answer", "ok");
      var buttons = [ok];
      if (withCancel) {
        var cancel = button(words.cancel, false);
        cancel.setAttribute("data-answer", "cancel");
        actions.appendChild(cancel);
        buttons.unshift(cancel);
        cancel.addEventListener("click", function () { close(false); });
      }
      actions.appendChild(ok);
      ok.addEventListener("click", function () { close(true); });
      box.appendChild(text);
      box.appendChild(actions);
      backdrop.appendChild(box);

      function onKey(event) {
        if (event.key === "Escape") {
          event.preventDefault();
          close(!withCancel);
        } else if (event.key === "Tab") {
          var at = buttons.indexOf(document.activeElement);
          var next = (at + (event.shiftKey ? buttons.length - 1 : 1)) % buttons.length;
          event.preventDefault();
          buttons[at < 0 ? 0 : next].focus();
        }
      }
      function close(answer) {
        document.removeEventListener("keydown", onKey, true);
        backdrop.parentNode.removeChild(backdrop);
        if (returnTo && typeof returnTo.focus === "function") { returnTo.focus(); }
        resolve(answer);
      }
      document.addEventListener("keydown", onKey, true);
      document.body.appendChild(backdrop);
      ok.focus();
    });
  }

  window.OptiServeDialog = {
    confirm: function (message) { return open(message, true); },
    alert: function (message) { return open(message, false); }
  };
}());
