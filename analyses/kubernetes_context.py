"""What the cluster says about an incident's workload: the pod's state, restarts, last termination.

Read-only, through the official client. Every failure is a `KubernetesContextError`, so the context
builder records "kubernetes unavailable: <reason>" and the analysis goes on without it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import urllib3
from django.conf import settings
from kubernetes import client, config
from kubernetes.client import ApiClient, V1ContainerStatus, V1Deployment, V1LabelSelector, V1Pod
from kubernetes.client.exceptions import ApiException
from kubernetes.config import ConfigException

T = TypeVar("T")

MODES = ("off", "incluster", "kubeconfig")
# Waiting reasons that mean the container will not come up by itself, worst first when several apply.
STUCK_REASONS = (
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
)


class KubernetesContextError(Exception):
    """The cluster could not be read: not configured, unreachable, timed out, forbidden, not found."""


class KubernetesContextReader:
    def __init__(self, api_client: ApiClient, *, request_timeout: float = 5.0) -> None:
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.host = api_client.configuration.host
        self.request_timeout = request_timeout

    @classmethod
    def from_settings(cls) -> KubernetesContextReader | None:
        """None when KUBERNETES_MODE is off; raises KubernetesContextError when the config cannot load."""
        mode = settings.KUBERNETES_MODE
        if mode not in MODES:
            raise KubernetesContextError(f"KUBERNETES_MODE '{mode}' is not one of {', '.join(MODES)}")
        if mode == "off":
            return None
        configuration = client.Configuration()
        configuration.retries = 1  # urllib3 would try four times, each up to the request timeout
        try:
            if mode == "incluster":
                config.load_incluster_config(client_configuration=configuration)
                api_client = ApiClient(configuration)
            else:
                api_client = config.new_client_from_config(
                    config_file=settings.KUBECONFIG or None,
                    context=settings.KUBERNETES_CONTEXT or None,
                    client_configuration=configuration,
                )
        except (ConfigException, OSError) as exc:
            raise KubernetesContextError(f"cannot load the {mode} Kubernetes configuration: {exc}") from exc
        return cls(api_client, request_timeout=settings.KUBERNETES_REQUEST_TIMEOUT_SECONDS)

    def pod_context(
        self, *, namespace: str, pod: str = "", deployment: str = "", service: str = ""
    ) -> dict[str, Any]:
        """The named pod's state; else the worst pod the deployment (or `app=<service>`) selects.

        A named pod that is gone falls back to the deployment or service, since pods are replaced.
        Raises KubernetesContextError.
        """
        if not namespace or not (pod or deployment or service):
            raise KubernetesContextError("a namespace and a pod, deployment or service are needed")
        try:
            return self._pod_context(namespace=namespace, pod=pod, deployment=deployment, service=service)
        except (AttributeError, TypeError, ValueError) as exc:  # not the API's JSON: a proxy, a login page
            raise KubernetesContextError(
                f"the Kubernetes API at {self.host} answered in an unexpected shape"
            ) from exc

    def _pod_context(self, *, namespace: str, pod: str, deployment: str, service: str) -> dict[str, Any]:
        found: V1Pod | None = None
        if pod:
            try:
                found = self._read(f"pod {pod}", namespace, self.core.read_namespaced_pod, name=pod)
            except PodNotFound:
                if not (deployment or service):
                    raise
        # Without a pod the deployment is what selects one, unless the service can select it instead.
        required = found is None and not service
        workload = self._deployment(namespace, deployment or owner_deployment(found), required=required)
        if found is None:
            selector = label_selector(workload.spec.selector) if workload else f"app={service}"
            listed = self._read(
                f"pods {selector}", namespace, self.core.list_namespaced_pod, label_selector=selector
            )
            if not listed.items and workload is None:
                raise KubernetesContextError(f"no pods match {selector} in namespace {namespace}")
            found = max(listed.items, key=trouble, default=None)
        context = pod_summary(found, namespace)
        if workload is not None:
            context["deployment"] = deployment_summary(workload)
        return context

    def _deployment(self, namespace: str, name: str, *, required: bool) -> V1Deployment | None:
        """The deployment, or None when there is no name; when the pod is known already, a missing or
        unreadable deployment only costs the replica counts."""
        if not name:
            return None
        try:
            return self._read(
                f"deployment {name}", namespace, self.apps.read_namespaced_deployment, name=name
            )
        except KubernetesContextError:
            if required:
                raise
            return None

    def _read(self, what: str, namespace: str, call: Callable[..., T], **kwargs: Any) -> T:
        try:
            # A (connect, read) pair: the client silently drops a float timeout; it takes ints or pairs.
            timeout = (self.request_timeout, self.request_timeout)
            return call(namespace=namespace, _request_timeout=timeout, **kwargs)
        except ApiException as exc:
            raise api_error(exc, what, namespace) from exc
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            # NewConnectionError subclasses ConnectTimeoutError in urllib3 2, yet means "refused".
            timed_out = isinstance(reason, urllib3.exceptions.TimeoutError)
            if timed_out and not isinstance(reason, urllib3.exceptions.NewConnectionError):
                message = f"the Kubernetes API at {self.host} did not answer within {self.request_timeout:g}s"
            else:
                message = f"the Kubernetes API at {self.host} is unreachable: {reason}"
            raise KubernetesContextError(message) from exc


class PodNotFound(KubernetesContextError):
    pass


def api_error(exc: ApiException, what: str, namespace: str) -> KubernetesContextError:
    if exc.status == 404:
        return (PodNotFound if what.startswith("pod ") else KubernetesContextError)(
            f"{what} not found in namespace {namespace}"
        )
    try:  # the API server explains itself in a Status object, e.g. which RBAC verb is missing
        detail = json.loads(exc.body)["message"]
    except (TypeError, ValueError, KeyError):
        detail = exc.reason
    if exc.status == 401:
        return KubernetesContextError(f"the Kubernetes API refused the credentials: {detail}")
    if exc.status == 403:
        return KubernetesContextError(f"access denied reading {what} in namespace {namespace}: {detail}")
    return KubernetesContextError(f"the Kubernetes API answered {exc.status} reading {what}: {detail}")


def label_selector(selector: V1LabelSelector) -> str:
    terms = [f"{key}={value}" for key, value in sorted((selector.match_labels or {}).items())]
    for expression in selector.match_expressions or []:
        values = ",".join(expression.values or [])
        terms.append(
            {
                "In": f"{expression.key} in ({values})",
                "NotIn": f"{expression.key} notin ({values})",
                "Exists": expression.key,
                "DoesNotExist": f"!{expression.key}",
            }[expression.operator]
        )
    return ",".join(terms)


def owner_deployment(pod: V1Pod | None) -> str:
    """A Deployment's pod is owned by ReplicaSet `<deployment>-<pod-template-hash>`."""
    if pod is None:
        return ""
    template_hash = (pod.metadata.labels or {}).get("pod-template-hash", "")
    for owner in pod.metadata.owner_references or []:
        if owner.kind == "ReplicaSet" and template_hash and owner.name.endswith(f"-{template_hash}"):
            return owner.name.removesuffix(f"-{template_hash}")
    return ""


def statuses(pod: V1Pod) -> list[V1ContainerStatus]:
    return (pod.status.init_container_statuses or []) + (pod.status.container_statuses or [])


def is_ready(pod: V1Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def trouble(pod: V1Pod) -> tuple[bool, bool, bool, int]:
    """Orders pods from healthy to worst: stuck, then not ready, then not running, then restarts."""
    stuck = any(
        s.state and s.state.waiting and s.state.waiting.reason in STUCK_REASONS for s in statuses(pod)
    )
    restarts = sum(s.restart_count or 0 for s in statuses(pod))
    return stuck, not is_ready(pod), pod.status.phase != "Running", restarts


def pod_status(pod: V1Pod) -> str:
    """The word `kubectl get pods` shows: a stuck waiting reason, a termination reason, else the phase."""
    waiting = [
        s.state.waiting.reason
        for s in statuses(pod)
        if s.state and s.state.waiting and s.state.waiting.reason
    ]
    terminated = [
        s.state.terminated.reason
        for s in statuses(pod)
        if s.state and s.state.terminated and s.state.terminated.reason not in (None, "Completed")
    ]
    stuck = sorted((r for r in waiting if r in STUCK_REASONS), key=STUCK_REASONS.index)
    reasons = [reason for reason in [*stuck, *terminated, pod.status.reason, *waiting] if reason]
    return reasons[0] if reasons else pod.status.phase or "Unknown"


def container_summary(status: V1ContainerStatus) -> dict[str, Any]:
    state, last = status.state, status.last_state and status.last_state.terminated
    current = state and (state.waiting or state.terminated)
    return {
        "name": status.name,
        "image": status.image,
        "ready": bool(status.ready),
        "restart_count": status.restart_count or 0,
        "state": next(
            (name for name in ("waiting", "running", "terminated") if getattr(state, name, None)), ""
        ),
        "reason": (current and current.reason) or "",
        "last_termination_reason": (last and last.reason) or "",
        "last_termination_exit_code": last.exit_code if last else None,
    }


def pod_summary(pod: V1Pod | None, namespace: str) -> dict[str, Any]:
    if pod is None:  # the deployment exists but has no pods (scaled to zero, or all were deleted)
        return {
            "pod_name": "",
            "namespace": namespace,
            "pod_status": "NoPods",
            "restart_count": 0,
            "last_termination_reason": "",
            "last_termination_exit_code": None,
            "ready": False,
            "node_name": "",
            "container_statuses": [],
        }
    containers = [container_summary(status) for status in statuses(pod)]
    terminated = [c for c in containers if c["last_termination_reason"]]
    last = max(terminated, key=lambda c: c["restart_count"], default=None)
    return {
        "pod_name": pod.metadata.name,
        "namespace": pod.metadata.namespace or namespace,
        "pod_status": pod_status(pod),
        "restart_count": sum(c["restart_count"] for c in containers),
        "last_termination_reason": last["last_termination_reason"] if last else "",
        "last_termination_exit_code": last["last_termination_exit_code"] if last else None,
        "ready": is_ready(pod),
        "node_name": pod.spec.node_name or "",
        "container_statuses": containers,
    }


def deployment_summary(deployment: V1Deployment) -> dict[str, Any]:
    return {
        "name": deployment.metadata.name,
        "replicas": deployment.spec.replicas if deployment.spec.replicas is not None else 1,
        "ready_replicas": deployment.status.ready_replicas or 0,
        "available_replicas": deployment.status.available_replicas or 0,
    }
