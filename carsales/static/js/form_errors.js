// A form sent back with errors puts the focus on its first field in error: a keyboard or screen
// reader user lands on what to fix, and hears its label and the reason (aria-describedby), instead
// of on the form's first field, which a widget may autofocus.
(function () {
  var invalid = document.querySelector("main [aria-invalid='true']");
  if (invalid) invalid.focus();
})();
