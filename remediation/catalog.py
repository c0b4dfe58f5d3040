"""The action catalog: every action a diagnosis may suggest and the policy engine may allow.

Anything a model proposes outside this catalog is dropped before an operator or the autonomy loop
could see it as runnable.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ActionSpec:
    name: str
    description: str
    # argument name -> what it means; every argument is required.
    parameters: dict[str, str] = field(default_factory=dict)
    # single_pod < deployment < namespace: how much one run can break.
    blast_radius: str = "none"
    # False for advice-only actions (a config change a person makes), which nothing can execute.
    executable: bool = True

    def as_prompt_entry(self) -> dict:
        return {"name": self.name, "description": self.description, "parameters": dict(self.parameters)}


ACTION_CATALOG: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(
            name="restart_pod",
            description="Restart one pod so its controller can recreate it.",
            parameters={"namespace": "Kubernetes namespace", "pod_name": "the pod to delete"},
            blast_radius="single_pod",
        ),
        ActionSpec(
            name="scale_deployment",
            description="Set a deployment's replica count.",
            parameters={
                "namespace": "Kubernetes namespace",
                "deployment": "the deployment to scale",
                "replicas": "the new replica count",
            },
            blast_radius="deployment",
        ),
        ActionSpec(
            name="suggest_config_fix",
            description="Propose a configuration change (limits, env, flags) for a person to review.",
            parameters={
                "namespace": "Kubernetes namespace",
                "deployment": "the deployment to change",
                "change": "the change, in one sentence",
            },
            blast_radius="none",
            executable=False,
        ),
    )
}


def action_catalog_for_prompt() -> tuple[dict, ...]:
    return tuple(spec.as_prompt_entry() for spec in ACTION_CATALOG.values())
