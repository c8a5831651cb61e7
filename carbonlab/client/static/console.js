// carbonlab console: swap each page's live block with what the server pushes (server-sent
// events); the page is complete without this script, it only keeps it current.
"use strict";
(function () {
  const live = document.getElementById("live");
  const status = document.querySelector("[data-testid=live-status]");
  if (!live || !live.dataset.events || !window.EventSource) { return; }
  const source = new EventSource(live.dataset.events);
  // Close the stream when the page is left: a browser keeps a left page (and its stream) in its
  // back-forward cache, and after six pages the streams hold every connection it allows to the
  // console, so the next click waits forever. Coming back from that cache reloads the page.
  window.addEventListener("pagehide", function () { source.close(); });
  window.addEventListener("pageshow", function (event) { if (event.persisted) { window.location.reload(); } });
  // An update replaces the whole live block, which would take the keyboard focus (and the
  // screen reader's place) away from whoever is inside it: while focus is in the block the
  // newest update is held, and applied as soon as focus leaves it.
  let held = null;
  function apply(html) {
    live.innerHTML = html;
    if (status) {
      status.classList.remove("stale");
      status.textContent = "Live: updated " + new Date().toLocaleTimeString();
    }
  }
  source.addEventListener("live", function (event) {
    if (live.contains(document.activeElement) && document.activeElement !== live) {
      held = event.data;
      if (status) { status.textContent = "Live: update held while the focus is in this section"; }
      return;
    }
    apply(event.data);
  });
  live.addEventListener("focusout", function (event) {
    if (held !== null && !live.contains(event.relatedTarget)) {
      const html = held;
      held = null;
      apply(html);
    }
  });
  source.addEventListener("error", function () {
    if (status) {
      status.classList.add("stale");
      status.textContent = "Live updates interrupted; reconnecting…";
    }
  });
})();
