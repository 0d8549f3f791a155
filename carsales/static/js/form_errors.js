// A form sent back with errors puts the focus on its first field in error: a keyboard or screen
// reader user lands on what to fix, and hears its label and the reason (aria-describedby), instead
// of on the form's first field, which a widget may autofocus.
(function () {
  // A form that was sent (POST): a filter refused in a link or a bookmark leaves the focus alone.
  var invalid = document.querySelector("main form[method='post'] [aria-invalid='true']");
  if (invalid) invalid.focus();
})();
