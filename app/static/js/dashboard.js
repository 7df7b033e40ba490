/* Dashboard charts (issue 14): drawn with the vendored Chart.js from the figures the page
   embeds (#dashboard-data, JSON): no further data request. Hover shows the values in an
   HTML tooltip (#dash-tooltip). A chart with no value draws 「データがありません」, never
   empty axes. Loaded with the CSP nonce; no inline handlers. */
(function () {
  "use strict";
  var picker = document.getElementById("dash-picker");
  // A choice made with the mouse or a finger shows at once. From the keyboard, each ↑↓
  // changes the value: showing at once reloaded the page on the first key, with the focus
  // lost, so a keyboard user could not reach a month further away. There Enter (or 表示) shows it.
  if (picker) {
    picker.querySelectorAll("select").forEach(function (select) {
      var byKeyboard = false;
      select.addEventListener("pointerdown", function () { byKeyboard = false; });
      select.addEventListener("keydown", function (e) {
        byKeyboard = true;
        if (e.key === "Enter") { e.preventDefault(); picker.submit(); }
      });
      select.addEventListener("change", function () { if (!byKeyboard) { picker.submit(); } });
    });
  }
  var holder = document.getElementById("dashboard-data");
  if (!holder || typeof Chart === "undefined") { return; }
  var data = JSON.parse(holder.textContent);
  var BAR = "#4e79a7", LINE = "#e15759", BAR2 = "#f28e2b";
  var tooltip = document.getElementById("dash-tooltip");

  function fmt(value, unit) {
    if (value === null || value === undefined) { return "—"; }
    if (unit === "%") { return (value * 100).toFixed(2) + "%"; }
    var written = (data.texts && data.texts.units[unit]) || unit || "";  // 時間, or " hours"
    if (unit === "時間") { return value.toLocaleString("ja-JP", {minimumFractionDigits: 1, maximumFractionDigits: 1}) + written; }
    return value.toLocaleString("ja-JP", {maximumFractionDigits: 1}) + written;
  }

  function external(context) {
    var tip = context.tooltip;
    if (!tip || tip.opacity === 0) { tooltip.hidden = true; return; }
    var lines = [];
    (tip.dataPoints || []).forEach(function (point) {
      var unit = point.dataset.unit;
      lines.push(point.dataset.label + ": " + fmt(point.raw, unit));
    });
    tooltip.textContent = "";
    var title = document.createElement("div");
    title.className = "tt-title";
    title.textContent = (tip.title || []).join(" ");
    tooltip.appendChild(title);
    lines.forEach(function (line) {
      var div = document.createElement("div");
      div.textContent = line;
      tooltip.appendChild(div);
    });
    var rect = context.chart.canvas.getBoundingClientRect();
    tooltip.hidden = false;
    tooltip.style.left = (window.scrollX + rect.left + tip.caretX + 12) + "px";
    tooltip.style.top = (window.scrollY + rect.top + tip.caretY - 10) + "px";
  }

  function empty(box) {
    box.textContent = "";
    var note = document.createElement("div");
    note.className = "dash-none";
    note.textContent = data.texts.no_data;
    box.appendChild(note);
  }

  function hasValues(datasets) {
    return datasets.some(function (d) {
      return d.data.some(function (v) { return v !== null && v !== undefined && v !== 0; });
    });
  }

  function percentAxis(position) {
    return {position: position, beginAtZero: true, grid: {drawOnChartArea: position === "left"},
            ticks: {callback: function (v) { return (v * 100).toFixed(v * 100 < 10 ? 1 : 0) + "%"; }}};
  }
  function numberAxis(position) {
    return {position: position, beginAtZero: true, grid: {drawOnChartArea: position === "left"},
            ticks: {precision: 0, callback: function (v) { return v.toLocaleString("ja-JP"); }}};
  }

  function draw(box, config) {
    if (!hasValues(config.data.datasets)) { empty(box); return; }
    config.options = Object.assign({
      responsive: true, maintainAspectRatio: false, animation: false,
      interaction: {mode: "index", intersect: false},
      plugins: {tooltip: {enabled: false, external: external}, legend: {position: "bottom"}}
    }, config.options || {});
    box.chart = new Chart(box.querySelector("canvas"), config);
  }

  function scope(key) {
    return data.scopes.filter(function (s) { return s.key === key; })[0];
  }

  function trend(box, part, kind) {
    var section = part.trend[kind];
    var barKey = kind === "lending" ? "lendings" : "failures";
    var lineKey = kind === "lending" ? "utilization" : "failure_rate";
    draw(box, {
      type: "bar",
      data: {labels: data.months, datasets: [
        {type: "bar", label: data.labels[kind][barKey], unit: data.units[kind][barKey], data: section[barKey],
         backgroundColor: BAR, yAxisID: "y", order: 2},
        {type: "line", label: data.labels[kind][lineKey], unit: "%", data: section[lineKey], borderColor: LINE,
         backgroundColor: LINE, yAxisID: "y1", spanGaps: false, order: 1}
      ]},
      options: {scales: {y: numberAxis("left"), y1: percentAxis("right")}}
    });
  }

  function life(box, part) {
    var rows = part.life.filter(function (r) { return r.devices > 0; });
    draw(box, {
      type: "bar",
      data: {labels: rows.map(function (r) { return r.label; }), datasets: [
        {label: data.texts.devices, unit: "台", data: rows.map(function (r) { return r.devices; }), backgroundColor: BAR, yAxisID: "y"},
        {label: data.texts.lending_hours, unit: "時間", data: rows.map(function (r) { return r.lending_hours; }), backgroundColor: BAR2, yAxisID: "y1"}
      ]},
      options: {scales: {y: numberAxis("left"), y1: numberAxis("right")}}
    });
  }

  function models(box, part) {
    var rows = part.models_near_end;
    draw(box, {
      type: "bar",
      data: {labels: rows.map(function (m) { return m.maker + " " + m.model; }), datasets: [
        {label: data.texts.near_end_share, unit: "%", data: rows.map(function (m) { return m.share; }), backgroundColor: LINE}
      ]},
      options: {indexAxis: "y", scales: {x: percentAxis("left")}, plugins: {legend: {display: false},
                tooltip: {enabled: false, external: external}}}
    });
  }

  function ranking(box) {
    var rows = data.ranking;
    draw(box, {
      type: "bar",
      data: {labels: rows.map(function (r) { return r.rank + ". " + r.name; }), datasets: [
        {label: data.texts.utilization, unit: "%", data: rows.map(function (r) { return r.utilization; }), backgroundColor: BAR}
      ]},
      options: {indexAxis: "y", scales: {x: percentAxis("left")}, plugins: {legend: {display: false},
                tooltip: {enabled: false, external: external}}}
    });
  }

  function render(box) {
    if (box.dataset.drawn) { return; }
    box.dataset.drawn = "1";
    var kind = box.dataset.chart;
    if (kind === "ranking") { ranking(box); return; }
    var part = scope(box.dataset.part);
    if (!part) { empty(box); return; }
    if (kind === "lending" || kind === "failure") { trend(box, part, kind); }
    else if (kind === "life") { life(box, part); }
    else if (kind === "models_near_end") { models(box, part); }
  }

  document.querySelectorAll(".dash-chart").forEach(function (box) {
    var details = box.closest("details");
    if (!details || details.open) { render(box); }
  });
  document.querySelectorAll("details.dashboard-scope").forEach(function (details) {
    details.addEventListener("toggle", function () {
      if (details.open) { details.querySelectorAll(".dash-chart").forEach(render); }
    });
  });
  document.addEventListener("scroll", function () { tooltip.hidden = true; }, {passive: true});
})();
