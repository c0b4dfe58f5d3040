"""Remediation fixtures: guardrail policies made through the service, as an operator would make them."""

from __future__ import annotations

import pytest

from analyses.providers.base import SuggestedAction
from remediation.services import guardrail_policy_create
from statux.audit import Actor


def restart(namespace: str = "production", **arguments) -> SuggestedAction:
    return SuggestedAction(
        name="restart_pod", arguments={"namespace": namespace, "pod_name": "payments-api-x2k4m", **arguments}
    )


def scale(replicas, namespace: str = "production") -> SuggestedAction:
    return SuggestedAction(
        name="scale_deployment",
        arguments={"namespace": namespace, "deployment": "payments-api", "replicas": replicas},
    )


def config_fix(namespace: str = "production") -> SuggestedAction:
    return SuggestedAction(
        name="suggest_config_fix",
        arguments={"namespace": namespace, "deployment": "payments-api", "change": "Raise the memory limit."},
    )


@pytest.fixture(autouse=True)
def _documented_defaults(settings):
    """The settings' documented defaults, whatever the environment running the tests says."""
    settings.REMEDIATION_ALLOWED_NAMESPACES = ["*"]
    settings.REMEDIATION_APPROVAL_REQUIRED_ACTIONS = ["restart_pod", "scale_deployment"]
    settings.REMEDIATION_AUTO_EXECUTE_ACTIONS = ["restart_pod"]
    settings.REMEDIATION_DRY_RUN_DEFAULT = True
    settings.REMEDIATION_MAX_REPLICAS = 20


@pytest.fixture
def make_policy():
    def make(organization, name="strict", **fields):
        return guardrail_policy_create(
            organization=organization, name=name, actor=Actor(system="test"), **fields
        )

    return make
