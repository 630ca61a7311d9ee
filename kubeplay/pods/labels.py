"""The Docker labels kubeplay puts on every container it creates, and how they are read back.

These labels are kubeplay's only state: what owns a container, which pod and container of it this is, the hash
of the spec it was made from. Containers without LABEL_POD are never touched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from kubeplay.model import DEFAULT_PROJECT, Pod, Port, Probe

PREFIX = "kubeplay."
LABEL_POD = "kubeplay.pod"
LABEL_CONTAINER = "kubeplay.container"
LABEL_HASH = "kubeplay.spec-hash"
LABEL_CONTROLLER = "kubeplay.controller"
LABEL_PROJECT = "kubeplay.project"
"""The project whose apply made the container; absent on containers made before projects (DEFAULT_PROJECT)."""
LABEL_CONTROLLER_SELECTOR = "kubeplay.controller-selector"
"""A replica's controller's selector, as JSON (absent on replicas made before it was kept)."""
LABEL_POD_LABELS = "kubeplay.pod-labels"
LABEL_PORTS = "kubeplay.ports"
LABEL_SPEC = "kubeplay.spec"
"""The normalised spec the hash was made from (infra container only), for field-level diffs."""


def container_labels(pod: Pod, container: str, spec_hash: str, project: str) -> dict[str, str]:
    labels = {
        LABEL_PROJECT: project,
        LABEL_POD: pod.name,
        LABEL_CONTAINER: container,
        LABEL_HASH: spec_hash,
        LABEL_POD_LABELS: _compact(pod.labels),
    }
    if pod.controller:
        labels[LABEL_CONTROLLER] = pod.controller
        labels[LABEL_CONTROLLER_SELECTOR] = _compact(pod.selector)
    return labels


def _compact(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def ports_label(pod: Pod) -> str:
    ports = [
        {"name": p.name, "containerPort": p.container_port, "hostPort": p.host_port, "protocol": p.protocol}
        for c in pod.spec.containers
        for p in c.ports
    ]
    return json.dumps(ports, separators=(",", ":"))


def read_project(labels: Mapping[str, str]) -> str:
    """The container's project; DEFAULT_PROJECT for a container made before projects existed."""
    return labels.get(LABEL_PROJECT) or DEFAULT_PROJECT


def read_pod_labels(labels: Mapping[str, str]) -> dict[str, str]:
    return _read_mapping(labels, LABEL_POD_LABELS)


def read_controller_selector(labels: Mapping[str, str]) -> dict[str, str]:
    """A replica's controller's selector; {} when the container does not carry it."""
    return _read_mapping(labels, LABEL_CONTROLLER_SELECTOR)


def _read_mapping(labels: Mapping[str, str], key: str) -> dict[str, str]:
    try:
        value = json.loads(labels.get(key, "{}"))
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def read_ports(labels: Mapping[str, str]) -> tuple[Port, ...]:
    try:
        value = json.loads(labels.get(LABEL_PORTS, "[]"))
    except ValueError:
        return ()
    if not isinstance(value, list):
        return ()
    try:
        return tuple(
            Port(
                container_port=_number(p.get("containerPort", 0)),
                host_port=_number(p.get("hostPort", 0)),
                protocol="UDP" if p.get("protocol") == "UDP" else "TCP",
                name=str(p.get("name", "")),
            )
            for p in value
            if isinstance(p, dict)
        )
    except ValueError:
        return ()  # not written by kubeplay: no ports known


def _number(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not a port number: {value!r}")
    return value


def _kept_containers(labels: Mapping[str, str]) -> list[dict[str, object]]:
    """The containers of the spec kept on an infra container (LABEL_SPEC), as data; [] when there is none."""
    try:
        value = json.loads(labels.get(LABEL_SPEC, "{}"))
        containers = value["spec"]["containers"] if isinstance(value, dict) else []
    except (ValueError, KeyError, TypeError):
        return []
    return [c for c in containers if isinstance(c, dict)] if isinstance(containers, list) else []


def read_requests(labels: Mapping[str, str]) -> tuple[int, int]:
    """A pod's cpu (millicores) and memory (bytes) requests, from the spec kept on its infra container (what the
    scheduler counted when it placed the pod); (0, 0) when unknown."""
    cpu = memory = 0
    for c in _kept_containers(labels):
        value_cpu, value_memory = c.get("cpu", 0), c.get("memory", 0)
        cpu += value_cpu if isinstance(value_cpu, int) and value_cpu > 0 else 0
        memory += value_memory if isinstance(value_memory, int) and value_memory > 0 else 0
    return cpu, memory


def read_probes(labels: Mapping[str, str]) -> dict[str, Probe]:
    """Container name -> its liveness probe, from the spec kept on a pod's infra container (none where unknown or
    not as kubeplay writes it)."""
    probes = {}
    for c in _kept_containers(labels):
        probe = c.get("liveness_probe")
        if isinstance(probe, dict) and isinstance(c.get("name"), str):
            try:
                probes[str(c["name"])] = Probe(**{**probe, "command": tuple(probe.get("command") or ())})
            except TypeError:
                continue
    return probes
