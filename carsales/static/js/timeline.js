// The timeline refreshes itself every 5 s; not while someone reads it: the refresh rebuilds the
// table, which drops the keyboard's focus from a chain's link and scrolls a phone's wide table
// back to its first column.
document.addEventListener("htmx:confirm", function (event) {
  var chains = event.detail.elt;
  if (chains.id !== "chains") return;
  var table = chains.querySelector(".table-scroll");
  if (chains.contains(document.activeElement) || (table && table.scrollLeft > 0)) event.preventDefault();
});
