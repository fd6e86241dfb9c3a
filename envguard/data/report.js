// envguard's HTML report: filters, sorting and keyboard moves. The page is complete without it;
// this only shows and hides what is there. It reads names with textContent and dataset and
// writes with textContent, hidden and classes: no markup is ever built from the report's values.
(function () {
  "use strict";
  var doc = document;

  function byId(id) { return doc.getElementById(id); }
  function all(selector, root) { return Array.prototype.slice.call((root || doc).querySelectorAll(selector)); }
  function value(id) { var input = byId(id); return input ? input.value : ""; }

  // A pattern with *, ? or [...] matches a whole name, as a glob; other text matches anywhere.
  // Both ignore case.
  function matcher(text) {
    text = text.trim();
    if (!text) { return null; }
    if (!/[*?[]/.test(text)) {
      var lower = text.toLowerCase();
      return function (name) { return name.toLowerCase().indexOf(lower) !== -1; };
    }
    var source = "";
    for (var i = 0; i < text.length; i++) {
      var c = text.charAt(i);
      if (c === "*") { source += ".*"; }
      else if (c === "?") { source += "."; }
      else if (c === "[" && text.indexOf("]", i + 2) !== -1) {
        var end = text.indexOf("]", i + 2);
        var inner = text.slice(i + 1, end).replace(/\\/g, "\\\\");
        source += "[" + (inner.charAt(0) === "!" ? "^" + inner.slice(1) : inner) + "]";
        i = end;
      } else { source += c.replace(/[\\^$.*+?()[\]{}|\/-]/g, "\\$&"); }
    }
    var expression = new RegExp("^" + source + "$", "i");
    return function (name) { return expression.test(name); };
  }

  // A finding names its services by their index in this list (see data-services).
  var names = byId("l-names") ? Array.prototype.map.call(byId("l-names").options, function (o) { return o.value; }) : [];

  function serviceMatches(element, match) {
    if (!match || element.hasAttribute("data-all")) { return true; }
    var indexes = element.getAttribute("data-services");
    if (indexes === null) { return match(element.getAttribute("data-service") || ""); }
    return indexes.split(" ").some(function (run) {
      var bounds = run.split("-");
      for (var i = +bounds[0], last = +bounds[bounds.length - 1]; i <= last; i++) {
        if (match(names[i])) { return true; }
      }
      return false;
    });
  }

  function stateMatches(state, wanted) {
    if (!wanted) { return true; }
    if (wanted === "active") { return state === "error" || state === "warning"; }
    return state === wanted;
  }

  // --- the heat-map: a grid with one tab stop, arrow keys move, focus shows a cell's details
  var grid = doc.querySelector("table.heat");
  var details = byId("cell-details");

  function visibleCells(row) {
    return Array.prototype.slice.call(row.cells, 1).filter(function (cell) { return !cell.classList.contains("off"); });
  }
  function visibleRows() {
    return Array.prototype.slice.call(grid.tBodies[0].rows).filter(function (row) { return !row.hidden; });
  }
  function describe(cell) {
    var row = cell.parentElement;
    var column = grid.tHead.rows[0].cells[cell.cellIndex];
    var what;
    if (cell.classList.contains("d-missing")) {
      what = "missing: not compared, no version of it in this service";
    } else {
      var target = column.getAttribute("data-target");
      what = cell.querySelector("b").textContent + (target ? " from the target " + target : " (no target)") +
        "\n" + cell.getAttribute("data-tip");
    }
    details.textContent = row.cells[0].textContent + " · " + column.getAttribute("data-package") + ": " + what;
  }
  function moveTo(cell) {
    all("td[tabindex='0']", grid).forEach(function (other) { other.tabIndex = -1; });
    cell.tabIndex = 0;
    cell.focus();
  }
  function resetTabStop() {
    var current = grid.querySelector("td[tabindex='0']");
    if (current && !current.parentElement.hidden && !current.classList.contains("off")) { return; }
    if (current) { current.tabIndex = -1; }
    var rows = visibleRows();
    var cells = rows.length ? visibleCells(rows[0]) : [];
    if (cells.length) { cells[0].tabIndex = 0; }
  }

  if (grid) {
    resetTabStop();
    grid.addEventListener("keydown", function (event) {
      var cell = event.target.closest("td");
      if (!cell) { return; }
      var rows = visibleRows();
      var r = rows.indexOf(cell.parentElement);
      var cells = visibleCells(cell.parentElement);
      var c = cells.indexOf(cell);
      var key = event.key;
      if (key === "ArrowRight") { c += 1; }
      else if (key === "ArrowLeft") { c -= 1; }
      else if (key === "ArrowDown") { r += 1; }
      else if (key === "ArrowUp") { r -= 1; }
      else if (key === "PageDown") { r += 10; }
      else if (key === "PageUp") { r -= 10; }
      else if (key === "Home") { c = 0; if (event.ctrlKey) { r = 0; } }
      else if (key === "End") { c = cells.length - 1; if (event.ctrlKey) { r = rows.length - 1; } }
      else { return; }
      event.preventDefault();
      r = Math.max(0, Math.min(rows.length - 1, r));
      var target = visibleCells(rows[r]);
      c = Math.max(0, Math.min(target.length - 1, c));
      if (target[c]) { moveTo(target[c]); }
    });
    grid.addEventListener("focusin", function (event) {
      var cell = event.target.closest("td");
      if (cell) { describe(cell); }
    });
    grid.addEventListener("mouseover", function (event) {
      var cell = event.target.closest("td");
      if (cell) { describe(cell); }
    });
    grid.addEventListener("click", function (event) {
      var cell = event.target.closest("td");
      if (cell) { moveTo(cell); }
    });
  }

  // --- filters
  function apply() {
    var service = matcher(value("f-service"));
    var pkg = matcher(value("f-package"));
    var state = value("f-state");
    var family = value("f-family");
    var change = value("f-change");
    var parts = [];

    var findings = all("tr[data-state]");
    if (findings.length) {
      var shown = 0;
      findings.forEach(function (row) {
        var keep = serviceMatches(row, service) && (!pkg || pkg(row.getAttribute("data-package"))) &&
          stateMatches(row.getAttribute("data-state"), state) && (!family || row.getAttribute("data-family") === family);
        row.hidden = !keep;
        if (keep) { shown += 1; }
      });
      var filtered = !!(service || pkg || state || family);
      all("section.family").forEach(function (section) {
        var left = all("tbody tr:not([hidden])", section).length;
        section.hidden = left === 0;
        // A family folded for its size opens once a filter leaves few enough to read.
        if (filtered && left > 0 && left <= 200) { section.querySelector("details.rows").open = true; }
      });
      parts.push(shown + " of " + findings.length + " findings");
    }
    var none = byId("no-match");

    if (grid) {
      var columns = Array.prototype.slice.call(grid.tHead.rows[0].cells, 1);
      var off = columns.map(function (th) { return !!pkg && !pkg(th.getAttribute("data-package")); });
      columns.forEach(function (th, i) { th.classList.toggle("off", off[i]); });
      var rows = Array.prototype.slice.call(grid.tBodies[0].rows);
      var visible = 0;
      rows.forEach(function (row) {
        row.hidden = !serviceMatches(row, service);
        if (!row.hidden) { visible += 1; }
        for (var i = 0; i < off.length; i++) { row.cells[i + 1].classList.toggle("off", off[i]); }
      });
      resetTabStop();
      var packages = off.filter(function (hidden) { return !hidden; }).length;
      parts.push(visible + " of " + rows.length + " services and " + packages + " of " + columns.length +
        " packages in the heat-map");
    }

    all("table.drift-table tbody tr").forEach(function (row) { row.hidden = !!pkg && !pkg(row.getAttribute("data-package")); });

    all("details.plugins").forEach(function (table) {
      table.hidden = !serviceMatches(table, service);
      all("tbody tr", table).forEach(function (row) { row.hidden = !!pkg && !pkg(row.getAttribute("data-package")); });
    });

    var changes = all("tr[data-change]");
    if (changes.length) {
      var kept = 0;
      changes.forEach(function (row) {
        var keep = (!pkg || pkg(row.getAttribute("data-package"))) && (!change || row.getAttribute("data-change") === change);
        row.hidden = !keep;
        if (keep) { kept += 1; }
      });
      all("table.declared tbody tr").forEach(function (row) { row.hidden = !!pkg && !pkg(row.getAttribute("data-package")); });
      parts.push(kept + " of " + changes.length + " changes");
      if (none) { none.hidden = kept > 0; }
    } else if (none) {
      none.hidden = findings.length === 0 || findings.some(function (row) { return !row.hidden; });
    }
    var status = byId("f-status");
    if (status) { status.textContent = "Showing " + parts.join("; ") + "."; }
  }

  var form = byId("filters");
  if (form) {
    form.hidden = false;
    var pending = 0;
    var schedule = function () {
      if (!pending) { pending = window.requestAnimationFrame(function () { pending = 0; apply(); }); }
    };
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    form.addEventListener("reset", function () { window.setTimeout(apply, 0); });
    apply();
  }

  // --- sorting the findings: every family's table by the same column
  var sortKey = "";
  var direction = 1;
  function compare(a, b) {
    if (sortKey === "severity") { return a.getAttribute("data-rank") - b.getAttribute("data-rank"); }
    if (sortKey === "where") {
      var pa = a.getAttribute("data-path"), pb = b.getAttribute("data-path");
      if (pa !== pb) { return pa < pb ? -1 : 1; }
      return a.getAttribute("data-line") - b.getAttribute("data-line");
    }
    var x = a.getAttribute("data-" + sortKey) || "", y = b.getAttribute("data-" + sortKey) || "";
    return x === y ? 0 : x < y ? -1 : 1;
  }
  doc.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-sort]");
    if (!button) { return; }
    var key = button.getAttribute("data-sort");
    direction = key === sortKey ? -direction : 1;
    sortKey = key;
    all("table.findings").forEach(function (table) {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) { return direction * compare(a, b) || a.getAttribute("data-i") - b.getAttribute("data-i"); });
      rows.forEach(function (row) { body.appendChild(row); });
      all("th[aria-sort]", table).forEach(function (th) {
        var own = th.querySelector("button").getAttribute("data-sort") === key;
        th.setAttribute("aria-sort", own ? (direction > 0 ? "ascending" : "descending") : "none");
      });
    });
  });

  // --- printing: every plugin table open, as the page was afterwards
  var closed = [];
  window.addEventListener("beforeprint", function () {
    closed = all("details:not([open])");
    closed.forEach(function (item) { item.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (item) { item.open = false; });
    closed = [];
  });

  doc.documentElement.setAttribute("data-ready", "");
}());
