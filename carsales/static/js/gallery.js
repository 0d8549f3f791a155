// The car page's gallery: one photo at a time, with buttons, the arrow keys, a swipe on a
// phone, and the strip of small photos. Without this script every photo shows, one under another.
(function () {
  function setUp(gallery) {
    var slides = gallery.querySelectorAll("[data-slide]");
    if (slides.length < 2) return;
    var count = gallery.querySelector("[data-count]");
    var strip = gallery.querySelector("[data-strip]");
    var current = 0;
    function show(index) {
      current = (index + slides.length) % slides.length;
      Array.prototype.forEach.call(slides, function (slide, i) { slide.hidden = i !== current; });
      count.textContent = "Photo " + (current + 1) + " of " + slides.length;
      Array.prototype.forEach.call(strip.querySelectorAll("button"), function (button, i) {
        button.setAttribute("aria-current", i === current ? "true" : "false");
      });
    }
    gallery.querySelector("[data-prev]").addEventListener("click", function () { show(current - 1); });
    gallery.querySelector("[data-next]").addEventListener("click", function () { show(current + 1); });
    strip.addEventListener("click", function (event) {
      var button = event.target.closest("[data-goto]");
      if (button) show(parseInt(button.getAttribute("data-goto"), 10));
    });
    gallery.addEventListener("keydown", function (event) {
      if (event.key === "ArrowLeft") { show(current - 1); event.preventDefault(); }
      if (event.key === "ArrowRight") { show(current + 1); event.preventDefault(); }
    });
    var startX = null;
    gallery.addEventListener("touchstart", function (event) { startX = event.touches[0].clientX; }, { passive: true });
    gallery.addEventListener("touchend", function (event) {
      if (startX === null) return;
      var moved = event.changedTouches[0].clientX - startX;
      if (Math.abs(moved) > 40) show(current + (moved < 0 ? 1 : -1));
      startX = null;
    });
    Array.prototype.forEach.call(gallery.querySelectorAll("[hidden]"), function (part) {
      if (!part.hasAttribute("data-slide")) part.hidden = false;
    });
    gallery.classList.add("is-interactive");
    show(0);
  }
  document.querySelectorAll("[data-gallery]").forEach(setUp);
})();
