"""The deterministic engine's RCA drafts: timeline, impact, root cause, summary, and robustness."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyses.providers.base import RcaContext, RcaDraft, ai_providers
from analyses.providers.deterministic import DeterministicProvider
from analyses.providers.rca_draft import rca_draft_build
from analyses.signatures import signature_get
from tests.analyses.providers.conftest import NOTE, ROOT_CAUSE, event, linked_incident

DEPLOY = "deploy dep-42 of checkout-api (registry.example.com/checkout-api:2.4.1) by ci:github-actions"


def with_incidents(context: RcaContext, *incidents: dict) -> RcaContext:
    return replace(context, incidents=incidents)


def test_the_timeline_merges_both_incidents_in_order_and_counts_repeated_alerts(rca_context):
    draft = rca_draft_build(rca_context)

    assert draft.timeline.splitlines() == [
        f"- 10:24 UTC \u2014 D{DEPLOY[1:]}.",
        "- 10:30 UTC \u2014 inc-checkout opened: \u201cKubePodCrashLooping: checkout-api\u201d "
        "(critical, checkout-api).",
        "- 10:31 UTC \u2014 2 more alerts for inc-checkout, the last at 10:33 UTC.",
        "- 10:34 UTC \u2014 inc-payments opened: \u201cHighErrorRate: payments-api 5xx above 5%\u201d "
        "(high, payments-api).",
        "- 10:35 UTC \u2014 inc-checkout acknowledged by alice@example.com.",
        "- 10:36 UTC \u2014 1 more alert for inc-checkout.",
        "- 10:37 UTC \u2014 2 more alerts for inc-payments, the last at 10:41 UTC.",
        f"- 10:38 UTC \u2014 Note on inc-checkout by alice@example.com: \u201c{NOTE}\u201d",
        "- 10:50 UTC \u2014 inc-checkout resolved by alertmanager.",
        "- 10:55 UTC \u2014 inc-payments resolved by bob@example.com.",
    ]


def test_impact_states_services_severities_duration_and_alert_counts(rca_context):
    draft = rca_draft_build(rca_context)

    assert draft.impact.splitlines()[:4] == [
        "- **Services:** checkout-api, payments-api",
        "- **Severity:** critical at worst (inc-checkout critical, inc-payments high)",
        "- **Duration:** 25 minutes, from 10:30 UTC on 2026-11-23 (inc-checkout opened) to 10:55 UTC "
        "(inc-payments resolved).",
        "- **Alerts:** 7 in total (inc-checkout: 4, inc-payments: 3)",
    ]
    assert draft.impact.splitlines()[4].startswith("- **Users and customers:** unknown:")
    assert draft.impact.splitlines()[5] == (
        "- **Also recorded in:** PagerDuty P7QX2 \u201cCheckout down\u201d (<https://acme.pagerduty.com/incidents/P7QX2>)"
    )


def test_the_root_cause_quotes_the_analysis_names_the_deploy_and_what_helped_before(rca_context):
    draft = rca_draft_build(rca_context)

    paragraphs = draft.root_cause.split("\n\n")
    assert (
        paragraphs[0]
        == f"**Most likely cause** (latest analysis of inc-checkout, confidence 0.82): {ROOT_CAUSE}"
    )
    assert paragraphs[1] == (
        "Known failure classes recognised in the incidents: Container killed for exceeding its memory limit "
        "(OOMKilled) (inc-checkout); Spike of HTTP 5xx errors (inc-payments)."
    )
    assert paragraphs[2] == f"inc-checkout began 6 minutes after {DEPLOY}, which makes that change a suspect."
    assert paragraphs[3] == f"Responders noted:\n- inc-checkout: \u201c{NOTE}\u201d"
    assert paragraphs[4] == (
        "**What helped before** (resolved similar incidents):\n"
        "- inc-earlier \u201cOOMKilled: checkout-api\u201d: "
        "Raised the memory limit to 1Gi and capped the heap with -Xmx768m."
    )


def test_the_summary_says_what_happened_where_for_how_long_and_the_likely_cause(rca_context):
    draft = rca_draft_build(rca_context)

    assert draft.summary == (
        "2 linked incidents, inc-checkout \u201cKubePodCrashLooping: checkout-api\u201d (critical) and "
        "inc-payments \u201cHighErrorRate: payments-api 5xx above 5%\u201d (high), affected checkout-api and "
        "payments-api from 10:30 UTC on 2026-11-23 for 25 minutes, raising 7 alerts. All are resolved. "
        "Most likely cause: The checkout-api container exceeds its 512Mi memory limit and is OOMKilled."
    )


def test_a_weaker_analysis_reads_as_likely_and_the_other_is_listed(rca_context):
    checkout, payments = rca_context.incidents
    weak = {**checkout, "analysis": {**checkout["analysis"], "confidence": 0.6}}
    other = {
        **payments,
        "analysis": {"root_cause": "Retries from checkout-api overloaded payments-api.", "confidence": 0.4},
    }

    draft = rca_draft_build(with_incidents(rca_context, weak, other))

    paragraphs = draft.root_cause.split("\n\n")
    assert paragraphs[0].startswith("**Likely cause** (latest analysis of inc-checkout, confidence 0.60): ")
    assert paragraphs[1] == (
        "Other analyses found:\n"
        "- inc-payments (confidence 0.40): Retries from checkout-api overloaded payments-api."
    )


def test_without_analyses_the_known_failure_class_is_a_cause_to_confirm(rca_context):
    checkout, payments = rca_context.incidents
    unanalysed = {**checkout, "analysis": None, "deploy": None, "notes": [], "similar_resolved": []}

    draft = rca_draft_build(with_incidents(rca_context, unanalysed, payments))

    crash_loop, errors = signature_get("crash_loop").title, signature_get("http_5xx_spike").title
    paragraphs = draft.root_cause.split("\n\n")
    assert paragraphs[0].startswith(
        "**Likely cause** (recognised from the alerts of inc-checkout; no analysis confirms it yet): "
        f"{crash_loop}. checkout-api's container keeps exiting shortly after it starts"
    )
    assert paragraphs[1] == f"Known failure classes recognised in the incidents: {errors} (inc-payments)."
    assert draft.summary.endswith(f"Likely cause: {crash_loop}.")


def test_a_deploy_alone_is_the_first_suspect_with_a_caveat(rca_context):
    checkout = linked_incident(
        "inc-blank",
        "Checkout page shows a blank screen",
        "checkout-web",
        "high",
        ("09:10:00", "09:40:00"),
        [],
        deploy={"deploy_id": "dep-7", "service": "checkout-web", "minutes_before_incident": 14.5},
    )

    draft = rca_draft_build(with_incidents(rca_context, checkout))

    assert draft.root_cause.split("\n\n")[0] == (
        "inc-blank began 14 minutes after deploy dep-7 of checkout-web, which makes that change the first "
        "suspect, though timing alone does not prove it."
    )
    assert draft.summary.endswith(
        "Possible cause: deploy dep-7 of checkout-web, 14 minutes before the first incident."
    )


def test_with_nothing_known_the_root_cause_is_not_yet_determined(rca_context):
    report = linked_incident("inc-report", "Customer report: orders missing", "", "", ("09:00:00", None), [])

    draft = rca_draft_build(with_incidents(rca_context, report))

    assert draft.root_cause.startswith(
        "Not yet determined. No analysis, known failure class or preceding deploy"
    )
    assert draft.summary == (
        "One incident, inc-report \u201cCustomer report: orders missing\u201d, occurred "
        "(no service recorded) from 09:00 UTC on 2026-11-23. It is not resolved yet. "
        "The cause is not yet determined."
    )
    assert draft.impact.splitlines()[:4] == [
        "- **Services:** unknown (no linked incident names a service)",
        "- **Severity:** unknown",
        "- **Duration:** unknown: inc-report is not resolved (or the resolution time is not recorded); "
        "started at 09:00 UTC on 2026-11-23 (inc-report).",
        "- **Alerts:** unknown (inc-report: unknown)",
    ]
    assert draft.timeline == (
        "- 09:00 UTC \u2014 inc-report opened: \u201cCustomer report: orders missing\u201d."
    )


def test_an_unresolved_incident_leaves_the_duration_unknown_and_says_so(rca_context):
    checkout, payments = rca_context.incidents
    reopened = {**payments, "status": "open", "resolved_at": None, "timeline": payments["timeline"][:-1]}

    draft = rca_draft_build(with_incidents(rca_context, checkout, reopened))

    assert draft.impact.splitlines()[2] == (
        "- **Duration:** unknown: inc-payments is not resolved (or the resolution time is not recorded); "
        "started at 10:30 UTC on 2026-11-23 (inc-checkout)."
    )
    assert "from 10:30 UTC on 2026-11-23, raising 7 alerts. 1 of 2 is not resolved yet." in draft.summary
    assert draft.timeline.splitlines()[-1] == "- 10:50 UTC \u2014 inc-checkout resolved by alertmanager."


def test_a_timeline_cut_before_the_incident_opened_gives_alert_counts_as_lower_bounds(rca_context):
    checkout, payments = rca_context.incidents
    cut = {**checkout, "timeline": checkout["timeline"][2:]}  # the context keeps only the newest events

    draft = rca_draft_build(with_incidents(rca_context, cut, payments))

    assert (
        draft.impact.splitlines()[3] == "- **Alerts:** at least 6 (inc-checkout: at least 3, inc-payments: 3)"
    )
    assert ", raising at least 6 alerts." in draft.summary
    assert draft.timeline.splitlines()[1].startswith("- 10:30 UTC \u2014 inc-checkout opened: ")


def test_an_alert_count_given_with_the_incident_makes_a_cut_timeline_exact(rca_context):
    checkout, payments = rca_context.incidents
    counted = {**checkout, "timeline": checkout["timeline"][2:], "alert_count": 31}

    draft = rca_draft_build(with_incidents(rca_context, counted, payments))

    assert draft.impact.splitlines()[3] == "- **Alerts:** 34 in total (inc-checkout: 31, inc-payments: 3)"


def test_a_deploy_after_the_first_incident_began_is_in_the_timeline_but_not_a_suspect(rca_context):
    checkout, payments = rca_context.incidents
    late = {
        **payments,
        "deploy": {"deploy_id": "dep-43", "service": "payments-api", "minutes_before_incident": 2},
    }
    draft = rca_draft_build(with_incidents(rca_context, {**checkout, "deploy": None}, late))

    assert "dep-43" not in draft.root_cause and "suspect" not in draft.root_cause
    assert "- 10:32 UTC \u2014 Deploy dep-43 of payments-api." in draft.timeline.splitlines()


def test_incidents_on_different_days_carry_the_date_on_every_line(rca_context):
    first = linked_incident("inc-a", "Disk almost full", "db", "warning", ("23:58:00", None), [])
    second = {
        **linked_incident("inc-b", "Disk full", "db", "critical", ("00:00:00", None), []),
        "created_at": "2026-11-24T00:03:00+02:00",  # 22:03 UTC the day before: offsets are honoured
    }
    third = {
        **linked_incident("inc-c", "Replica lag", "db", "high", ("00:00:00", None), []),
        "created_at": "2026-11-24T00:05:00",
    }

    draft = rca_draft_build(with_incidents(rca_context, first, second, third))

    assert [line.split(" \u2014 ")[0] for line in draft.timeline.splitlines()] == [
        "- 2026-11-23 22:03 UTC",
        "- 2026-11-23 23:58 UTC",
        "- 2026-11-24 00:05 UTC",
    ]


def test_an_rca_without_linked_incidents_is_an_honest_empty_draft(rca_context):
    context = replace(rca_context, incidents=())

    draft = rca_draft_build(context)

    assert draft.model_dump() == {
        "summary": (
            "No incidents are linked to this RCA yet. It references "
            "PagerDuty P7QX2 \u201cCheckout down\u201d (<https://acme.pagerduty.com/incidents/P7QX2>). "
            "Link the incidents it covers and draft again."
        ),
        "root_cause": "Not yet determined. No linked incident gives evidence of a cause yet.",
        "impact": "Unknown: no linked incidents record services, severities, duration or alerts.",
        "timeline": "- No events recorded \u2014 no incidents are linked yet.",
    }


def test_a_long_history_is_cut_in_the_middle_to_fit_the_timeline(rca_context):
    notes = [
        event(
            f"{10 + n // 60:02d}:{n % 60:02d}:00",
            "note_added",
            "alice@example.com",
            {"content": f"Step {n}: " + "x" * 150},
        )
        for n in range(600)
    ]
    busy = linked_incident("inc-busy", "Slow checkout", "checkout-api", "high", ("10:00:00", None), notes)

    timeline = rca_draft_build(with_incidents(rca_context, busy)).timeline

    lines = timeline.splitlines()
    assert len(timeline) <= RcaDraft.model_fields["timeline"].metadata[1].max_length
    assert lines[1].startswith("- 10:00 UTC \u2014 Note on inc-busy by alice@example.com: \u201cStep 0: xxx")
    assert lines[-1].startswith(
        "- 19:59 UTC \u2014 Note on inc-busy by alice@example.com: \u201cStep 599: xxx"
    )
    [gap] = [line for line in lines if "left out" in line]
    kept = len(lines) - 1  # the opening line and the notes, without the gap line
    assert gap == f"- \u2014 {601 - kept} more events left out \u2014"


def test_the_provider_answers_with_rules_v1_and_no_tokens(rca_context):
    provider = ai_providers.get("deterministic").from_settings()

    result = provider.draft_rca(rca_context)

    assert (result.provider, result.model, result.total_tokens, result.repaired) == (
        "deterministic",
        "rules-v1",
        0,
        False,
    )
    assert result.draft == rca_draft_build(rca_context)


class Unreadable(tuple):
    """A sequence that fails when read, as a bug in the context builder might."""

    def __iter__(self):
        raise RuntimeError("unreadable")


def test_a_draft_that_cannot_be_built_falls_back_to_placeholders_and_logs(rca_context, caplog):
    context = replace(rca_context, incidents=Unreadable())

    with caplog.at_level(logging.ERROR, logger="analyses.providers.deterministic"):
        result = DeterministicProvider().draft_rca(context)

    assert result.draft.summary == (
        "The draft of \u201cCheckout outage of 23 November\u201d could not be written "
        "from the linked incidents; write it by hand."
    )
    assert result.draft.root_cause == "Not yet determined."
    assert caplog.messages == ["Deterministic engine failed on the RCA draft of rca-0123456789ab"]


SCALARS = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.datetimes(timezones=st.one_of(st.none(), st.just(UTC))),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
TIMES = st.one_of(VALUES, st.datetimes(timezones=st.just(UTC)).map(lambda moment: moment.isoformat()))
EVENT_TYPES = [
    "alert_received",
    "deduplicated",
    "incident_created",
    "status_changed",
    "note_added",
    "grouped",
    "alert_resolved",
    "external_update",
]
PAYLOAD_KEYS = [
    "from",
    "to",
    "content",
    "child_id",
    "parent_id",
    "correlation_reason",
    "source",
    "event_type",
]
EVENTS = st.fixed_dictionaries(
    {
        "event_type": st.one_of(st.sampled_from(EVENT_TYPES), VALUES),
        "actor": VALUES,
        "created_at": TIMES,
        "payload": st.one_of(st.dictionaries(st.sampled_from(PAYLOAD_KEYS), VALUES, max_size=3), VALUES),
    }
)
INCIDENTS = st.one_of(
    st.fixed_dictionaries(
        {key: VALUES for key in ("id", "title", "service", "severity", "status", "notes", "alert_count")}
        | {
            "created_at": TIMES,
            "resolved_at": TIMES,
            "timeline": st.one_of(st.lists(st.one_of(EVENTS, VALUES), max_size=6), VALUES),
            "analysis": st.one_of(
                st.fixed_dictionaries({"root_cause": VALUES, "summary": VALUES, "confidence": VALUES}), VALUES
            ),
            "deploy": st.one_of(
                st.fixed_dictionaries(
                    {
                        "deploy_id": VALUES,
                        "service": VALUES,
                        "image": VALUES,
                        "actor": VALUES,
                        "minutes_before_incident": VALUES,
                    }
                ),
                VALUES,
            ),
            "similar_resolved": st.one_of(
                st.lists(st.dictionaries(st.sampled_from(["id", "title", "resolution"]), VALUES)), VALUES
            ),
        }
    ),
    VALUES,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=st.one_of(st.text(), st.none()),
    incidents=st.one_of(st.lists(INCIDENTS, max_size=4).map(tuple), VALUES),
    external=st.one_of(
        st.lists(
            st.one_of(
                st.dictionaries(st.sampled_from(["product", "external_id", "title", "url"]), VALUES), VALUES
            ),
            max_size=3,
        ).map(tuple),
        VALUES,
    ),
)
def test_any_context_gives_a_valid_draft(title, incidents, external):
    context = RcaContext(
        rca_id="rca-1", organization_id="org", title=title, incidents=incidents, external_incidents=external
    )

    draft = rca_draft_build(context)

    assert RcaDraft.model_validate(draft.model_dump()) == draft
    assert all(line.startswith("- ") for line in draft.timeline.splitlines())
