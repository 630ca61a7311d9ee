"""Liveness probes, run from each minion as the original kubelet ran them, during observation.

httpGet and tcpSocket connect from the minion itself (an SSH direct-tcpip channel: no tool is needed on the
minion) to the pod's IP; exec runs the command in the container through Docker. A failed probe makes the planner
replace the pod, with the probe's answer as the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from kubeplay.connectors.base import MinionConnection
from kubeplay.model import Container, Desired, ObservedContainer, ObservedPod, Pod, Probe
from kubeplay.parallel import in_parallel
from kubeplay.pods.spechash import pod_hash

if TYPE_CHECKING:
    from datetime import datetime  # (imported when a pod has probes: most runs need no datetime)


def desired_spec(pod: ObservedPod, desired: Desired) -> Pod | None:
    """The desired pod an observed pod is an instance of (by name, or its controller's template)."""
    for p in desired.pods:
        if p.name == pod.name:
            return p
    for rc in desired.controllers:
        if rc.name == pod.controller:
            return rc.replica(pod.name)
    return None


def _port(probe: Probe, container: Container) -> int:
    if isinstance(probe.port, int):
        return probe.port
    for p in container.ports:
        if p.name == probe.port:
            return p.container_port
    return 0


def http_status(response: bytes) -> int:
    """The status code of an HTTP response's status line, or 0 when there is none."""
    line = response.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) >= 2 and line[0].startswith(b"HTTP/") and line[1].isdigit() else 0


def run_probe(conn: MinionConnection, pod: ObservedPod, container: Container, observed: ObservedContainer) -> str:
    """Run one container's liveness probe. Returns "" when it passed, else why it failed."""
    probe = container.liveness_probe
    assert probe is not None
    timeout = float(max(1, probe.timeout_seconds))
    if probe.kind == "exec":
        code = conn.docker().exec(observed.id, probe.command).exit_code
        return "" if code == 0 else f"exec {' '.join(probe.command)}: exit {code}"
    address = probe.host or pod.ip
    port = _port(probe, container)
    try:
        if probe.kind == "tcpSocket":
            conn.tcp_exchange(address, port, b"", 0.05)
            return ""
        request = f"GET {probe.path} HTTP/1.0\r\nHost: {address}:{port}\r\nUser-Agent: kubeplay-probe\r\n\r\n"
        status = http_status(conn.tcp_exchange(address, port, request.encode(), timeout))
    except OSError as exc:
        return f"{probe.kind} {address}:{port}: {exc}"
    if 200 <= status < 400:
        return ""
    return f"httpGet http://{address}:{port}{probe.path}: " + (f"status {status}" if status else "no HTTP answer")


def _started_long_enough(c: ObservedContainer, delay: int, now: datetime) -> bool:
    if not c.created:
        return True
    from datetime import datetime

    return (now - datetime.fromisoformat(c.created)).total_seconds() >= delay


def probe_pod(conn: MinionConnection, pod: ObservedPod, spec: Pod, now: datetime | None = None) -> str:
    """Run the liveness probes of the pod's containers, in order (with ``now``: only those started at least their
    probe's initialDelaySeconds before). "" when every one passed, else the first failure: "<container>: why"."""
    by_name = {c.container: c for c in pod.apps}
    for container in spec.spec.containers:
        probe = container.liveness_probe
        observed = by_name.get(container.name)
        if probe is None or observed is None:
            continue
        if now is not None and not _started_long_enough(observed, probe.initial_delay_seconds, now):
            continue
        why = run_probe(conn, pod, container, observed)
        if why:
            return f"{container.name}: {why}"
    return ""


def probe_minion(conn: MinionConnection, pods: Sequence[ObservedPod], desired: Desired) -> dict[tuple[str, str], str]:
    from datetime import UTC, datetime

    failures: dict[tuple[str, str], str] = {}
    now = datetime.now(UTC)
    for pod in pods:
        spec = desired_spec(pod, desired)
        if spec is None or not pod.running or pod.spec_hash != pod_hash(spec):
            continue
        why = probe_pod(conn, pod, spec, now)
        if why:
            failures[(pod.minion, pod.name)] = why
    return failures


def probe_all(
    pods: Sequence[ObservedPod], desired: Desired, connections: Mapping[str, MinionConnection], forks: int
) -> dict[tuple[str, str], str]:
    """Probe every running pod that has liveness probes, all minions in parallel."""
    has_probes = {p.name for p in desired.pods if any(c.liveness_probe for c in p.spec.containers)}
    has_probes |= {rc.name for rc in desired.controllers if any(c.liveness_probe for c in rc.template.spec.containers)}
    by_minion: dict[str, list[ObservedPod]] = {}
    for pod in pods:
        if (pod.name in has_probes or pod.controller in has_probes) and pod.minion in connections:
            by_minion.setdefault(pod.minion, []).append(pod)
    failures: dict[tuple[str, str], str] = {}
    for found in in_parallel(lambda m: probe_minion(connections[m], by_minion[m], desired), sorted(by_minion), forks):
        failures.update(found)
    return failures
