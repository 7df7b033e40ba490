/*
 * Ordered list: pick up to N items from a <select> and order them (rank 1 first).
 * Shared by every "ordered selection" screen (manufacturer's hospitals, report classifications).
 *
 * Markup (rendered by the server; the order of the hidden inputs is the submitted order):
 *   <div data-ordered-list data-max="5" data-input-name="hospital_id" data-full-message="...">
 *     <ol data-ordered-list-items>
 *       <li data-value="12"><span data-label>Name</span>
 *         <input type="hidden" name="hospital_id" value="12">
 *         <button type="button" data-move="up">↑</button>
 *         <button type="button" data-move="down">↓</button>
 *         <button type="button" data-remove>×</button></li>
 *     </ol>
 *     <select data-ordered-list-source><option value="12">Name</option>…</select>
 *     <button type="button" data-ordered-list-add>Add</button>
 *     <span data-ordered-list-status></span>
 *   </div>
 */
(function () {
  "use strict";

  function items(root) {
    return Array.prototype.slice.call(root.querySelectorAll("[data-ordered-list-items] > li"));
  }

  function button(attr, value, text) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "btn btn-default btn-xs";
    b.setAttribute(attr, value);
    b.textContent = text;
    return b;
  }

  function refresh(root) {
    var max = parseInt(root.getAttribute("data-max") || "0", 10);
    var list = items(root);
    var chosen = {};
    list.forEach(function (li) { chosen[li.getAttribute("data-value")] = true; });
    var source = root.querySelector("[data-ordered-list-source]");
    if (source) {
      Array.prototype.forEach.call(source.options, function (o) {
        o.disabled = !!chosen[o.value];
      });
    }
    var add = root.querySelector("[data-ordered-list-add]");
    var full = max > 0 && list.length >= max;
    if (add) { add.disabled = full; }
    var status = root.querySelector("[data-ordered-list-status]");
    if (status) {
      status.textContent = list.length + " / " + max + (full ? " " + (root.getAttribute("data-full-message") || "") : "");
    }
  }

  function addItem(root) {
    var source = root.querySelector("[data-ordered-list-source]");
    var max = parseInt(root.getAttribute("data-max") || "0", 10);
    if (!source || !source.value) { return; }
    var option = source.options[source.selectedIndex];
    if (option.disabled || (max > 0 && items(root).length >= max)) { return; }
    var li = document.createElement("li");
    li.setAttribute("data-value", option.value);
    var label = document.createElement("span");
    label.setAttribute("data-label", "");
    label.textContent = option.textContent + " ";
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = root.getAttribute("data-input-name");
    input.value = option.value;
    li.appendChild(label);
    li.appendChild(input);
    li.appendChild(button("data-move", "up", "↑"));
    li.appendChild(button("data-move", "down", "↓"));
    li.appendChild(button("data-remove", "", "×"));
    root.querySelector("[data-ordered-list-items]").appendChild(li);
    source.value = "";
  }

  function onClick(root, event) {
    var target = event.target;
    var li = target.closest("li");
    if (target.hasAttribute("data-ordered-list-add")) {
      addItem(root);
    } else if (li && target.hasAttribute("data-remove")) {
      li.parentNode.removeChild(li);
    } else if (li && target.getAttribute("data-move") === "up" && li.previousElementSibling) {
      li.parentNode.insertBefore(li, li.previousElementSibling);
    } else if (li && target.getAttribute("data-move") === "down" && li.nextElementSibling) {
      li.parentNode.insertBefore(li.nextElementSibling, li);
    } else {
      return;
    }
    refresh(root);
  }

  function init(root) {
    root.addEventListener("click", function (event) { onClick(root, event); });
    refresh(root);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-ordered-list]"), init);
  });
})();
