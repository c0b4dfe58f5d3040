// static/console/js/live-refresh.js: an element with data-refresh-url="…" re-renders every
// data-refresh-seconds (default 15) from the partial the server renders at that URL: a table's <tbody>,
// any other element's content. Paused while the tab is hidden, refreshed at once when it comes back if
// due; nothing is swapped when the partial did not change, and focus stays on the same row.
(() => {
  const DEFAULT_SECONDS = 15;

  const targetOf = (element) => (element instanceof HTMLTableElement ? element.tBodies[0] : element);

  const focusedRowId = (target) => {
    const active = document.activeElement;
    return active && target.contains(active) ? active.closest("[data-row-id]")?.dataset.rowId : undefined;
  };

  // Parsed the way the page's own markup was, so an unchanged partial compares equal and is left alone.
  const normalized = (html) => {
    const template = document.createElement("template");
    template.innerHTML = html;
    return template.innerHTML.trim();
  };

  const swap = (element, html) => {
    const target = targetOf(element);
    if (!target || normalized(html) === target.innerHTML.trim()) return;
    const rowId = focusedRowId(target);
    target.innerHTML = html;
    if (rowId !== undefined) {
      const row = target.querySelector(`[data-row-id="${CSS.escape(rowId)}"]`);
      row?.querySelector("a, button")?.focus({ preventScroll: true });
    }
    element.dispatchEvent(new CustomEvent("live-refresh", { bubbles: true }));
  };

  const watch = (element) => {
    const intervalMs = (Number(element.dataset.refreshSeconds) || DEFAULT_SECONDS) * 1000;
    let lastRun = Date.now();
    let running = false;

    const refresh = async () => {
      if (running) return;
      running = true;
      lastRun = Date.now();
      try {
        const response = await fetch(element.dataset.refreshUrl, {
          credentials: "same-origin",
          cache: "no-store",
          headers: { "X-Requested-With": "live-refresh" },
        });
        // A redirect (to the log-in page, say) or an error keeps what is shown.
        if (!response.ok || response.redirected) return;
        swap(element, await response.text());
      } catch {
        // Offline for a moment: try again at the next tick.
      } finally {
        running = false;
      }
    };

    window.setInterval(() => {
      if (!document.hidden) refresh();
    }, intervalMs);
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && Date.now() - lastRun >= intervalMs) refresh();
    });
  };

  for (const element of document.querySelectorAll("[data-refresh-url]")) watch(element);
})();
