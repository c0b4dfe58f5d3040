// static/console/js/markdown-preview.js: in a form with data-preview-url, the Preview button posts the
// form there and shows the HTML the server rendered (and sanitized) in its [data-preview-output], without
// leaving the page. Without JavaScript the button submits the form and the page comes back with the
// preview. Opening an editor (<details class="editor">) puts the cursor in its text.
(() => {
  for (const form of document.querySelectorAll("form[data-preview-url]")) {
    const output = form.querySelector("[data-preview-output]");
    const button = form.querySelector('button[value="preview"]');
    if (!output || !button) continue;
    button.addEventListener("click", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      data.set("action", "preview");
      try {
        const response = await fetch(form.dataset.previewUrl, {
          method: "POST",
          body: data,
          credentials: "same-origin",
          headers: { "X-Requested-With": "markdown-preview" },
        });
        if (!response.ok || response.redirected) throw new Error(String(response.status));
        output.innerHTML = await response.text();
      } catch {
        form.requestSubmit(button); // the server renders the whole page with the preview instead
      }
    });
  }

  for (const editor of document.querySelectorAll("details.editor")) {
    editor.addEventListener("toggle", () => {
      if (editor.open) editor.querySelector("textarea")?.focus();
    });
  }
})();
