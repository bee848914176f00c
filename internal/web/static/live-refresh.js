// A page that changes on the server while it is open (an import's
// progress) marks the part that changes with data-live-refresh="ms": this
// script fetches the page again every ms milliseconds and puts the new
// part in place of the old, without reloading (focus and reading position
// stay); once the new page no longer has such a part (the work ended), its
// main content replaces the old one, and the script stops. Without
// JavaScript the page offers a refresh button instead.
(() => {
  const first = document.querySelector("[data-live-refresh]");
  if (!first) return;
  const every = Math.max(1000, parseInt(first.dataset.liveRefresh, 10) || 2000);
  const url = location.pathname + location.search;
  const tick = async () => {
    let doc;
    try {
      const res = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" }, cache: "no-store" });
      if (!res.ok) throw new Error(res.status);
      doc = new DOMParser().parseFromString(await res.text(), "text/html");
    } catch (e) {
      setTimeout(tick, every * 2);
      return;
    }
    const fresh = doc.querySelector("[data-live-refresh]");
    const current = document.querySelector("[data-live-refresh]");
    if (fresh && current) {
      current.replaceWith(document.importNode(fresh, true));
      setTimeout(tick, every);
      return;
    }
    const main = doc.querySelector("main");
    const here = document.querySelector("main");
    if (main && here) here.replaceWith(document.importNode(main, true));
  };
  setTimeout(tick, every);
})();
