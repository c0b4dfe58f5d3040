"""The console in a real browser, found by role and label the way a screen reader finds it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from statux.models import ApiKey, Membership, Role, User
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.browser


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/console/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():  # shortcuts work once the next page has loaded its deferred scripts
        page.get_by_role("button", name="Log in").click()


def test_logging_in_opens_the_dashboard_of_your_organization(page, owner, org):
    log_in(page, owner.email)

    expect(page).to_have_url(re.compile(r"/console/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Corporation")
    nav = page.get_by_role("navigation", name="Console")
    expect(nav.get_by_role("link", name="Dashboard")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_a_wrong_password_is_refused_with_a_message(page, owner):
    log_in(page, owner.email, password="wrong-password")

    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct email and password")
    expect(page).to_have_url(re.compile(r"/console/login/"))


def test_switching_organization_changes_the_dashboard(page, owner, org, other_org):
    MembershipFactory(organization=other_org, user=owner, role=Role.VIEWER)
    OrganizationFactory(slug="initech", name="Initech")
    log_in(page, owner.email)
    switcher = page.get_by_label("Organization")
    expect(switcher.get_by_role("option")).to_have_text(["Acme Corporation (owner)", "Globex (viewer)"])

    switcher.select_option(label="Globex (viewer)")
    page.get_by_role("button", name="Switch").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Globex")
    expect(page.get_by_role("status").filter(has_text="Switched to Globex.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"your role\s+viewer"))).to_be_visible()
    expect(page.get_by_label("Organization")).to_have_value(str(other_org.id))


def test_an_api_key_is_shown_once_then_revoked(page, admin_user, org):
    log_in(page, admin_user.email)
    page.keyboard.press("g")
    page.keyboard.press("k")
    expect(page.get_by_role("heading", level=1)).to_have_text("API keys")

    page.get_by_label("Name").fill("grafana")
    page.get_by_label("Scope").select_option("ingestion")
    page.get_by_label("Rate limit, requests/s (optional)").fill("10")
    page.get_by_role("button", name="Create key").click()

    full_key = page.get_by_label("Full API key")
    expect(full_key).to_have_value(re.compile(r"^isage_"))
    raw = full_key.input_value()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == raw
    screenshot(page, "keys-created")
    key = ApiKey.objects.get(organization=org)
    assert (key.name, key.rate_limit_rps, key.prefix) == ("grafana", 10, raw[:12])

    page.goto("/console/keys/")
    expect(page.get_by_label("Full API key")).to_have_count(0)
    assert raw not in page.content()
    row = page.get_by_role("row", name=re.compile(r"^grafana"))
    expect(row.get_by_role("cell", name=f"{key.prefix}…")).to_be_visible()
    expect(row).to_contain_text("active")

    row.get_by_role("link", name="Revoke grafana").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Revoke API key “grafana”?")
    page.get_by_role("button", name="Revoke key").click()

    expect(page.get_by_role("status").filter(has_text="API key “grafana” revoked")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(r"^grafana"))).to_contain_text("revoked")
    key.refresh_from_db()
    assert key.state == "revoked"
    screenshot(page, "keys")


def test_an_invited_person_joins_through_the_link(
    page, live_server, settings, admin_user, owner, viewer, org
):
    settings.SITE_URL = live_server.url  # the link is built as the email's: from SITE_URL
    log_in(page, admin_user.email)
    nav = page.get_by_role("navigation", name="Console")
    nav.locator("summary", has_text="Settings").click()  # Members sits in the Settings menu
    nav.get_by_role("link", name="Members").click()
    invite_form = page.get_by_role("region", name="Invite someone")
    invite_form.get_by_label("Email").fill("newbie@acme.test")
    invite_form.get_by_label("Role").select_option("operator")
    invite_form.get_by_role("button", name="Send invitation").click()
    link = page.get_by_role("textbox", name="Invitation link").input_value()
    expect(page.get_by_role("row", name=re.compile("newbie@acme.test"))).to_contain_text("operator")
    screenshot(page, "members")
    page.get_by_role("button", name="Log out").click()

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Join Acme Corporation")
    page.get_by_label("Your name").fill("New Bie")
    page.get_by_label("Password", exact=True).fill("a-long-enough-passphrase")
    page.get_by_label("Repeat the password").fill("a-long-enough-passphrase")
    page.get_by_role("button", name="Accept and join").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Corporation")
    expect(page.get_by_role("status").filter(has_text="you joined as operator")).to_be_visible()
    user = User.objects.get(email="newbie@acme.test")
    assert Membership.objects.get(user=user, organization=org).role == "operator"


def test_keyboard_shortcuts_navigate_and_explain_themselves(page, owner, org):
    log_in(page, owner.email)

    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.keyboard.press("g")
    page.keyboard.press("a")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    page.keyboard.press("/")
    expect(page.get_by_label("Action starts with")).to_be_focused()

    page.keyboard.type("g")  # typed into the field, not a shortcut
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"/console/audit/$"))
    page.get_by_role("search").get_by_role("button", name="Filter").focus()
    page.keyboard.press("g")
    page.keyboard.press("m")
    expect(page.get_by_role("heading", level=1)).to_have_text("Members")
