// The header's menus (the site menu on a narrow screen, staff's Operations) behave as menus:
// Escape closes the innermost one open (focus back on its button); so does a click outside it,
// or focus moving on past it, which would otherwise land on links the open menu covers.
const MENUS = "details.site-menu[open], details.nav-more[open]";

function shownMenus() {
  // On a wide screen the site menu's button is hidden and its links always shown: never "open".
  // (getClientRects: an element not rendered has none; checkVisibility is missing before Safari 17.4.)
  return [...document.querySelectorAll(MENUS)].filter((menu) => menu.querySelector("summary").getClientRects().length);
}

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const innermost = shownMenus().at(-1); // document order: a nested menu comes after its parent
  if (!innermost) return;
  innermost.open = false;
  innermost.querySelector("summary").focus();
});
document.addEventListener("click", (event) => {
  for (const menu of shownMenus()) {
    if (!menu.contains(event.target)) menu.open = false;
  }
});
document.addEventListener("focusout", (event) => {
  // No next element (the focus left the page, or a click on nothing focusable): the click handler decides.
  if (!event.relatedTarget) return;
  for (const menu of shownMenus()) {
    if (menu.contains(event.target) && !menu.contains(event.relatedTarget)) menu.open = false;
  }
});
