/* Screen 3: show the chosen file names, and poll the status of unfinished uploads. */
(function () {
  "use strict";
  var page = document.getElementById("upload-page");
  if (!page) { return; }

  document.querySelectorAll("input.upload-file").forEach(function (input) {
    input.addEventListener("change", function () {
      var note = document.querySelector('.upload-chosen[data-for="' + input.id + '"]');
      if (note) {
        note.textContent = input.files.length ? "✓ " + input.files[0].name + " が選択されました" : "";
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
      if (item.rows_rejected) { counts += " (取込不可 " + item.rows_rejected + ")"; }
    }
    row.querySelector(".js-counts").textContent = counts;
    var links = row.querySelector(".js-links");
    links.textContent = "";
    if (item.rejected_url) { links.appendChild(link(item.rejected_url, "取り込めなかった行")); }
    if (item.mapping_url) { links.appendChild(link(item.mapping_url, "列の対応付け")); }
    row.setAttribute("data-done", item.done ? "true" : "false");
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
    }).catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 1500);
}());
