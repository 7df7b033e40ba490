/* Screen 3: show the chosen file names, and poll the status of unfinished uploads. */
(function () {
  "use strict";
  var page = document.getElementById("upload-page");
  if (!page) { return; }
  // The page's words in the UI language (data-text-* of #upload-page).
  function text(name) { return page.dataset["text" + name.charAt(0).toUpperCase() + name.slice(1)] || ""; }

  document.querySelectorAll("input.upload-file").forEach(function (input) {
    input.addEventListener("change", function () {
      var note = document.querySelector('.upload-chosen[data-for="' + input.id + '"]');
      if (note) {
        note.textContent = input.files.length ? "✓ " + text("chosen") + ": " + input.files[0].name : "";
      }
    });
  });
  var form = document.getElementById("upload-form");
  if (form) {
    form.addEventListener("reset", function () {
      document.querySelectorAll(".upload-chosen").forEach(function (n) { n.textContent = ""; });
    });
  }

  function pendingIds() {
    var ids = [];
    document.querySelectorAll('#upload-status tr[data-done="false"]').forEach(function (row) {
      ids.push(row.getAttribute("data-upload-id"));
    });
    return ids;
  }

  function link(href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  function update(item) {
    var row = document.querySelector('#upload-status tr[data-upload-id="' + item.id + '"]');
    if (!row) { return; }
    row.querySelector(".js-status").textContent = item.status_label;
    row.querySelector(".js-message").textContent = item.message;
    var counts = "";
    if (item.rows_total !== null) {
      counts = (item.rows_imported || 0) + " / " + item.rows_total;
      if (item.rows_rejected) { counts += " (" + text("rejectedRows") + " " + item.rows_rejected + ")"; }
    }
    row.querySelector(".js-counts").textContent = counts;
    var links = row.querySelector(".js-links");
    links.textContent = "";
    if (item.rejected_url) { links.appendChild(link(item.rejected_url, text("rejectedLink"))); }
    if (item.mapping_url) { links.appendChild(link(item.mapping_url, text("mappingLink"))); }
    row.setAttribute("data-done", item.done ? "true" : "false");
  }

  // The upload history below (one row per month) said 処理中 until the page was reloaded:
  // when an upload finishes, its table is read again from this page's URL.
  function refreshHistory() {
    var history = document.getElementById("upload-history");
    if (!history) { return; }
    fetch(window.location.href, { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (!html) { return; }
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("upload-history");
      if (fresh) { history.innerHTML = fresh.innerHTML; }
    }).catch(function () { /* the next finished upload tries again */ });
  }

  function poll() {
    var ids = pendingIds();
    if (!ids.length) { return; }
    fetch(page.getAttribute("data-status-url") + "?ids=" + ids.join(","), {
      credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : { uploads: [] };
    }).then(function (data) {
      data.uploads.forEach(update);
      if (data.uploads.some(function (item) { return item.done; })) { refreshHistory(); }
    }).catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 1500);
}());
