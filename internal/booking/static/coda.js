// The queue's live pages, an enhancement: without this script the pages
// have a refresh link. A ticket's page rewrites its state when the
// office's queue moves; the display reloads at each call.
(function () {
  "use strict";
  if (!window.EventSource) {
    return;
  }
  var ticket = document.querySelector("[data-queue-ticket]");
  var display = document.querySelector("[data-queue-display]");
  var box = ticket || display;
  if (!box) {
    return;
  }
  var first = true;
  var source = new EventSource(box.getAttribute("data-events"));
  source.addEventListener("queue", function () {
    if (first) {
      first = false; // the state the page already shows
      return;
    }
    if (display) {
      window.location.reload();
      return;
    }
    fetch(ticket.getAttribute("data-status"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) {
          return;
        }
        var text = ticket.querySelector("[data-queue-text]");
        if (text && text.textContent !== s.text) {
          text.textContent = s.text;
        }
        if (s.state !== "waiting") {
          source.close();
        }
      })
      .catch(function () {});
  });
})();
