// The Operations menu behaves as a menu: Escape closes it (focus back on its button), and so does
// a click outside it.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  for (const menu of document.querySelectorAll("details.nav-more[open]")) {
    menu.open = false;
    menu.querySelector("summary").focus();
  }
});
document.addEventListener("click", (event) => {
  for (const menu of document.querySelectorAll("details.nav-more[open]")) {
    if (!menu.contains(event.target)) menu.open = false;
  }
});
