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
  // A filter left empty, or at its default (the sort, the page size), is not sent: the address a
  // buyer bookmarks or shares names only what they chose.
  function leftOut(form, name, values) {
    var control = form.elements[name];
    var byDefault = control && control.dataset && control.dataset.default;
    return values.every(function (value) { return value === "" || value === byDefault; });
  }
  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt;
    if (!form.matches("form.filters")) return;
    var parameters = event.detail.parameters;
    Array.from(new Set(event.detail.formData.keys())).forEach(function (name) {
      if (leftOut(form, name, event.detail.formData.getAll(name))) delete parameters[name];
    });
  });
  // One query, one swap. Leaving the search box (a change) and pressing Search ask the same query
  // twice, and the second copy replacing the results under the buyer's pointer swallows their click
  // on a car. A request for what is shown, or already on its way, is not sent; hx-sync="this:replace"
  // on the form keeps the latest of two different ones.
  function sortedQuery(params) {
    params.sort();
    return params.toString();
  }
  function formQuery(form) {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (!leftOut(form, name, [value])) params.append(name, value);
    });
    return sortedQuery(params);
  }
  var asked = null;
  document.addEventListener("htmx:confirm", function (event) {
    if (!event.detail.elt.matches("form.filters")) return;
    var query = formQuery(event.detail.elt);
    var current = asked === null ? sortedQuery(new URLSearchParams(window.location.search)) : asked;
    if (query === current) {
      event.preventDefault();
      return;
    }
    asked = query;
  });
  // Only the latest request's end clears it: one that hx-sync aborted ends too, while the latest
  // is still on its way.
  document.addEventListener("htmx:afterRequest", function (event) {
    if (!event.detail.elt.matches("form.filters")) return;
    var path = event.detail.pathInfo.finalRequestPath;
    if (sortedQuery(new URL(path, window.location.origin).searchParams) === asked) asked = null;
  });
  // Back asks the server for the page gone back to. A search sent, or Back pressed again, before
  // that answer came supersedes it: landing late, it would replace the newer results with the
  // older page. A control touched meanwhile but not sent yet (a search typed, in the box's pause)
  // is put back into the page that answer brings, and sent if it asks for other cars.
  var restoring = null;
  var touched = null;
  function restorePending() {
    return restoring !== null && restoring.readyState !== XMLHttpRequest.DONE;
  }
  function abandonRestore() {
    if (restorePending()) restoring.abort();
    restoring = touched = null;
  }
  document.addEventListener("htmx:historyCacheMiss", function (event) {
    abandonRestore();
    restoring = event.detail.xhr;
  });
  function noteTouched(event) {
    var control = event.target;
    if (!restorePending() || !control.form || !control.form.matches("form.filters") || !control.name) return;
    touched = touched || {};
    touched[control.name] = control.value;
  }
  document.addEventListener("input", noteTouched);
  document.addEventListener("change", noteTouched);
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.matches("form.filters")) abandonRestore();
  });
  function putBackTouched() {
    var form = document.querySelector("form.filters");
    var kept = touched;
    restoring = touched = null;
    if (!form || !kept) return;
    Object.keys(kept).forEach(function (name) {
      if (form.elements[name]) form.elements[name].value = kept[name];
    });
    if (formQuery(form) !== sortedQuery(new URLSearchParams(window.location.search))) htmx.trigger(form, "submit");
  }
  // A search landing on the address already shown (typing, then leaving the box, asks the same
  // query twice) replaces that history entry rather than adding a copy: Back goes back at once.
  document.addEventListener("htmx:beforeHistoryUpdate", function (event) {
    var update = event.detail.history;
    if (update.type === "push" && update.path === window.location.pathname + window.location.search) {
      update.type = "replace";
    }
  });
  // On a phone the filters past the search box fold under their summary, so the results start on
  // the first screen; it says how many of them are set. Open without JavaScript and when wide.
  var narrow = window.matchMedia("(max-width: 640px)");
  function countFolded() {
    var more = document.querySelector("details.more-filters");
    if (!more) return;
    var set = Array.prototype.filter.call(more.querySelectorAll("input, select"), function (control) {
      return control.value !== "";
    }).length;
    more.querySelector(".filters-set").textContent = set ? "(" + set + " set)" : "";
  }
  function openWhenWide() {
    var more = document.querySelector("details.more-filters");
    if (more && !narrow.matches) more.open = true;
  }
  function hasErrors() {
    return document.querySelector(".filter-errors") !== null;
  }
  // As soon as the page is parsed (before it shows, mostly); left open when a filter is refused.
  function foldWhenNarrow() {
    var more = document.querySelector("details.more-filters");
    if (more && narrow.matches && !hasErrors()) more.open = false;
  }
  foldWhenNarrow();
  // Back brings the page again from the server: its filters folded or open as the buyer left them.
  var openBeforeBack = null;
  function foldAsLeft() {
    var more = document.querySelector("details.more-filters");
    if (more && openBeforeBack !== null && !hasErrors()) more.open = openBeforeBack || !narrow.matches;
    else foldWhenNarrow();
    openBeforeBack = null;
  }
  countFolded();
  narrow.addEventListener("change", openWhenWide); // narrowed again, what the buyer opened stays open
  document.addEventListener("htmx:afterSwap", function () {
    var folded = document.querySelector("details.more-filters");
    if (folded && hasErrors()) folded.open = true; // the refused filter shown beside its reason
  });
  document.addEventListener("change", countFolded);
  document.addEventListener("input", countFolded);
  // Back or Forward: a search still on its way would land on the page gone back to and push its
  // own address over it; the filters' folding is noted for the page the server sends back.
  window.addEventListener("popstate", function () {
    var form = document.querySelector("form.filters");
    if (form) htmx.trigger(form, "htmx:abort");
    asked = null;
    var more = document.querySelector("details.more-filters");
    openBeforeBack = more ? more.open : null;
    syncFilters();
    countFolded();
  });
  document.addEventListener("htmx:historyRestore", function () {
    asked = null;
    foldAsLeft();
    syncFilters();
    putBackTouched();
    countFolded();
  });
  window.addEventListener("pageshow", function () {
    syncFilters();
    countFolded();
  });
})();
