from __future__ import annotations

import json

import pytest

from analyses.providers.base import InvalidOutput
from analyses.providers.output import parse_diagnosis, parse_rca_draft
from tests.analyses.providers.conftest import valid_answer, valid_draft

ALLOWED = {"restart_pod", "scale_deployment", "suggest_config_fix"}


def test_it_reads_json_inside_fences_after_leading_prose():
    text = f"Here is my diagnosis:\n```json\n{json.dumps(valid_answer())}\n```\nHope this helps."

    diagnosis, rejected = parse_diagnosis(text, allowed_actions=ALLOWED)

    assert diagnosis.model_dump() == valid_answer()
    assert rejected == []


def test_it_reads_a_bare_object_after_prose_that_has_braces():
    text = "Using {the schema}, the answer is " + json.dumps(valid_answer(severity=None))

    diagnosis, _ = parse_diagnosis(text, allowed_actions=ALLOWED)

    assert (diagnosis.severity, diagnosis.confidence) == (None, 0.82)


def test_it_drops_actions_outside_the_catalog_and_names_them():
    actions = [
        {"name": "delete_namespace", "arguments": {"namespace": "production"}},
        {"name": "restart_pod", "arguments": {"namespace": "production", "pod_name": "checkout-api-1"}},
        {"name": "run_shell", "arguments": {"command": "rm -rf /"}},
    ]

    diagnosis, rejected = parse_diagnosis(
        json.dumps(valid_answer(suggested_actions=actions)), allowed_actions=ALLOWED
    )

    assert [action.name for action in diagnosis.suggested_actions] == ["restart_pod"]
    assert rejected == ["delete_namespace", "run_shell"]


def test_it_names_every_field_that_breaks_the_schema():
    answer = valid_answer(confidence=1.7)
    del answer["summary"]

    with pytest.raises(InvalidOutput) as raised:
        parse_diagnosis(json.dumps(answer), allowed_actions=ALLOWED)

    assert str(raised.value) == (
        "The JSON does not match the diagnosis schema: summary: Field required; "
        "confidence: Input should be less than or equal to 1."
    )


def test_a_cut_off_answer_is_invalid_rather_than_read_from_an_inner_object():
    text = json.dumps(valid_answer())
    cut = text[: text.index('"reason"') - 2]  # ends inside suggested_actions, after a whole inner object

    with pytest.raises(InvalidOutput) as raised:
        parse_diagnosis(cut + ', {"name": "restart_pod"}', allowed_actions=ALLOWED)

    assert str(raised.value).startswith("The answer holds no JSON object with the diagnosis fields (")
    assert "was the answer cut off?" in str(raised.value)


def test_prose_without_json_is_invalid():
    with pytest.raises(InvalidOutput) as raised:
        parse_diagnosis("The pod ran out of memory.", allowed_actions=ALLOWED)

    assert str(raised.value) == "The answer holds no JSON object with the diagnosis fields."


def test_it_reads_an_rca_draft_with_markdown_inside_fences():
    text = f"Here is the draft:\n```json\n{json.dumps(valid_draft())}\n```"

    draft = parse_rca_draft(text)

    assert draft.model_dump() == valid_draft()


def test_an_rca_draft_answer_shaped_like_a_diagnosis_is_invalid():
    with pytest.raises(InvalidOutput) as raised:
        parse_rca_draft(json.dumps({"confidence": 0.9, "recommendations": ["Roll back."]}))

    assert str(raised.value) == "The answer holds no JSON object with the RCA draft fields."


def test_an_rca_draft_with_an_empty_or_missing_section_names_each():
    answer = valid_draft(summary="")
    del answer["impact"]

    with pytest.raises(InvalidOutput) as raised:
        parse_rca_draft(json.dumps(answer))

    assert str(raised.value) == (
        "The JSON does not match the RCA draft schema: summary: String should have at least 1 character; "
        "impact: Field required."
    )
