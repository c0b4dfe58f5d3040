"""The Kubernetes reader against a local fake API server speaking the API's real JSON."""

from __future__ import annotations

import pytest
from kubernetes.client import ApiClient, Configuration

from analyses.kubernetes_context import KubernetesContextError, KubernetesContextReader

PODS = "/api/v1/namespaces/production/pods"
DEPLOYMENTS = "/apis/apps/v1/namespaces/production/deployments"
IMAGE = "registry.example.com/shop/checkout-api:2.14.3"


def container_status(*, state: dict, restarts: int = 0, last_state: dict | None = None) -> dict:
    return {
        "name": "checkout-api",
        "state": state,
        "lastState": last_state or {},
        "ready": "running" in state,
        "restartCount": restarts,
        "image": IMAGE,
        "imageID": f"{IMAGE.split(':')[0]}@sha256:5f0c9d1e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b",
        "containerID": "containerd://8c1f4e2b9a7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e",
        "started": "running" in state,
    }


RUNNING = container_status(state={"running": {"startedAt": "2026-11-23T09:58:20Z"}})
CRASH_LOOPING = container_status(
    state={
        "waiting": {
            "reason": "CrashLoopBackOff",
            "message": "back-off 2m40s restarting failed container=checkout-api "
            "pod=checkout-api-7d8f9c6b5-x2k4m_production(6f1d2c3b-4a5e-4f60-9b1c-2d3e4f5a6b7c)",
        }
    },
    restarts=5,
    last_state={
        "terminated": {
            "exitCode": 137,
            "reason": "OOMKilled",
            "startedAt": "2026-11-23T10:27:02Z",
            "finishedAt": "2026-11-23T10:28:40Z",
            "containerID": "containerd://1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c",
        }
    },
)


def pod(name: str, status: dict) -> dict:
    ready = "True" if status["ready"] else "False"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "generateName": "checkout-api-7d8f9c6b5-",
            "namespace": "production",
            "uid": "6f1d2c3b-4a5e-4f60-9b1c-2d3e4f5a6b7c",
            "resourceVersion": "48213377",
            "creationTimestamp": "2026-11-23T09:58:11Z",
            "labels": {"app": "checkout-api", "pod-template-hash": "7d8f9c6b5"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "checkout-api-7d8f9c6b5",
                    "uid": "0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "containers": [
                {
                    "name": "checkout-api",
                    "image": IMAGE,
                    "resources": {"limits": {"memory": "512Mi", "cpu": "500m"}},
                }
            ],
            "restartPolicy": "Always",
            "serviceAccountName": "checkout-api",
            "nodeName": "ip-10-0-3-17.ec2.internal",
        },
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "Initialized", "status": "True", "lastTransitionTime": "2026-11-23T09:58:11Z"},
                {"type": "Ready", "status": ready, "lastTransitionTime": "2026-11-23T10:28:40Z"},
                {"type": "ContainersReady", "status": ready, "lastTransitionTime": "2026-11-23T10:28:40Z"},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-11-23T09:58:11Z"},
            ],
            "hostIP": "10.0.3.17",
            "podIP": "10.244.1.23",
            "startTime": "2026-11-23T09:58:11Z",
            "containerStatuses": [status],
            "qosClass": "Burstable",
        },
    }


def pod_list(*pods: dict) -> dict:
    return {
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "48213390"},
        "items": list(pods),
    }


def deployment(*, replicas: int, ready: int) -> dict:
    status = {"observedGeneration": 7, "replicas": replicas, "updatedReplicas": replicas}
    if ready:  # the API server leaves the counts out when they are zero
        status |= {"readyReplicas": ready, "availableReplicas": ready}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "checkout-api", "namespace": "production", "generation": 7},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "checkout-api", "tier": "web"}},
            "template": {
                "metadata": {"labels": {"app": "checkout-api", "tier": "web"}},
                "spec": {"containers": [{"name": "checkout-api", "image": IMAGE}]},
            },
        },
        "status": status,
    }


def status_failure(code: int, reason: str, message: str) -> dict:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def respond_not_found(httpserver, path: str) -> None:
    kind, name = path.split("/")[-2:]
    resource = "deployments.apps" if kind == "deployments" else kind
    httpserver.expect_request(path).respond_with_json(
        status_failure(404, "NotFound", f'{resource} "{name}" not found'), status=404
    )


CRASH_LOOP_CONTEXT = {
    "pod_name": "checkout-api-7d8f9c6b5-x2k4m",
    "namespace": "production",
    "pod_status": "CrashLoopBackOff",
    "restart_count": 5,
    "last_termination_reason": "OOMKilled",
    "last_termination_exit_code": 137,
    "ready": False,
    "node_name": "ip-10-0-3-17.ec2.internal",
    "container_statuses": [
        {
            "name": "checkout-api",
            "image": IMAGE,
            "ready": False,
            "restart_count": 5,
            "state": "waiting",
            "reason": "CrashLoopBackOff",
            "last_termination_reason": "OOMKilled",
            "last_termination_exit_code": 137,
        }
    ],
    "deployment": {"name": "checkout-api", "replicas": 3, "ready_replicas": 2, "available_replicas": 2},
}


def api_client(url: str) -> ApiClient:
    return ApiClient(Configuration(host=url.rstrip("/")))


@pytest.fixture
def reader(httpserver) -> KubernetesContextReader:
    return KubernetesContextReader(api_client(httpserver.url_for("/")), request_timeout=2)


def test_a_named_pod_reports_its_crash_loop_and_its_deployments_replicas(httpserver, reader):
    httpserver.expect_request(f"{PODS}/checkout-api-7d8f9c6b5-x2k4m").respond_with_json(
        pod("checkout-api-7d8f9c6b5-x2k4m", CRASH_LOOPING)
    )
    httpserver.expect_request(f"{DEPLOYMENTS}/checkout-api").respond_with_json(
        deployment(replicas=3, ready=2)
    )

    context = reader.pod_context(namespace="production", pod="checkout-api-7d8f9c6b5-x2k4m")

    assert context == CRASH_LOOP_CONTEXT  # the deployment comes from the pod's ReplicaSet owner


def test_a_deployment_selects_its_pods_and_the_worst_one_is_reported(httpserver, reader):
    httpserver.expect_request(f"{DEPLOYMENTS}/checkout-api").respond_with_json(
        deployment(replicas=3, ready=2)
    )
    httpserver.expect_request(
        PODS, query_string={"labelSelector": "app=checkout-api,tier=web"}
    ).respond_with_json(
        pod_list(
            pod("checkout-api-7d8f9c6b5-p9q2r", RUNNING),
            pod("checkout-api-7d8f9c6b5-x2k4m", CRASH_LOOPING),
            pod("checkout-api-7d8f9c6b5-l3m8n", container_status(state=RUNNING["state"], restarts=1)),
        )
    )

    context = reader.pod_context(namespace="production", deployment="checkout-api")

    assert context == CRASH_LOOP_CONTEXT


def test_a_service_selects_pods_by_their_app_label(httpserver, reader):
    httpserver.expect_request(PODS, query_string={"labelSelector": "app=checkout-api"}).respond_with_json(
        pod_list(pod("checkout-api-7d8f9c6b5-p9q2r", RUNNING))
    )

    context = reader.pod_context(namespace="production", service="checkout-api")

    assert (context["pod_name"], context["pod_status"], context["ready"], context["restart_count"]) == (
        "checkout-api-7d8f9c6b5-p9q2r",
        "Running",
        True,
        0,
    )
    assert "deployment" not in context


def test_a_deployment_without_pods_reports_its_replicas(httpserver, reader):
    httpserver.expect_request(f"{DEPLOYMENTS}/checkout-api").respond_with_json(
        deployment(replicas=0, ready=0)
    )
    httpserver.expect_request(PODS).respond_with_json(pod_list())

    context = reader.pod_context(namespace="production", deployment="checkout-api")

    assert (context["pod_name"], context["pod_status"], context["container_statuses"]) == ("", "NoPods", [])
    assert context["deployment"] == {
        "name": "checkout-api",
        "replicas": 0,
        "ready_replicas": 0,
        "available_replicas": 0,
    }


@pytest.mark.parametrize(
    ("path", "wanted", "message"),
    [
        (f"{PODS}/checkout-api-gone", {"pod": "checkout-api-gone"}, "pod checkout-api-gone not found"),
        (f"{DEPLOYMENTS}/checkout-api", {"deployment": "checkout-api"}, "deployment checkout-api not found"),
    ],
)
def test_a_missing_pod_or_deployment_is_reported_by_name_and_namespace(
    httpserver, reader, path, wanted, message
):
    respond_not_found(httpserver, path)

    with pytest.raises(KubernetesContextError) as raised:
        reader.pod_context(namespace="production", **wanted)

    assert str(raised.value) == f"{message} in namespace production"


def test_a_replaced_pod_falls_back_to_the_services_pods(httpserver, reader):
    respond_not_found(httpserver, f"{PODS}/checkout-api-gone")
    httpserver.expect_request(PODS, query_string={"labelSelector": "app=checkout-api"}).respond_with_json(
        pod_list(pod("checkout-api-7d8f9c6b5-x2k4m", CRASH_LOOPING))
    )

    context = reader.pod_context(namespace="production", pod="checkout-api-gone", service="checkout-api")

    assert (context["pod_name"], context["pod_status"]) == (
        "checkout-api-7d8f9c6b5-x2k4m",
        "CrashLoopBackOff",
    )


def test_no_pods_for_a_service_is_an_error_naming_the_selector(httpserver, reader):
    httpserver.expect_request(PODS).respond_with_json(pod_list())

    with pytest.raises(KubernetesContextError) as raised:
        reader.pod_context(namespace="production", service="checkout-api")

    assert str(raised.value) == "no pods match app=checkout-api in namespace production"


def test_an_answer_that_is_not_the_apis_json_is_an_error(httpserver, reader):
    httpserver.expect_request(f"{PODS}/checkout-api-7d8f9c6b5-x2k4m").respond_with_data(
        "<html><title>Sign in</title></html>", content_type="text/html"
    )

    with pytest.raises(KubernetesContextError) as raised:
        reader.pod_context(namespace="production", pod="checkout-api-7d8f9c6b5-x2k4m")

    assert str(raised.value) == f"the Kubernetes API at {reader.host} answered in an unexpected shape"


def test_a_forbidden_read_names_the_missing_permission(httpserver, reader):
    message = (
        'pods "checkout-api-7d8f9c6b5-x2k4m" is forbidden: '
        'User "system:serviceaccount:statux:statux-insights" cannot get resource "pods" in API group "" '
        'in the namespace "production"'
    )
    httpserver.expect_request(f"{PODS}/checkout-api-7d8f9c6b5-x2k4m").respond_with_json(
        status_failure(403, "Forbidden", message), status=403
    )

    with pytest.raises(KubernetesContextError) as raised:
        reader.pod_context(namespace="production", pod="checkout-api-7d8f9c6b5-x2k4m")

    assert str(raised.value) == (
        f"access denied reading pod checkout-api-7d8f9c6b5-x2k4m in namespace production: {message}"
    )


def test_a_forbidden_deployment_still_leaves_the_pod(httpserver, reader):
    httpserver.expect_request(f"{PODS}/checkout-api-7d8f9c6b5-x2k4m").respond_with_json(
        pod("checkout-api-7d8f9c6b5-x2k4m", CRASH_LOOPING)
    )
    httpserver.expect_request(f"{DEPLOYMENTS}/checkout-api").respond_with_json(
        status_failure(403, "Forbidden", 'deployments.apps "checkout-api" is forbidden'), status=403
    )

    context = reader.pod_context(namespace="production", pod="checkout-api-7d8f9c6b5-x2k4m")

    assert context == {key: value for key, value in CRASH_LOOP_CONTEXT.items() if key != "deployment"}


def test_a_refused_connection_is_an_unreachable_api(closed_port_url):
    reader = KubernetesContextReader(api_client(closed_port_url), request_timeout=2)

    with pytest.raises(KubernetesContextError) as raised:
        reader.pod_context(namespace="production", pod="checkout-api-7d8f9c6b5-x2k4m")

    assert str(raised.value).startswith(f"the Kubernetes API at {closed_port_url} is unreachable: ")
    assert "Connection refused" in str(raised.value)


def test_a_slow_api_server_is_reported_after_the_timeout(slow_server):
    configuration = Configuration(host=slow_server.url_for("/").rstrip("/"))
    configuration.retries = 0
    reader = KubernetesContextReader(ApiClient(configuration), request_timeout=0.1)

    with pytest.raises(KubernetesContextError) as raised:
        reader.pod_context(namespace="production", pod="checkout-api-7d8f9c6b5-x2k4m")

    assert str(raised.value) == f"the Kubernetes API at {configuration.host} did not answer within 0.1s"


def test_no_reader_when_kubernetes_is_off(settings):
    settings.KUBERNETES_MODE = "off"

    assert KubernetesContextReader.from_settings() is None


def test_an_unknown_kubernetes_mode_is_an_error(settings):
    settings.KUBERNETES_MODE = "on"

    with pytest.raises(
        KubernetesContextError, match="^KUBERNETES_MODE 'on' is not one of off, incluster, kubeconfig$"
    ):
        KubernetesContextReader.from_settings()


def test_in_cluster_mode_outside_a_cluster_is_an_error(settings, monkeypatch):
    settings.KUBERNETES_MODE = "incluster"
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    with pytest.raises(KubernetesContextError, match="^cannot load the incluster Kubernetes configuration: "):
        KubernetesContextReader.from_settings()


def test_kubeconfig_mode_reads_the_cluster_and_context_named_in_settings(settings, tmp_path, httpserver):
    kubeconfig = tmp_path / "kubeconfig.yaml"
    kubeconfig.write_text(
        f"""
apiVersion: v1
kind: Config
current-context: staging
clusters:
- name: staging
  cluster: {{server: "http://127.0.0.1:1"}}
- name: production
  cluster: {{server: "{httpserver.url_for("/").rstrip("/")}"}}
users:
- name: statux
  user: {{token: statux-token}}
contexts:
- name: staging
  context: {{cluster: staging, user: statux}}
- name: production
  context: {{cluster: production, user: statux}}
"""
    )
    settings.KUBERNETES_MODE, settings.KUBECONFIG, settings.KUBERNETES_CONTEXT = (
        "kubeconfig",
        str(kubeconfig),
        "production",
    )
    httpserver.expect_request(
        f"{PODS}/checkout-api-7d8f9c6b5-x2k4m", headers={"Authorization": "Bearer statux-token"}
    ).respond_with_json(pod("checkout-api-7d8f9c6b5-x2k4m", CRASH_LOOPING))
    httpserver.expect_request(f"{DEPLOYMENTS}/checkout-api").respond_with_json(
        deployment(replicas=3, ready=2)
    )

    context = KubernetesContextReader.from_settings().pod_context(
        namespace="production", pod="checkout-api-7d8f9c6b5-x2k4m"
    )

    assert context == CRASH_LOOP_CONTEXT


def test_a_missing_kubeconfig_is_an_error(settings, tmp_path):
    settings.KUBERNETES_MODE, settings.KUBECONFIG = "kubeconfig", str(tmp_path / "missing.yaml")

    with pytest.raises(
        KubernetesContextError, match="^cannot load the kubeconfig Kubernetes configuration: "
    ):
        KubernetesContextReader.from_settings()
