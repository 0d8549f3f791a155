// The catalogue's URL is its state. htmx restores the results of an earlier URL on Back, but
// the form controls come back as the page was first served: set each one from the URL, so the
// controls show what the results are, and the next change keeps those filters.
(function () {
  function syncFilters() {
    var form = document.querySelector("form.filters");
    if (!form) return;
    var params = new URLSearchParams(window.location.search);
    Array.prototype.forEach.call(form.elements, function (control) {
      if (!control.name || control.type === "submit") return;
      var value = params.get(control.name);
      if (control.tagName === "SELECT" && value === null) {
        control.selectedIndex = 0;
      } else {
        control.value = value === null ? "" : value;
      }
    });
  }
  document.addEventListener("htmx:historyRestore", syncFilters);
  window.addEventListener("popstate", syncFilters);
  window.addEventListener("pageshow", syncFilters);
})();
