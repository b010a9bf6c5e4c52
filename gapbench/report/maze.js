/* Mazes drawn as grids, with a graded route on top: shared by the report's transcript viewer
   (inlined into report.html) and the human-AI game (served by `gapbench play`). All text goes in
   through textContent, never as HTML. */
var GapbenchMaze = (function () {
  "use strict";
  var CELL = 30;
  var CLASSES = {"#": "wall", ".": "open", "?": "hidden", "@": "start", "*": "goal"};

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function drawGrid(target, rows, route, walked, missing) {
    target.innerHTML = "";
    if (!rows || !rows.length) { target.appendChild(el("p", "", missing || "not available")); return; }
    var n = rows.length, onRoute = {};
    (route || []).slice(0, walked).forEach(function (c) { onRoute[c[0] + "," + c[1]] = true; });
    var wrap = el("div", "gridwrap"), grid = el("div", "grid maze-grid");
    grid.style.gridTemplateColumns = "repeat(" + n + ", " + CELL + "px)";
    rows.forEach(function (row, i) {
      Array.prototype.forEach.call(row, function (sym, j) {
        var c = el("div", "cell " + (CLASSES[sym] || "open") + (onRoute[i + "," + j] ? " route" : ""), sym === "." ? "" : sym);
        c.dataset.row = i; c.dataset.col = j;
        grid.appendChild(c);
      });
    });
    wrap.appendChild(grid);
    if (route && route.length > 1) {
      var ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg");
      svg.setAttribute("width", n * CELL); svg.setAttribute("height", n * CELL);
      var centre = function (c) { return (c[1] * CELL + CELL / 2) + "," + (c[0] * CELL + CELL / 2); };
      var line = document.createElementNS(ns, "polyline");
      line.setAttribute("points", route.slice(0, walked).map(centre).join(" "));
      line.setAttribute("fill", "none"); line.setAttribute("stroke", "#1565c0"); line.setAttribute("stroke-width", "3");
      line.setAttribute("class", "route-line");
      svg.appendChild(line);
      if (walked < route.length) {
        var bad = document.createElementNS(ns, "polyline");
        bad.setAttribute("points", [route[walked - 1], route[walked]].map(centre).join(" "));
        bad.setAttribute("fill", "none"); bad.setAttribute("stroke", "#d32f2f"); bad.setAttribute("stroke-width", "3");
        bad.setAttribute("stroke-dasharray", "4 3");
        svg.appendChild(bad);
      }
      wrap.appendChild(svg);
    }
    target.appendChild(wrap);
  }

  /* The full maze of a dialogue (as report/viewer.py's dialogue_data gives it) with the route of
     the grade that counts: the valid walk in blue, the step that ended it in red. */
  function drawOutcome(target, d) {
    var g = d.grades[d.primary], route = g.route, walked = route ? Math.min(g.moves + 1, route.length) : 0;
    drawGrid(target, d.maze ? d.maze.rows : null, route, walked);
  }

  return {el: el, drawGrid: drawGrid, drawOutcome: drawOutcome};
})();
