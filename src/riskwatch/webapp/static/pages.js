// Draws each <figure data-chart="ID"> with uPlot from the JSON in <script id="ID">:
// {x, time, y_label, series: [{label, values}], markers: [{x, label}], threshold, x_labels}.
// Markers (a model change) are dashed vertical lines; the threshold a dashed horizontal one.
// Without JavaScript the table beside each chart holds the same numbers.
(function () {
  "use strict";
  var COLOURS = ["#1f5fbf", "#c2410c", "#2d6a3e", "#7c3aed", "#a61b1b"];
  var HEIGHT = 260;

  function overlay(spec) {
    return function (u) {
      var ctx = u.ctx;
      ctx.save();
      ctx.setLineDash([5, 4]);
      ctx.lineWidth = 1.5 * devicePixelRatio;
      ctx.font = 11 * devicePixelRatio + "px system-ui, sans-serif";
      (spec.markers || []).forEach(function (m) {
        var left = u.valToPos(m.x, "x", true);
        if (left < u.bbox.left || left > u.bbox.left + u.bbox.width) return;
        ctx.strokeStyle = "#5b6575";
        ctx.beginPath();
        ctx.moveTo(left, u.bbox.top);
        ctx.lineTo(left, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.fillStyle = "#1d2430";
        ctx.fillText(m.label, left + 4, u.bbox.top + 12 * devicePixelRatio);
      });
      if (spec.threshold !== null && spec.threshold !== undefined) {
        var top = u.valToPos(spec.threshold, "y", true);
        ctx.strokeStyle = "#a61b1b";
        ctx.beginPath();
        ctx.moveTo(u.bbox.left, top);
        ctx.lineTo(u.bbox.left + u.bbox.width, top);
        ctx.stroke();
      }
      ctx.restore();
    };
  }

  function draw(element) {
    var spec = JSON.parse(document.getElementById(element.dataset.chart).textContent);
    if (!spec.x.length) return null;
    var series = [{ label: spec.time ? "time" : "version" }];
    spec.series.forEach(function (one, i) {
      series.push({ label: one.label, stroke: COLOURS[i % COLOURS.length], width: 2,
        spanGaps: false, points: { show: true, size: 7 } });
    });
    var xAxis = { label: "" };
    if (spec.x_labels) {
      xAxis.values = function (u, ticks) {
        return ticks.map(function (t) { return spec.x_labels[Math.round(t)] || ""; });
      };
      xAxis.splits = function () { return spec.x.slice(); };
    }
    var yRange = spec.threshold !== null && spec.threshold !== undefined
      ? function (u, lo, hi) { return [Math.min(0, lo), Math.max(hi, spec.threshold) * 1.1]; }
      : undefined;
    var xScale = { time: spec.time };
    if (spec.x_labels) {  // points named by version: room on both sides for their labels
      xScale.range = function () { return [-0.5, spec.x.length - 0.5]; };
    }
    var options = {
      width: Math.max(320, element.clientWidth),
      height: HEIGHT,
      scales: { x: xScale, y: yRange ? { range: yRange } : {} },
      series: series,
      axes: [xAxis, { label: spec.y_label || "" }],
      hooks: { draw: [overlay(spec)] },
    };
    var data = [spec.x].concat(spec.series.map(function (one) { return one.values; }));
    element.textContent = "";
    return new uPlot(options, data, element);
  }

  function drawAll() {
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var chart = draw(element);
      if (!chart) return;
      window.addEventListener("resize", function () {
        chart.setSize({ width: Math.max(320, element.clientWidth), height: HEIGHT });
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
