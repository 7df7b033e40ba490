/* Screen 10 (SMDS classification master): a class's move choice holds only its current parent
   until it is opened; then the move targets, listed once in #smds-move-targets, are copied in
   (without the class itself), keeping the current choice selected. */
(function () {
  "use strict";
  var targets = document.getElementById("smds-move-targets");
  if (!targets) { return; }

  function fill(select) {
    if (select.dataset.filled) { return; }
    var current = select.value;
    var currentOption = select.options[select.selectedIndex];
    var own = select.dataset.node;
    var options = targets.content.cloneNode(true);
    var found = false;
    select.textContent = "";
    Array.prototype.forEach.call(options.querySelectorAll("option"), function (option) {
      if (option.value === own) { return; }
      option.selected = option.value === current;
      found = found || option.selected;
      select.appendChild(option);
    });
    // A deactivated parent is no move target, but it stays the current choice.
    if (!found && currentOption) {
      currentOption.selected = true;
      select.insertBefore(currentOption, select.firstChild);
    }
    select.dataset.filled = "1";
  }

  ["mousedown", "focusin", "keydown", "touchstart"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var select = event.target.closest && event.target.closest("select.smds-move");
      if (select) { fill(select); }
    }, true);
  });
})();
