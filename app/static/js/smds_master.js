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
    var own = select.dataset.node;
    var options = targets.content.cloneNode(true);
    select.textContent = "";
    Array.prototype.forEach.call(options.querySelectorAll("option"), function (option) {
      if (option.value === own) { return; }
      option.selected = option.value === current;
      select.appendChild(option);
    });
    select.dataset.filled = "1";
  }

  ["mousedown", "focusin", "keydown", "touchstart"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var select = event.target.closest && event.target.closest("select.smds-move");
      if (select) { fill(select); }
    }, true);
  });
})();
