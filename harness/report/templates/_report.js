// Sortable tables and sample ordering. No libraries, no network.
(function () {
  "use strict";

  function sortValue(row, index) {
    var cell = row.cells[index];
    var value = cell.getAttribute("data-sort");
    return value !== null ? value : cell.textContent.trim();
  }

  function isBlank(value) { return value === "" || value === "nan"; }

  function compareValues(a, b) {
    var x = parseFloat(a), y = parseFloat(b);
    if (!isNaN(x) && !isNaN(y)) { return x - y; }
    return a.localeCompare(b);
  }

  // Sort a table's body by the column whose header has data-key=key; blanks always last.
  function sortTable(table, key, direction) {
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var index = headers.findIndex(function (th) { return th.getAttribute("data-key") === key; });
    if (index < 0) { return false; }
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var sign = direction === "desc" ? -1 : 1;
    rows.sort(function (r1, r2) {
      var a = sortValue(r1, index), b = sortValue(r2, index);
      if (isBlank(a) || isBlank(b)) { return isBlank(a) - isBlank(b); }
      return sign * compareValues(a, b);
    });
    rows.forEach(function (row) { body.appendChild(row); });
    headers.forEach(function (th) { th.removeAttribute("aria-sort"); });
    headers[index].setAttribute("aria-sort", direction === "desc" ? "descending" : "ascending");
    table.setAttribute("data-sorted-by", key + ":" + direction);
    return true;
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      var key = th.getAttribute("data-key");
      if (!key) { return; }
      th.tabIndex = 0;
      var toggle = function () {
        sortTable(table, key, th.getAttribute("aria-sort") === "ascending" ? "desc" : "asc");
      };
      th.addEventListener("click", toggle);
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); toggle(); }
      });
    });
  });

  // A link can open the report sorted: report.html#sort=pages_per_s:desc
  var match = /(?:^#|&)sort=([^:&]+)(?::(asc|desc))?/.exec(window.location.hash);
  var summary = document.getElementById("summary-table");
  if (match && summary) { sortTable(summary, decodeURIComponent(match[1]), match[2] || "asc"); }

  // Side-by-side diffs: hovering one half of an edit highlights both (same data-l in one pair).
  function linked(event) {
    var piece = event.target.closest ? event.target.closest("[data-l]") : null;
    var pair = piece ? piece.closest(".pair") : null;
    if (!pair) { return []; }
    return pair.querySelectorAll('[data-l="' + piece.getAttribute("data-l") + '"]');
  }
  document.addEventListener("mouseover", function (event) {
    linked(event).forEach(function (element) { element.classList.add("hl"); });
  });
  document.addEventListener("mouseout", function (event) {
    linked(event).forEach(function (element) { element.classList.remove("hl"); });
  });
  var level = document.getElementById("diff-level");
  var samples = document.getElementById("sample-list");
  if (level && samples) {
    level.addEventListener("change", function () { samples.setAttribute("data-level", level.value); });
  }

  // Drill-down: order the samples by one group's CER (worst first) or by the mean.
  var order = document.getElementById("sample-order");
  var list = document.getElementById("sample-list");
  if (order && list) {
    order.addEventListener("change", function () {
      var attribute = order.value === "mean" ? "data-mean" : "data-g" + order.value;
      var cards = Array.prototype.slice.call(list.children);
      cards.sort(function (c1, c2) {
        var a = parseFloat(c1.getAttribute(attribute)), b = parseFloat(c2.getAttribute(attribute));
        if (isNaN(a) || isNaN(b)) { return isNaN(a) - isNaN(b); }
        return b - a;
      });
      cards.forEach(function (card) { list.appendChild(card); });
    });
    [["expand-all", true], ["collapse-all", false]].forEach(function (pair) {
      var button = document.getElementById(pair[0]);
      if (!button) { return; }
      button.addEventListener("click", function () {
        Array.prototype.forEach.call(list.children, function (card) { card.open = pair[1]; });
      });
    });
  }
})();
