"""Staff see every organization's guardrail policies and can switch one off through the service."""

from __future__ import annotations

from django.test import Client

from remediation.models import GuardrailPolicy
from statux.models import AuditLog

CHANGELIST = "/admin/remediation/guardrailpolicy/"


def test_the_changelist_lists_policies_of_every_organization(superuser, org, other_org, make_policy):
    make_policy(org, name="acme-prod")
    make_policy(other_org, name="globex-prod")
    client = Client()
    client.force_login(superuser)

    response = client.get(CHANGELIST, {"q": "prod"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "acme-prod" in page
    assert "globex-prod" in page


def test_the_disable_action_hands_over_to_the_default_and_is_audited(superuser, org, make_policy):
    policy = make_policy(org, name="acme-prod")
    client = Client()
    client.force_login(superuser)

    response = client.post(CHANGELIST, {"action": "disable", "_selected_action": [str(policy.pk)]})

    assert response.status_code == 302
    assert GuardrailPolicy.objects.get(pk=policy.pk).enabled is False
    entry = AuditLog.objects.get(action="guardrail_policy.updated")
    assert (entry.actor, entry.metadata) == ("root@platform.test", {"enabled": False, "replaced": []})
