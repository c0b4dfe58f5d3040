"""The console preview (sanitized HTML) and the Markdown post-mortem export."""

from __future__ import annotations

import re
from datetime import date

import pytest

from rca.markdown import rca_export_markdown, render_markdown
from rca.services import rca_action_item_create, rca_link_incident, rca_update
from statux.audit import Actor

pytestmark = pytest.mark.django_db


def test_the_preview_renders_commonmark_and_tables():
    html = render_markdown("## Impact\n\n- **Checkout** down\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")

    assert "<h2>Impact</h2>" in html
    assert "<li><strong>Checkout</strong> down</li>" in html
    assert "<table>" in html and "<td>1</td>" in html


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="javascript:alert(1)">click</a>',
    ],
)
def test_the_preview_never_carries_script(source):
    html = render_markdown(source)

    assert "<script" not in html
    assert not re.search(r"<[a-z][^>]*(\son\w+=|javascript:)", html)  # as text at most, never in a tag


def test_the_preview_shows_raw_html_as_text():
    assert render_markdown("<script>alert(1)</script>") == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"


def test_links_in_the_preview_do_not_pass_the_referrer():
    assert render_markdown("[runbook](https://runbooks.example/oom)") == (
        '<p><a href="https://runbooks.example/oom" rel="noopener noreferrer nofollow">runbook</a></p>\n'
    )


@pytest.fixture
def full_rca(linked_rca, operator, viewer):
    actor = Actor(user=operator)
    rca = rca_update(
        rca=linked_rca,
        summary="Checkout failed for 20 minutes.",
        impact="12% of orders | EU only",
        root_cause="The **memory limit** was too low.",
        timeline="- 10:00 UTC — deploy\n- 10:05 UTC — OOMKilled",
        actor=actor,
    )
    rca_link_incident(
        rca=rca,
        product="alerting",
        external_id="INC-42",
        title="Pager storm",
        url="https://alerting.example/i/42",
        actor=actor,
    )
    rca_action_item_create(
        rca=rca,
        title="Raise the limit",
        assignee_id=viewer.pk,
        priority="high",
        due_date=date(2030, 1, 31),
        actor=actor,
    )
    rca_action_item_create(rca=rca, title="Add a | pipe", status="done", actor=actor)
    return rca


def test_the_export_is_a_complete_post_mortem(full_rca, incident, viewer):
    document = rca_export_markdown(full_rca)

    assert document.startswith("# Checkout outage\n\n- **Status:** Draft\n")
    assert "## Summary\n\nCheckout failed for 20 minutes.\n" in document
    assert "## Impact\n\n12% of orders | EU only\n" in document
    assert "## Root cause\n\nThe **memory limit** was too low.\n" in document
    assert "## Timeline\n\n- 10:00 UTC — deploy\n- 10:05 UTC — OOMKilled\n" in document
    assert f"| statux | {incident.pk} | OOMKilled: checkout-api | critical | open |" in document
    assert "| alerting | [INC-42](https://alerting.example/i/42) | Pager storm | — | — |" in document
    assert f"| Raise the limit | {viewer.email} | high | open | 2030-01-31 | — |" in document
    assert "| Add a \\| pipe | unassigned | medium | done | — | " in document


def test_an_empty_rca_exports_placeholders(rca):
    document = rca_export_markdown(rca)

    assert document.count("_Not written yet._") == 4
    assert "_No incidents linked._" in document and "_No action items._" in document


def test_the_export_endpoint_serves_a_markdown_attachment(viewer_client, rcas_url, full_rca):
    response = viewer_client.get(f"{rcas_url}/{full_rca.pk}/export", {"format": "markdown"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert (
        response["Content-Disposition"] == f'attachment; filename="checkout-outage-{str(full_rca.pk)[:8]}.md"'
    )
    assert response.content.decode() == rca_export_markdown(full_rca)


def test_the_export_defaults_to_markdown(viewer_client, rcas_url, rca):
    response = viewer_client.get(f"{rcas_url}/{rca.pk}/export")

    assert (response.status_code, response["Content-Type"]) == (200, "text/markdown; charset=utf-8")


def test_another_export_format_is_400(viewer_client, rcas_url, rca):
    response = viewer_client.get(f"{rcas_url}/{rca.pk}/export", {"format": "pdf"})

    assert response.status_code == 400
    assert response.json() == {
        "error": "Export format 'pdf' is not supported; supported: markdown.",
        "code": "unsupported_format",
        "fields": {"format": ["one of: markdown"]},
    }


def test_another_organizations_export_is_404(viewer_client, rcas_url, other_org):
    from tests.rca.factories import RcaFactory

    theirs = RcaFactory(organization=other_org)

    response = viewer_client.get(f"{rcas_url}/{theirs.pk}/export", {"format": "markdown"})

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
