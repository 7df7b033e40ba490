/* Screen 3 and its column-mapping step: show the chosen file names, poll the status of
   unfinished uploads, and ask before a file is withdrawn (取り消す). */
(function () {
  "use strict";
  // A button's data-confirm (the page's language) is asked in the shared in-page dialog
  // (dialog.js); on OK its form is sent as if it had been pressed. Delegated, so the 取り消す
  // buttons the poll adds to the list ask too.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-confirm]") : null;
    if (!button) { return; }
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

  // The 取り消す form of a row the poll found waiting for its columns (or failed), with the
  // page's own CSRF token.
  function discardForm(href) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = href;
    form.className = "upload-discard-form";
    var token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrf_token";
    var pageToken = document.querySelector('#upload-form input[name="csrf_token"]');
    token.value = pageToken ? pageToken.value : "";
    var button = document.createElement("button");
    button.type = "submit";
    button.className = "btn btn-link btn-xs";
    button.textContent = text("discard");
    button.setAttribute("data-confirm", text("discardConfirm"));
    form.appendChild(token);
    form.appendChild(button);
    return form;
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
    if (item.discard_url) { links.appendChild(discardForm(item.discard_url)); }
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
