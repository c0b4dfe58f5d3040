// static/console/js/row-keys.js: in a table marked data-row-keys, "j" and "k" move the focus to the next
// and previous row's link (the row's data-row-link, or its first link); Enter then opens it, as any
// focused link does. Typing in a field or an open dialog leaves the keys alone.
(() => {
  const table = document.querySelector("table[data-row-keys]");
  if (!table) return;

  const rows = () => [...table.querySelectorAll("tbody tr[data-row-id]")];
  const linkOf = (row) => row.querySelector("a[data-row-link]") || row.querySelector("a");

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (event.key !== "j" && event.key !== "k") return;
    const typing = event.target instanceof Element && event.target.closest("input, textarea, select, [contenteditable]");
    if (typing || document.querySelector("dialog[open]")) return;
    const all = rows();
    if (!all.length) return;
    const current = all.indexOf(document.activeElement?.closest("tr[data-row-id]"));
    let next;
    if (current === -1) next = event.key === "j" ? 0 : all.length - 1;
    else next = Math.min(Math.max(current + (event.key === "j" ? 1 : -1), 0), all.length - 1);
    event.preventDefault();
    const link = linkOf(all[next]);
    link?.focus();
    link?.scrollIntoView({ block: "nearest" });
  });
})();
