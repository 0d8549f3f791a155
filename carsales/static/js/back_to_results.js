// A car page's "All cars" link goes back to the results the buyer came from, with their filters,
// page and place on it, when they came from them; otherwise (a shared link) it is the catalogue.
(function () {
  var link = document.querySelector("[data-back-to-results]");
  if (!link || !document.referrer) return;
  var from = new URL(document.referrer);
  if (from.origin !== location.origin || from.pathname !== link.pathname) return;
  link.href = from.pathname + from.search;
  link.addEventListener("click", function (event) {
    // A page opened in a new tab has no results behind it, and a modified click opens one: both follow the link.
    var plain = event.button === 0 && !(event.ctrlKey || event.metaKey || event.shiftKey || event.altKey);
    if (!plain || history.length < 2) return;
    event.preventDefault();
    history.back();
  });
})();
