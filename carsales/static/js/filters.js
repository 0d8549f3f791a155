// A filter form's URL is its state (the catalogue, the signal timeline). htmx restores the
// results of an earlier URL on Back, but the form controls come back as the page was first
// served: set each one from the URL, so the controls show what the results are, and the next
// change keeps those filters.
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
  // A search landing on the address already shown (typing, then leaving the box, asks the same
  // query twice) replaces that history entry rather than adding a copy: Back goes back at once.
  document.addEventListener("htmx:beforeHistoryUpdate", function (event) {
    var update = event.detail.history;
    if (update.type === "push" && update.path === window.location.pathname + window.location.search) {
      update.type = "replace";
    }
  });
  document.addEventListener("htmx:historyRestore", syncFilters);
  window.addEventListener("popstate", syncFilters);
  window.addEventListener("pageshow", syncFilters);
})();
