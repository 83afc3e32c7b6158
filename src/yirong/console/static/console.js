// The console's charts: each element with data-chart holds its ECharts option as
// JSON, written by the server; drawn here (no inline script: the page's CSP allows
// scripts from this site only). The same figures are in a table beside each chart.
(function () {
  "use strict";
  function draw(element) {
    var option = JSON.parse(element.getAttribute("data-chart"));
    var chart = echarts.init(element, null, { renderer: "svg" });
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (typeof echarts === "undefined") { return; }
    document.querySelectorAll("[data-chart]").forEach(draw);
  });
})();
