/* Screen 4 (operators): refresh the status of report generation until every job is done,
   then say so. */
(function () {
  "use strict";
  var table = document.getElementById("report-jobs");
  var note = document.getElementById("report-jobs-note");
  if (!table || !note) { return; }

  function pending() {
    return table.querySelectorAll('tr[data-done="false"]').length > 0;
  }

  function say() {
    if (pending()) {
      note.textContent = note.getAttribute("data-running");
      return;
    }
    var failed = table.querySelector('tr[data-status="failed"]');
    note.textContent = note.getAttribute(failed ? "data-failed" : "data-done");
  }

  function update(job) {
    var row = table.querySelector('tr[data-job-id="' + job.id + '"]');
    if (!row) { return; }
    row.querySelector(".js-status").textContent = job.status_label;
    row.querySelector(".js-message").textContent = job.message;
    row.setAttribute("data-status", job.status);
    row.setAttribute("data-done", job.done ? "true" : "false");
  }

  function poll() {
    if (!pending()) { return; }
    fetch(table.getAttribute("data-url"), {
      credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : { jobs: [] };
    }).then(function (data) {
      data.jobs.forEach(update);
      var wasPending = pending();
      say();
      if (!wasPending) { note.className = "text-success"; }
    }).catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(poll, 2000); });
  }
  if (pending()) { say(); window.setTimeout(poll, 1500); }
}());
