// static/console/js/shortcuts.js: an element with data-shortcut="g m" is clicked (or focused, for a field)
// when that key sequence is typed. "/" focuses the first search field; "?" opens the help dialog.
(() => {
  const SEQUENCE_TIMEOUT_MS = 1500;
  let pending = "";
  let pendingTimer = 0;

  const find = (keys) => document.querySelector(`[data-shortcut="${CSS.escape(keys)}"]`);
  const startsSequence = (key) => document.querySelector(`[data-shortcut^="${CSS.escape(key)} "]`);

  const activate = (target) => {
    if (target.matches("input, select, textarea")) {
      target.focus();
      if (typeof target.select === "function") target.select();
    } else {
      target.click();
    }
  };

  const firstSearchField = () =>
    find("/") || document.querySelector('form[role="search"] :is(input:not([type="hidden"]), select)');

  // The help button and any [data-dialog-open] open their <dialog>; it needs JavaScript, so it starts hidden.
  for (const opener of document.querySelectorAll("[data-dialog-open]")) {
    const dialog = document.getElementById(opener.dataset.dialogOpen);
    if (!dialog || typeof dialog.showModal !== "function") continue;
    opener.hidden = false;
    opener.addEventListener("click", () => {
      if (!dialog.open) dialog.showModal();
    });
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    const typing = event.target instanceof Element && event.target.closest("input, textarea, select, [contenteditable]");
    if (typing || document.querySelector("dialog[open]")) return;
    const keys = pending ? `${pending} ${event.key}` : event.key;
    window.clearTimeout(pendingTimer);
    pending = "";
    const target = event.key === "/" && !keys.includes(" ") ? firstSearchField() : find(keys);
    if (target) {
      event.preventDefault();
      activate(target);
    } else if (!keys.includes(" ") && startsSequence(event.key)) {
      pending = event.key;
      pendingTimer = window.setTimeout(() => { pending = ""; }, SEQUENCE_TIMEOUT_MS);
    }
  });
})();
