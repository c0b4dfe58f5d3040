"""The console's navigation bar in a real browser: the Settings menu by keyboard and mouse, shortcuts, widths.

Chromium exposes the menu's <summary> to screen readers as a button, but Playwright's role table gives
<summary> no role, so the toggle is found as the nav's summary by its text.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from statux.models import Role
from tests.browser.conftest import screenshot
from tests.browser.test_console import log_in
from tests.factories import MembershipFactory

pytestmark = pytest.mark.browser


def nav_of(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Console")


def settings_toggle(page: Page) -> Locator:
    return nav_of(page).locator("summary", has_text="Settings")


def overflows_horizontally(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")


@pytest.mark.parametrize("key", ["Enter", "Space"])
def test_the_settings_menu_opens_from_the_keyboard_and_escape_closes_it(page, admin_user, org, key):
    log_in(page, admin_user.email)
    nav = nav_of(page)
    members = nav.get_by_role("link", name="Members")
    expect(members).to_be_hidden()

    nav.get_by_role("link", name="Anomalies").focus()
    page.keyboard.press("Tab")
    expect(settings_toggle(page)).to_be_focused()
    page.keyboard.press(key)
    expect(members).to_be_visible()
    page.keyboard.press("Tab")
    expect(nav.get_by_role("link", name="Ingestion")).to_be_focused()
    page.keyboard.press("Escape")

    expect(members).to_be_hidden()
    expect(settings_toggle(page)).to_be_focused()


def test_arrow_keys_walk_the_menu_and_enter_opens_a_settings_page(page, admin_user, org):
    log_in(page, admin_user.email)
    settings_toggle(page).focus()

    page.keyboard.press("ArrowDown")
    expect(nav_of(page).get_by_role("link", name="Ingestion")).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(nav_of(page).get_by_role("link", name="Members")).to_be_focused()
    screenshot(page, "nav-settings-open")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Members")
    expect(settings_toggle(page)).to_have_attribute("aria-current", "true")
    expect(nav_of(page).get_by_role("link", name="Members", include_hidden=True)).to_have_attribute(
        "aria-current", "page"
    )
    screenshot(page, "nav-settings-current")


def test_a_click_outside_closes_the_menu(page, owner, org):
    log_in(page, owner.email)
    settings_toggle(page).click()
    usage = nav_of(page).get_by_role("link", name="Usage")
    expect(usage).to_be_visible()

    page.get_by_role("heading", level=1).click()

    expect(usage).to_be_hidden()


def test_a_g_shortcut_follows_a_link_of_the_closed_menu(page, owner, org):
    log_in(page, owner.email)
    expect(nav_of(page).get_by_role("link", name="Members")).to_be_hidden()
    expect(settings_toggle(page)).not_to_have_attribute("aria-current", re.compile(".*"))

    page.keyboard.press("g")
    page.keyboard.press("m")

    expect(page.get_by_role("heading", level=1)).to_have_text("Members")
    expect(settings_toggle(page)).to_have_attribute("aria-current", "true")


@pytest.mark.parametrize("width", [700, 360])
def test_the_bar_fits_a_narrow_window_with_the_menu_open_or_closed(page, owner, org, other_org, width):
    MembershipFactory(organization=other_org, user=owner, role=Role.VIEWER)  # shows the switcher too
    page.set_viewport_size({"width": width, "height": 800})
    log_in(page, owner.email)
    expect(page.get_by_label("Organization")).to_be_visible()

    assert not overflows_horizontally(page)
    screenshot(page, f"nav-{width}px")
    settings_toggle(page).click()
    expect(nav_of(page).get_by_role("link", name="Usage")).to_be_in_viewport()
    assert not overflows_horizontally(page)
    screenshot(page, f"nav-{width}px-open")
