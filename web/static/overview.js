// The overview's charts and map (ECharts, vendored): data from /overview/data.json, the
// boundaries from /overview/boundaries.json; redrawn every minute like the counts (htmx),
// without animation (a wall screen redrawing every minute should not flicker).
(function () {
  "use strict";
  var REFRESH_MS = 60000;
  var charts = {};

  function root() { return document.querySelector("[data-testid=overview]"); }

  function query() {
    var unit = root().getAttribute("data-unit");
    return unit ? "?unit=" + encodeURIComponent(unit) : "";
  }

  function chart(id) {
    var el = document.getElementById(id);
    if (!el) { return null; }
    if (!charts[id] || charts[id].getDom() !== el) { charts[id] = echarts.init(el); }
    return charts[id];
  }

  function drawTrend(data) {
    chart("chart-trend").setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { data: ["受理", "结案"] },
      grid: { left: 40, right: 16, top: 32, bottom: 24 },
      xAxis: { type: "category", data: data.days },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: "受理", type: "line", data: data.intake },
        { name: "结案", type: "line", data: data.closed }
      ]
    });
  }

  function drawCategories(data) {
    var names = data.categories.map(function (c) { return c[0]; }).reverse();
    var counts = data.categories.map(function (c) { return c[1]; }).reverse();
    chart("chart-categories").setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      grid: { left: 96, right: 16, top: 16, bottom: 24 },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: names },
      series: [{ type: "bar", data: counts }]
    });
  }

  function drawMap(data) {
    var points = function (late) {
      return data.points.filter(function (p) { return p[3] === late; })
        .map(function (p) { return { value: [p[0], p[1]], name: p[2] }; });
    };
    var map = chart("chart-map");
    map.setOption({
      animation: false,
      tooltip: { trigger: "item", formatter: function (p) { return p.name; } },
      geo: { map: "cityloop", roam: true, itemStyle: { areaColor: "#eef2f6", borderColor: "#8aa1b8" },
             emphasis: { disabled: true } },
      series: [
        { name: "在办", type: "scatter", coordinateSystem: "geo", symbolSize: 6, data: points(false) },
        { name: "超期", type: "scatter", coordinateSystem: "geo", symbolSize: 8, data: points(true),
          itemStyle: { color: "#c0392b" } }
      ]
    });
    map.off("click");
    map.on("click", function (p) { if (p.name) { window.location.href = "/cases/" + encodeURIComponent(p.name); } });
  }

  function refresh() {
    fetch("/overview/data.json" + query(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        drawTrend(data); drawCategories(data);
        if (echarts.getMap("cityloop")) { drawMap(data); }
        root().setAttribute("data-drawn", "true");
      })
      .catch(function () { /* the next refresh tries again */ });
  }

  function start() {
    if (!root() || typeof echarts === "undefined") { return; }
    fetch("/overview/boundaries.json" + query(), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (geo) { echarts.registerMap("cityloop", geo); refresh(); });
    window.setInterval(refresh, REFRESH_MS);
    window.addEventListener("resize", function () {
      Object.keys(charts).forEach(function (k) { charts[k].resize(); });
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
