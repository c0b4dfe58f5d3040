// static/console/js/nav-menu.js: a <details data-navmenu> in the nav opens and closes without JavaScript.
// This adds what a menu is expected to do: Escape closes it and gives the focus back to its toggle, a
// click or the focus landing elsewhere closes it, and the arrow keys (Home, End) move between its links.
// The g-shortcuts need none of this: they click a link whether its menu is open or not.
(() => {
  const menus = [...document.querySelectorAll("details[data-navmenu]")];
  if (!menus.length) return;

  const toggleOf = (menu) => menu.querySelector(":scope > summary");
  const linksOf = (menu) => [...menu.querySelectorAll("a[href]")];

  const focusLink = (menu, key) => {
    const links = linksOf(menu);
    const current = links.indexOf(document.activeElement);
    const last = links.length - 1;
    const next = {
      ArrowDown: current === -1 || current === last ? 0 : current + 1,
      ArrowUp: current <= 0 ? last : current - 1,
      Home: 0,
      End: last,
    }[key];
    links[next]?.focus();
  };

  for (const menu of menus) {
    menu.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey || event.shiftKey) return;
      if (!["ArrowDown", "ArrowUp", "Home", "End"].includes(event.key)) return;
      if (!menu.open && event.target !== toggleOf(menu)) return;
      event.preventDefault();
      menu.open = true;
      focusLink(menu, event.key);
    });
    // Tabbing out of the last link leaves nothing open over the page.
    menu.addEventListener("focusout", (event) => {
      if (event.relatedTarget instanceof Node && !menu.contains(event.relatedTarget)) menu.open = false;
    });
  }

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || document.querySelector("dialog[open]")) return;
    for (const menu of menus.filter((menu) => menu.open)) {
      const hadFocus = menu.contains(document.activeElement);
      menu.open = false;
      if (hadFocus) toggleOf(menu).focus();
      event.preventDefault();
    }
  });

  document.addEventListener("click", (event) => {
    for (const menu of menus) {
      if (menu.open && !menu.contains(event.target)) menu.open = false;
    }
  });

  // Back to a page kept in the back-forward cache: the menu a link was followed from is still open.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) for (const menu of menus) menu.open = false;
  });
})();
