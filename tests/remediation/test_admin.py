"""Staff manage every organization's guardrail policies in admin, through the same services as the console."""

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


def test_staff_add_a_policy_in_admin_and_it_replaces_the_active_one(superuser, org, make_policy):
    old = make_policy(org, name="acme-old")
    client = Client()
    client.force_login(superuser)

    response = client.post(
        "/admin/remediation/guardrailpolicy/add/",
        {
            "organization": str(org.pk),
            "name": "acme-strict",
            "enabled": "on",
            "dry_run_default": "on",
            "allowed_namespaces": '["production", "team-*"]',
            "denied_namespaces": '["kube-system"]',
            "approval_required_actions": '["restart_pod", "scale_deployment"]',
            "auto_execute_actions": "[]",
            "disabled_actions": "[]",
            "max_replicas": "10",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    new = GuardrailPolicy.objects.get(name="acme-strict")
    assert (new.enabled, new.allowed_namespaces, new.max_replicas) == (True, ["production", "team-*"], 10)
    assert GuardrailPolicy.objects.get(pk=old.pk).enabled is False  # the service switched it off
    assert AuditLog.objects.filter(action="guardrail_policy.created", actor=superuser.email).count() == 1


def test_admin_refuses_what_the_services_refuse(superuser, org, make_policy):
    policy = make_policy(org, name="acme-prod")
    client = Client()
    client.force_login(superuser)

    response = client.post(
        f"/admin/remediation/guardrailpolicy/{policy.pk}/change/",
        {
            "name": "acme-prod",
            "enabled": "on",
            "allowed_namespaces": '["Not A Namespace!"]',
            "denied_namespaces": "[]",
            "approval_required_actions": '["delete_cluster"]',
            "auto_execute_actions": "[]",
            "disabled_actions": "[]",
            "max_replicas": "5",
        },
    )

    assert response.status_code == 200  # the form again, with the errors
    page = response.content.decode()
    assert "delete_cluster" in page and "errorlist" in page
    assert GuardrailPolicy.objects.get(pk=policy.pk).allowed_namespaces == policy.allowed_namespaces
