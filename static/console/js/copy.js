// static/console/js/copy.js: <button data-copy="#field"> copies that field's value and says so in the
// element with data-copy-status="#field". Buttons start hidden: without JavaScript the field is selectable.
(() => {
  const say = (selector, text) => {
    const status = document.querySelector(`[data-copy-status="${CSS.escape(selector)}"]`);
    if (status) status.textContent = text;
  };

  const copy = async (field) => {
    try {
      await navigator.clipboard.writeText(field.value);
      return true;
    } catch {
      // navigator.clipboard exists only in secure contexts (HTTPS or localhost); fall back to a selection.
      field.focus();
      field.select();
      try {
        return document.execCommand("copy");
      } catch {
        return false;
      }
    }
  };

  for (const button of document.querySelectorAll("[data-copy]")) {
    const field = document.querySelector(button.dataset.copy);
    if (!field) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      const copied = await copy(field);
      say(button.dataset.copy, copied ? "Copied to the clipboard." : "Copy failed: the text is selected, press Ctrl+C.");
    });
  }

  for (const field of document.querySelectorAll("[data-select-on-focus]")) {
    field.addEventListener("focus", () => field.select());
  }
})();
