"""Pre-analysis: known failure classes recognised in an incident before any model is asked.

A signature is a set of clues, each a regex looked for in one evidence field (title, description,
labels, logs, kubernetes, deploy) with a weight. A field counts once, at its strongest clue, and the
fields combine as independent witnesses (noisy-OR), so an alert name confirmed by the pod's
termination reason and a log line scores higher than any one of them. Pure functions, no database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from analyses.providers.base import IncidentContext, SignatureMatch

FIELDS = ("title", "description", "labels", "logs", "kubernetes", "deploy")
# How much of each field is scanned. Logs keep their tail: the last error is nearest the incident.
FIELD_CHARS = {"title": 1_000, "description": 8_000, "labels": 16_000, "logs": 64_000, "kubernetes": 16_000}
MAPPING_ENTRIES = 200  # label, annotation or Kubernetes keys read, at most
VALUE_CHARS = 2_000
QUOTE_CHARS = 200
EVIDENCE_PER_MATCH = 6
# A symptom whose cause is also recognised at least this strongly ranks below it.
CAUSE_SCORE = 0.5
SYMPTOM_DAMPING = 0.6


@dataclass(frozen=True)
class Clue:
    field: str
    pattern: re.Pattern[str]
    weight: float


@dataclass(frozen=True)
class ActionTemplate:
    """A catalog action and how to fill its arguments: each value a template over context facts.

    Facts are `namespace`, `pod`, `deployment`, `service` and `scaled_replicas`; an action whose
    template names a fact the context lacks is not suggested.
    """

    name: str
    arguments: tuple[tuple[str, str], ...]
    reason: str


@dataclass(frozen=True)
class Signature:
    key: str
    title: str
    clues: tuple[Clue, ...]
    root_cause: str  # a template over the display facts (service, pod, deployment, namespace)
    recommendations: tuple[str, ...]
    playbook: str
    severity: str
    actions: tuple[ActionTemplate, ...] = ()
    explained_by: frozenset[str] = frozenset()  # causes that make this signature a symptom


def _clue(field: str, weight: float, *alternatives: str) -> Clue:
    if field not in FIELDS:
        raise ValueError(f"Unknown evidence field {field!r}; known: {', '.join(FIELDS)}.")
    return Clue(field, re.compile("|".join(f"(?:{item})" for item in alternatives), re.IGNORECASE), weight)


def _alertname(*names: str) -> str:
    return r"\balertname=(?:" + "|".join(names) + r")\b"


def _config_fix(change: str, reason: str) -> ActionTemplate:
    return ActionTemplate(
        "suggest_config_fix",
        (("namespace", "{namespace}"), ("deployment", "{deployment}"), ("change", change)),
        reason,
    )


def _restart(reason: str) -> ActionTemplate:
    return ActionTemplate("restart_pod", (("namespace", "{namespace}"), ("pod_name", "{pod}")), reason)


def _scale_up(reason: str) -> ActionTemplate:
    return ActionTemplate(
        "scale_deployment",
        (("namespace", "{namespace}"), ("deployment", "{deployment}"), ("replicas", "{scaled_replicas}")),
        reason,
    )


OOM_ALERTS = ("KubeContainerOOMKilled", "ContainerOOMKilled", "KubePodOOMKilled", r"\w*OOMKill\w*")
CRASHLOOP_ALERTS = ("KubePodCrashLooping", r"\w*CrashLoop\w*")
IMAGE_PULL_REASONS = r"(?:ImagePullBackOff|ErrImagePull|InvalidImageName|ErrImageNeverPull)"
DISK_ALERTS = (
    "KubePersistentVolumeFillingUp",
    "KubePersistentVolumeErrors",
    "NodeFilesystemSpaceFillingUp",
    "NodeFilesystemAlmostOutOfSpace",
    "NodeFilesystemFilesFillingUp",
    "NodeFilesystemAlmostOutOfFiles",
    r"\w*Disk(?:Full|Pressure|SpaceLow|WillFill)\w*",
)
CERT_ALERTS = (
    r"X509Certificate\w*",
    "CertManagerCertExpirySoon",
    "CertManagerCertNotReady",
    "KubeClientCertificateExpiration",
    r"SSLCert\w*",
    r"ProbeSSLCert\w*",
    r"BlackboxSSLCertificate\w*",
)
NODE_ALERTS = ("KubeNodeNotReady", "KubeNodeUnreachable", "KubeletDown", "NodeNotReady", "NodeDown")
DEPLOY_ALERTS = (
    "KubeDeploymentReplicasMismatch",
    "KubeDeploymentGenerationMismatch",
    "KubeDeploymentRolloutStuck",
    "KubeStatefulSetUpdateNotRolledOut",
    "KubeStatefulSetReplicasMismatch",
    "KubeDaemonSetRolloutStuck",
)
QUEUE_ALERTS = (
    r"Kafka\w*(?:Lag|Backlog)\w*",
    r"RabbitmqTooManyMessagesInQueue",
    r"Rabbitmq\w*(?:Queue|Unacked)\w*",
    r"\w*SQS\w*(?:Backlog|Age|Visible)\w*",
    r"\w*(?:ConsumerLag|QueueBacklog|QueueDepth|QueueTooLong)\w*",
    r"CeleryQueue\w*",
)

SIGNATURES: tuple[Signature, ...] = (
    Signature(
        key="oom_killed",
        title="Container killed for exceeding its memory limit (OOMKilled)",
        clues=(
            _clue("kubernetes", 0.9, r"\b(?:last_termination_reason|termination_reason|reason)=OOMKilled\b"),
            _clue("kubernetes", 0.5, r"\b(?:last_termination_exit_code|last_exit_code|exit_code)=137\b"),
            _clue("labels", 0.85, _alertname(*OOM_ALERTS), r"\breason=OOMKilled\b"),
            _clue("title", 0.75, r"\bOOM\s?Kill(?:ed)?\b", r"KubeContainerOOMKilled", r"\bout of memory\b"),
            _clue(
                "description",
                0.6,
                r"\bOOM\s?Kill(?:ed|er)?\b",
                r"\bout of memory\b",
                r"exceed(?:ed|s|ing) (?:its |the )?memory limit",
            ),
            _clue(
                "logs",
                0.7,
                r"java\.lang\.OutOfMemoryError[^\n]{0,60}",
                r"Out of memory: Kill(?:ed)? process",
                r"\boom-kill(?:er)?\b",
                r"JavaScript heap out of memory",
                r"fatal error: runtime: out of memory",
                r"\bMemoryError\b",
                r"Cannot allocate memory",
            ),
        ),
        root_cause=(
            "{service}'s container used more memory than its limit and the kernel killed it (OOMKilled, "
            "exit code 137); Kubernetes restarts it, so requests fail while it comes back. Either the "
            "limit is too low for the real working set, or the process grows without bound."
        ),
        recommendations=(
            "Confirm with `kubectl describe pod {pod} -n {namespace}`: Last State Terminated, Reason "
            "OOMKilled, Exit Code 137.",
            "Compare the container's memory working set with its limit over the last 24 hours "
            "(container_memory_working_set_bytes vs kube_pod_container_resource_limits).",
            "If usage plateaus just above the limit, raise the memory limit of {deployment} by about 50% "
            "(and the JVM -Xmx / Node --max-old-space-size with it, kept below the limit).",
            "If usage climbs steadily until each kill, treat it as a leak: take a heap dump before the "
            "next kill and roll back the release that introduced it.",
        ),
        playbook="oom-recovery",
        severity="high",
        actions=(
            _config_fix(
                "Raise the memory limit of {deployment} by about 50% and keep the runtime heap cap below it",
                "The container is killed at its memory limit; a higher limit stops the kills while the "
                "growth is investigated.",
            ),
        ),
    ),
    Signature(
        key="crash_loop",
        title="Pod crash-looping (CrashLoopBackOff)",
        clues=(
            _clue(
                "kubernetes",
                0.9,
                r"\b(?:pod_status|status|phase|waiting_reason|reason|state)=CrashLoopBackOff\b",
            ),
            _clue("kubernetes", 0.5, r"\brestart_count=(?:[3-9]|\d{2,})\b"),
            _clue("labels", 0.8, _alertname(*CRASHLOOP_ALERTS), r"\breason=CrashLoopBackOff\b"),
            _clue("title", 0.7, r"KubePodCrashLooping", r"CrashLoopBackOff", r"\bcrash[- ]?loop"),
            _clue(
                "description",
                0.55,
                r"CrashLoopBackOff",
                r"\bcrash[- ]?loop",
                r"restart(?:ed|ing)? \d+ times",
                r"Back-off restarting failed container",
            ),
            _clue(
                "logs",
                0.45,
                r"Back-off restarting failed container",
                r"^panic: [^\n]{0,80}",
                r"Traceback \(most recent call last\)",
                r"Exception in thread \"main\"[^\n]{0,80}",
                r"exited with (?:code|status) [1-9]\d*",
            ),
        ),
        root_cause=(
            "{service}'s container keeps exiting shortly after it starts, and Kubernetes backs off "
            "between restarts (CrashLoopBackOff). The cause is in the previous container's last log "
            "lines and its exit code: a startup error, missing config or secret, a failing dependency "
            "or a liveness probe that kills it."
        ),
        recommendations=(
            "Read why the last run died: `kubectl logs {pod} -n {namespace} --previous` and the exit code "
            "in `kubectl describe pod {pod} -n {namespace}`.",
            "Check what changed at startup: image tag, environment, ConfigMaps and Secrets, and the "
            "dependencies it connects to on boot.",
            "If the liveness probe kills it before it is ready, give it a startupProbe or a longer "
            "initialDelaySeconds.",
            "If a release started the loop, roll it back: `kubectl rollout undo deployment/{deployment} "
            "-n {namespace}`.",
        ),
        playbook="crashloop-triage",
        severity="high",
        actions=(
            _restart(
                "A fresh pod clears state left by a transient failure; if it loops again, the cause is in "
                "the image or its config, not the pod."
            ),
        ),
        explained_by=frozenset(
            {"oom_killed", "image_pull", "dns_failure", "certificate_expiry", "connection_pool"}
        ),
    ),
    Signature(
        key="image_pull",
        title="Image cannot be pulled (ImagePullBackOff / ErrImagePull)",
        clues=(
            _clue(
                "kubernetes",
                0.95,
                r"\b(?:pod_status|status|waiting_reason|reason|state)=" + IMAGE_PULL_REASONS,
            ),
            _clue("labels", 0.9, r"\breason=" + IMAGE_PULL_REASONS),
            _clue("title", 0.75, IMAGE_PULL_REASONS),
            _clue(
                "description",
                0.7,
                IMAGE_PULL_REASONS,
                r"Failed to pull image",
                r"manifest (?:for \S+ )?(?:unknown|not found)",
                r"pull access denied",
            ),
            _clue(
                "logs",
                0.75,
                r"Failed to pull image[^\n]{0,120}",
                r"manifest (?:for \S+ )?(?:unknown|not found)",
                r"pull access denied[^\n]{0,80}",
                r"toomanyrequests: You have reached your pull rate limit",
                IMAGE_PULL_REASONS,
            ),
        ),
        root_cause=(
            "The kubelet cannot pull the image of {deployment}: the tag does not exist, the registry "
            "refuses the credentials (imagePullSecrets), or the registry is unreachable or rate-limiting. "
            "New pods of {service} cannot start."
        ),
        recommendations=(
            "Read the pull error in the pod's events: `kubectl describe pod {pod} -n {namespace}` "
            "(Failed to pull image …).",
            "Check that the image tag exists in the registry and that {deployment} references it exactly.",
            "Check the imagePullSecrets of {deployment} and that their registry credentials are still valid.",
            "Roll back to the last image that ran: `kubectl rollout undo deployment/{deployment} "
            "-n {namespace}`.",
        ),
        playbook="image-pull-triage",
        severity="high",
        actions=(
            _config_fix(
                "Point {deployment} at an image tag that exists and that its imagePullSecrets can pull",
                "New pods cannot start until the image reference or the registry credentials are fixed.",
            ),
        ),
    ),
    Signature(
        key="cpu_throttling",
        title="CPU saturation or CFS throttling",
        clues=(
            _clue(
                "labels",
                0.8,
                _alertname(
                    "CPUThrottlingHigh",
                    "KubeCPUOvercommit",
                    "KubeCPUQuotaOvercommit",
                    r"Node\w*HighCPU\w*",
                    r"Host\w*HighCpu\w*",
                    r"\w*CPU(?:Usage|Saturation)High\w*",
                    r"HighCPU\w*",
                ),
                r"\bmetric=\w*cpu_cfs_throttled\w*",
            ),
            _clue("labels", 0.4, r"\bmetric=\w*cpu\w*"),
            _clue(
                "title",
                0.65,
                r"CPUThrottlingHigh",
                r"\bCPU (?:throttl\w*|saturat\w*)",
                r"\bhigh CPU\b",
                r"\bCPU (?:usage|utili[sz]ation) (?:high|above)",
            ),
            _clue(
                "description",
                0.55,
                r"\bthrottl(?:ed|ing) (?:CPU|of CPU)",
                r"\d+(?:\.\d+)?\s?% throttling",
                r"\bCPU (?:usage|utili[sz]ation) (?:is )?(?:above|over|at|near) ",
                r"\bCPU (?:limit|quota) (?:reached|exhausted)",
                r"\bload average\b",
            ),
            _clue(
                "logs",
                0.35,
                r"thread starvation[^\n]{0,60}",
                r"event loop (?:blocked|lag)[^\n]{0,60}",
                r"\bCPU (?:throttl\w*|starv\w*)",
            ),
            _clue("kubernetes", 0.5, r"\bcpu_throttl\w*=(?:[2-9]\d|100)(?:\.\d+)?"),
        ),
        root_cause=(
            "{service} needs more CPU than it is allowed: the kernel throttles it at its CPU limit (CFS "
            "quota), so requests queue and latency grows even though the node may have idle CPU."
        ),
        recommendations=(
            "Compare CPU usage with the limit: rate(container_cpu_usage_seconds_total) against "
            "kube_pod_container_resource_limits and container_cpu_cfs_throttled_periods_total.",
            "Scale {deployment} out to spread the load, if the replicas are CPU-bound rather than "
            "waiting on a dependency.",
            "Raise the CPU limit of {deployment} (or drop the limit and keep a realistic request).",
            "Look for the hot path: a profile (pprof, async-profiler, py-spy) of one busy pod.",
        ),
        playbook="cpu-saturation",
        severity="warning",
        actions=(
            _scale_up("More replicas share the CPU-bound load while the limit or the hot path is fixed."),
            _config_fix(
                "Raise the CPU limit of {deployment}, or remove it and keep a realistic CPU request",
                "Throttling at the CFS quota slows every request while node CPU may be idle.",
            ),
        ),
    ),
    Signature(
        key="memory_leak",
        title="Memory growing steadily (probable leak)",
        clues=(
            _clue(
                "labels",
                0.75,
                _alertname(r"\w*MemoryLeak\w*", r"\w*Memory(?:Usage)?Growing\w*", r"\w*MemoryGrowth\w*"),
                r"predict_linear\([^\n]{0,80}memory",
            ),
            _clue(
                "title",
                0.65,
                r"\bmemory leak",
                r"\b(?:memory|heap|RSS)(?: usage)? (?:growing|grows|increasing|climbing|keeps growing)",
            ),
            _clue(
                "description",
                0.7,
                r"\bmemory leak",
                r"\b(?:memory|heap|RSS|working set)(?: usage)? (?:has )?"
                r"(?:grown|grew|increased|risen|rose|climbed) "
                r"(?:steadily|linearly|continuously|monotonically|for)",
                r"\bsteady (?:memory )?(?:growth|increase)",
                r"will (?:reach|exceed|hit) (?:its |the )?memory limit",
            ),
            _clue(
                "logs",
                0.5,
                r"GC overhead limit exceeded",
                r"\bheap (?:usage|size) (?:at|above) \d+\s?%",
                r"memory usage (?:keeps )?(?:growing|increasing)",
                r"\bFull GC\b[^\n]{0,60}",
            ),
            _clue("kubernetes", 0.6, r"\bmemory_trend=(?:growing|increasing|rising)\b"),
        ),
        root_cause=(
            "{service}'s memory grows steadily instead of levelling off, the pattern of a leak (caches "
            "without bounds, unclosed resources, listeners never removed). Left alone it reaches the "
            "memory limit and the container is OOMKilled."
        ),
        recommendations=(
            "Plot container_memory_working_set_bytes of {deployment} over days: a sawtooth that resets "
            "only on restart confirms a leak.",
            "Take a heap dump or memory profile of one pod now (jmap, tracemalloc, pprof heap) and compare "
            "it with a fresh pod.",
            "Find the release where the growth began and roll it back if it coincides.",
            "Restart the oldest pods in turn to buy time; this does not fix the leak.",
        ),
        playbook="memory-leak-triage",
        severity="warning",
        actions=(_restart("A restart returns the leaked memory and buys time before the next OOM kill."),),
    ),
    Signature(
        key="disk_pressure",
        title="Disk or volume full, or node disk pressure",
        clues=(
            _clue("labels", 0.85, _alertname(*DISK_ALERTS)),
            _clue(
                "title",
                0.7,
                *DISK_ALERTS,
                r"\bdisk (?:is )?(?:full|almost full|space low)",
                r"\bno space left\b",
                r"\bfilesystem[^\n]{0,20}(?:full|filling)",
            ),
            _clue(
                "description",
                0.6,
                r"no space left on device",
                r"\bdisk (?:usage|space)\b[^\n]{0,40}(?:\d+\s?%|full|low)",
                r"\bfilesystem[^\n]{0,40}(?:full|filling up|only \d+(?:\.\d+)?\s?% (?:available|free|left))",
                r"\b(?:volume|PVC|persistent ?volume)[^\n]{0,40}(?:full|filling)",
                r"\bDiskPressure\b",
                r"\bis only \d+(?:\.\d+)?\s?% (?:free|available)",
            ),
            _clue(
                "logs",
                0.8,
                r"No space left on device[^\n]{0,60}",
                r"\bENOSPC\b",
                r"database or disk is full",
                r"could not (?:write|extend) (?:to )?file[^\n]{0,80}",
                r"The node was low on resource: ephemeral-storage",
            ),
            _clue(
                "kubernetes",
                0.8,
                r"DiskPressure\b[^\n]{0,20}\bTrue\b",
                r"\bephemeral-storage\b[^\n]{0,40}(?:exceed|low)",
            ),
            _clue("kubernetes", 0.4, r"\b(?:reason|last_termination_reason)=Evicted\b"),
        ),
        root_cause=(
            "A filesystem {service} writes to is full or nearly full (a persistent volume, the node's disk "
            "or the pod's ephemeral storage): writes fail with ENOSPC, and under node DiskPressure the "
            "kubelet evicts pods."
        ),
        recommendations=(
            "Find what fills it: `kubectl exec {pod} -n {namespace} -- df -h` and `du -xh --max-depth=2` "
            "on the full mount.",
            "Free space safely first: rotate or delete old logs, dumps and temporary files; never database "
            "files.",
            "Expand the PersistentVolumeClaim if its StorageClass allows volume expansion, or add capacity "
            "to the node.",
            "Prevent a repeat: log rotation, retention on the data, and ephemeral-storage requests and "
            "limits on {deployment}.",
        ),
        playbook="disk-full",
        severity="high",
        actions=(
            _config_fix(
                "Expand the volume of {deployment} or set log rotation and ephemeral-storage limits on it",
                "The disk keeps filling at the current rate; more space or retention stops the write "
                "failures and evictions.",
            ),
        ),
    ),
    Signature(
        key="connection_pool",
        title="Database connection pool exhausted",
        clues=(
            _clue(
                "logs",
                0.85,
                r"connection pool (?:is )?exhausted[^\n]{0,60}",
                r"too many connections[^\n]{0,40}",
                r"too many clients already",
                r"remaining connection slots are reserved",
                r"HikariPool-\d+ - Connection is not available[^\n]{0,80}",
                r"Timeout waiting for (?:idle object|connection from pool)",
                r"QueuePool limit of size \d+ overflow \d+ reached[^\n]{0,40}",
                r"Cannot get a connection, pool error[^\n]{0,60}",
                r"\bER_CON_COUNT_ERROR\b",
                r"unable to acquire (?:a )?connection[^\n]{0,40}",
            ),
            _clue(
                "labels",
                0.75,
                _alertname(
                    r"\w*TooManyConnections\w*",
                    r"\w*ConnectionPool\w*",
                    r"PgBouncer\w*",
                    r"\w*MaxConnections\w*",
                ),
                r"\bmetric=\w*(?:hikaricp_connections_pending|pool_(?:pending|waiting|exhausted))\w*",
            ),
            _clue(
                "title",
                0.65,
                r"\bconnection pool\b",
                r"\btoo many (?:connections|clients)\b",
                r"\bmax_connections\b",
                r"\bpool (?:exhausted|saturat\w*)",
            ),
            _clue(
                "description",
                0.6,
                r"\bconnection pool\b[^\n]{0,40}(?:exhausted|full|saturat\w*|timeout)",
                r"\btoo many (?:connections|clients)\b",
                r"\bmax_connections\b",
            ),
        ),
        root_cause=(
            "{service} runs out of database connections: every connection in its pool is busy or leaked, "
            "or the database refuses new ones (max_connections), so requests wait for a connection and "
            "then time out."
        ),
        recommendations=(
            "Check the database side: `SELECT state, count(*) FROM pg_stat_activity GROUP BY state` (or "
            "SHOW PROCESSLIST) for idle-in-transaction or stuck sessions.",
            "Check the sum: replicas × pool size of {deployment} (and every other client) must stay below "
            "the database's max_connections.",
            "Look for slow queries or transactions held open across remote calls; they keep connections "
            "busy.",
            "Put a pooler (PgBouncer, RDS Proxy) in front of the database if many replicas share it.",
        ),
        playbook="connection-pool-exhaustion",
        severity="high",
        actions=(
            _restart("Restarting the pod releases connections it leaked; it does not fix slow queries."),
            _config_fix(
                "Size the connection pool of {deployment} so replicas times pool size stays below the "
                "database's max_connections, with a pool acquire timeout",
                "An oversubscribed pool makes requests wait for connections the database will not grant.",
            ),
        ),
    ),
    Signature(
        key="http_5xx_spike",
        title="Spike of HTTP 5xx errors",
        clues=(
            _clue(
                "labels",
                0.7,
                _alertname(
                    r"\w*(?:5xx|5XX|Http5\w*|HighErrorRate|ErrorRateHigh|ErrorBudgetBurn|HTTPErrors)\w*",
                    "KubeAPIErrorsHigh",
                ),
                r"\b(?:status|status_code|code|response_code)=5\d\d\b",
            ),
            _clue(
                "title",
                0.6,
                r"\b5xx\b",
                r"\bHTTP (?:5\d\d|server) errors?\b",
                r"\berror (?:rate|budget)\b",
                r"\bhigh (?:rate of )?errors?\b",
            ),
            _clue(
                "description",
                0.55,
                r"\b(?:5xx|5\d\d) (?:errors?|responses?|rate)\b",
                r"\berror rate\b[^\n]{0,30}(?:above|over|\d+\s?%)",
                r"\bInternal Server Error\b",
                r"\bBad Gateway\b",
                r"\bService Unavailable\b",
            ),
            _clue(
                "logs",
                0.5,
                r"HTTP/\d(?:\.\d)?\"? 5\d\d\b",
                r"\bstatus[=:] ?5\d\d\b",
                r"\b500 Internal Server Error\b",
                r"\b502 Bad Gateway\b",
                r"\b503 Service Unavailable\b",
                r"Unhandled exception[^\n]{0,80}",
            ),
        ),
        root_cause=(
            "{service} answers a growing share of requests with 5xx: its handlers fail, or what they call "
            "does. The first error in its logs, not the most frequent, usually names the cause."
        ),
        recommendations=(
            "Break the 5xx down by route, status code and pod: one pod means a bad instance, one route "
            "a code path, every route a dependency or a release.",
            "Read {service}'s logs for the first stack trace at the start of the spike.",
            "Check the dependencies it calls (database, caches, upstream APIs) for errors or latency at the "
            "same time.",
            "If the spike began with a release, roll it back before digging further.",
        ),
        playbook="error-rate-spike",
        severity="high",
        explained_by=frozenset(
            {
                "connection_pool",
                "dependency_timeout",
                "dns_failure",
                "certificate_expiry",
                "oom_killed",
                "crash_loop",
                "disk_pressure",
                "node_not_ready",
            }
        ),
    ),
    Signature(
        key="latency_regression",
        title="Latency regression (slow responses)",
        clues=(
            _clue(
                "labels",
                0.7,
                _alertname(r"\w*(?:Latency|SlowRequests|ResponseTime|SlowResponses)\w*"),
                r"\bmetric=\w*(?:duration|latency|response_time)\w*",
            ),
            _clue(
                "title",
                0.6,
                r"\blatency\b",
                r"\bslow (?:responses?|requests?|queries)\b",
                r"\bp9[059]\b",
                r"\bresponse times?\b",
            ),
            _clue(
                "description",
                0.55,
                r"\b(?:p9[059]|percentile|latency|response time)\b[^\n]{0,40}"
                r"(?:above|over|exceed\w*|increas\w*|regress\w*|\d+(?:\.\d+)? ?m?s\b)",
            ),
            _clue(
                "logs",
                0.4,
                r"\bslow (?:query|request)[^\n]{0,80}",
                r"\btook \d{4,} ?ms\b",
                r"\bduration[=:] ?\d{4,}(?:\.\d+)? ?ms\b",
            ),
        ),
        root_cause=(
            "{service} has become slower: requests wait on something, most often a saturated resource "
            "(CPU, connections, threads) or a slow dependency, sometimes a new slow code path."
        ),
        recommendations=(
            "Split the latency by route and by dependency span (traces) to see where the time goes.",
            "Check saturation of {deployment}: CPU throttling, connection-pool waits, thread or worker "
            "pools.",
            "Check the latency of its dependencies (database slow-query log, upstream p99) for the same "
            "window.",
            "If it started with a release, compare with the previous version or roll back.",
        ),
        playbook="latency-regression",
        severity="warning",
        actions=(_scale_up("More replicas absorb the load if the slowdown is saturation of this service."),),
        explained_by=frozenset(
            {
                "cpu_throttling",
                "connection_pool",
                "dependency_timeout",
                "memory_leak",
                "queue_backlog",
            }
        ),
    ),
    Signature(
        key="certificate_expiry",
        title="TLS certificate expired or about to expire",
        clues=(
            _clue("labels", 0.85, _alertname(*CERT_ALERTS)),
            _clue(
                "logs",
                0.85,
                r"x509: certificate has expired[^\n]{0,80}",
                r"x509: certificate (?:signed by unknown authority|is valid for)[^\n]{0,60}",
                r"certificate verify failed[^\n]{0,60}",
                r"CERTIFICATE_VERIFY_FAILED",
                r"PKIX path (?:validation|building) failed",
                r"tls: failed to verify certificate[^\n]{0,80}",
                r"\bcertificate_expired\b",
                r"SSL_ERROR_\w+",
            ),
            _clue(
                "title",
                0.7,
                *CERT_ALERTS,
                r"\bcert(?:ificate)?s? (?:expir\w*|renewal)",
                r"\b(?:TLS|SSL) cert\w*",
            ),
            _clue(
                "description",
                0.65,
                r"\bcertificate (?:has )?(?:expired|expires|will expire|is expiring|is about to expire)",
                r"\bexpir\w+ in \d+ (?:days?|hours?)",
                r"\bx509\b",
            ),
        ),
        root_cause=(
            "A TLS certificate on the path of {service} has expired or will expire soon (or does not match "
            "the host), so TLS handshakes fail and clients refuse the connection."
        ),
        recommendations=(
            "Find which certificate: `openssl s_client -connect <host>:443 -servername <host> </dev/null "
            "| openssl x509 -noout -dates -subject`.",
            "If cert-manager issues it, check `kubectl get certificate,certificaterequest,order -n "
            "{namespace}` and the Issuer's status for the renewal error.",
            "Renew or replace it, update the Secret, and restart or reload what caches it.",
            "Add expiry alerting with at least 21 days' warning on every certificate you serve or trust.",
        ),
        playbook="certificate-renewal",
        severity="high",
        actions=(
            _config_fix(
                "Renew the TLS certificate used by {deployment} and update its Secret",
                "Clients refuse the expired certificate until it is renewed.",
            ),
        ),
    ),
    Signature(
        key="dns_failure",
        title="DNS resolution failure",
        clues=(
            _clue(
                "logs",
                0.85,
                r"lookup \S+ on \S+: (?:no such host|server misbehaving|i/o timeout)",
                r"\bno such host\b[^\n]{0,40}",
                r"\bSERVFAIL\b",
                r"\bNXDOMAIN\b",
                r"Name or service not known",
                r"Temporary failure in name resolution",
                r"getaddrinfo (?:ENOTFOUND|EAI_AGAIN)[^\n]{0,60}",
                r"java\.net\.UnknownHostException[^\n]{0,60}",
                r"Could not resolve host[^\n]{0,60}",
            ),
            _clue("labels", 0.75, _alertname(r"CoreDNS\w*", r"KubeDNS\w*", r"\w*DNS\w*")),
            _clue(
                "title", 0.7, r"\bDNS\b", r"CoreDNS", r"\bname resolution\b", r"\bNXDOMAIN\b", r"\bSERVFAIL\b"
            ),
            _clue(
                "description",
                0.6,
                r"\bDNS\b",
                r"\bname resolution\b",
                r"\bno such host\b",
                r"\bNXDOMAIN\b",
                r"\bSERVFAIL\b",
            ),
        ),
        root_cause=(
            "{service} cannot resolve a hostname it depends on: the name is wrong or gone (NXDOMAIN, "
            "no such host), or the resolver (CoreDNS, upstream DNS) fails or times out (SERVFAIL)."
        ),
        recommendations=(
            "Resolve the failing name from inside the pod: `kubectl exec {pod} -n {namespace} -- "
            "nslookup <host>`.",
            "NXDOMAIN / no such host: check the hostname in the config of {deployment} and that the target "
            "Service or DNS record still exists.",
            "SERVFAIL or timeouts: check CoreDNS (`kubectl -n kube-system logs -l k8s-app=kube-dns`) and "
            "its upstream resolvers.",
            "Lower lookup load if needed: ndots:2 or fully qualified names (trailing dot) in the pod's "
            "dnsConfig.",
        ),
        playbook="dns-resolution",
        severity="high",
        actions=(
            _config_fix(
                "Correct the hostname {deployment} resolves (or its dnsConfig) to an existing record",
                "A wrong or deleted name fails every lookup until the configuration changes.",
            ),
        ),
    ),
    Signature(
        key="node_not_ready",
        title="Kubernetes node NotReady",
        clues=(
            _clue(
                "kubernetes",
                0.9,
                r"\bnode_(?:status|state|condition)=(?:NotReady|Unknown)\b",
                r"\bnode_ready=(?:False|Unknown)\b",
                r"\bnode\w*: [^\n]{0,40}\btype=Ready status=(?:False|Unknown)\b",
                r"\bnode\w*\.Ready=(?:False|Unknown)\b",
                r"node\.kubernetes\.io/(?:not-ready|unreachable)",
            ),
            _clue("labels", 0.85, _alertname(*NODE_ALERTS)),
            _clue("title", 0.8, *NODE_ALERTS, r"\bnode\b[^\n]{0,40}\bnot ?ready\b"),
            _clue(
                "description",
                0.65,
                r"\bnode\b[^\n]{0,60}(?:NotReady|not ready|unreachable)",
                r"\bkubelet (?:stopped posting|is not responding|is down)",
                r"\bhas been unready\b",
                r"\bunreachable by the node controller\b",
            ),
            _clue(
                "logs",
                0.7,
                r"Kubelet stopped posting node status",
                r"\bNodeNotReady\b",
                r"PLEG is not healthy[^\n]{0,60}",
                r"container runtime (?:is down|not ready)",
            ),
        ),
        root_cause=(
            "A Kubernetes node stopped reporting Ready (kubelet down, container runtime unhealthy, "
            "network partition or resource exhaustion); the pods of {service} on it become unavailable "
            "and are evicted only after the taint timeout."
        ),
        recommendations=(
            "Identify the node and its conditions: `kubectl get nodes` and `kubectl describe node <node>` "
            "(Ready, MemoryPressure, DiskPressure, PIDPressure).",
            "Cordon it so nothing new lands there: `kubectl cordon <node>`.",
            "Check the kubelet and container runtime on the node (`journalctl -u kubelet`), or let the "
            "cloud's node auto-repair replace it.",
            "Make sure {deployment} has replicas on other nodes (PodDisruptionBudget, topology spread) so "
            "one node cannot take it down.",
        ),
        playbook="node-not-ready",
        severity="critical",
        actions=(
            _restart(
                "Pods on a NotReady node stay Unknown until eviction; deleting the pod lets its controller "
                "schedule it on a Ready node now."
            ),
        ),
    ),
    Signature(
        key="dependency_timeout",
        title="Upstream or dependency timeout",
        clues=(
            _clue(
                "logs",
                0.75,
                r"context deadline exceeded[^\n]{0,40}",
                r"upstream request timeout",
                r"upstream (?:connect error|timed out)[^\n]{0,80}",
                r"\b504 Gateway Time-?out\b",
                r"\bno healthy upstream\b",
                r"\bDEADLINE_EXCEEDED\b",
                r"java\.net\.SocketTimeoutException[^\n]{0,60}",
                r"\bRead timed out\b",
                r"\bReadTimeout(?:Error)?\b[^\n]{0,60}",
                r"\bETIMEDOUT\b",
                r"\bconnection refused\b[^\n]{0,40}",
                r"\bECONNREFUSED\b",
                r"circuit breaker (?:is )?open",
            ),
            _clue(
                "labels",
                0.65,
                _alertname("TargetDown", "BlackboxProbeFailed", r"\w*Upstream\w*", r"\w*DependencyDown\w*"),
            ),
            _clue(
                "title",
                0.5,
                r"\bTargetDown\b",
                r"\bupstream\b",
                r"\b(?:timeouts?|timed out)\b",
                r"\bdependency\b",
                r"\bgateway time-?out\b",
            ),
            _clue(
                "description",
                0.6,
                r"\b(?:upstream|dependency|downstream|backend)\b[^\n]{0,40}"
                r"(?:timeouts?|timed out|unavailable|unreachable|not responding)",
                r"\bdeadline exceeded\b",
                r"\bgateway time-?out\b",
                r"\btargets? (?:are |is )?down\b",
            ),
        ),
        root_cause=(
            "A dependency of {service} is slow or unreachable: its calls hit their deadline (context "
            "deadline exceeded, upstream request timeout) or are refused, and the failures surface as "
            "errors and latency in {service}."
        ),
        recommendations=(
            "Name the dependency from the failing calls (host and port in the timeout errors, trace spans) "
            "and check its health and recent changes.",
            "Check the network path: the dependency's Service endpoints (`kubectl get endpoints -n "
            "{namespace}`), NetworkPolicies, egress.",
            "Protect {service} meanwhile: timeouts shorter than its own callers', retries with budget and "
            "jitter, a circuit breaker, graceful degradation.",
        ),
        playbook="upstream-timeout",
        severity="high",
        actions=(
            _config_fix(
                "Give the outbound calls of {deployment} deadlines shorter than its callers', bounded "
                "retries with jitter and a circuit breaker",
                "Calls that wait on a failing dependency tie up the service and spread the outage upstream.",
            ),
        ),
    ),
    Signature(
        key="rate_limited",
        title="Rate limited by a dependency (HTTP 429 / throttling)",
        clues=(
            _clue(
                "logs",
                0.8,
                r"\b429 Too Many Requests\b",
                r"HTTP/\d(?:\.\d)?\"? 429\b",
                r"\bstatus[=:] ?429\b",
                r"\brate limit(?:ed| exceeded)\b[^\n]{0,60}",
                r"\b(?:RateLimitExceeded|ThrottlingException|TooManyRequestsException|"
                r"RequestLimitExceeded|SlowDown)\b",
                r"\bRESOURCE_EXHAUSTED\b[^\n]{0,60}",
                r"\bquota exceeded\b[^\n]{0,60}",
            ),
            _clue(
                "labels",
                0.75,
                r"\b(?:status|status_code|code|response_code)=429\b",
                _alertname(r"\w*(?:RateLimit|Throttled|TooManyRequests|429)\w*"),
            ),
            _clue("title", 0.65, r"\b429\b", r"\brate[- ]limit\w*", r"\btoo many requests\b", r"\bquota\b"),
            _clue(
                "description",
                0.6,
                r"\b429\b",
                r"\btoo many requests\b",
                r"\brate[- ]limit\w*",
                r"\bquota (?:exceeded|exhausted)\b",
            ),
        ),
        root_cause=(
            "{service} sends more requests than a dependency allows (or clients exceed its own limits): "
            "calls are rejected with 429 Too Many Requests / throttling errors until the rate drops."
        ),
        recommendations=(
            "Find who limits whom: which host answers 429, and whether the limit is per key, per IP or per "
            "account.",
            "Back off: exponential backoff with jitter that honours Retry-After, and lower concurrency of "
            "{deployment} towards that dependency.",
            "Look for a retry storm or a new caller that raised the request rate.",
            "If the traffic is legitimate, ask for a higher quota or cache the responses.",
        ),
        playbook="rate-limit",
        severity="warning",
        actions=(
            _config_fix(
                "Make {deployment} back off on 429 with jitter, honour Retry-After and cap its concurrency",
                "Retrying at full speed keeps the limiter closed; backing off lets requests through again.",
            ),
        ),
    ),
    Signature(
        key="queue_backlog",
        title="Queue backlog or consumer lag",
        clues=(
            _clue("labels", 0.8, _alertname(*QUEUE_ALERTS)),
            _clue("labels", 0.25, r"\b(?:consumergroup|consumer_group|topic|queue)="),
            _clue(
                "title",
                0.7,
                *QUEUE_ALERTS,
                r"\bconsumer (?:group )?lag\b",
                r"\bqueue (?:backlog|depth|size|length)\b",
                r"\bbacklog\b",
            ),
            _clue(
                "description",
                0.65,
                r"\bconsumer (?:group )?lag\b",
                r"\bmessages?\b[^\n]{0,30}(?:waiting|unacked|ready|pending) in (?:the )?queue",
                r"\bqueue (?:depth|backlog|length|size)\b",
                r"\boldest message\b[^\n]{0,40}",
            ),
            _clue(
                "logs",
                0.55,
                r"\bconsumer lag\b[^\n]{0,60}",
                r"CommitFailedException[^\n]{0,60}",
                r"max\.poll\.interval\.ms[^\n]{0,60}",
                r"\brebalanc(?:e|ing)\b[^\n]{0,60}",
                r"\bqueue (?:is )?full\b",
            ),
        ),
        root_cause=(
            "Messages arrive faster than {service} consumes them, so the queue grows and the work is "
            "delayed: consumers are too few, slowed by a dependency, stuck on a poison message, or "
            "rebalancing."
        ),
        recommendations=(
            "Check whether consumers process at all: per-partition or per-queue lag, consumer group members "
            "and rebalance logs.",
            "Look for a poison message: the same offset or message failing repeatedly; dead-letter it.",
            "Scale the consumers of {deployment} out (for Kafka, up to the topic's partition count).",
            "Check what each message waits on (database, upstream API); scaling consumers of a saturated "
            "dependency makes it worse.",
        ),
        playbook="queue-backlog",
        severity="warning",
        actions=(_scale_up("More consumers drain the backlog if the dependency they call has headroom."),),
    ),
    Signature(
        key="bad_deploy",
        title="Regression introduced by a recent deploy",
        clues=(
            _clue("deploy", 0.55, r"\bdeployed (?:[0-9]|[12][0-9]|30) minutes? before the incident"),
            _clue(
                "deploy", 0.3, r"\bdeployed (?:3[1-9]|[4-9][0-9]|1[01][0-9]|120) minutes before the incident"
            ),
            _clue("labels", 0.75, _alertname(*DEPLOY_ALERTS)),
            _clue(
                "title",
                0.55,
                *DEPLOY_ALERTS,
                r"\b(?:after|since|following) (?:the |a |last )?(?:deploy\w*|release|rollout|upgrade)\b",
                r"\b(?:deploy|rollout|release) (?:failed|stuck|broke)",
            ),
            _clue(
                "description",
                0.6,
                r"\b(?:after|since|following) (?:the |a |last |today's )?"
                r"(?:deploy\w*|release|rollout|upgrade)\b",
                r"\bProgressDeadlineExceeded\b",
                r"\b(?:rollout|deploy) (?:is )?(?:stuck|failed)\b",
                r"\bnew version\b",
            ),
            _clue(
                "logs",
                0.45,
                r"exceeded its progress deadline",
                r"\bProgressDeadlineExceeded\b",
                r"\b(?:NoSuchMethodError|ClassNotFoundException|NoClassDefFoundError)\b[^\n]{0,60}",
                r"\b(?:ModuleNotFoundError|ImportError)\b[^\n]{0,60}",
                r"\bmigration failed\b[^\n]{0,60}",
                r"\bunknown (?:flag|field)\b[^\n]{0,40}",
            ),
        ),
        root_cause=(
            "The incident began shortly after a change to {service} was deployed: the new version (code, "
            "configuration or migration) most likely introduced the failure."
        ),
        recommendations=(
            "Roll back {deployment} to the previous revision: `kubectl rollout undo deployment/{deployment} "
            "-n {namespace}`, then watch the error rate.",
            "Diff the release against the previous one (code, configuration, feature flags, migrations).",
            "Pause further rollouts of {service} until the cause is understood.",
        ),
        playbook="deploy-rollback",
        severity="high",
    ),
    Signature(
        key="unschedulable",
        title="Pods cannot be scheduled (insufficient capacity)",
        clues=(
            _clue(
                "kubernetes",
                0.85,
                r"\b(?:reason|pod_status|waiting_reason|condition)=(?:Unschedulable|FailedScheduling)\b",
                r"\d+/\d+ nodes are available[^\n]{0,80}",
            ),
            _clue("labels", 0.7, _alertname("KubePodNotScheduled", r"\w*Unschedulable\w*")),
            _clue("title", 0.6, r"KubePodNotScheduled", r"\bunschedulable\b", r"\bFailedScheduling\b"),
            _clue(
                "description",
                0.6,
                r"\bFailedScheduling\b",
                r"\d+/\d+ nodes are available",
                r"\bInsufficient (?:cpu|memory)\b",
                r"\bunschedulable\b",
            ),
            _clue(
                "logs",
                0.7,
                r"\d+/\d+ nodes are available[^\n]{0,80}",
                r"\bInsufficient (?:cpu|memory|ephemeral-storage)\b",
                r"\bFailedScheduling\b[^\n]{0,60}",
            ),
        ),
        root_cause=(
            "Pods of {service} stay Pending: no node satisfies their requests, affinity or taints "
            "(FailedScheduling, Insufficient cpu/memory), so the workload runs below its desired replicas."
        ),
        recommendations=(
            "Read the scheduler's reason: `kubectl describe pod {pod} -n {namespace}` (Events: "
            "FailedScheduling …).",
            "Insufficient resources: add nodes (or check that the cluster autoscaler can), or lower "
            "requests that are far above real usage.",
            "Taints, affinity or topology spread: check that the constraints of {deployment} still match "
            "existing nodes.",
        ),
        playbook="capacity-unschedulable",
        severity="high",
        explained_by=frozenset({"node_not_ready"}),
    ),
)

SIGNATURES_BY_KEY: dict[str, Signature] = {signature.key: signature for signature in SIGNATURES}


def signature_get(key: str) -> Signature | None:
    return SIGNATURES_BY_KEY.get(key)


def as_text(value: Any, limit: int = VALUE_CHARS) -> str:
    """Any alert value as bounded text; never raises, whatever a sender put there."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, bytes | bytearray):
        return bytes(value[:limit]).decode("utf-8", errors="replace")
    try:
        return str(value)[:limit]
    except Exception:  # a value whose __str__ fails is unreadable, not an error of the analysis
        return ""


def _mapping_lines(mapping: Any, prefix: str = "", depth: int = 0) -> Iterator[str]:
    """`key=value` lines; nested mappings as `parent.key=value`, list items of mappings on one line."""
    if not isinstance(mapping, Mapping) or depth > 3:
        return
    for index, (key, value) in enumerate(mapping.items()):
        if index >= MAPPING_ENTRIES:
            return
        name = f"{prefix}{as_text(key, 200)}"
        if isinstance(value, Mapping):
            yield from _mapping_lines(value, f"{name}.", depth + 1)
        elif isinstance(value, list | tuple):
            for item in value[:MAPPING_ENTRIES]:
                if isinstance(item, Mapping):
                    pairs = (f"{as_text(k, 200)}={as_text(v, 500)}" for k, v in list(item.items())[:20])
                    yield f"{name}: {' '.join(pairs)}"
                else:
                    yield f"{name}={as_text(item)}"
        else:
            yield f"{name}={as_text(value)}"


def _bounded(lines: Iterable[str], limit: int) -> str:
    return "\n".join(lines)[:limit]


def _deploy_text(deploy: Any) -> str:
    if not isinstance(deploy, Mapping):
        return ""
    parts = [f"{key}={as_text(deploy.get(key), 200)}" for key in ("deploy_id", "service", "version", "image")]
    text = " ".join(" ".join(part.split()) for part in parts if not part.endswith("="))
    minutes = deploy_minutes(deploy)
    if minutes is not None:
        text += f", deployed {math.floor(minutes)} minutes before the incident"
    return text


def deploy_minutes(deploy: Any) -> float | None:
    """Minutes between the deploy and the incident, or None when unknown or the deploy came after."""
    if not isinstance(deploy, Mapping):
        return None
    value = deploy.get("minutes_before_incident")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        minutes = float(value)
    except ValueError:
        return None
    return minutes if math.isfinite(minutes) and minutes >= 0 else None


def evidence_fields(context: IncidentContext) -> dict[str, str]:
    """The text of each evidence field as the clues read it, bounded."""
    labels = _mapping_lines(getattr(context, "labels", None))
    annotations = _mapping_lines(getattr(context, "annotations", None))
    metric = as_text(getattr(context, "metric", ""), 200)
    metric_lines = [f"metric={metric}"] if metric else []
    log = as_text(getattr(context, "log_excerpt", ""), limit=10**9)
    return {
        "title": as_text(getattr(context, "title", ""), FIELD_CHARS["title"]),
        "description": as_text(getattr(context, "description", ""), FIELD_CHARS["description"]),
        "labels": _bounded([*labels, *annotations, *metric_lines], FIELD_CHARS["labels"]),
        "logs": log[-FIELD_CHARS["logs"] :],
        "kubernetes": _bounded(
            _mapping_lines(getattr(context, "kubernetes", None)), FIELD_CHARS["kubernetes"]
        ),
        "deploy": _deploy_text(getattr(context, "deploy", None)),
    }


def _quote(text: str, match: re.Match[str]) -> str:
    """The line around a match, trimmed to QUOTE_CHARS around it."""
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    end = len(text) if end == -1 else end
    if end - start > QUOTE_CHARS:
        start = max(start, match.start() - QUOTE_CHARS // 4)
        end = min(end, start + QUOTE_CHARS)
    return " ".join(text[start:end].split())


def _match(signature: Signature, fields: Mapping[str, str]) -> SignatureMatch | None:
    best: dict[str, float] = {}
    quotes: list[tuple[float, str]] = []
    for clue in signature.clues:
        text = fields.get(clue.field, "")
        found = clue.pattern.search(text) if text else None
        if found is None:
            continue
        best[clue.field] = max(best.get(clue.field, 0.0), clue.weight)
        quotes.append((clue.weight, f"{clue.field}: {_quote(text, found)}"))
    if not best:
        return None
    score = 1.0 - math.prod(1.0 - weight for weight in best.values())
    evidence = tuple(dict.fromkeys(quote for _, quote in sorted(quotes, key=lambda item: -item[0])))
    return SignatureMatch(
        key=signature.key,
        title=signature.title,
        score=round(min(score, 0.99), 3),
        evidence=evidence[:EVIDENCE_PER_MATCH],
        playbook=signature.playbook,
    )


def _dampen_symptoms(matches: list[SignatureMatch]) -> list[SignatureMatch]:
    scores = {match.key: match.score for match in matches}
    adjusted = []
    for match in matches:
        causes = SIGNATURES_BY_KEY[match.key].explained_by
        if any(scores.get(cause, 0.0) >= CAUSE_SCORE for cause in causes):
            match = SignatureMatch(
                key=match.key,
                title=match.title,
                score=round(match.score * SYMPTOM_DAMPING, 3),
                evidence=match.evidence,
                playbook=match.playbook,
            )
        adjusted.append(match)
    return adjusted


def detect_signatures(context: IncidentContext) -> tuple[SignatureMatch, ...]:
    """Every known failure class the context shows, strongest first.

    A symptom (crash loop, 5xx, latency) whose recognised cause is also present ranks below that
    cause, so the first match is the one to act on. A recent deploy is not such a cause: timing alone
    proves less than a termination reason, so the engine weighs it separately.
    """
    fields = evidence_fields(context)
    matches = [found for signature in SIGNATURES if (found := _match(signature, fields)) is not None]
    order = {signature.key: index for index, signature in enumerate(SIGNATURES)}
    return tuple(sorted(_dampen_symptoms(matches), key=lambda match: (-match.score, order[match.key])))


def playbooks_for(matches: Iterable[SignatureMatch]) -> tuple[str, ...]:
    """The playbook slugs of the matches, strongest first, each once."""
    slugs = []
    for match in matches:
        key = getattr(match, "key", "")
        signature = SIGNATURES_BY_KEY.get(key) if isinstance(key, str) else None
        slug = getattr(match, "playbook", "") or (signature.playbook if signature else "")
        if slug:
            slugs.append(slug)
    return tuple(dict.fromkeys(slugs))
