/* Screen 7: hospital classification → SMDS mapping, paged and filtered, without reloads.
   No inline script (CSP). Texts come from #mapping-texts; the first page from #mapping-first.
   Reads pages from .../mapping/page, maps one row with PUT .../<id>/mapping (the JSON API),
   and bulk-accepts with a preview first (.../mapping/bulk). Keyboard: ↑↓ move, Enter
   accepts the first suggestion, 1-3 the n-th. */
(function () {
  "use strict";
  var root = document.getElementById("mapping");
  if (!root) { return; }
  var texts = document.getElementById("mapping-texts").dataset;
  var mappedBy = JSON.parse(texts.mappedBy);
  var el = {
    form: document.getElementById("mapping-filter"),
    q: document.getElementById("mf-q"),
    level: document.getElementById("mf-level"),
    status: document.getElementById("mf-status"),
    devices: document.getElementById("mf-devices"),
    table: document.getElementById("mapping-table"),
    body: document.querySelector("#mapping-table tbody"),
    unmapped: document.getElementById("mapping-unmapped"),
    total: document.getElementById("mapping-total"),
    matched: document.getElementById("mapping-matched"),
    message: document.getElementById("mapping-message"),
    prev: document.getElementById("page-prev"),
    next: document.getElementById("page-next"),
    pageInfo: document.getElementById("page-info"),
    threshold: document.getElementById("bulk-threshold"),
    bulkPreview: document.getElementById("bulk-preview"),
    bulkPanel: document.getElementById("bulk-panel"),
    bulkSummary: document.getElementById("bulk-summary"),
    bulkBody: document.querySelector("#bulk-table tbody"),
    bulkApply: document.getElementById("bulk-apply"),
    bulkCancel: document.getElementById("bulk-cancel")
  };
  var options = {};
  Array.prototype.forEach.call(document.querySelectorAll("#smds-options option"), function (o) {
    options[o.value] = parseInt(o.dataset.id, 10);
  });
  var state = JSON.parse(document.getElementById("mapping-first").textContent);
  var active = -1;     // highlighted row index on the page
  var preview = null;  // the bulk preview the user is looking at
  var seq = 0;         // answers of older requests are dropped

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, key) { return values[key]; });
  }
  function make(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    return node;
  }
  function say(text, isError) {
    el.message.textContent = text || "";
    el.message.className = isError ? "text-danger" : "text-info";
  }
  function currentFilter() {
    return {q: el.q.value, level: el.level.value, status: el.status.value, devices: el.devices.value};
  }
  function request(url, method, body) {
    var init = {method: method, credentials: "same-origin",
                headers: {Accept: "application/json", "X-CSRFToken": root.dataset.csrf}};
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { throw new Error(data.message || texts.error); }
        return data;
      });
    });
  }

  function mappedCell(td, row) {
    td.innerHTML = "";
    if (row.smds_classification_id) {
      td.appendChild(make("span", row.smds_classification_name, "mapped-name"));
      td.appendChild(document.createTextNode(" "));
      td.appendChild(make("small", "(" + (mappedBy[row.mapping_method] || "") + ")", "text-muted"));
      var unmap = make("button", texts.unmap, "btn btn-link btn-xs unmap");
      unmap.type = "button";
      unmap.addEventListener("click", function () { save(row, null, "manual"); });
      td.appendChild(unmap);
    } else {
      td.appendChild(make("span", texts.unmapped, "label label-warning"));
    }
  }

  function renderRow(row, index) {
    var tr = make("tr");
    tr.dataset.id = String(row.id);
    tr.dataset.index = String(index);
    tr.appendChild(make("td", row.level));
    var name = make("td");
    if (row.parent) { name.appendChild(make("small", row.parent + " › ", "text-muted")); }
    name.appendChild(make("span", row.name, "cls-name"));
    tr.appendChild(name);
    tr.appendChild(make("td", row.device_count, "text-right device-count"));
    var mapped = make("td", null, "mapped");
    mappedCell(mapped, row);
    tr.appendChild(mapped);
    var sugg = make("td", null, "suggestions");
    row.suggestions.forEach(function (s, n) {
      var b = make("button", s.name + " (" + s.score.toFixed(1) + ")",
                   "btn btn-xs " + (n === 0 ? "btn-default accept-first" : "btn-default"));
      b.type = "button";
      b.title = texts.acceptTitle;
      b.dataset.smdsId = String(s.id);
      b.addEventListener("click", function () { setActive(index); save(row, s.id, "suggestion", s.name); });
      sugg.appendChild(b);
      if (s.models) {  // other hospitals classify this model so (counts only)
        var hint = make("small", fmt(texts.modelBadge, s.models), "text-muted model-hint");
        hint.title = fmt(texts.modelTitle, s.models);
        sugg.appendChild(document.createTextNode(" "));
        sugg.appendChild(hint);
      }
      sugg.appendChild(document.createTextNode(" "));
    });
    if (!row.suggestions.length) {  // nothing in the name to match on: the manual field is next
      sugg.appendChild(make("small", texts.noSuggestion, "text-muted no-suggestion"));
    }
    tr.appendChild(sugg);
    var manual = make("td");
    var input = make("input", null, "form-control input-sm manual-input");
    input.setAttribute("list", "smds-options");
    input.placeholder = texts.manualPlaceholder;
    input.setAttribute("aria-label", texts.manualPlaceholder);
    input.size = 12;
    var go = make("button", texts.manualButton, "btn btn-default btn-xs");
    go.type = "button";
    function manualSave() {
      var id = options[input.value.trim()];
      if (!id) { say(texts.manualPick, true); return; }
      save(row, id, "manual", input.value.trim());
    }
    go.addEventListener("click", manualSave);
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); e.stopPropagation(); manualSave(); }
    });
    manual.appendChild(input);
    manual.appendChild(go);
    manual.className = "form-inline";
    manual.style.whiteSpace = "nowrap";
    tr.appendChild(manual);
    tr.addEventListener("click", function (e) {
      if (e.target.tagName !== "INPUT") { setActive(index); }
    });
    return tr;
  }

  function render() {
    el.body.innerHTML = "";
    state.rows.forEach(function (row, i) { el.body.appendChild(renderRow(row, i)); });
    if (!state.rows.length) {
      var tr = make("tr");
      var td = make("td", texts.empty, "text-muted");
      td.colSpan = 6;
      tr.appendChild(td);
      el.body.appendChild(tr);
    }
    el.unmapped.textContent = state.unmapped;
    el.total.textContent = state.total;
    el.matched.textContent = state.matched;
    el.pageInfo.textContent = fmt(texts.page, {page: state.page, pages: state.pages, matched: state.matched});
    el.prev.disabled = state.page <= 1;
    el.next.disabled = state.page >= state.pages;
    setActive(state.rows.length ? Math.min(Math.max(active, 0), state.rows.length - 1) : -1);
  }

  function setActive(index) {
    active = index;
    Array.prototype.forEach.call(el.body.querySelectorAll("tr"), function (tr) {
      var on = tr.dataset.index === String(index);
      tr.classList.toggle("info", on);
      if (on) { tr.setAttribute("aria-selected", "true"); } else { tr.removeAttribute("aria-selected"); }
    });
    var row = el.body.querySelector("tr[data-index='" + index + "']");
    if (row && row.scrollIntoView) { row.scrollIntoView({block: "nearest"}); }
  }

  function query(filter, page) {
    var params = new URLSearchParams();
    Object.keys(filter).forEach(function (k) { if (filter[k]) { params.set(k, filter[k]); } });
    params.set("page", String(page));
    return params;
  }

  function load(page) {
    var mine = ++seq;
    var params = query(currentFilter(), page);
    return request(root.dataset.pageUrl + "?" + params.toString(), "GET").then(function (data) {
      if (mine !== seq) { return; }
      state = data;
      active = 0;
      render();
      // The address keeps the filter and page, so a reload or a shared link shows the same.
      var url = new URL(window.location.href);
      ["q", "level", "status", "devices", "page"].forEach(function (k) { url.searchParams.delete(k); });
      params.forEach(function (v, k) { if (k !== "page" || v !== "1") { url.searchParams.set(k, v); } });
      window.history.replaceState(null, "", url.toString());
    }).catch(function (err) { say(err.message, true); });
  }

  function save(row, smdsId, method, targetName) {
    var url = root.dataset.mapUrl.replace(/\/0\/mapping$/, "/" + row.id + "/mapping");
    return request(url, "PUT", {smds_classification_id: smdsId, method: method}).then(function (data) {
      var was = row.smds_classification_id;
      row.smds_classification_id = data.smds_classification_id;
      row.mapping_method = data.mapping_method;
      row.smds_classification_name = smdsId ? targetName : null;
      if (!was && smdsId) { state.unmapped -= 1; }
      if (was && !smdsId) { state.unmapped += 1; }
      el.unmapped.textContent = state.unmapped;
      var tr = el.body.querySelector("tr[data-id='" + row.id + "']");
      if (tr) { mappedCell(tr.querySelector("td.mapped"), row); }
      say(smdsId ? fmt(texts.mapped, {name: row.name, target: targetName}) : fmt(texts.unmappedDone, {name: row.name}));
      if (smdsId) {
        var index = state.rows.indexOf(row);
        if (index >= 0 && index + 1 < state.rows.length) { setActive(index + 1); }
      }
    }).catch(function (err) { say(err.message, true); });
  }

  // --- bulk: preview, then apply exactly what was shown ---
  function bulkPreview() {
    var filter = currentFilter();
    var threshold = parseFloat(el.threshold.value);
    request(root.dataset.bulkUrl, "POST", {filter: filter, threshold: threshold}).then(function (data) {
      preview = {filter: filter, threshold: data.threshold, changes: data.changes};
      el.bulkBody.innerHTML = "";
      data.changes.forEach(function (c) {
        var tr = make("tr");
        tr.dataset.id = String(c.id);
        tr.appendChild(make("td", c.level));
        tr.appendChild(make("td", (c.parent ? c.parent + " › " : "") + c.name));
        tr.appendChild(make("td", c.device_count, "text-right"));
        tr.appendChild(make("td", c.smds_classification_name));
        tr.appendChild(make("td", c.score.toFixed(1), "text-right"));
        el.bulkBody.appendChild(tr);
      });
      el.bulkSummary.textContent = data.count ? fmt(texts.bulkCount, {count: data.count}) : texts.bulkNone;
      el.bulkApply.disabled = !data.count;
      el.bulkPanel.hidden = false;
    }).catch(function (err) { say(err.message, true); });
  }
  function bulkApply() {
    if (!preview) { return; }
    el.bulkApply.disabled = true;
    var changes = preview.changes.map(function (c) {
      return {id: c.id, smds_classification_id: c.smds_classification_id};
    });
    request(root.dataset.bulkUrl, "POST", {filter: preview.filter, threshold: preview.threshold,
                                           apply: true, changes: changes}).then(function (data) {
      el.bulkPanel.hidden = true;
      preview = null;
      el.bulkPreview.focus();
      return load(state.page).then(function () { say(fmt(texts.bulkDone, {count: data.count})); });
    }).catch(function (err) { el.bulkApply.disabled = false; say(err.message, true); });
  }
  function bulkCancel() {
    preview = null;
    el.bulkPanel.hidden = true;
  }
  // Closing the preview (its button, or Esc) gives the focus back to the button that opened
  // it: the hidden panel's button would leave a keyboard user at the top of the page.
  function closePreview() {
    bulkCancel();
    el.bulkPreview.focus();
  }

  // --- filter and paging ---
  var timer = null;
  function filterChanged() {
    bulkCancel();
    clearTimeout(timer);
    timer = setTimeout(function () { load(1); }, 250);
  }
  el.form.addEventListener("submit", function (e) { e.preventDefault(); clearTimeout(timer); bulkCancel(); load(1); });
  el.q.addEventListener("input", filterChanged);
  [el.level, el.status, el.devices].forEach(function (s) { s.addEventListener("change", filterChanged); });
  el.prev.addEventListener("click", function () { load(state.page - 1); });
  el.next.addEventListener("click", function () { load(state.page + 1); });
  el.bulkPreview.addEventListener("click", bulkPreview);
  el.bulkApply.addEventListener("click", bulkApply);
  el.bulkCancel.addEventListener("click", closePreview);

  // --- keyboard: anywhere on the page but in a field ---
  // Not on a link or in the menu bar either: Enter on a focused link (ダッシュボード, CSVダウンロード)
  // must follow it, not accept the highlighted row's suggestion; ↑↓ there move through the menu.
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && !el.bulkPanel.hidden) { closePreview(); return; }
    var tag = (e.target.tagName || "").toUpperCase();
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || e.altKey || e.ctrlKey || e.metaKey) { return; }
    if (e.target.closest && e.target.closest("a, .navbar, .dropdown-menu")) { return; }
    if (tag === "BUTTON" && e.key === "Enter") { return; }
    if (!state.rows.length) { return; }
    if (e.key === "ArrowDown") {
      e.preventDefault();
      setActive(Math.min(active + 1, state.rows.length - 1));
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      setActive(Math.max(active - 1, 0));
    } else if (e.key === "Enter" || e.key === "1" || e.key === "2" || e.key === "3") {
      var row = state.rows[active];
      var n = e.key === "Enter" ? 0 : parseInt(e.key, 10) - 1;
      if (!row || !row.suggestions[n]) { return; }
      e.preventDefault();
      save(row, row.suggestions[n].id, "suggestion", row.suggestions[n].name);
    }
  });

  active = 0;
  render();
}());
