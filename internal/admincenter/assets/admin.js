// Portcullis admin center: the little the pages need beyond htmx.
// Loaded from this origin (the policy allows no inline script). Without
// it, and without htmx, every page still works as a full round trip.
(function () {
  'use strict';
  // After htmx swaps content in, move focus where a full load would have
  // put the reader: the element the server marked data-swap-focus in the
  // new content (the page's main region, or an opened detail pane), so a
  // screen reader announces what changed and Tab starts from there.
  document.addEventListener('htmx:afterSettle', function (e) {
    var root = e.target;
    if (!root || !root.querySelector) {
      return;
    }
    var target = root.matches('[data-swap-focus]') ? root : root.querySelector('[data-swap-focus]');
    if (target) {
      target.focus();
    }
  });

  // The Overview's optional refresh: skipped while the reader is inside
  // the counts (focus there, or the table of numbers open), so that a
  // refresh never takes away what they are reading.
  document.addEventListener('htmx:beforeRequest', function (e) {
    if (!e.target || !e.target.hasAttribute || !e.target.hasAttribute('data-live-poll')) {
      return;
    }
    var region = document.getElementById('overview-live');
    if (region && (region.contains(document.activeElement) || region.querySelector('details[open]'))) {
      e.preventDefault();
    }
  });
})();
