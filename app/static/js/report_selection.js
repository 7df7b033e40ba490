/* Screen 6 (K007): report classification selection. No inline script (CSP); texts come
   from data attributes of #sel-texts; the server enforces every rule again on save. */
(function () {
  "use strict";
  var root = document.getElementById("report-selection");
  if (!root) { return; }
  var texts = document.getElementById("sel-texts").dataset;
  var el = {
    level: document.getElementById("sel-level"),
    auto: document.getElementById("sel-auto"),
    message: document.getElementById("sel-message"),
    selected: document.querySelector("#sel-selected tbody"),
    available: document.querySelector("#sel-available tbody"),
    select: document.getElementById("btn-select"),
    up: document.getElementById("btn-up"),
    down: document.getElementById("btn-down"),
    unselect: document.getElementById("btn-unselect"),
    save: document.getElementById("btn-save"),
    reset: document.getElementById("btn-reset"),
    close: document.getElementById("btn-close"),
    groupings: document.querySelectorAll("#sel-grouping input[name=grouping]"),
    search: document.getElementById("sel-search"),
    sort: document.getElementById("sel-sort"),
    showZero: document.getElementById("sel-show-zero"),
    hiddenNote: document.getElementById("sel-hidden-note")
  };
  var state = null;      // from the server
  var slots = [];        // rank_count entries: {id, name, count} or null
  var level = 1;
  var activeSlot = -1;   // highlighted row of the selected list
  var activeItem = null; // highlighted id of the available list
  var dirty = false;

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, key) { return values[key]; });
  }
  function cell(tr, text) {
    var td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    tr.appendChild(td);
    return td;
  }
  function selectedIds() {
    return slots.filter(function (s) { return s; }).map(function (s) { return s.id; });
  }
  // Search as ledger search does: NFKC + case-fold, so ＭＲＩ, mri and ﾕｴｷ find their names.
  function fold(text) {
    var s = String(text || "");
    if (s.normalize) { s = s.normalize("NFKC"); }
    return s.toLowerCase();
  }
  // The list as shown: searched, 0-device classes hidden unless asked, sorted by device
  // count (default; ties by name) or by name.
  function visibleItems(items, chosen) {
    var needle = fold(el.search.value.trim());
    var showZero = el.showZero.checked;
    var hidden = 0;
    var shown = items.filter(function (item) {
      if (chosen.indexOf(item.id) >= 0) { return false; }
      if (needle && fold(item.name).indexOf(needle) < 0) { return false; }
      if (!showZero && !item.count) { hidden += 1; return false; }
      return true;
    });
    var byName = function (a, b) { return a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id; };
    shown.sort(el.sort.value === "name" ? byName : function (a, b) { return (b.count - a.count) || byName(a, b); });
    return {items: shown, hidden: hidden};
  }
  function firstEmpty() {
    for (var i = 0; i < slots.length; i++) { if (!slots[i]) { return i; } }
    return -1;
  }

  function renderMessage() {
    if (el.auto.checked) {
      el.message.textContent = texts.autoOn;
      return;
    }
    var remaining = state.rank_count - selectedIds().length;
    el.message.textContent = fmt(texts.remaining, {remaining: remaining});
  }

  function renderButtons() {
    var auto = el.auto.checked;
    var hasSlot = activeSlot >= 0 && slots[activeSlot];
    el.select.disabled = auto || firstEmpty() < 0;
    el.up.disabled = auto || !hasSlot || activeSlot <= 0;
    el.down.disabled = auto || !hasSlot || activeSlot >= state.rank_count - 1;
    el.unselect.disabled = auto || !hasSlot;
  }

  function render() {
    el.selected.innerHTML = "";
    slots.forEach(function (slot, index) {
      var tr = document.createElement("tr");
      tr.dataset.rank = String(index + 1);
      cell(tr, index + 1);
      cell(tr, slot ? slot.id : "");
      cell(tr, slot ? slot.name : "");
      cell(tr, slot ? slot.count : "");
      if (index === activeSlot) { tr.className = "info"; }
      tr.setAttribute("aria-selected", index === activeSlot ? "true" : "false");
      tr.tabIndex = index === Math.max(activeSlot, 0) ? 0 : -1;
      tr.addEventListener("click", function () { activeSlot = index; render(); });
      tr.addEventListener("keydown", function (e) {
        rowKey(e, "selected", index, function (i) { activeSlot = i; });
      });
      el.selected.appendChild(tr);
    });
    el.available.innerHTML = "";
    var chosen = selectedIds();
    var visible = visibleItems(state.classifications[String(level)] || [], chosen);
    el.hiddenNote.textContent = visible.hidden ? fmt(texts.hiddenZero, {n: visible.hidden}) : "";
    if (!visible.items.length) {
      var none = document.createElement("tr");
      var td = cell(none, texts.noMatch);
      td.colSpan = 3;
      td.className = "text-muted";
      el.available.appendChild(none);
    }
    var activeShown = visible.items.some(function (item) { return item.id === activeItem; });
    visible.items.forEach(function (item, index) {
      var tr = document.createElement("tr");
      tr.dataset.id = String(item.id);
      cell(tr, item.id);
      cell(tr, item.name);
      cell(tr, item.count).className = "text-right";
      if (item.id === activeItem) { tr.className = "info"; }
      tr.setAttribute("aria-selected", item.id === activeItem ? "true" : "false");
      tr.tabIndex = (activeShown ? item.id === activeItem : index === 0) ? 0 : -1;
      tr.addEventListener("click", function () { activeItem = item.id; render(); });
      tr.addEventListener("dblclick", function () { activeItem = item.id; doSelect(); });
      tr.addEventListener("keydown", function (e) {
        rowKey(e, "available", index, function (i) { activeItem = visible.items[i].id; });
      });
      el.available.appendChild(tr);
    });
    renderButtons();
    renderMessage();
    if (refocus) {
      var rows = (refocus.list === "selected" ? el.selected : el.available).querySelectorAll("tr[tabindex]");
      if (rows.length) { rows[Math.min(refocus.index, rows.length - 1)].focus(); }
      refocus = null;
    }
  }

  // Keyboard for both lists (a mouse clicks and double-clicks): Tab reaches each list once
  // (its highlighted row), ↑↓ move the highlight, Space highlights, Enter highlights and in
  // the classification list also selects — as a double-click does. The focus stays on the
  // list across the re-render.
  var refocus = null;
  function rowKey(e, list, index, highlight) {
    var rows = (list === "selected" ? el.selected : el.available).querySelectorAll("tr[tabindex]");
    var target = index;
    if (e.key === "ArrowDown") { target = Math.min(index + 1, rows.length - 1); }
    else if (e.key === "ArrowUp") { target = Math.max(index - 1, 0); }
    else if (e.key !== "Enter" && e.key !== " ") { return; }
    e.preventDefault();
    highlight(target);
    refocus = {list: list, index: target};
    if (e.key === "Enter" && list === "available") { doSelect(); }
    if (refocus) { render(); }  // doSelect re-rendered unless there was nothing to select
  }

  function init(data) {
    state = data;
    el.message.className = "alert alert-info";  // red after a failed load until リセット loaded it
    level = data.level;
    slots = [];
    for (var i = 0; i < data.rank_count; i++) { slots.push(data.selected[i] || null); }
    el.level.innerHTML = "";
    data.levels.forEach(function (lv) {
      var option = document.createElement("option");
      option.value = String(lv);
      option.textContent = texts.level + lv;
      el.level.appendChild(option);
    });
    el.level.value = String(level);
    el.auto.checked = data.is_auto;
    Array.prototype.forEach.call(el.groupings, function (radio) { radio.checked = radio.value === data.grouping; });
    activeSlot = -1;
    activeItem = null;
    dirty = false;
    render();
  }

  function load() {
    return fetch(root.dataset.dataUrl, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) {
        if (!r.ok) { throw new Error(r.status); }
        return r.json();
      })
      .then(init, function () {
        el.message.className = "alert alert-danger";
        el.message.textContent = texts.loadFailed;
        el.available.innerHTML = "";  // its 読み込み中… row: nothing is on its way any more
      });
  }

  function doSelect() {
    if (el.select.disabled) { return; }
    if (activeItem === null) { el.message.textContent = texts.pick; return; }
    var item = (state.classifications[String(level)] || []).filter(function (x) { return x.id === activeItem; })[0];
    var index = firstEmpty();
    if (!item || index < 0) { return; }
    slots[index] = item;
    activeItem = null;
    activeSlot = -1;
    dirty = true;
    render();
  }

  function move(delta) {
    var target = activeSlot + delta;
    if (activeSlot < 0 || target < 0 || target >= state.rank_count) { return; }
    var tmp = slots[target];
    slots[target] = slots[activeSlot];
    slots[activeSlot] = tmp;
    activeSlot = target;
    dirty = true;
    render();
  }

  function unselect() {
    if (activeSlot < 0 || !slots[activeSlot]) { return; }
    slots[activeSlot] = null;
    activeSlot = -1;
    dirty = true;
    render();
  }

  // The spec's confirmations, in the shared in-page dialog (dialog.js): a Promise of OK.
  function ask(question) { return window.OptiServeDialog.confirm(question); }

  // The answer as {ok, body}. A session ended meanwhile (idle, logout in another tab) answers
  // with the login page, not JSON: that was an uncaught error and 登録 seemed to do nothing.
  function postJson(url, payload) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf},
      body: JSON.stringify(payload)
    }).then(function (r) {
      return r.json().then(function (body) { return {ok: r.ok, body: body}; });
    }).catch(function () {
      return {ok: false, body: {message: texts.notSaved}};
    });
  }

  function save() {
    var ids = selectedIds();
    var question;
    if (ids.length === 0) {
      if (!el.auto.checked) { el.message.textContent = texts.needOne; return; }
      question = texts.confirmAuto;
    } else if (ids.length === state.rank_count) {
      question = texts.confirmFull;
    } else {
      question = texts.confirmPartial;
    }
    ask(question).then(function (ok) {
      if (!ok) { return; }
      postJson(root.dataset.saveUrl, {classification_ids: ids}).then(function (res) {
        if (!res.ok) { el.message.className = "alert alert-danger"; el.message.textContent = res.body.message; return; }
        init(res.body.state);
        window.OptiServeDialog.alert(texts.done);
      });
    });
  }

  el.level.addEventListener("change", function () {
    level = parseInt(el.level.value, 10);
    // One level only: the selection of another level goes back to its list.
    for (var i = 0; i < slots.length; i++) { slots[i] = null; }
    activeSlot = -1;
    activeItem = null;
    dirty = true;
    render();
  });
  el.auto.addEventListener("change", function () {
    if (!el.auto.checked) { dirty = true; render(); return; }
    ask(texts.confirmAuto).then(function (ok) {
      if (!ok) { el.auto.checked = false; return; }
      for (var i = 0; i < slots.length; i++) { slots[i] = null; }
      activeSlot = -1;
      dirty = true;
      render();
    });
  });
  function changeGrouping(radio) {
    if (!radio.checked || radio.value === state.grouping) { return; }
    ask(texts.confirmGrouping).then(function (ok) {
      if (!ok) {
        Array.prototype.forEach.call(el.groupings, function (r) { r.checked = r.value === state.grouping; });
        return;
      }
      postJson(root.dataset.groupingUrl, {grouping: radio.value}).then(function (res) {
        if (!res.ok) { el.message.textContent = res.body.message; init(state); return; }
        init(res.body.state);
        el.message.textContent = res.body.message;
      });
    });
  }
  Array.prototype.forEach.call(el.groupings, function (radio) {
    radio.addEventListener("change", function () { changeGrouping(radio); });
  });
  el.search.addEventListener("input", render);
  el.sort.addEventListener("change", render);
  el.showZero.addEventListener("change", render);
  el.select.addEventListener("click", doSelect);
  el.up.addEventListener("click", function () { move(-1); });
  el.down.addEventListener("click", function () { move(1); });
  el.unselect.addEventListener("click", unselect);
  el.save.addEventListener("click", save);
  el.reset.addEventListener("click", function () { load(); });
  el.close.addEventListener("click", function () {
    (dirty ? ask(texts.unsaved) : Promise.resolve(true)).then(function (ok) {
      if (ok) { window.location.href = root.dataset.closeUrl; }
    });
  });
  load();
}());
