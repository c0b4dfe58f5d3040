"""Console RCA pages: the list and its stats, one RCA with its editor, draft, links, action items, export."""

from __future__ import annotations

import html
import re
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from rca.models import Rca, RcaActionItem, RcaIncidentLink, RcaRevision
from rca.services import (
    rca_action_item_create,
    rca_create,
    rca_generate,
    rca_generation_request,
    rca_link_incident,
    rca_transition,
    rca_update,
)
from statux.audit import Actor
from tests.rca.conftest import make_incident


def text(response) -> str:
    return html.unescape(response.content.decode())


def row_titles(page: str) -> list[str]:
    return re.findall(r"data-row-link>([^<]+)</a>", page)


def section(page: str, anchor: str) -> str:
    """The <section id="anchor"> of a page, up to its closing tag at the same depth."""
    start = page.index(f'<section class="rca-field" id="{anchor}"')
    return page[start : page.index("</section>", start)]


def card(page: str, title: str) -> str:
    match = re.search(
        rf'<article class="card[^"]*"[^>]*>\s*<h4[^>]*>{re.escape(title)}</h4>.*?</article>', page, re.S
    )
    assert match is not None, f"no card {title!r}"
    return match.group(0)


def column_of(page: str, title: str) -> str:
    """The board column ("Open", "In progress", …) that holds the card of `title`."""
    columns = re.findall(r'(<section class="board-column board-column--(\w+)".*?</ul>)', page, re.S)
    found = [status for body, status in columns if f">{title}</h4>" in body]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def actor(operator):
    return Actor(user=operator)


@pytest.fixture
def incident(org):
    return make_incident(org)


@pytest.fixture
def rca(org, actor):
    return rca_create(organization=org, title="Checkout outage", actor=actor)


@pytest.fixture
def linked_rca(rca, incident, actor):
    rca_link_incident(rca=rca, incident=incident, actor=actor)
    return rca


@pytest.fixture
def foreign_rca(other_org):
    return rca_create(organization=other_org, title="Globex secret outage", actor=Actor(system="test"))


# --- List ------------------------------------------------------------------------------------------


def test_the_list_sends_anonymous_visitors_to_the_login_page(client, db):
    response = client.get("/console/rcas/")

    assert (response.status_code, response["Location"]) == (302, "/console/login/?next=/console/rcas/")


def test_the_list_shows_title_status_incidents_open_actions_updated_and_author(
    viewer_console, org, linked_rca, actor
):
    rca_action_item_create(rca=linked_rca, title="Raise the pool size", actor=actor)
    done = rca_action_item_create(rca=linked_rca, title="Add an alert", actor=actor, status="done")
    quiet = rca_create(organization=org, title="DNS flap", actor=Actor(system="test"))

    response = viewer_console.get("/console/rcas/")

    page = text(response)
    assert response.status_code == 200
    assert row_titles(page) == ["DNS flap", "Checkout outage"]  # most recently changed first
    row = re.search(rf'<tr data-row-id="{linked_rca.pk}".*?</tr>', page, re.S).group(0)
    assert f'<a href="/console/rcas/{linked_rca.pk}/" data-row-link>Checkout outage</a>' in row
    assert '<span class="badge badge--status badge--rca-draft">draft</span>' in row
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["1", "1"]  # one incident, one open action
    assert ">just now</time>" in row and "<td>operator@acme.test</td>" in row
    assert "<td>system:test</td>" in re.search(rf'<tr data-row-id="{quiet.pk}".*?</tr>', page, re.S).group(0)
    assert done.status == "done"
    assert "2 RCAs." in page and "data-row-keys" in page


def test_the_stats_strip_counts_statuses_overdue_actions_and_the_mean_time_to_publish(
    viewer_console, org, linked_rca, actor
):
    with time_machine.travel(timezone.now() - timedelta(hours=3), tick=False):
        published = rca_create(organization=org, title="Old outage", actor=actor)
    rca_transition(rca=published, status="in_review", actor=actor)
    rca_transition(rca=published, status="published", actor=actor)
    yesterday = timezone.localdate() - timedelta(days=1)
    rca_action_item_create(rca=linked_rca, title="Late fix", actor=actor, due_date=yesterday)

    page = text(viewer_console.get("/console/rcas/"))

    stats = re.findall(
        r'<span class="stat-value">([^<]+)</span> <span class="stat-label">([^<]+)</span>', page
    )
    assert stats == [
        ("1", "draft"),
        ("0", "in review"),
        ("1", "published"),
        ("1", "overdue action item"),
        ("3.0 h", "mean time to publish"),
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("status=published", ["Published one"]), ("q=pool", ["Pool exhaustion"]), ("q=zzz", [])],
)
def test_the_list_filters_by_status_and_text(viewer_console, org, actor, query, expected):
    rca_create(organization=org, title="Pool exhaustion", actor=actor, root_cause="The DB pool was small.")
    published = rca_create(organization=org, title="Published one", actor=actor)
    rca_transition(rca=published, status="in_review", actor=actor)
    rca_transition(rca=published, status="published", actor=actor)

    page = text(viewer_console.get(f"/console/rcas/?{query}"))

    assert row_titles(page) == expected
    assert "Clear filters" in page


def test_the_list_reads_in_a_fixed_number_of_queries(
    viewer_console, org, actor, incident, django_assert_max_num_queries
):
    for number in range(12):
        rca = rca_create(organization=org, title=f"Outage {number}", actor=actor)
        rca_link_incident(rca=rca, incident=incident, actor=actor)
        rca_action_item_create(rca=rca, title="Fix", actor=actor)

    with django_assert_max_num_queries(14):
        response = viewer_console.get("/console/rcas/")

    assert len(row_titles(text(response))) == 12


def test_an_operator_creates_an_rca_and_lands_on_its_page(operator_console, org):
    response = operator_console.post("/console/rcas/create/", {"title": "Payments down at 03:12"})

    rca = Rca.objects.get(organization=org)
    assert (response.status_code, response["Location"]) == (302, f"/console/rcas/{rca.pk}/")
    assert (rca.title, rca.status, rca.created_by_label) == (
        "Payments down at 03:12",
        "draft",
        "operator@acme.test",
    )
    page = text(operator_console.get(response["Location"]))
    assert "<h1>Payments down at 03:12</h1>" in page
    assert "RCA “Payments down at 03:12” created as a draft." in page


def test_an_rca_without_a_title_is_refused_with_the_reason(operator_console, org):
    response = operator_console.post("/console/rcas/create/", {"title": "  "})

    assert response.status_code == 400
    assert "This field is required." in text(response)
    assert not Rca.objects.exists()


def test_a_viewer_sees_the_list_without_the_new_rca_form_and_cannot_create(viewer_console, org, rca):
    page = text(viewer_console.get("/console/rcas/"))
    response = viewer_console.post("/console/rcas/create/", {"title": "Sneaky"})

    assert "Checkout outage" in page and "New RCA" not in page
    assert 'method="post" action="/console/rcas/' not in page
    assert response.status_code == 403
    assert "Your role 'viewer' in Acme Corporation cannot" in text(response)
    assert Rca.objects.count() == 1


# --- One RCA ---------------------------------------------------------------------------------------


def test_the_rca_page_shows_the_four_fields_rendered_from_markdown(viewer_console, rca, actor):
    rca_update(
        rca=rca,
        actor=actor,
        summary="Checkout **failed** for 20 minutes.",
        impact="- 4% of orders\n- EU only",
        root_cause="",
        timeline="`03:12` alert fired",
    )

    response = viewer_console.get(f"/console/rcas/{rca.pk}/")

    page = text(response)
    assert response.status_code == 200
    assert "<h1>Checkout outage</h1>" in page
    assert re.findall(r'<h2 id="(\w+)-title">', page)[:4] == ["summary", "impact", "root_cause", "timeline"]
    assert "<p>Checkout <strong>failed</strong> for 20 minutes.</p>" in section(page, "summary")
    assert "<li>4% of orders</li>" in section(page, "impact")
    assert "Not written yet." in section(page, "root_cause")
    assert "<code>03:12</code> alert fired" in section(page, "timeline")


def test_a_draft_offers_only_submit_for_review(operator_console, rca):
    page = text(operator_console.get(f"/console/rcas/{rca.pk}/"))

    buttons = re.findall(r'name="status" value="(\w+)">([^<]+)</button>', page)
    assert buttons == [("in_review", "Submit for review")]


def test_the_workflow_goes_to_review_then_published_and_back_to_draft(operator_console, rca):
    url = f"/console/rcas/{rca.pk}/"

    operator_console.post(f"{url}status/", {"status": "in_review"})
    in_review = text(operator_console.get(url))
    operator_console.post(f"{url}status/", {"status": "published"})
    published = text(operator_console.get(url))

    assert re.findall(r'name="status" value="(\w+)">([^<]+)</button>', in_review) == [
        ("published", "Publish"),
        ("draft", "Back to draft"),
    ]
    assert "The RCA is now published." in published
    assert re.findall(r'name="status" value="(\w+)">', published) == ["draft"]
    rca.refresh_from_db()
    assert rca.status == "published" and rca.published_at is not None


def test_an_illegal_move_is_refused_with_the_reason(operator_console, rca):
    response = operator_console.post(f"/console/rcas/{rca.pk}/status/", {"status": "published"}, follow=True)

    assert f"RCA {rca.pk} cannot move from draft to published; allowed: in_review." in text(response)
    rca.refresh_from_db()
    assert rca.status == "draft"


def test_saving_a_field_keeps_the_old_text_in_the_history(operator_console, rca, actor):
    rca_update(rca=rca, actor=actor, root_cause="Unknown yet.")

    response = operator_console.post(
        f"/console/rcas/{rca.pk}/edit/",
        {"field": "root_cause", "root_cause": "The pool had **10** connections.", "action": "save"},
    )

    assert (response.status_code, response["Location"]) == (302, f"/console/rcas/{rca.pk}/#root_cause")
    rca.refresh_from_db()
    assert rca.root_cause == "The pool had **10** connections." and rca.edited_fields == ["root_cause"]
    assert list(RcaRevision.objects.filter(rca=rca).values_list("previous_text", "new_text", "source")) == [
        ("", "Unknown yet.", "person"),
        ("Unknown yet.", "The pool had **10** connections.", "person"),
    ]
    page = text(operator_console.get(f"/console/rcas/{rca.pk}/"))
    assert "<p>The pool had <strong>10</strong> connections.</p>" in section(page, "root_cause")
    assert "Root cause saved; a new draft will keep it." in page
    history = page[page.index('id="history"') :]
    assert 'History <span class="count">2</span>' in page
    assert "<td>Root cause</td>" in history and "<td>operator@acme.test</td>" in history


def test_preview_without_javascript_shows_the_page_with_the_rendered_text_and_saves_nothing(
    operator_console, rca
):
    response = operator_console.post(
        f"/console/rcas/{rca.pk}/edit/",
        {"field": "summary", "summary": "Orders *stalled*.", "action": "preview"},
    )

    page = text(response)
    assert response.status_code == 200
    summary = section(page, "summary")
    assert '<details class="editor" open>' in summary
    assert ">\nOrders *stalled*.</textarea>" in summary  # the input is kept
    assert 'Preview, not saved yet:</p><div class="markdown"><p>Orders <em>stalled</em>.</p>' in summary
    rca.refresh_from_db()
    assert rca.summary == ""


def test_the_preview_endpoint_renders_sanitized_html(operator_console, rca):
    markdown = "Hi <script>alert('x')</script> [click](javascript:alert(1)) <img src=x onerror=alert(2)>"

    response = operator_console.post(
        f"/console/rcas/{rca.pk}/preview/", {"field": "impact", "impact": f"# Impact\n\n{markdown}"}
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Impact</h1>" in body
    assert "<script" not in body and "<img" not in body
    assert 'href="javascript:' not in body  # the link is refused; its text stays
    assert "&lt;script&gt;alert" in body  # shown as text, never run
    assert "<html" not in body


def test_an_operator_generates_a_draft_and_the_page_shows_the_drafted_fields(
    operator_console, linked_rca, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = operator_console.post(f"/console/rcas/{linked_rca.pk}/generate/")

    assert (response.status_code, response["Location"]) == (302, f"/console/rcas/{linked_rca.pk}/#draft")
    assert len(callbacks) == 1
    rca = Rca.objects.get(pk=linked_rca.pk)
    assert rca.generation_status == "completed" and all(
        (rca.summary, rca.impact, rca.root_cause, rca.timeline)
    )
    page = text(operator_console.get(f"/console/rcas/{linked_rca.pk}/"))
    assert "Drafted by <strong>deterministic</strong>" in page
    assert "checkout-api" in section(page, "summary") + section(page, "root_cause")
    assert all(
        "Not written yet." not in section(page, name)
        for name in ("summary", "impact", "root_cause", "timeline")
    )
    assert "data-refresh-url" not in page  # nothing left to watch


def test_a_draft_keeps_a_persons_edit_and_says_so(
    operator_console, linked_rca, actor, django_capture_on_commit_callbacks
):
    rca_update(rca=linked_rca, actor=actor, root_cause="My own words.")

    with django_capture_on_commit_callbacks(execute=True):
        operator_console.post(f"/console/rcas/{linked_rca.pk}/generate/")

    page = text(operator_console.get(f"/console/rcas/{linked_rca.pk}/"))
    assert "Kept as people wrote them: <strong>Root cause</strong>" in page
    assert "<p>My own words.</p>" in section(page, "root_cause")
    assert "kept the person's text" in page  # the refused proposal is in the history


def test_generating_without_a_linked_incident_says_what_to_do(operator_console, rca):
    response = operator_console.post(f"/console/rcas/{rca.pk}/generate/", follow=True)

    assert f"Link an incident to RCA {rca.pk} before generating a draft." in text(response)
    rca.refresh_from_db()
    assert rca.generation_status == "idle"


def test_while_a_draft_is_written_the_page_watches_it_and_offers_no_editors(
    operator_console, linked_rca, actor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # queued; no worker has taken it yet
        rca_generation_request(rca=linked_rca, actor=actor)

    page = text(operator_console.get(f"/console/rcas/{linked_rca.pk}/"))
    partial = text(operator_console.get(f"/console/rcas/{linked_rca.pk}/generation/?live=1"))

    assert f'data-refresh-url="/console/rcas/{linked_rca.pk}/document/" data-refresh-seconds="3"' in page
    assert f'data-refresh-url="/console/rcas/{linked_rca.pk}/generation/?live=1"' in page
    assert "Draft pending…" in page and 'class="editor"' not in page
    assert "Draft pending…" in partial and "<html" not in partial


def test_the_document_and_generation_partials_show_a_finished_draft(operator_console, linked_rca, actor):
    rca_generation_request(rca=linked_rca, actor=actor)  # queued: on_commit never fires in this test
    rca_generate(rca_id=str(linked_rca.pk))

    document = text(operator_console.get(f"/console/rcas/{linked_rca.pk}/document/"))
    generation = text(operator_console.get(f"/console/rcas/{linked_rca.pk}/generation/?live=1"))

    assert "<html" not in document and "Not written yet." not in document
    assert 'class="editor"' not in document and "csrfmiddlewaretoken" not in document
    assert "Drafted by <strong>deterministic</strong>" in generation
    assert "Reload the page to edit the draft" in generation


# --- Linked incidents ------------------------------------------------------------------------------


def test_the_search_lists_candidates_with_link_buttons(operator_console, org, rca):
    checkout = make_incident(org, title="5xx on checkout-api", service="checkout-api")
    make_incident(org, title="Disk full on db-1", service="postgres")

    page = text(operator_console.get(f"/console/rcas/{rca.pk}/?q=checkout"))

    found = page[page.index('aria-label="Incidents found"') :]
    assert "<strong>5xx on checkout-api</strong>" in found and "Disk full" not in found
    assert f'<input type="hidden" name="incident_id" value="{checkout.pk}">' in found
    assert 'Link<span class="visually-hidden"> 5xx on checkout-api</span></button>' in found


def test_linking_a_found_incident_lists_it_and_marks_it_linked(operator_console, org, rca, incident):
    response = operator_console.post(
        f"/console/rcas/{rca.pk}/incidents/", {"incident_id": incident.pk, "q": "checkout api"}
    )

    assert response["Location"] == f"/console/rcas/{rca.pk}/?q=checkout+api#incidents"  # the search stays
    link = RcaIncidentLink.objects.get(rca=rca)
    assert (link.product, link.incident_id, link.linked_by_label) == (
        "statux",
        incident.pk,
        "operator@acme.test",
    )
    page = text(operator_console.get(f"/console/rcas/{rca.pk}/?q=checkout"))
    linked = page[page.index('id="incidents-title"') : page.index('aria-labelledby="link-search-title"')]
    assert f'<a href="/console/incidents/{incident.pk}/">OOMKilled: checkout-api</a>' in linked
    assert 'Linked incidents <span class="count">1</span>' in page
    found = page[page.index('aria-label="Incidents found"') :]
    assert '<span class="badge">linked</span>' in found and 'name="incident_id"' not in found


def test_another_products_incident_is_linked_by_reference(operator_console, rca):
    response = operator_console.post(
        f"/console/rcas/{rca.pk}/incidents/",
        {
            "product": "statuspages",
            "external_id": "SP-77",
            "title": "Status page down",
            "url": "https://status.example/77",
        },
    )

    assert response.status_code == 302
    link = RcaIncidentLink.objects.get(rca=rca)
    assert (link.product, link.external_id, link.incident_id) == ("statuspages", "SP-77", None)
    page = text(operator_console.get(f"/console/rcas/{rca.pk}/"))
    assert '<a href="https://status.example/77" rel="noopener noreferrer">Status page down</a>' in page


def test_a_reference_without_its_id_is_refused_with_the_reason(operator_console, rca):
    response = operator_console.post(f"/console/rcas/{rca.pk}/incidents/", {"product": "alerting"})

    assert response.status_code == 400
    assert "Give the product and the incident's id there." in text(response)
    assert not RcaIncidentLink.objects.exists()


def test_linking_twice_says_it_is_linked_already(operator_console, linked_rca, incident):
    response = operator_console.post(
        f"/console/rcas/{linked_rca.pk}/incidents/", {"incident_id": incident.pk}, follow=True
    )

    assert f"statux:{incident.pk} is already linked to RCA {linked_rca.pk}." in text(response)
    assert RcaIncidentLink.objects.filter(rca=linked_rca).count() == 1


def test_another_organizations_incident_cannot_be_linked(operator_console, rca, other_org):
    foreign = make_incident(other_org, title="Globex incident")

    response = operator_console.post(
        f"/console/rcas/{rca.pk}/incidents/", {"incident_id": foreign.pk}, follow=True
    )

    assert f"Incident {foreign.pk} not found." in text(response)
    assert not RcaIncidentLink.objects.exists()


def test_unlinking_removes_the_incident(operator_console, linked_rca):
    link = RcaIncidentLink.objects.get(rca=linked_rca)

    response = operator_console.post(
        f"/console/rcas/{linked_rca.pk}/incidents/{link.pk}/unlink/", follow=True
    )

    assert not RcaIncidentLink.objects.filter(pk=link.pk).exists()
    page = text(response)
    assert "Unlinked OOMKilled: checkout-api." in page and "No incidents linked yet." in page


# --- Action items ----------------------------------------------------------------------------------


def test_an_action_item_is_added_with_assignee_priority_and_due_date(operator_console, linked_rca, operator):
    due = timezone.localdate() + timedelta(days=7)

    response = operator_console.post(
        f"/console/rcas/{linked_rca.pk}/action-items/",
        {
            "title": "Raise the pool size",
            "assignee": str(operator.pk),
            "priority": "high",
            "due_date": due.isoformat(),
        },
    )

    assert response["Location"] == f"/console/rcas/{linked_rca.pk}/#action-items"
    item = RcaActionItem.objects.get(rca=linked_rca)
    assert (item.title, item.assignee, item.priority, item.due_date, item.status) == (
        "Raise the pool size",
        operator,
        "high",
        due,
        "open",
    )
    page = text(operator_console.get(f"/console/rcas/{linked_rca.pk}/"))
    assert column_of(page, "Raise the pool size") == "open"
    raised = card(page, "Raise the pool size")
    assert f"<dd>{operator.name}</dd>" in raised and ">high</span>" in raised
    assert f">{due:%Y-%m-%d}</time>" in raised and "overdue" not in raised


def test_the_assignee_select_lists_only_members(operator_console, linked_rca, owner, viewer, other_admin):
    page = text(operator_console.get(f"/console/rcas/{linked_rca.pk}/"))

    select = re.search(r'<select name="assignee".*?</select>', page, re.S).group(0)
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]+)</option>', select)
    assert options[0] == ("", "Unassigned")
    assert sorted(options[1:]) == sorted(
        (str(user.pk), f"{user.name} ({user.email})") for user in (owner, viewer, linked_rca.created_by)
    )


def test_an_assignee_from_another_organization_is_refused(operator_console, linked_rca, other_admin):
    response = operator_console.post(
        f"/console/rcas/{linked_rca.pk}/action-items/",
        {"title": "Fix", "assignee": str(other_admin.pk), "priority": "medium"},
    )

    assert response.status_code == 400
    assert "Select a valid choice." in text(response)
    assert not RcaActionItem.objects.exists()


def test_an_overdue_action_item_is_marked_in_words_and_red(operator_console, linked_rca, actor):
    rca_action_item_create(
        rca=linked_rca, title="Late fix", actor=actor, due_date=timezone.localdate() - timedelta(days=2)
    )

    late = card(text(operator_console.get(f"/console/rcas/{linked_rca.pk}/")), "Late fix")

    assert 'class="card card--overdue"' in late and '<strong class="overdue">overdue</strong>' in late


def test_an_action_item_moves_to_in_progress_then_done(operator_console, linked_rca, actor):
    item = rca_action_item_create(rca=linked_rca, title="Raise the pool size", actor=actor)
    move = f"/console/rcas/{linked_rca.pk}/action-items/{item.pk}/move/"

    operator_console.post(move, {"status": "in_progress"})
    started = text(operator_console.get(f"/console/rcas/{linked_rca.pk}/"))
    response = operator_console.post(move, {"status": "done"}, follow=True)

    assert column_of(started, "Raise the pool size") == "in_progress"
    assert re.findall(r'value="(\w+)">([^<]+)<span', card(started, "Raise the pool size")) == [
        ("done", "Mark done"),
        ("open", "Stop"),
    ]
    page = text(response)
    assert "“Raise the pool size” is now done." in page
    assert column_of(page, "Raise the pool size") == "done"
    item.refresh_from_db()
    assert item.status == "done" and item.completed_at is not None


def test_an_action_item_is_edited_on_its_page(operator_console, linked_rca, actor, owner):
    item = rca_action_item_create(rca=linked_rca, title="Fix", actor=actor)
    url = f"/console/rcas/{linked_rca.pk}/action-items/{item.pk}/edit/"

    form = text(operator_console.get(url))
    response = operator_console.post(
        url,
        {
            "title": "Fix the pool",
            "assignee": str(owner.pk),
            "priority": "critical",
            "status": "in_progress",
            "description": "See the graph.",
        },
    )

    assert (
        '<input type="text" name="title" value="Fix"' in form
        and '<h1 id="edit-title">Edit action item</h1>' in form
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.title, item.assignee, item.priority, item.status, item.description) == (
        "Fix the pool",
        owner,
        "critical",
        "in_progress",
        "See the graph.",
    )


def test_an_action_item_is_deleted(operator_console, linked_rca, actor):
    item = rca_action_item_create(rca=linked_rca, title="Obsolete", actor=actor)

    response = operator_console.post(
        f"/console/rcas/{linked_rca.pk}/action-items/{item.pk}/delete/", follow=True
    )

    assert not RcaActionItem.objects.filter(pk=item.pk).exists()
    assert "Action item “Obsolete” deleted." in text(response)


# --- Export, delete, postmortem --------------------------------------------------------------------


def test_export_downloads_the_markdown_postmortem(viewer_console, linked_rca, actor):
    rca_update(rca=linked_rca, actor=actor, summary="Checkout **failed**.")

    response = viewer_console.get(f"/console/rcas/{linked_rca.pk}/export/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="checkout-outage-{str(linked_rca.pk)[:8]}.md"'
    )
    body = response.content.decode()
    assert body.startswith("# Checkout outage\n")
    assert "## Summary\n\nCheckout **failed**.\n" in body
    assert "| statux |" in body and "OOMKilled: checkout-api" in body


def test_deleting_asks_first_then_deletes_the_rca(operator_console, linked_rca):
    url = f"/console/rcas/{linked_rca.pk}/delete/"

    confirm = text(operator_console.get(url))
    response = operator_console.post(url, follow=True)

    assert "Delete RCA “Checkout outage”?" in confirm
    assert not Rca.objects.filter(pk=linked_rca.pk).exists()
    page = text(response)
    assert "RCA “Checkout outage” deleted with its links and action items." in page
    assert "<h1>RCAs</h1>" in page


def test_the_rca_page_has_a_delete_dialog_for_writers(operator_console, rca):
    page = text(operator_console.get(f"/console/rcas/{rca.pk}/"))

    dialog = re.search(r'<dialog id="rca-delete".*?</dialog>', page, re.S).group(0)
    assert f'<form method="post" action="/console/rcas/{rca.pk}/delete/">' in dialog
    assert 'data-dialog-open="rca-delete" hidden>Delete RCA…</button>' in page


def test_write_postmortem_creates_a_drafted_rca_for_the_incident(
    operator_console, org, incident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_console.post(f"/console/incidents/{incident.pk}/postmortem/")

    rca = Rca.objects.get(organization=org)
    assert (response.status_code, response["Location"]) == (302, f"/console/rcas/{rca.pk}/")
    assert rca.title == "Postmortem: OOMKilled: checkout-api" and rca.generation_status == "completed"
    assert RcaIncidentLink.objects.get(rca=rca).incident_id == incident.pk
    page = text(operator_console.get(response["Location"]))
    assert "Postmortem created and linked to the incident" in page
    assert "Drafted by <strong>deterministic</strong>" in page


def test_write_postmortem_twice_opens_the_same_rca(operator_console, org, incident):
    first = operator_console.post(f"/console/incidents/{incident.pk}/postmortem/")

    second = operator_console.post(f"/console/incidents/{incident.pk}/postmortem/", follow=True)

    assert Rca.objects.filter(organization=org).count() == 1
    assert second.redirect_chain[-1][0] == first["Location"]
    assert "This incident already has a postmortem; here it is." in text(second)


def test_write_postmortem_of_another_organizations_incident_is_not_found(operator_console, other_org):
    foreign = make_incident(other_org, title="Globex incident")

    response = operator_console.post(f"/console/incidents/{foreign.pk}/postmortem/")

    assert response.status_code == 404
    assert f"There is no incident {foreign.pk} in this organization." in text(response)
    assert not Rca.objects.exists()


# --- Roles and tenancy -----------------------------------------------------------------------------


def test_a_viewer_reads_the_rca_page_without_any_form(viewer_console, linked_rca, actor):
    rca_action_item_create(rca=linked_rca, title="Raise the pool size", actor=actor)

    response = viewer_console.get(f"/console/rcas/{linked_rca.pk}/?q=checkout")

    page = text(response)
    assert response.status_code == 200
    assert "Your role <strong>viewer</strong> can read RCAs" in page
    assert re.findall(r'<form[^>]*action="(/console/rcas/[^"]*)"', page) == []
    assert "<textarea" not in page and "Generate draft" not in page and "Delete RCA" not in page
    assert "Raise the pool size" in page and "OOMKilled: checkout-api" in page
    assert f'href="/console/rcas/{linked_rca.pk}/export/"' in page


WRITE_POSTS = [
    ("status/", {"status": "in_review"}),
    ("edit/", {"field": "summary", "summary": "x", "action": "save"}),
    ("preview/", {"field": "summary", "summary": "x"}),
    ("generate/", {}),
    ("incidents/", {"product": "alerting", "external_id": "A-1"}),
    ("incidents/{link}/unlink/", {}),
    ("action-items/", {"title": "x", "priority": "low"}),
    ("action-items/{item}/move/", {"status": "done"}),
    ("action-items/{item}/edit/", {"title": "x", "priority": "low", "status": "open"}),
    ("action-items/{item}/delete/", {}),
    ("delete/", {}),
]


@pytest.fixture
def rca_parts(linked_rca, actor):
    item = rca_action_item_create(rca=linked_rca, title="Keep me", actor=actor)
    return {"link": RcaIncidentLink.objects.get(rca=linked_rca).pk, "item": item.pk}


@pytest.mark.parametrize(("path", "data"), WRITE_POSTS)
def test_a_viewer_is_refused_every_write(viewer_console, linked_rca, rca_parts, path, data):
    before = Rca.objects.filter(pk=linked_rca.pk).values().get()

    response = viewer_console.post(f"/console/rcas/{linked_rca.pk}/{path.format(**rca_parts)}", data)

    assert response.status_code == 403
    assert "Your role 'viewer' in Acme Corporation cannot" in text(response)
    assert Rca.objects.filter(pk=linked_rca.pk).values().get() == before
    assert RcaActionItem.objects.get(pk=rca_parts["item"]).status == "open"
    assert RcaIncidentLink.objects.filter(rca=linked_rca).count() == 1


def test_a_viewer_cannot_write_a_postmortem(viewer_console, incident):
    response = viewer_console.post(f"/console/incidents/{incident.pk}/postmortem/")

    assert response.status_code == 403
    assert not Rca.objects.exists()


@pytest.mark.parametrize("path", ["", "document/", "generation/", "export/", "delete/"])
def test_another_organizations_rca_is_not_found(operator_console, foreign_rca, path):
    response = operator_console.get(f"/console/rcas/{foreign_rca.pk}/{path}")

    assert response.status_code == 404
    page = text(response)
    assert f"There is no RCA {foreign_rca.pk} in this organization." in page
    assert "Globex secret outage" not in page


@pytest.mark.parametrize(("path", "data"), WRITE_POSTS)
def test_another_organizations_rca_is_not_found_for_writes(operator_console, foreign_rca, path, data):
    ids = {"link": uuid.uuid4(), "item": uuid.uuid4()}

    response = operator_console.post(f"/console/rcas/{foreign_rca.pk}/{path.format(**ids)}", data)

    assert response.status_code == 404
    assert Rca.objects.filter(pk=foreign_rca.pk, title="Globex secret outage", summary="").exists()


def test_the_list_never_shows_another_organizations_rcas(owner_console, rca, foreign_rca):
    page = text(owner_console.get("/console/rcas/"))

    assert row_titles(page) == ["Checkout outage"]


def test_the_rca_page_reads_in_a_fixed_number_of_queries(
    operator_console, org, actor, django_assert_max_num_queries
):
    rca = rca_create(organization=org, title="Outage", actor=actor)
    for number in range(8):
        incident = make_incident(org, title=f"Errors {number}", service=f"svc-{number}")
        rca_link_incident(rca=rca, incident=incident, actor=actor)
        rca_action_item_create(rca=rca, title=f"Fix {number}", actor=actor, assignee_id=actor.user.pk)
        rca_update(rca=rca, actor=actor, summary=f"Version {number}")

    with django_assert_max_num_queries(13):
        response = operator_console.get(f"/console/rcas/{rca.pk}/?q=Errors")

    page = text(response)
    assert page.count('<article class="card"') == 8 and page.count('<span class="badge">linked</span>') == 8
