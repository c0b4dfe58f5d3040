"""The console's navigation as rendered: incident work in the bar, configuration pages in a Settings menu."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

NAV = re.compile(r'<nav class="mainnav".*?</nav>', re.S)
MENU = re.compile(r'<details class="navmenu"[^>]*>\s*<summary([^>]*)>Settings</summary>(.*?)</details>', re.S)
LINK = re.compile(
    r'<a href="([^"]+)" data-shortcut="([^"]+)" aria-keyshortcuts="\2"( aria-current="page")?>([^<]+)'
)
HELP = re.compile(r'<dialog id="shortcut-help".*?</dialog>', re.S)

PRIMARY = ["Incidents", "Insights", "RCAs", "Dashboard", "Anomalies"]
SETTINGS_PAGES = [
    ("/console/ingestion/webhooks/", "Ingestion"),
    ("/console/remediation/guardrails/", "Guardrails"),
    ("/console/members/", "Members"),
    ("/console/keys/", "API keys"),
    ("/console/audit/", "Audit log"),
    ("/console/usage/", "Usage"),
]
SETTINGS = [name for _, name in SETTINGS_PAGES]


@dataclass
class Link:
    name: str
    href: str
    shortcut: str
    current: bool


@dataclass
class Nav:
    bar: list[Link]
    menu: list[Link]
    toggle_attributes: str
    help_shortcuts: list[str]


def links(html: str) -> list[Link]:
    return [Link(name.strip(), href, keys, bool(current)) for href, keys, current, name in LINK.findall(html)]


def nav_of(response) -> Nav:
    page = response.content.decode()
    nav = NAV.search(page).group(0)
    menu = MENU.search(nav)
    return Nav(
        bar=links(nav[: menu.start()] + nav[menu.end() :]),
        menu=links(menu.group(2)),
        toggle_attributes=menu.group(1),
        help_shortcuts=re.findall(r"<dt><kbd>g</kbd> <kbd>(\w)</kbd></dt>", HELP.search(page).group(0)),
    )


def test_incident_work_is_in_the_bar_and_the_configuration_pages_in_the_settings_menu(owner_console, org):
    nav = nav_of(owner_console.get("/console/"))

    assert [(link.name, link.shortcut) for link in nav.bar] == [
        ("Incidents", "g i"),
        ("Insights", "g n"),
        ("RCAs", "g p"),
        ("Dashboard", "g d"),
        ("Anomalies", "g y"),
    ]
    assert [(link.href, link.name) for link in nav.menu] == SETTINGS_PAGES
    assert [link.shortcut for link in nav.menu] == ["g w", "g r", "g m", "g k", "g a", "g u"]


@pytest.mark.parametrize(
    ("console", "sees_keys"),
    [
        ("owner_console", True),
        ("admin_console", True),
        ("operator_console", False),
        ("viewer_console", False),
    ],
)
def test_only_roles_that_manage_keys_find_api_keys_in_the_menu_and_the_help(request, org, console, sees_keys):
    client = request.getfixturevalue(console)

    nav = nav_of(client.get("/console/"))

    expected = SETTINGS if sees_keys else [name for name in SETTINGS if name != "API keys"]
    assert [link.name for link in nav.bar] == PRIMARY
    assert [link.name for link in nav.menu] == expected
    shortcuts = [link.shortcut for link in nav.bar + nav.menu]
    assert sorted(f"g {key}" for key in nav.help_shortcuts) == sorted(shortcuts)  # the ? help lists them all


@pytest.mark.parametrize(("path", "name"), SETTINGS_PAGES)
def test_a_settings_page_marks_its_link_and_the_menu_toggle_current(owner_console, org, path, name):
    nav = nav_of(owner_console.get(path))

    assert [link.name for link in nav.bar + nav.menu if link.current] == [name]
    assert nav.toggle_attributes == ' aria-current="true"'


def test_an_incident_page_marks_only_its_link_in_the_bar(owner_console, org):
    nav = nav_of(owner_console.get("/console/incidents/"))

    assert [link.name for link in nav.bar + nav.menu if link.current] == ["Incidents"]
    assert nav.toggle_attributes == ""
