// Draws each element marked data-chart="ID" with uPlot, from the JSON in <script id="ID">:
// {x: [...], time: bool, x_label, y_label, y_range: [min, max] or absent,
// series: [{label, values: [...]}]}.
// Without JavaScript the page's tables hold the same numbers.
(function () {
  "use strict";
  var COLOURS = ["#1f5fbf", "#c2410c", "#2d6a3e", "#7c3aed"];

  function draw(element) {
    var spec = JSON.parse(document.getElementById(element.dataset.chart).textContent);
    var series = [{ label: spec.x_label || "time" }];
    spec.series.forEach(function (one, i) {
      series.push({ label: one.label, stroke: COLOURS[i % COLOURS.length], width: 2, points: { show: true, size: 6 } });
    });
    var options = {
      width: Math.max(320, element.clientWidth),
      height: 260,
      scales: { x: { time: spec.time }, y: spec.y_range ? { range: spec.y_range } : {} },
      series: series,
      // Drops are whole numbers: no ticks at 1.05, 1.1... Time ticks 90 px apart at least: a
      // tick's label with its date ("11/30/26 5:50am") is wider than uPlot's 50 px default.
      axes: [
        spec.time ? { label: spec.x_label || "", space: 90 } : { label: spec.x_label || "", incrs: [1, 2, 5, 10, 20, 50, 100] },
        { label: spec.y_label || "" },
      ],
    };
    var data = [spec.x].concat(spec.series.map(function (one) { return one.values; }));
    element.textContent = "";
    return new uPlot(options, data, element);
  }

  function drawAll() {
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var chart = draw(element);
      window.addEventListener("resize", function () {
        chart.setSize({ width: Math.max(320, element.clientWidth), height: 260 });
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
